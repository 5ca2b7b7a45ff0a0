"""summarize --events: attributed events added to the connection records, and to the evidence of their causes.

The records were written by the pipeline as JSON lines; each input's file is
rewritten once with the events that belong to its connections.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tsharkpost import facts
from tsharkpost.events.interpret import error_state_label, interpreted
from tsharkpost.events.model import LogResult
from tsharkpost.records import iso_time
from tsharkpost.results import InputResult
from tsharkpost.timeline.attribute import (HIGH, MEDIUM, Attribution, ConnectionView, Skew, attribute,
                                          capture_labels, clock)
from tsharkpost.timeline.build import read_events


@dataclass
class Enrichment:
    logs: list[LogResult]
    skew: Skew
    attributed: int
    unattributed: int


def _sender(item: Attribution, record: dict[str, Any]) -> str:
    """Which side of the connection the event's host is, from the evidence that tied them."""
    sense = item.meaning
    if sense.target and sense.target.lower() == (record["server_name"] or "").lower():
        return "client"  # TargetName is the name a client asked for
    for alert in record["alerts"]:
        if alert["code"] == sense.alert:
            side = alert["sender"]
            return side if sense.alert_role == "generated" else ("server" if side == "client" else "client")
    teardown = record["teardown"]
    return str(teardown["by"]) if teardown and sense.alert_role == "generated" else "this host"


def statement(item: Attribution, record: dict[str, Any]) -> str:
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


def _event_record(item: Attribution, record: dict[str, Any]) -> dict[str, Any]:
    event = item.event
    return {"source": event.source, "time": iso_time(event.time), "provider": event.provider,
            "event_id": event.event_id, "level": event.level, "computer": event.computer, "fields": event.fields,
            "text": statement(item, record), "confidence": item.confidence, "reasons": item.reasons}


def enrich(results: list[InputResult], log_paths: list[Path], tz: ZoneInfo | None,
           shift: float | None) -> Enrichment:
    views = [ConnectionView.of(record) for result in results for record in result.records()
             if record["outcome"] != "not_tls"]
    capture_labels(views, [result.path for result in results])
    logs, events, _ = read_events(log_paths, tz, views, shift)
    skew = clock(events, views, shift)
    attributions = attribute([event for event in events if interpreted(event)], views, skew.seconds)
    by_connection: dict[tuple[str, int], list[Attribution]] = {}  # by (capture as given, stream)
    for item in attributions:
        if item.connection is not None:
            by_connection.setdefault((item.connection.capture, item.connection.stream), []).append(item)
    for result in results:
        if result.records_file is None:
            continue
        rewritten = Path(result.records_file + ".events")
        with rewritten.open("w", encoding="utf-8") as out:  # one record at a time: records stay on disk
            for record in result.records():
                _add_events(record, by_connection.get((record["capture"], record["stream"]), []))
                out.write(json.dumps(record) + "\n")
        rewritten.replace(result.records_file)
    attributed = sum(1 for item in attributions if item.connection is not None)
    return Enrichment(logs, skew, attributed, len(attributions) - attributed)


def _add_events(record: dict[str, Any], items: list[Attribution]) -> None:
    """The record's events, and the decisive ones (alert events, high or medium) first in its top cause."""
    record["events"] = [_event_record(item, record) for item in items]
    decisive = [item for item in items if item.confidence in (HIGH, MEDIUM) and item.meaning.alert_role]
    if decisive and record["causes"]:
        record["causes"][0]["evidence"][:0] = [statement(item, record) for item in decisive]
    elif decisive:
        record["causes"].append({"rank": 1, "summary": statement(decisive[0], record),
                                 "evidence": [statement(item, record) for item in decisive], "checks": []})
