"""JSON (one versioned envelope) and JSON lines (one typed object per line), written as they are read."""

from __future__ import annotations

import json
from typing import IO, Any

from tsharkpost.records import SCHEMA_VERSION, input_record, pattern_record
from tsharkpost.results import Summary

SCHEMA_ID = "https://tsharkpost.invalid/schema/summary"


def _head(summary: Summary) -> dict[str, Any]:
    return {"schema": SCHEMA_ID, "schema_version": SCHEMA_VERSION,
            "tool": {"name": "tsharkpost", "version": summary.tool_version},
            "tshark": {"path": summary.tshark_path, "version": summary.tshark_version}}


def _events(summary: Summary) -> dict[str, Any]:
    if summary.event_logs is None:
        return {}
    return {"event_logs": summary.event_logs, "clock": summary.clock}


def write_json(summary: Summary, out: IO[str]) -> None:
    """The document described by tsharkpost/schema/summary.schema.json; connections stream from disk."""
    head = json.dumps({**_head(summary), **_events(summary),
                       "inputs": [input_record(result) for result in summary.inputs]}, indent=2)
    out.write(head[:-2] + ',\n  "connections": [')
    for number, record in enumerate(summary.records()):
        out.write(("," if number else "") + "\n    " + json.dumps(record))
    patterns = json.dumps([pattern_record(pattern) for pattern in summary.patterns], indent=2)
    out.write('\n  ],\n  "patterns": ' + patterns.replace("\n", "\n  ") + "\n}\n")


def write_jsonl(summary: Summary, out: IO[str]) -> None:
    """A header line, then every input, connection and pattern, each tagged with its type."""
    out.write(json.dumps({"type": "header", **_head(summary), **_events(summary)}) + "\n")
    for result in summary.inputs:
        out.write(json.dumps({"type": "input", **input_record(result)}) + "\n")
    for record in summary.records():
        out.write(json.dumps({"type": "connection", **record}) + "\n")
    for pattern in summary.patterns:
        out.write(json.dumps({"type": "pattern", **pattern_record(pattern)}) + "\n")
