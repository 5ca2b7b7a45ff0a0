"""summarize as one self-contained HTML page: the diagnosis, inputs, outcomes chart, failure patterns, then every
failing connection drawn (ladder, causes, events, chain) and the rest in one line each.

The page is written as it is rendered, and the records are read from disk as it goes (twice: the drawn
connections, then the one-line list), so memory holds the patterns and counts, never the records. Large
batches stay readable: failures that repeat a pattern are drawn a few times, not thousands, and the page says
what it left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from tsharkpost.capture.aggregate import Pattern, PatternKey
from tsharkpost.plugin.tables import Severity
from tsharkpost.record.model import ConnectionRecord, Outcome
from tsharkpost.render import html
from tsharkpost.summary import Summary

# A report draws at most this many connections in full (ladder, chain, causes): a browser opens a page of
# this many ladders in about a second; every other connection still gets its line with its Wireshark command.
MAX_DRAWN = 300
# ... and at most this many of one failure pattern: the next identical failure adds nothing to see.
DRAWN_PER_PATTERN = 20
# With --connections, connections that did not fail are drawn too (collapsed), at most this many.
MAX_DRAWN_OTHERS = 100
CHART_WIDTH = 300  # the longest bar of the outcomes chart
DIAGNOSIS_PATTERNS = 3  # failure patterns named in the diagnosis at the top
HEADER_INPUTS = 10  # inputs named in the header line (a folder of 2,000 captures would push the diagnosis down)


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    tone: str  # failed, established, other
    width: float


@dataclass(frozen=True)
class PatternRow:
    number: int
    pattern: Pattern

    @property
    def anchor(self) -> str:
        return f"pattern-{self.number}"

    @property
    def failed(self) -> bool:
        return self.pattern.outcome.failed


@dataclass(frozen=True)
class Drawn:
    """A connection drawn in full; pattern_anchor set on the first connection of its pattern."""

    view: html.ConnectionView
    pattern_anchor: str
    collapsed: bool


@dataclass(frozen=True)
class Line:
    """A connection in one line."""

    record: ConnectionRecord
    name: str
    anchor: str
    pattern_anchor: str
    command: str

    @property
    def cause(self) -> str:
        top = self.record.top_cause
        if top is not None:
            return top.summary
        checks = sorted({finding.check for finding in self.record.findings if finding.severity >= Severity.WARNING})
        return f"findings: {', '.join(checks)}" if checks else ""


@dataclass(frozen=True)
class Plan:
    """How many connections are drawn and listed, known before the page is written (from the tallies)."""

    tls: int
    failed: int
    not_tls: int
    drawn_failed: int
    drawn_others: int
    connections: bool

    @property
    def listed(self) -> int:
        return self.tls - self.drawn_failed - self.drawn_others

    @property
    def failed_listed(self) -> int:
        return self.failed - self.drawn_failed


def _key(pattern: Pattern) -> PatternKey:
    return pattern.outcome.value, pattern.alert, pattern.server, pattern.cause


class _Selection:
    """Decides, record by record in input order, which connections are drawn; the same in every pass."""

    def __init__(self, connections: bool) -> None:
        self.connections = connections
        self.per_pattern: Counter[PatternKey] = Counter()
        self.failed = 0
        self.others = 0
        self.seen: set[PatternKey] = set()

    def drawn(self, key: PatternKey, record: ConnectionRecord) -> bool:
        if record.failed:
            if self.failed < MAX_DRAWN and self.per_pattern[key] < DRAWN_PER_PATTERN:
                self.per_pattern[key] += 1
                self.failed += 1
                return True
            return False
        if self.connections and self.others < MAX_DRAWN_OTHERS:
            self.others += 1
            return True
        return False

    def first_of(self, key: PatternKey) -> bool:
        first = key not in self.seen
        self.seen.add(key)
        return first


class _Report:
    def __init__(self, summary: Summary, connections: bool) -> None:
        self.summary = summary
        self.connections = connections
        self.numbers = {_key(pattern): number for number, pattern in enumerate(summary.patterns, start=1)}
        self.shift = summary.events.skew.seconds if summary.events else 0.0

    def plan(self) -> Plan:
        inputs = self.summary.inputs
        tls = sum(result.totals.tls for result in inputs)
        failed = sum(result.totals.failed for result in inputs)
        per_pattern = sum(min(pattern.connections, DRAWN_PER_PATTERN)
                          for pattern in self.summary.patterns if pattern.outcome.failed)
        others = min(MAX_DRAWN_OTHERS, tls - failed) if self.connections else 0
        return Plan(tls, failed, sum(result.totals.not_tls for result in inputs), min(MAX_DRAWN, per_pattern),
                    others, self.connections)

    def _walk(self) -> Iterator[tuple[int, ConnectionRecord, bool, str, bool]]:
        """Every TLS record: its input's position, whether it is drawn, its pattern's anchor if it is the first, and
        whether an earlier record of the walk had its stream (html.anchor's `later`)."""
        selection = _Selection(self.connections)
        streams: set[tuple[int, str, int]] = set()
        for number, key, record in self.summary.keyed_records():
            if not record.is_tls:
                continue
            drawn = selection.drawn(key, record)
            first = selection.first_of(key) and key in self.numbers
            stream = (number, record.transport, record.stream)
            later = stream in streams
            streams.add(stream)
            yield number, record, drawn, f"pattern-{self.numbers[key]}" if first else "", later

    def drawn(self) -> Iterator[Drawn]:
        for number, record, drawn, pattern_anchor, later in self._walk():
            if drawn:
                view = html.connection_view(record, number, self.shift, capture_name=self.summary.name(record.capture),
                                            later=later)
                yield Drawn(view, pattern_anchor, not record.failed)

    def listed(self) -> Iterator[Line]:
        for number, record, drawn, pattern_anchor, later in self._walk():
            if not drawn:
                name = html.connection_name(record, self.summary.name(record.capture))
                yield Line(record, name, html.anchor(number, record, later=later), pattern_anchor,
                           html.wireshark_command(record.capture, record.stream, record.transport))


def _chart(summary: Summary) -> list[Bar]:
    counts: Counter[str] = Counter()
    for pattern in summary.patterns:
        counts[pattern.outcome.value] += pattern.connections
    not_tls = sum(result.totals.not_tls for result in summary.inputs)
    if not_tls:
        counts[Outcome.NOT_TLS.value] = not_tls
    largest = max(counts.values(), default=1)

    def tone(outcome: str) -> str:
        return "failed" if Outcome(outcome).failed else "established" if outcome == "established" else "other"

    ordered = sorted(counts.items(), key=lambda item: (tone(item[0]) != "failed", tone(item[0]) != "established",
                                                       -item[1], item[0]))
    return [Bar(outcome, count, tone(outcome), max(2.0, CHART_WIDTH * count / largest)) for outcome, count in ordered]


def write_html(summary: Summary, out: IO[str], connections: bool = False) -> None:
    """The page, written as it is rendered; `connections` draws the connections that did not fail too."""
    report = _Report(summary, connections)
    patterns = [PatternRow(number, pattern) for number, pattern in enumerate(summary.patterns, start=1)]
    header_inputs = [summary.name(result.path) for result in summary.inputs[:HEADER_INPUTS]]  # escaped by _visible
    html.write("summary.html.j2", out, summary=summary, plan=report.plan(), patterns=patterns,
               diagnosis=[row for row in patterns if row.failed][:DIAGNOSIS_PATTERNS], chart=_chart(summary),
               drawn=report.drawn(), listed=report.listed(), tool_version=summary.tool_version,
               tshark_version=summary.tshark_version, header_inputs=header_inputs, limits={
                   "max_drawn": MAX_DRAWN, "per_pattern": DRAWN_PER_PATTERN, "max_others": MAX_DRAWN_OTHERS})
