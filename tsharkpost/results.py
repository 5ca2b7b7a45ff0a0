"""What reading inputs produced: one InputResult per file, and the Summary of a whole run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tsharkpost.aggregate import InputTotals, PatternTally
from tsharkpost.models import InputStatus, Pattern


@dataclass
class InputResult:
    """One input file and what became of it; every input appears in every output.

    Attributes:
        records_file: JSON lines, one connection record each (records.py), written as connections finished.
    """

    path: str
    status: InputStatus
    reason: str = ""
    packets: int = 0
    records_file: str | None = None
    totals: InputTotals = field(default_factory=InputTotals)
    patterns: PatternTally = field(default_factory=PatternTally)

    def records(self) -> Iterator[dict[str, Any]]:
        """The connection records, read back one at a time."""
        if self.records_file is None:
            return
        with open(self.records_file, encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)


@dataclass
class Summary:
    tool_version: str
    tshark_path: str
    tshark_version: str
    inputs: list[InputResult]
    patterns: list[Pattern]
    event_logs: list[dict[str, Any]] | None = None  # summarize --events: each log's status
    clock: dict[str, Any] | None = None  # summarize --events: the offset applied to event times

    def records(self) -> Iterator[dict[str, Any]]:
        for result in self.inputs:
            yield from result.records()
