"""Timeline -> a table for people or one JSON document for machines (nothing else prints)."""

from __future__ import annotations

import datetime as dt
import json
from typing import IO, Any

from tsharkpost.record.jsonform import iso_time
from tsharkpost.render.plain_table import tabulate
from tsharkpost.render.summary_json import input_json
from tsharkpost.render.text import plural, printable, printable_lines
from tsharkpost.timeline.attribute import Attribution
from tsharkpost.timeline.build import Entry, Timeline

SCHEMA_ID = "https://tsharkpost.invalid/schema/timeline"
SCHEMA_VERSION = 1
WHAT_WIDTH = 90
# Event text in the table is shortened past these (the JSON keeps it whole, up to the readers' caps): a 4 KiB
# field value would otherwise fill a screen per row.
NAME_LIMIT = 256  # a cell naming something: event source, computer
TEXT_LIMIT = 1000  # the "what" of a row, a line of the event lists


def _clock(time: float) -> str:
    return dt.datetime.fromtimestamp(time, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def _attribution_line(item: Attribution) -> str:
    if item.connection is None:
        return f"unattributed: {item.why_not}"
    return f"-> {item.connection.label} ({item.confidence})"


def _row(entry: Entry) -> list[Any]:
    where = printable(entry.where, NAME_LIMIT)
    if entry.kind == "milestone":
        return [_clock(entry.time), where, entry.frame, entry.side, printable(entry.what, TEXT_LIMIT)]
    what = entry.what
    if entry.attribution is not None:
        what = f"EVENT {what} {_attribution_line(entry.attribution)}"
    else:
        what = f"event {what}"
    return [_clock(entry.time), where, "", printable(entry.side, NAME_LIMIT) or "-", printable(what, TEXT_LIMIT)]


def _line(text: str) -> str:
    return printable(text, TEXT_LIMIT)


def write_table(timeline: Timeline, out: IO[str]) -> None:
    parts = [f"Clock: {timeline.skew.note}"]
    parts += [_line(f"  pair: {pair}") for pair in timeline.skew.pairs]
    if timeline.around is not None:
        parts.append(f"Showing failed connections and events within {timeline.around:g} s of them (--around).")
    parts += ["", "Timeline (UTC)"]
    rows = [_row(entry) for entry in timeline.entries]
    parts.append(tabulate(rows, ["time", "connection / event", "frame", "by", "what"],
                          maxcolwidths=[None, None, None, None, WHAT_WIDTH]) if rows else "Nothing to show.")
    # The attributed events on the timeline (--around may leave some out, with their connections), as in JSON
    entry_of = {id(entry.attribution): entry for entry in timeline.entries if entry.attribution is not None}
    attributed = [item for item in timeline.attributions if item.connection is not None and id(item) in entry_of]
    if attributed:
        parts += ["", "Attributed events"]
        for item in attributed:
            entry = entry_of.get(id(item))
            assert item.connection is not None
            parts.append(_line(f"- {item.event.source} {item.event.provider} {item.event.event_id} -> "
                               f"{item.connection.label} ({item.connection.outcome.value}), confidence "
                               f"{item.confidence}"))
            if entry is not None and entry.between:
                parts.append(_line(f"    placed {entry.between}"
                                   + (" (the export has whole seconds: placed by attribution)"
                                      if item.event.resolution >= 0.5 and item.anchor else "")))
            parts += [_line(f"    because {reason}") for reason in item.reasons]
    if timeline.unattributed:
        parts += ["", "Unattributed events"]
        parts += [_line(f"- {item.event.source} {_clock(item.time)} {item.meaning.text}: {item.why_not}")
                  for item in timeline.unattributed]
    if timeline.events_outside:
        parts += ["", f"{plural(timeline.events_outside, 'event')} "
                          + ("lies far from every capture and is not shown." if timeline.events_outside == 1
                             else "lie far from every capture and are not shown.")]
        parts += [f"  among them {note}" for note in timeline.notes]
    parts += ["", "Inputs"]
    inputs = [[printable(result.path), result.status.value, printable(result.reason)] for result in timeline.captures]
    inputs += [[printable(log.path), f"{log.status} ({log.form or '?'}, {plural(log.events, 'event')})",
                printable("; ".join(([log.reason] if log.reason else []) + log.problems + log.notes))]
               for log in timeline.logs]
    parts.append(tabulate(inputs, ["input", "status", "note"], maxcolwidths=[None, None, 70]))
    out.write(printable_lines("\n".join(parts)) + "\n")  # names and event text may hold controls


def _attribution(item: Attribution) -> dict[str, Any]:
    return {"event": item.event.source, "connection": item.connection.label if item.connection else None,
            "capture": item.connection.capture if item.connection else None,
            "stream": item.connection.stream if item.connection else None,
            "transport": item.connection.transport if item.connection else None,
            "confidence": item.confidence or None, "reasons": item.reasons, "alternatives": item.alternatives,
            "why_not": item.why_not or None,
            "anchor": None if item.anchor is None else {
                "from": iso_time(item.anchor[0]), "to": iso_time(item.anchor[1]), "where": item.anchor[2]}}


def _entry(entry: Entry) -> dict[str, Any]:
    found: dict[str, Any] = {"time": iso_time(entry.time), "kind": entry.kind, "where": entry.where,
                             "frame": entry.frame, "by": entry.side, "what": entry.what}
    if entry.kind == "event":
        found["between"] = entry.between or None
        item = entry.attribution
        if item is not None:
            event = item.event
            found["event"] = {"time_logged": iso_time(event.time), "resolution": event.resolution,
                              "computer": event.computer, "provider": event.provider, "event_id": event.event_id,
                              "level": event.level, "channel": event.channel, "record_id": event.record_id,
                              "fields": event.fields, "raw": event.raw}
            found["attribution"] = _attribution(item)
    return found


def write_json(timeline: Timeline, out: IO[str]) -> None:
    document = {
        "schema": SCHEMA_ID, "schema_version": SCHEMA_VERSION,
        "captures": [input_json(result) for result in timeline.captures],
        "logs": [log.as_dict() for log in timeline.logs],
        "clock": timeline.skew.as_dict(),
        "around": timeline.around,
        "entries": [_entry(entry) for entry in timeline.entries],
        "unattributed": [_attribution(item) for item in timeline.unattributed],
        "events_outside": timeline.events_outside,
        "notes": timeline.notes,
    }
    json.dump(document, out, indent=2)
    out.write("\n")
