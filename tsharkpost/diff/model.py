"""Plain data of one comparison: the compared fields and chain rows, the verdict, the whole result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tsharkpost.record.model import ConnectionRecord

GOOD, BAD = "GOOD", "BAD"


@dataclass
class FieldDiff:
    """One compared field.

    Attributes:
        good, bad: the value shown for each side (string, list, number, bool or None).
        only_good, only_bad: for fields compared as sets, what only that side has (wire order); None otherwise.
    """

    name: str
    good: Any
    bad: Any
    equal: bool
    only_good: list[str] | None = None
    only_bad: list[str] | None = None


@dataclass
class ChainRow:
    """One certificate of either chain, aligned with its counterpart.

    Attributes:
        relation: "same" (same SHA-256, same position), "moved" (same SHA-256, other position), "changed"
            (same subject, or both leaves: another certificate), "only_good", "only_bad".
        differences: for "changed", "field: GOOD value -> BAD value" lines.
        findings_good, findings_bad: the plugin's check ids on the certificate, per side.
    """

    good_index: int | None
    bad_index: int | None
    subject: str
    relation: str
    differences: list[str] = field(default_factory=list)
    sigalg_good: str | None = None
    sigalg_bad: str | None = None
    findings_good: list[str] = field(default_factory=list)
    findings_bad: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return self.relation == "same" and self.findings_good == self.findings_bad


@dataclass
class Section:
    """One part of the handshake, compared: equal when every field (and chain row) is."""

    name: str  # client_hello, server_hello, chain, alerts, teardown, outcome
    title: str
    fields: list[FieldDiff] = field(default_factory=list)
    rows: list[ChainRow] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return all(f.equal for f in self.fields) and all(row.equal for row in self.rows)


@dataclass
class VerdictItem:
    """A difference that plausibly explains why BAD failed and GOOD did not; rank 1 is the likeliest.

    Attributes:
        checks: the plugin's check ids it rests on (empty when it rests on record facts only).
        sections: the diff sections that show it.
    """

    rank: int
    summary: str
    evidence: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)


@dataclass
class Comparison:
    """GOOD and BAD connection records, their inputs, and what differs."""

    good_input: str
    bad_input: str
    good: ConnectionRecord
    bad: ConnectionRecord
    sections: list[Section]
    verdict: list[VerdictItem]

    @property
    def relevant(self) -> bool:
        return bool(self.verdict)
