"""tsharkpost diff as one JSON document (tsharkpost/schema/diff.schema.json)."""

from __future__ import annotations

import dataclasses
import json
from typing import IO, Any

from tsharkpost.diff.model import Comparison, Section
from tsharkpost.record.model import ConnectionRecord

DIFF_SCHEMA_ID = "https://tsharkpost.invalid/schema/diff"
DIFF_SCHEMA_VERSION = 1
SIDE_FIELDS = ["capture", "stream", "transport", "client", "client_port", "server", "server_port", "server_name", "version",
               "outcome", "first_frame"]


def _side(path: str, record: ConnectionRecord) -> dict[str, Any]:
    return {"input": path, **{name: getattr(record, name) for name in SIDE_FIELDS}, "outcome": record.outcome.value,
            "connection": f"{path}#{record.stream_id}"}


def _section(section: Section) -> dict[str, Any]:
    return {"name": section.name, "title": section.title, "equal": section.equal,
            "fields": [dataclasses.asdict(diff) for diff in section.fields],
            "rows": [{**dataclasses.asdict(row), "equal": row.equal} for row in section.rows]}


def diff_document(comparison: Comparison, tool_version: str, tshark_path: str, tshark_version: str) -> dict[str, Any]:
    return {
        "schema": DIFF_SCHEMA_ID, "schema_version": DIFF_SCHEMA_VERSION,
        "tool": {"name": "tsharkpost", "version": tool_version},
        "tshark": {"path": tshark_path, "version": tshark_version},
        "good": _side(comparison.good_input, comparison.good),
        "bad": _side(comparison.bad_input, comparison.bad),
        "relevant": comparison.relevant,
        "verdict": [dataclasses.asdict(item) for item in comparison.verdict],
        "sections": [_section(section) for section in comparison.sections],
    }


def write_diff_json(document: dict[str, Any], out: IO[str]) -> None:
    out.write(json.dumps(document, indent=2) + "\n")
