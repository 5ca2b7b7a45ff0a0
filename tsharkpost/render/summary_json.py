"""summarize as JSON (one versioned envelope) and JSON lines (one typed object per line), written as read."""

from __future__ import annotations

import dataclasses
import json
from typing import IO, Any

from tsharkpost.capture.aggregate import Pattern
from tsharkpost.capture.result import InputResult
from tsharkpost.record.jsonform import SCHEMA_VERSION
from tsharkpost.summary import Summary

SCHEMA_ID = "https://tsharkpost.invalid/schema/summary"


def input_json(result: InputResult) -> dict[str, Any]:
    return {"path": result.path, "status": result.status.value, "reason": result.reason or None,
            "packets": result.packets, **dataclasses.asdict(result.totals)}


def pattern_json(pattern: Pattern) -> dict[str, Any]:
    return {**dataclasses.asdict(pattern), "outcome": pattern.outcome.value}


def _head(summary: Summary) -> dict[str, Any]:
    return {"schema": SCHEMA_ID, "schema_version": SCHEMA_VERSION,
            "tool": {"name": "tsharkpost", "version": summary.tool_version},
            "tshark": {"path": summary.tshark_path, "version": summary.tshark_version}}


def _events(summary: Summary) -> dict[str, Any]:
    if summary.events is None:
        return {}
    return {"event_logs": [log.as_dict() for log in summary.events.logs], "clock": summary.events.skew.as_dict()}


def write_json(summary: Summary, out: IO[str]) -> None:
    """The document described by tsharkpost/schema/summary.schema.json; connections stream from disk."""
    head = json.dumps({**_head(summary), **_events(summary),
                       "inputs": [input_json(result) for result in summary.inputs]}, indent=2)
    out.write(head[:-2] + ',\n  "connections": [')
    for number, text in enumerate(summary.record_texts()):
        out.write(("," if number else "") + "\n    " + text)
    patterns = json.dumps([pattern_json(pattern) for pattern in summary.patterns], indent=2)
    out.write('\n  ],\n  "patterns": ' + patterns.replace("\n", "\n  ") + "\n}\n")


def _tagged(kind: str, text: str) -> str:
    """json.dumps({"type": kind, **record}) from the record's own JSON text (an object with keys, none "type")."""
    if not text.startswith("{") or text == "{}":
        raise ValueError(f"not a JSON record: {text[:40]!r}")
    return '{"type": ' + json.dumps(kind) + ", " + text[1:]


def write_jsonl(summary: Summary, out: IO[str]) -> None:
    """A header line, then every input, connection and pattern, each tagged with its type."""
    out.write(json.dumps({"type": "header", **_head(summary), **_events(summary)}) + "\n")
    for result in summary.inputs:
        out.write(json.dumps({"type": "input", **input_json(result)}) + "\n")
    for text in summary.record_texts():
        out.write(_tagged("connection", text) + "\n")
    for pattern in summary.patterns:
        out.write(json.dumps({"type": "pattern", **pattern_json(pattern)}) + "\n")
