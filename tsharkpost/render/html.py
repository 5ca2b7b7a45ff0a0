"""What the HTML reports share: the Jinja2 environment, the page's CSS and script with their CSP hashes, and one
connection as the report shows it (its ladder, chain cards, causes, events and Wireshark command).

Every string from a capture or an event log is untrusted (a server name, a certificate subject, an event field
may hold markup): the environment autoescapes everything, and the page's Content-Security-Policy lets only its
own stylesheet and script run, by hash, so even a string that escaped escaping could not run a script or load
anything. render/summary_html.py and render/diff_html.py are the two pages.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tsharkpost.plugin.tables import Severity
from tsharkpost.record.model import Cause, ConnectionRecord, EventNote, Finding, stream_id
from tsharkpost.render import chain, ladder
from tsharkpost.render.text import UNPRINTABLE, plural, printable

# jinja2 is imported when a page is written, not with the package: a run without HTML output need not load it
# (with tabulate and tqdm, loaded alike, the CLI's start-up went from 140-154 ms to 115-129 ms).
if TYPE_CHECKING:
    from jinja2 import Environment
    from markupsafe import Markup

TEMPLATES = "templates"
# What one connection shows of its Windows events, whose number and size the event logs decide (a noisy or hostile
# log may attribute thousands to one connection): at most EVENTS_SHOWN events drawn and listed (the most confident,
# then the earliest); of a cause's evidence (each alert event adds a line at its start) the first and the last
# EVIDENCE_SHOWN / 2 lines, the capture's own evidence being last; of an event at most FIELDS_SHOWN fields, each cut
# at FIELD_CHARS characters. The page says what it left out; --format json keeps everything.
EVENTS_SHOWN = 20
EVIDENCE_SHOWN = 20
FIELDS_SHOWN = 32
FIELD_CHARS = 300
_CONFIDENCE_ORDER = {"high": 0, "medium": 1, "low": 2}


@cache
def _asset(name: str) -> str:
    return resources.files("tsharkpost.render").joinpath(TEMPLATES, name).read_text(encoding="utf-8")


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


@dataclass(frozen=True)
class Page:
    """The page's own stylesheet and script, and the policy that allows exactly them and nothing else."""

    css: Markup
    script: Markup
    policy: str


@cache
def page() -> Page:
    css, script = _asset("report.css"), _asset("report.js")
    policy = (f"default-src 'none'; style-src {_digest(css)}; script-src {_digest(script)}; img-src data:; "
              "base-uri 'none'; form-action 'none'")
    from markupsafe import Markup

    # Both are files of this package, never capture data: safe to insert as they are.
    return Page(Markup(css), Markup(script), policy)


def _clock(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _thousands(value: int) -> str:
    return f"{value:,}"


@cache
def environment() -> Environment:
    """Templates from tsharkpost/render/templates, every value autoescaped, a missing name an error."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("tsharkpost.render", TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                      finalize=_visible)
    env.filters.update(elapsed=ladder.elapsed_text, size=ladder.size_text, clock=_clock, thousands=_thousands,
                       plural=plural, path=_path, severity=lambda level: chain.SEVERITY_TONES.get(level, "note"))
    env.filters.update(cut=lambda text: printable(str(text), FIELD_CHARS))
    env.globals.update(page=page(), LINE=ladder.LINE, EVIDENCE_SHOWN=EVIDENCE_SHOWN, FIELDS_SHOWN=FIELDS_SHOWN)
    return env


def _visible(value: Any) -> Any:
    """Every value a template shows, before autoescaping: a string's control characters (a line break too: a file
    name "a\\nb" would read as "a b") and the invisible ones that reorder or hide text (bidirectional overrides,
    zero-width characters) written as escapes, as the tables show them; markup the templates made themselves is left
    as it is."""
    from markupsafe import Markup

    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return value


def _path(value: str) -> Markup:
    """A file's path, shown as text, that may break after each / where its column is narrow."""
    from markupsafe import Markup, escape

    return Markup("/<wbr>").join(escape(printable(part)) for part in value.split("/"))


def write(template: str, out: IO[str], **context: Any) -> None:
    """Render a template as it streams: generators in the context are read one item at a time."""
    for chunk in environment().get_template(template).generate(**context):
        out.write(chunk)


def shell_word(path: str) -> str:
    """A file's path quoted for a shell: shlex.quote's '...' for a printable one; a name holding control or invisible
    characters (a newline, a right-to-left override) as bash's and zsh's $'...' with every other byte than printable
    ASCII written \\xHH, so the page shows it escaped and a copy of it names the same bytes."""
    if UNPRINTABLE.search(path) is None:
        return shlex.quote(path)
    escaped = "".join(f"\\{chr(byte)}" if byte in b"\\'" else chr(byte) if 0x20 <= byte < 0x7F else f"\\x{byte:02x}"
                      for byte in os.fsencode(path))
    return f"$'{escaped}'"


def wireshark_command(capture: str, stream: int, transport: str = "tcp") -> str:
    """The line that opens the connection in Wireshark, its capture quoted for the shell (shell_word), udp.stream for
    DTLS and QUIC."""
    return f'wireshark -r {shell_word(capture)} -Y "{"tcp" if transport == "tcp" else "udp"}.stream == {stream}"'


@dataclass(frozen=True)
class EventView:
    note: EventNote
    placed: float  # on the capture's clock (after the clock correction)


@dataclass(frozen=True)
class ConnectionView:
    """One connection as the report shows it.

    Attributes:
        anchor: the HTML id of its section.
        cards, client_cards: the server's chain and the client's (mutual TLS; empty without one) as cards.
        findings: the plugin's findings that name no certificate (those are on the cards).
        events, events_left_out: the events shown (at most EVENTS_SHOWN), and how many others it has.
    """

    record: ConnectionRecord
    anchor: str
    name: str
    ladder: ladder.Ladder
    cards: tuple[chain.Card, ...]
    causes: tuple[Cause, ...]
    findings: tuple[Finding, ...]
    events: tuple[EventView, ...]
    command: str
    related: tuple[Link, ...]
    client_cards: tuple[chain.Card, ...] = ()
    events_left_out: int = 0

    @property
    def outcome(self) -> str:
        return self.record.outcome.value


def connection_name(record: ConnectionRecord, capture_name: str | None = None) -> str:
    """CAPTURE:STREAM, the capture by its file name unless capture_name says how the page names it (summarize
    names captures that share a file name by their shortest distinct path: t1/input.pcap, t2/input.pcap)."""
    return f"{capture_name or Path(record.capture).name}:{record.stream_id}"


def anchor(input_number: int, record: ConnectionRecord, stream: int | None = None, later: bool = False) -> str:
    """The page's id of a connection (of another stream of the same transport, given one: that stream's first
    connection): TCP's stream 0 and QUIC's udp.stream 0 are two connections. `later`: not the first connection of its
    stream on the page (a client that reused its port in one tcp.stream, a DTLS or QUIC reconnect), whose id then
    ends in its first frame, so that every id on the page is one connection's."""
    number = record.stream if stream is None else stream
    base = f"c{input_number}-{stream_id(record.transport, number).replace('/', '-')}"
    return f"{base}-f{record.first_frame}" if later else base


@dataclass(frozen=True)
class Link:
    anchor: str
    text: str


def _related(record: ConnectionRecord, input_number: int) -> tuple[Link, ...]:
    """A failed attempt and its fallback retry point at each other."""
    links = []
    if record.retried_by is not None:
        links.append(Link(anchor(input_number, record, record.retried_by),
                          "the client retried with a lower version: stream "
                          f"{stream_id(record.transport, record.retried_by)}"))
    if record.fallback_of is not None:
        links.append(Link(anchor(input_number, record, record.fallback_of),
                          f"the client's fallback after stream {stream_id(record.transport, record.fallback_of)} "
                          "failed"))
    return tuple(links)


def connection_view(record: ConnectionRecord, input_number: int, shift: float = 0.0,
                    drawn: ladder.Ladder | None = None, relations: Sequence[str] = (),
                    capture_name: str | None = None, later: bool = False) -> ConnectionView:
    """The view of one record; `shift` puts its events on the capture's clock, `drawn` replaces its ladder,
    `capture_name` names its capture (connection_name), `later` as for anchor."""
    shown = _shown_events(record.events)
    events = tuple(EventView(note, note.time + shift) for note in shown)
    return ConnectionView(
        record=record, anchor=anchor(input_number, record, later=later),
        name=connection_name(record, capture_name),
        ladder=drawn or ladder.build(record, [(event.note, event.placed) for event in events]),
        cards=tuple(chain.cards(record, relations)), causes=record.causes,
        findings=tuple(finding for finding in record.findings
                       if finding.cert_index is None and finding.severity >= Severity.NOTE),
        events=events, command=wireshark_command(record.capture, record.stream, record.transport),
        related=_related(record, input_number), client_cards=tuple(chain.client_cards(record)),
        events_left_out=len(record.events) - len(shown))


def _shown_events(events: Sequence[EventNote]) -> list[EventNote]:
    """At most EVENTS_SHOWN of a connection's events, the most confident (then the earliest) first, in their order."""
    if len(events) <= EVENTS_SHOWN:
        return list(events)
    ranked = sorted(range(len(events)), key=lambda n: (_CONFIDENCE_ORDER.get(events[n].confidence, 3), events[n].time))
    return [events[n] for n in sorted(ranked[:EVENTS_SHOWN])]
