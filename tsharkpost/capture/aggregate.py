"""Finished records -> running tallies: failure patterns across inputs and totals per input.

Tallies hold counts, never records, so they stay small whatever the number of
connections; the tallies of inputs read in parallel are merged at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tsharkpost.plugin.tables import Severity
from tsharkpost.record.model import ConnectionRecord, Outcome

NO_CAUSE = "-"
PatternKey = tuple[str, str, str, str]  # outcome, alert, server, cause


@dataclass
class Pattern:
    """A failure (or success) pattern across inputs: connections that ended alike, for alike reasons."""

    outcome: Outcome
    alert: str
    server: str
    cause: str
    connections: int
    captures: int
    example: str  # file:frame


def pattern_key(record: ConnectionRecord) -> PatternKey:
    alert = record.first_fatal_alert
    alert_text = f"{alert.code} {alert.name}" if alert else "-"
    if record.causes:
        cause = record.causes[0].summary
    else:  # an established connection: its warnings are what is worth grouping by
        checks = sorted({finding.check for finding in record.findings if finding.severity >= Severity.WARNING})
        cause = f"findings: {', '.join(checks)}" if checks else NO_CAUSE
    return record.outcome.value, alert_text, record.server_label, cause


@dataclass
class _Group:
    connections: int
    captures: set[str]
    example: tuple[str, int]  # (capture, frame) of the earliest member


@dataclass
class PatternTally:
    """TLS connections counted by pattern key."""

    groups: dict[PatternKey, _Group] = field(default_factory=dict)

    def add(self, record: ConnectionRecord) -> None:
        if not record.is_tls:
            return
        frame = record.teardown.frame if record.teardown and record.failed else record.first_frame
        key = pattern_key(record)
        group = self.groups.get(key)
        if group is None:
            self.groups[key] = _Group(1, {record.capture}, (record.capture, frame))
        else:
            group.connections += 1
            group.captures.add(record.capture)
            group.example = min(group.example, (record.capture, frame))

    def merge(self, other: PatternTally) -> None:
        for key, theirs in other.groups.items():
            mine = self.groups.get(key)
            if mine is None:
                self.groups[key] = _Group(theirs.connections, set(theirs.captures), theirs.example)
            else:
                mine.connections += theirs.connections
                mine.captures |= theirs.captures
                mine.example = min(mine.example, theirs.example)

    def rows(self, names: Mapping[str, str] | None = None) -> list[Pattern]:
        """Failures first, then the most frequent; each example names its capture as names says (else by file
        name)."""
        shown = names or {}
        rows = [Pattern(Outcome(key[0]), key[1], key[2], key[3], group.connections, len(group.captures),
                        f"{shown.get(group.example[0]) or Path(group.example[0]).name}:{group.example[1]}")
                for key, group in self.groups.items()]
        return sorted(rows, key=lambda row: (not row.outcome.failed, -row.connections, row.outcome.value, row.server))


@dataclass
class InputTotals:
    """Per input: connections, TLS connections, established, failed, non-TLS."""

    connections: int = 0
    tls: int = 0
    established: int = 0
    failed: int = 0
    not_tls: int = 0

    def add(self, record: ConnectionRecord) -> None:
        self.connections += 1
        if not record.is_tls:
            self.not_tls += 1
            return
        self.tls += 1
        self.established += record.outcome is Outcome.ESTABLISHED
        self.failed += record.failed
