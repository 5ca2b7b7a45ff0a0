"""JSON (one versioned envelope) and JSON lines (one typed object per line) renderers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tsharkpost.render.records import SCHEMA_VERSION, connection_record, input_record, pattern_record
from tsharkpost.summary import Summary


def envelope(summary: Summary) -> dict[str, Any]:
    """The document described by tsharkpost/schema/summary.schema.json."""
    return {
        "schema": "https://tsharkpost.invalid/schema/summary",
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "tsharkpost", "version": summary.tool_version},
        "tshark": {"path": summary.tshark_path, "version": summary.tshark_version},
        "inputs": [input_record(result) for result in summary.inputs],
        "connections": [connection_record(conn) for result in summary.inputs for conn in result.connections],
        "patterns": [pattern_record(pattern) for pattern in summary.patterns],
    }


def render_json(summary: Summary) -> str:
    return json.dumps(envelope(summary), indent=2) + "\n"


def render_jsonl(summary: Summary) -> Iterator[str]:
    """A header line, then every input, connection and pattern, each tagged with its type."""
    head = envelope(summary)
    yield json.dumps({"type": "header", "schema": head["schema"], "schema_version": SCHEMA_VERSION,
                      "tool": head["tool"], "tshark": head["tshark"]}) + "\n"
    for kind in ("inputs", "connections", "patterns"):
        for item in head[kind]:
            yield json.dumps({"type": kind[:-1], **item}) + "\n"
