"""What `tsharkpost summarize` reports: each input's result, the patterns across them, and with --events the
event logs read, the clock applied and each record's attributed events."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tsharkpost.capture.aggregate import Pattern, PatternKey, pattern_key
from tsharkpost.capture.result import InputResult
from tsharkpost.record.jsonform import to_json
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
    names: dict[str, str] = field(default_factory=dict)  # input path -> how tables name it (distinguishing_names)

    def name(self, capture: str) -> str:
        return self.names.get(capture) or Path(capture).name

    def records_of(self, result: InputResult) -> Iterator[ConnectionRecord]:
        """One input's records, each with its attributed events (streamed from disk)."""
        for record in result.records():
            yield self.events.attach(record) if self.events else record

    def records(self) -> Iterator[ConnectionRecord]:
        """Every input's records, in input order."""
        for result in self.inputs:
            yield from self.records_of(result)

    def record_texts(self) -> Iterator[str]:
        """Every input's records as JSON text (json.dumps of to_json), in input order. Without events that is
        the records files' own lines, copied: no record is read back only to be written again as it was."""
        if self.events is None:
            for result in self.inputs:
                yield from result.record_lines()
            return
        for record in self.records():
            yield json.dumps(to_json(record))

    def keyed_records(self) -> Iterator[tuple[int, PatternKey, ConnectionRecord]]:
        """Every record with its input's position and the pattern it was tallied under (before any events were
        attached, which may add a cause), in input order."""
        for number, result in enumerate(self.inputs):
            for record in result.records():
                key = pattern_key(record)
                yield number, key, self.events.attach(record) if self.events else record


def distinguishing_names(paths: Iterable[str]) -> dict[str, str]:
    """Each path's file name, or where others share it, its shortest path suffix that no other has.

    Twenty tickets that each hold input.pcap become ticket-01/input.pcap ... instead of input.pcap twenty times.
    """
    parts = {path: Path(path).parts for path in dict.fromkeys(paths)}
    by_name: dict[str, list[str]] = defaultdict(list)
    for path, pieces in parts.items():
        by_name[pieces[-1] if pieces else path].append(path)
    names: dict[str, str] = {}
    for group in by_name.values():
        for path in group:
            others = [parts[other] for other in group if other != path]
            mine = parts[path]
            longest = max([len(mine), *(len(other) for other in others)])
            length = next((k for k in range(1, longest + 1)
                           if all(mine[-k:] != other[-k:] for other in others)), None)
            names[path] = str(Path(*mine[-length:])) if length and mine else path
    return names
