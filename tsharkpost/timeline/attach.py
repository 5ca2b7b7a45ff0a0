"""summarize --events: Windows events attributed to connections, attached to each record before it is written.

attribute_to_records() reads the logs once against light views of every
record (attribution weighs each event against all connections); the result's
attach() then gives each record its events, and puts the decisive ones first in
the evidence of its top cause, as the record goes out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from tsharkpost.capture.result import InputResult
from tsharkpost.events.interpret import error_state_label, interpreted
from tsharkpost.events.model import LogResult
from tsharkpost.plugin import tables as facts
from tsharkpost.record.jsonform import iso_time
from tsharkpost.record.model import Cause, CauseKind, ConnectionRecord, EventNote
from tsharkpost.timeline.attribute import (HIGH, MEDIUM, Attribution, ConnectionView, Skew, attribute,
                                          capture_labels, clock)
from tsharkpost.timeline.window import select_events


def _sender(item: Attribution, record: ConnectionRecord) -> str:
    """Which side of the connection the event's host is, from the evidence that tied them."""
    sense = item.meaning
    if sense.target and sense.target.lower() == (record.server_name or "").lower():
        return "client"  # TargetName is the name a client asked for
    for alert in record.alerts:
        if alert.code == sense.alert:
            side = alert.sender
            return (side if sense.alert_role == "generated" else side.other).value
    teardown = record.teardown
    return teardown.by.value if teardown and sense.alert_role == "generated" else "this host"


def statement(item: Attribution, record: ConnectionRecord) -> str:
    """The event in words, e.g. 'client generated fatal alert 43 unsupported_certificate (...); Schannel error
    state 252, community-reported as ...'."""
    event, sense = item.event, item.meaning
    where = (f"{event.provider} {event.event_id}" + (f" on {event.computer}" if event.computer else "")
             + f" at {iso_time(event.time)}, attribution {item.confidence}")
    if sense.alert_role and sense.alert is not None:
        verb = "generated" if sense.alert_role == "generated" else "received"
        fact = facts.alerts().get(sense.alert)
        name = f" {fact.name}" if fact else " (unassigned)"
        windows = f"{fact.windows_name}; " if fact and fact.windows_name else ""
        text = f"{_sender(item, record)} {verb} fatal alert {sense.alert}{name} ({windows}{where})"
        if sense.error_state is not None:
            text += f"; {error_state_label(event.event_id, sense.error_state)}"
        return text
    if sense.alert_role:
        verb = "generated" if sense.alert_role == "generated" else "received"
        return (f"{_sender(item, record)} {verb} a fatal alert whose code this export does not carry (CSV/TXT "
                f"exports hold only the message; export XML or EVTX for AlertDesc and ErrorState) ({where})")
    return f"{sense.text} ({where})"


def _note(item: Attribution, record: ConnectionRecord) -> EventNote:
    event = item.event
    return EventNote(event.source, event.time, event.provider, event.event_id, event.level, event.computer,
                     dict(event.fields), statement(item, record), item.confidence, tuple(item.reasons))


@dataclass
class EventAttachment:
    """The event logs read for summarize --events, the clock applied, and each connection's attributed events."""

    logs: list[LogResult]
    skew: Skew
    by_connection: dict[tuple[str, str, int], list[Attribution]] = field(default_factory=dict)  # (capture,
    # transport, stream): TCP's stream 0 and QUIC's udp.stream 0 are two connections

    def attach(self, record: ConnectionRecord) -> ConnectionRecord:
        """The record with its events; decisive ones (alert events, high or medium) lead its top cause's evidence."""
        items = self.by_connection.get((record.capture, record.transport, record.stream), [])
        if not items:
            return record
        decisive = [statement(item, record) for item in items
                    if item.confidence in (HIGH, MEDIUM) and item.meaning.alert_role]
        causes = record.causes
        if decisive and causes:
            top = causes[0]
            causes = (dataclasses.replace(top, evidence=(*decisive, *top.evidence)), *causes[1:])
        elif decisive:
            causes = (Cause(1, CauseKind.EVENT, decisive[0], tuple(decisive)),)
        return dataclasses.replace(record, events=tuple(_note(item, record) for item in items), causes=causes)


def attribute_to_records(results: list[InputResult], log_paths: list[Path], tz: ZoneInfo | None,
                         shift: float | None) -> EventAttachment:
    """Read the logs and attribute their events to the connections of every input."""
    views = [ConnectionView.of(record) for result in results for record in result.records() if record.is_tls]
    capture_labels(views, [result.path for result in results])
    selection = select_events(log_paths, tz, views, shift, near_only=True)
    events = selection.events
    skew = clock(events, views, shift)
    attachment = EventAttachment(selection.logs, skew)
    for item in attribute([event for event in events if interpreted(event)], views, skew.seconds):
        if item.connection is not None:
            key = (item.connection.capture, item.connection.transport, item.connection.stream)
            attachment.by_connection.setdefault(key, []).append(item)
    return attachment
