"""Finished connections -> running tallies: failure patterns across inputs and totals per input.

Tallies hold counts, never records, so they stay small whatever the number of
connections; the tallies of inputs read in parallel are merged at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tsharkpost.models import Connection, Outcome, Pattern

NO_CAUSE = "-"
PatternKey = tuple[str, str, str, str]  # outcome, alert, server, cause


def pattern_key(conn: Connection) -> PatternKey:
    alert = conn.first_fatal_alert
    alert_text = f"{alert.code} {alert.name}" if alert else "-"
    if conn.causes:
        cause = conn.causes[0].summary
    else:  # an established connection: its warnings are what is worth grouping by
        checks = sorted({finding.check for finding in conn.findings if finding.severity >= 2})
        cause = f"findings: {', '.join(checks)}" if checks else NO_CAUSE
    return conn.outcome.value, alert_text, conn.server_label, cause


@dataclass
class _Group:
    connections: int
    captures: set[str]
    example: tuple[str, int]  # (capture, frame) of the earliest member


@dataclass
class PatternTally:
    """TLS connections counted by pattern key."""

    groups: dict[PatternKey, _Group] = field(default_factory=dict)

    def add(self, conn: Connection) -> None:
        if conn.outcome is Outcome.NOT_TLS:
            return
        frame = conn.teardown.frame if conn.teardown and conn.outcome.failed else conn.first_frame
        key = pattern_key(conn)
        group = self.groups.get(key)
        if group is None:
            self.groups[key] = _Group(1, {conn.capture}, (conn.capture, frame))
        else:
            group.connections += 1
            group.captures.add(conn.capture)
            group.example = min(group.example, (conn.capture, frame))

    def merge(self, other: PatternTally) -> None:
        for key, theirs in other.groups.items():
            mine = self.groups.get(key)
            if mine is None:
                self.groups[key] = _Group(theirs.connections, set(theirs.captures), theirs.example)
            else:
                mine.connections += theirs.connections
                mine.captures |= theirs.captures
                mine.example = min(mine.example, theirs.example)

    def rows(self) -> list[Pattern]:
        """Failures first, then the most frequent."""
        rows = [Pattern(Outcome(key[0]), key[1], key[2], key[3], group.connections, len(group.captures),
                        f"{Path(group.example[0]).name}:{group.example[1]}") for key, group in self.groups.items()]
        return sorted(rows, key=lambda row: (not row.outcome.failed, -row.connections, row.outcome.value, row.server))


@dataclass
class InputTotals:
    """Per input: connections, TLS connections, established, failed, non-TLS."""

    connections: int = 0
    tls: int = 0
    established: int = 0
    failed: int = 0
    not_tls: int = 0

    def add(self, conn: Connection) -> None:
        self.connections += 1
        if not conn.is_tls:
            self.not_tls += 1
            return
        self.tls += 1
        self.established += conn.outcome is Outcome.ESTABLISHED
        self.failed += conn.outcome.failed
