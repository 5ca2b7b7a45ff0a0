"""Captures and event logs -> one timeline: milestones of every connection and the events, in time order.

Captures go through the capture stage (capture/analyze.py: records with
milestones); logs are streamed through timeline/window.py, which holds only the
events that can be placed, within a memory budget, so a large log costs reading
time, not memory.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from tsharkpost.capture import tshark as ts
from tsharkpost.capture.analyze import analyze
from tsharkpost.capture.result import InputResult
from tsharkpost.events.interpret import interpreted
from tsharkpost.events.model import LogResult
from tsharkpost.record.jsonform import iso_time
from tsharkpost.record.model import MESSAGE_NAMES
from tsharkpost.timeline.attribute import Attribution, ConnectionView, Skew, attribute, capture_labels, clock
from tsharkpost.timeline.window import EventSelection, select_events, trim_context

# A milestone as the timeline names it: a message as the ladder does (MESSAGE_NAMES), TCP's flags, a shorter CCS,
# and the milestones that are no message.
MILESTONE_LABELS = {**MESSAGE_NAMES, "syn": "SYN", "syn_ack": "SYN-ACK", "fin": "FIN", "rst": "RST",
                    "change_cipher_spec": "CCS", "encrypted_server_flight": "encrypted server flight (TLS 1.3)",
                    "alert": "Alert", "first_application_data": "first application data"}


@dataclass
class Entry:
    """One row of the timeline: a connection milestone or an event."""

    time: float
    kind: str  # "milestone" or "event"
    where: str  # capture:stream as shown, or the event's log#record
    frame: int | None
    side: str
    what: str
    attribution: Attribution | None = None
    between: str = ""  # for events: the frames it falls between
    connection: tuple[str, str, int] | None = None  # for milestones: ConnectionView.key


@dataclass
class Timeline:
    captures: list[InputResult]
    logs: list[LogResult]
    skew: Skew
    entries: list[Entry]
    attributions: list[Attribution]
    views: list[ConnectionView]
    events_outside: int = 0  # events far from every capture or past a cap (notes), not shown
    around: float | None = None
    notes: list[str] = field(default_factory=list)  # caps that were hit

    @property
    def unattributed(self) -> list[Attribution]:
        return [item for item in self.attributions if item.connection is None]


def read_captures(paths: list[Path], tshark: ts.Tshark, options: ts.Options,
                  scratch: Path) -> tuple[list[InputResult], list[ConnectionView]]:
    results, views = [], []
    for number, path in enumerate(paths):
        result = analyze(path, tshark, options, scratch / f"{number}.jsonl")
        results.append(result)
        views += [ConnectionView.of(record) for record in result.records() if record.is_tls]
    capture_labels(views, [str(path) for path in paths])
    return results, views


def _milestone_entries(views: list[ConnectionView]) -> list[Entry]:
    entries = []
    for view in views:
        for m in view.milestones:
            label = MILESTONE_LABELS.get(m.name, m.name)
            what = f"{label} {m.detail}".strip() if m.name != "client_hello" else \
                f"{label}" + (f" SNI {m.detail}" if m.detail else "")
            entries.append(Entry(m.time, "milestone", view.label, m.frame, m.side.value, what, connection=view.key))
    return entries


def _between(item: Attribution, milestones: list[Entry]) -> str:
    """The frames an event falls between: of its connection when attributed, else of all connections."""
    own = [entry for entry in milestones if item.connection is None or entry.connection == item.connection.key]
    at = item.placed_at
    before = [entry for entry in own if entry.time <= at]
    after = [entry for entry in own if entry.time > at]
    def label(entry: Entry) -> str:
        return f"frame {entry.frame} ({entry.what}, {entry.where})"
    if before and after:
        return f"between {label(before[-1])} and {label(after[0])}"
    if before:
        return f"after {label(before[-1])}"
    if after:
        return f"before {label(after[0])}"
    return ""


def build(captures: list[InputResult], views: list[ConnectionView], selection: EventSelection,
          shift: float | None, around: float | None) -> Timeline:
    skew = clock(selection.events, views, shift)
    events, let_go = trim_context(selection.events, views, skew.seconds)
    interesting = [event for event in events if interpreted(event)]
    attributions = attribute(interesting, views, skew.seconds)
    by_event = {id(item.event): item for item in attributions}
    milestones = _milestone_entries(views)
    milestones.sort(key=lambda entry: (entry.time, entry.where, entry.frame or 0))
    entries = list(milestones)
    for event in events:
        item = by_event.get(id(event))
        if item is not None:
            what = item.meaning.text
            if item.placed_at != item.time:
                what += f" (logged {(iso_time(item.time) or '')[11:19]}, whole seconds only: placed by attribution)"
            entries.append(Entry(item.placed_at, "event", event.source, None, event.computer, what, item,
                                 _between(item, milestones)))
        else:
            entries.append(Entry(event.time + skew.seconds, "event", event.source, None, event.computer,
                                 f"{event.provider} {event.event_id} (not interpreted)"))
    if around is not None:
        failed = [view for view in views if view.failed]
        keep = {view.key for view in failed}
        def near(time: float) -> bool:
            return any(view.first - around <= time <= view.last + around for view in failed)
        entries = [entry for entry in entries if (entry.kind == "milestone" and entry.connection in keep)
                   or (entry.kind == "event" and near(entry.time))]
    entries.sort(key=lambda entry: (entry.time, entry.kind == "event"))
    return Timeline(captures, selection.logs, skew, entries, attributions, views, selection.outside + let_go, around,
                    selection.notes)


def run_timeline(capture_paths: list[Path], log_paths: list[Path], tshark: ts.Tshark, options: ts.Options,
                 tz: ZoneInfo | None, shift: float | None, around: float | None) -> Timeline:
    with tempfile.TemporaryDirectory(prefix="tsharkpost-") as scratch:
        captures, views = read_captures(capture_paths, tshark, options, Path(scratch))
    return build(captures, views, select_events(log_paths, tz, views, shift), shift, around)
