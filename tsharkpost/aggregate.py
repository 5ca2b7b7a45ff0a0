"""Records from many captures -> failure patterns: alike outcome, alert, server and top cause."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from tsharkpost.models import Connection, InputResult, Outcome, Pattern

NO_CAUSE = "-"


def pattern_key(conn: Connection) -> tuple[Outcome, str, str, str]:
    alert = conn.first_fatal_alert
    alert_text = f"{alert.code} {alert.name}" if alert else "-"
    cause = conn.causes[0].summary if conn.causes else NO_CAUSE
    return conn.outcome, alert_text, conn.server_label, cause


def patterns(results: list[InputResult]) -> list[Pattern]:
    """TLS connections grouped into patterns: failures first, then the most frequent."""
    groups: dict[tuple[Outcome, str, str, str], list[Connection]] = defaultdict(list)
    for result in results:
        for conn in result.connections:
            if conn.outcome is not Outcome.NOT_TLS:
                groups[pattern_key(conn)].append(conn)
    rows = []
    for (outcome, alert, server, cause), members in groups.items():
        first = min(members, key=lambda conn: (conn.capture, conn.first_frame))
        example_frame = first.teardown.frame if first.teardown and outcome.failed else first.first_frame
        rows.append(Pattern(outcome, alert, server, cause, len(members), len({conn.capture for conn in members}),
                            f"{Path(first.capture).name}:{example_frame}"))
    return sorted(rows, key=lambda row: (not row.outcome.failed, -row.connections, row.outcome.value, row.server))


def totals(result: InputResult) -> dict[str, int]:
    """Per input: connections, TLS connections, failed, established, non-TLS."""
    tls = [conn for conn in result.connections if conn.is_tls]
    return {
        "connections": len(result.connections),
        "tls": len(tls),
        "established": sum(conn.outcome is Outcome.ESTABLISHED for conn in tls),
        "failed": sum(conn.outcome.failed for conn in tls),
        "not_tls": len(result.connections) - len(tls),
    }
