"""What reading one input produced: its status and reason, its tallies, and its records on disk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

from tsharkpost.capture.aggregate import InputTotals, PatternTally
from tsharkpost.record.jsonform import from_json
from tsharkpost.record.model import ConnectionRecord


class InputStatus(str, Enum):
    """What became of one input file."""

    OK = "ok"
    NO_TLS = "no_tls"  # a readable capture without any TLS
    TRUNCATED = "truncated"  # the file ends mid-packet: what came before it is reported
    ERROR = "error"  # unreadable, not a capture, tshark failed
    BUG = "bug"  # tsharkpost itself failed on this input (a bug: the reason says what, stderr has the traceback)

    @property
    def incomplete(self) -> bool:
        """The input could not be read completely (exit code 3)."""
        return self in (InputStatus.TRUNCATED, InputStatus.ERROR, InputStatus.BUG)


@dataclass
class InputResult:
    """One input file and what became of it; every input appears in every output.

    Attributes:
        records_file: JSON lines, one connection record each (record/jsonform.py), written as connections finished.
    """

    path: str
    status: InputStatus
    reason: str = ""
    packets: int = 0
    records_file: str | None = None
    traceback: str | None = None  # status "bug": where it happened, for stderr (never in the output)
    totals: InputTotals = field(default_factory=InputTotals)
    patterns: PatternTally = field(default_factory=PatternTally)

    def records(self) -> Iterator[ConnectionRecord]:
        """The connection records, read back one at a time."""
        for line in self.record_lines():
            yield from_json(json.loads(line))

    def record_lines(self) -> Iterator[str]:
        """The records as written: one JSON object per line (json.dumps of record/jsonform.py's to_json),
        without its newline. A writer of that very text copies these rather than decoding and encoding them."""
        if self.records_file is None:
            return
        with open(self.records_file, encoding="utf-8") as handle:
            for line in handle:
                yield line.rstrip("\n")
