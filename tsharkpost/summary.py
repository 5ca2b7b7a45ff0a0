"""What `tsharkpost summarize` reports: each input's result, the patterns across them, and with --events the
event logs read, the clock applied and each record's attributed events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tsharkpost.capture.aggregate import Pattern, PatternKey, pattern_key
from tsharkpost.capture.result import InputResult
from tsharkpost.record.model import ConnectionRecord
from tsharkpost.timeline.attach import EventAttachment


@dataclass
class Summary:
    tool_version: str
    tshark_path: str
    tshark_version: str
    inputs: list[InputResult]
    patterns: list[Pattern]
    events: EventAttachment | None = None  # summarize --events

    def records_of(self, result: InputResult) -> Iterator[ConnectionRecord]:
        """One input's records, each with its attributed events (streamed from disk)."""
        for record in result.records():
            yield self.events.attach(record) if self.events else record

    def records(self) -> Iterator[ConnectionRecord]:
        """Every input's records, in input order."""
        for result in self.inputs:
            yield from self.records_of(result)

    def keyed_records(self) -> Iterator[tuple[int, PatternKey, ConnectionRecord]]:
        """Every record with its input's position and the pattern it was tallied under (before any events were
        attached, which may add a cause), in input order."""
        for number, result in enumerate(self.inputs):
            for record in result.records():
                key = pattern_key(record)
                yield number, key, self.events.attach(record) if self.events else record
