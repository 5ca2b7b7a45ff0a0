"""Captures and event logs -> one timeline: milestones of every connection and the events, in time order.

Captures go through the capture stage (capture/analyze.py: records with
milestones); logs are streamed, and only events near the captures' time span
are kept, so a large log costs reading time, not memory.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from tsharkpost.capture import tshark as ts
from tsharkpost.capture.analyze import analyze
from tsharkpost.capture.result import InputResult
from tsharkpost.events.interpret import interpreted
from tsharkpost.events.model import Event, LogResult
from tsharkpost.events.readers import read_log
from tsharkpost.record.jsonform import iso_time
from tsharkpost.timeline.attribute import (MAX_SKEW_SECONDS, Attribution, ConnectionView, Skew, attribute,
                                          capture_labels, clock)

# Events not interpreted (not Schannel or CAPI2) are shown only this close to a capture's connections.
CONTEXT_SECONDS = 5.0
# Interpreted events this far from the captures are still listed (as unattributed): a log read in the wrong time
# zone is hours off, and saying so beats hiding the event.
TIME_MARGIN = 86400.0
MILESTONE_LABELS = {"syn": "SYN", "syn_ack": "SYN-ACK", "fin": "FIN", "rst": "RST", "change_cipher_spec": "CCS",
                    "client_hello": "ClientHello", "server_hello": "ServerHello", "certificate": "Certificate",
                    "server_key_exchange": "ServerKeyExchange", "certificate_request": "CertificateRequest",
                    "server_hello_done": "ServerHelloDone", "client_key_exchange": "ClientKeyExchange",
                    "encrypted_server_flight": "encrypted server flight (TLS 1.3)", "alert": "Alert",
                    "first_application_data": "first application data"}


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
    connection: tuple[str, int] | None = None  # for milestones: ConnectionView.key


@dataclass
class Timeline:
    captures: list[InputResult]
    logs: list[LogResult]
    skew: Skew
    entries: list[Entry]
    attributions: list[Attribution]
    views: list[ConnectionView]
    events_outside: int = 0  # events far from every capture, not shown
    around: float | None = None
    notes: list[str] = field(default_factory=list)

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


def read_events(paths: Iterable[Path], tz: ZoneInfo | None, views: list[ConnectionView],
                shift: float | None) -> tuple[list[LogResult], list[Event], int]:
    """Events worth placing: interpreted ones within reach of a skew estimate, others close to a connection."""
    logs, kept, outside = [], [], 0
    reach = abs(shift) if shift is not None else MAX_SKEW_SECONDS
    start = min((view.first for view in views), default=None)
    end = max((view.last for view in views), default=None)
    for path in paths:
        result = LogResult(str(path))
        logs.append(result)
        for event in read_log(path, result, tz):
            margin = reach + TIME_MARGIN if interpreted(event) else CONTEXT_SECONDS
            moved = event.time + (shift or 0.0)
            if start is not None and end is not None and (start - margin <= moved + event.resolution
                                                          and moved <= end + margin):
                kept.append(event)
            else:
                outside += 1
    kept.sort(key=lambda event: event.time)
    return logs, kept, outside



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


def build(captures: list[InputResult], views: list[ConnectionView], logs: list[LogResult], events: list[Event],
          shift: float | None, around: float | None, outside: int) -> Timeline:
    skew = clock(events, views, shift)
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
    return Timeline(captures, logs, skew, entries, attributions, views, outside, around)


def run_timeline(capture_paths: list[Path], log_paths: list[Path], tshark: ts.Tshark, options: ts.Options,
                 tz: ZoneInfo | None, shift: float | None, around: float | None) -> Timeline:
    with tempfile.TemporaryDirectory(prefix="tsharkpost-") as scratch:
        captures, views = read_captures(capture_paths, tshark, options, Path(scratch))
    logs, events, outside = read_events(log_paths, tz, views, shift)
    return build(captures, views, logs, events, shift, around, outside)
