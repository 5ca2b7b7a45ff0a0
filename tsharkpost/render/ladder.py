"""A connection record -> the geometry of its ladder diagram: client and server on one time axis, events beside.

The HTML renderers draw it as inline SVG (templates/macros.html.j2); nothing here writes markup. The data are
the record's milestones (SYN, SYN-ACK, first application data, FIN, RST) and messages (every TLS message in
wire order), its findings (marked on the frame that carries them), and the Windows events attributed to it.
Time runs down. When a linear axis would not fit (loopback captures span microseconds to seconds), each gap
is log-scaled instead: still in time order, every row labelled with its true elapsed time, and shortened
gaps marked.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from tsharkpost.plugin import messages
from tsharkpost.plugin.tables import Severity
from tsharkpost.record.model import MESSAGE_NAMES, ConnectionRecord, EventNote, Side
from tsharkpost.render.text import plural

# Geometry, in SVG user units (about CSS pixels).
LINE = 13  # one label line
ROW_PAD = 11  # between the previous row's line and this row's first label
TOP = 58  # room for the lifeline headers
BOTTOM = 18
TIME_X = 58  # right edge of the elapsed-time column
FRAME_X = 64  # left edge of the frame column
CLIENT_X = 120
SERVER_X = 420
EVENT_X = 440  # left edge of the event column, when there are events
WIDTH = 510  # without events
WIDTH_WITH_EVENTS = 760
HEADER_CHARS = 34  # a lifeline's heading
LABEL_CHARS = 50  # a label longer than this is cut (the whole text is the tooltip)
EVENT_CHARS = 50
EVENT_LINES = 4  # lines of an event's text shown beside the ladder (the card below has it all)
# A linear axis is used when it fits in this height with every row legible; else gaps are log-scaled.
MAX_LINEAR_HEIGHT = 640
LOG_PX = 34  # log-scaled: each tenfold longer gap gets this much more room
BREAK_RATIO = 10  # log-scaled: a gap this many times the shortest is marked as shortened

TCP_NAMES = {"syn": "SYN", "syn_ack": "SYN, ACK", "fin": "FIN", "rst": "RST"}
# Within one frame: TCP opening flags, then the TLS messages, then application data, then the closing flags.
_ORDER = {"syn": 0, "syn_ack": 0, "first_application_data": 2, "fin": 3, "rst": 3}


@dataclass(frozen=True)
class Label:
    """One line of text on the ladder.

    Attributes:
        text: as drawn, cut to fit; full: the whole text (the tooltip).
        tone: "" (plain), "fatal", "warning", "error", "close", "reset", "data", "muted" or "event".
    """

    text: str
    full: str
    tone: str = ""


@dataclass(frozen=True)
class Row:
    """One arrow (what one side sent in one frame) or one event, at its place on the time axis.

    Attributes:
        kind: "arrow" or "event".
        y: where its line is drawn; the labels sit above it.
        elapsed: seconds since the ladder's first item (events: after the clock correction).
        names: what it shows, e.g. ("server_hello", "certificate"), ("fin",), ("event:Schannel:36888",).
        tone: the arrow's colour (as Label.tone).
        shortened: the gap above this row was log-scaled (drawn shorter than its share of the time).
        changed: a diff marks it: the other side's ladder has no such row at this point.
    """

    kind: str
    y: float
    elapsed: float
    frame: int | None
    side: Side | None
    names: tuple[str, ...]
    labels: tuple[Label, ...]
    tone: str = ""
    confidence: str = ""
    shortened: bool = False
    changed: bool = False

    @property
    def top(self) -> float:
        """Where its first label line sits."""
        return self.y - LINE * len(self.labels) + 3


@dataclass(frozen=True)
class Ladder:
    """A drawn connection: rows top to bottom, the size of the drawing and how to read its axis."""

    rows: tuple[Row, ...]
    width: float
    height: float
    scale: str  # "linear" or "log"
    axis_note: str
    client_lines: tuple[Label, ...]  # the lifelines' headings
    server_lines: tuple[Label, ...]
    left_out: str  # what the record could not hold (messages past its cap), "" when nothing

    client_x: float = CLIENT_X
    server_x: float = SERVER_X
    time_x: float = TIME_X
    frame_x: float = FRAME_X
    event_x: float = EVENT_X

    @property
    def middle(self) -> float:
        return (self.client_x + self.server_x) / 2

    @property
    def bottom(self) -> float:
        return self.height - BOTTOM / 2


def elapsed_text(seconds: float) -> str:
    """An elapsed time the way the axis shows it: 0, 0.018 ms, 1.24 ms, 215 ms, 2.31 s, 3 min 5 s."""
    if seconds <= 0:
        return "0"
    if seconds < 0.01:
        return f"{seconds * 1e3:.3f} ms"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def size_text(count: int) -> str:
    """A byte count for people: 66 B, 4.7 kB, 12.3 MB."""
    if count < 1000:
        return f"{count} B"
    for unit in ("kB", "MB", "GB"):
        count_f = count / 1000
        if count_f < 1000 or unit == "GB":
            return f"{count_f:.1f} {unit}"
        count = int(count_f)
    return f"{count} B"


def _cut(text: str, limit: int = LABEL_CHARS) -> Label:
    """A label of the text, cut to `limit` characters (the whole text kept for the tooltip)."""
    return Label(text if len(text) <= limit else text[:limit - 1] + "\u2026", text)


def _toned(text: str, tone: str) -> Label:
    return dataclasses.replace(_cut(text), tone=tone)


@dataclass(frozen=True)
class _Item:
    """One thing to place: a milestone or message, or an event (note set)."""

    time: float
    frame: int
    order: int
    side: Side | None
    name: str
    detail: str = ""
    note: EventNote | None = None


def _message_label(record: ConnectionRecord, item: _Item) -> tuple[Label, str]:
    """What a TLS message or application data says, and the tone it gives its arrow."""
    name, detail = item.name, item.detail
    if name == "first_application_data":
        if record.transport == "quic":  # its first 1-RTT packet this way: QUIC's bytes are not counted
            return _toned(messages.template("ladder.quic_application_data"), "data"), "data"
        sent = record.application_data_bytes.of(item.side or Side.CLIENT)
        return _toned(f"Application Data ({size_text(sent)} this way in all)", "data"), "data"
    if name == "alert":
        if detail == "encrypted":
            return _cut("Encrypted Alert"), ""
        fatal = detail.startswith("fatal")
        return _toned(f"Alert: {detail}", "fatal" if fatal else "warning"), "fatal" if fatal else ""
    text = MESSAGE_NAMES.get(name, name.replace("_", " "))
    if name in ("version_negotiation", "connection_close") and detail:  # the versions offered, the error code
        text += f" {detail}"
    client_hello, server_hello = record.client_hello, record.server_hello
    if name == "client_hello":
        if client_hello and client_hello.max_version and client_hello.frame == item.frame:
            text += f" up to {client_hello.max_version}"
        text += f", SNI {detail}" if detail else ", no SNI"
    elif name == "server_hello" and server_hello and server_hello.frame == item.frame:
        chosen = [part for part in (server_hello.version, server_hello.cipher) if part]
        text += f" {', '.join(chosen)}" if chosen else ""
    elif name == "certificate" and item.side is Side.SERVER and record.certificate_frame == item.frame:
        count = len(record.certificates)
        text += f" ({plural(count, 'certificate')})" if count else ""
    return _cut(text), ""


def _tcp_labels(record: ConnectionRecord, item: _Item) -> tuple[list[Label], str]:
    name = item.name
    text = TCP_NAMES[name]
    teardown = record.teardown
    if teardown is not None and teardown.frame == item.frame and name in ("fin", "rst"):
        silent = "" if any(alert.frame <= item.frame for alert in record.alerts) else ", no alert"
        tone = "reset" if name == "rst" else ("fatal" if record.failed else "close")
        labels = [_toned(f"{text} by the {teardown.by.value}{silent}", tone)]
        if teardown.after:
            after = MESSAGE_NAMES.get(teardown.after, teardown.after.replace("_", " "))
            labels.append(_toned(f"{elapsed_text(teardown.seconds_after or 0)} after {after}", "muted"))
        return labels, tone
    tone = "reset" if name == "rst" else "close" if name == "fin" else ""
    return [_toned(text, tone) if tone else _cut(text)], tone


def _finding_labels(record: ConnectionRecord, frame: int) -> list[Label]:
    """The plugin's warnings and errors on a frame, one line per severity: check ids and chain positions."""
    labels = []
    for severity, tone in ((Severity.ERROR, "error"), (Severity.WARNING, "warning")):
        checks = list(dict.fromkeys(
            finding.check + (f" #{finding.cert_index}" if finding.cert_index is not None else "")
            for finding in record.findings if finding.frame == frame and finding.severity == severity))
        if checks:
            full = "; ".join(finding.message for finding in record.findings
                             if finding.frame == frame and finding.severity == severity)
            text = f"\u26a0 {tone}: {', '.join(checks)}"
            labels.append(Label(_cut(text).text, full or text, tone))
    return labels


def _event_labels(note: EventNote) -> tuple[Label, ...]:
    """Who logged it, what it says (its first statement, then what the error state means), the confidence."""
    head = f"{note.provider} {note.event_id}" + (f" on {note.computer}" if note.computer else "")
    said, _, rest = note.text.partition(" (")
    meaning = rest.rpartition("); ")[2] if "); " in rest else ""
    wrapped = textwrap.wrap(said, EVENT_CHARS) + textwrap.wrap(meaning, EVENT_CHARS)
    shown = wrapped[:EVENT_LINES] or [""]
    if len(wrapped) > EVENT_LINES:
        shown[-1] = shown[-1][:EVENT_CHARS - 1] + "\u2026"
    return (_toned(head, "event"), *(Label(line, note.text, "muted") for line in shown),
            Label(f"attribution {note.confidence}", "; ".join(note.reasons) or note.confidence,
                  f"confidence-{note.confidence}"))


def _items(record: ConnectionRecord, events: Sequence[tuple[EventNote, float]]) -> list[_Item]:
    items = [_Item(m.time, m.frame, _ORDER[m.name], m.side, m.name, m.detail) for m in record.milestones
             if m.name in _ORDER]
    items += [_Item(m.time, m.frame, 1, m.side, m.name, m.detail) for m in record.messages]
    items += [_Item(time, 0, 9, None, f"event:{note.provider}:{note.event_id}", note=note) for note, time in events]
    # Packets before events logged at the same instant; within a frame, the wire order kept by the stable sort.
    return sorted(items, key=lambda item: (item.time, item.note is not None, item.frame, item.order))


@dataclass
class _Draft:
    """A row before its place on the axis is known."""

    time: float
    kind: str
    frame: int | None
    side: Side | None
    names: list[str]
    labels: list[Label]
    tone: str = ""
    confidence: str = ""

    @property
    def need(self) -> float:
        """The room it needs above its line: its labels and a margin."""
        return LINE * len(self.labels) + ROW_PAD


def _drafts(record: ConnectionRecord, items: list[_Item]) -> list[_Draft]:
    """Items -> rows: what one side sent in one frame is one arrow; each event is a row of its own."""
    drafts: list[_Draft] = []
    for item in items:
        if item.note is not None:
            drafts.append(_Draft(item.time, "event", None, None, [item.name], list(_event_labels(item.note)),
                                 "event", item.note.confidence))
            continue
        if item.name in TCP_NAMES:
            labels, tone = _tcp_labels(record, item)
        else:
            label, tone = _message_label(record, item)
            labels = [label]
        last = drafts[-1] if drafts else None
        if last is not None and last.kind == "arrow" and (last.frame, last.side) == (item.frame, item.side):
            last.names.append(item.name)
            last.labels += labels
            if tone and (tone in ("fatal", "reset") or not last.tone):
                last.tone = tone
            continue
        drafts.append(_Draft(item.time, "arrow", item.frame, item.side, [item.name], labels, tone))
    for draft in drafts:
        if draft.frame is not None:
            draft.labels += _finding_labels(record, draft.frame)
    return drafts


def _place(times: list[float], needs: list[float]) -> tuple[list[float], list[bool], str, str]:
    """Each row's y, whether its gap was shortened, the scale and a note on how to read it."""
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    positive = [gap for gap in gaps if gap > 0]
    scale_px = max((need / gap for need, gap in zip(needs[1:], gaps) if gap > 0), default=0.0)
    linear_height = sum(max(need, scale_px * gap) for need, gap in zip(needs[1:], gaps))
    ys = [TOP + needs[0]] if needs else []
    shortened = [False] * len(times)
    if linear_height <= MAX_LINEAR_HEIGHT or not positive:
        for need, gap in zip(needs[1:], gaps):
            ys.append(ys[-1] + max(need, scale_px * gap))
        per_100 = elapsed_text(100 / scale_px) if scale_px else "-"
        return ys, shortened, "linear", f"time runs down, linear: 100 units = {per_100}"
    shortest = min(positive)
    for index, (need, gap) in enumerate(zip(needs[1:], gaps), start=1):
        ratio = gap / shortest if gap > 0 else 1.0
        ys.append(ys[-1] + need + LOG_PX * math.log10(ratio))
        shortened[index] = ratio >= BREAK_RATIO
    return ys, shortened, "log", ("time runs down; gaps are log-scaled to fit (each tenfold longer gap gets "
                                  f"{LOG_PX} units more; \u2248 marks a shortened gap): read the elapsed times")


def build(record: ConnectionRecord, events: Sequence[tuple[EventNote, float]] = ()) -> Ladder:
    """The ladder of one connection, with attributed events placed at their (clock-corrected) times."""
    items = _items(record, events)
    drafts = _drafts(record, items)
    origin = items[0].time if items else record.first_time
    ys, shortened, scale, note = _place([draft.time for draft in drafts], [draft.need for draft in drafts])
    rows = tuple(Row(draft.kind, round(y, 1), round(draft.time - origin, 6), draft.frame, draft.side,
                     tuple(draft.names), tuple(draft.labels), draft.tone, draft.confidence, short)
                 for draft, y, short in zip(drafts, ys, shortened))
    height = (ys[-1] if ys else TOP) + BOTTOM
    client = (Label("client", "client", "head"), _cut(f"{record.client}:{record.client_port}", HEADER_CHARS))
    server = (Label("server", "server", "head"), _cut(record.server_name or "(no SNI)", HEADER_CHARS),
              _cut(f"{record.server}:{record.server_port}", HEADER_CHARS))
    left_out = (f"{plural(record.messages_left_out, 'later TLS message')} "
                "past the record's cap not drawn" if record.messages_left_out else "")
    return Ladder(rows, WIDTH_WITH_EVENTS if events else WIDTH, round(height, 1), scale, note, client, server,
                  left_out)


def _signature(row: Row) -> tuple[str, str, tuple[str, ...], str, tuple[str, ...]]:
    """What two ladders are compared by: who sent which messages, how the arrow is coloured (a fatal alert, a
    failing close) and the plugin's findings on it; never frames, times or byte counts."""
    findings = tuple(label.text for label in row.labels if label.tone in ("error", "warning"))
    return row.kind, row.side.value if row.side else "", row.names, row.tone, findings


def mark_differences(good: Ladder, bad: Ladder) -> tuple[Ladder, Ladder]:
    """Both ladders with the rows the other lacks marked as changed (a diff of who sent what, in order)."""
    good_keys = [_signature(row) for row in good.rows if row.kind == "arrow"]
    bad_keys = [_signature(row) for row in bad.rows if row.kind == "arrow"]
    matcher = difflib.SequenceMatcher(a=good_keys, b=bad_keys, autojunk=False)
    good_changed: set[int] = set()
    bad_changed: set[int] = set()
    for tag, good_from, good_to, bad_from, bad_to in matcher.get_opcodes():
        if tag != "equal":
            good_changed.update(range(good_from, good_to))
            bad_changed.update(range(bad_from, bad_to))
    return _marked(good, good_changed), _marked(bad, bad_changed)


def _marked(ladder: Ladder, changed: set[int]) -> Ladder:
    rows, arrow = [], 0
    for row in ladder.rows:
        if row.kind == "arrow":
            row = dataclasses.replace(row, changed=arrow in changed)
            arrow += 1
        rows.append(row)
    return dataclasses.replace(ladder, rows=tuple(rows))
