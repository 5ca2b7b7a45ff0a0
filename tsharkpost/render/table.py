"""Human tables (the only importer of tabulate): patterns, per-input totals, optionally every connection."""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from tsharkpost.aggregate import totals
from tsharkpost.models import Connection
from tsharkpost.summary import Summary

CAUSE_WIDTH = 70


def _patterns(summary: Summary) -> str:
    rows = [[p.outcome.value, p.alert, p.server, p.cause, p.connections, p.captures, p.example]
            for p in summary.patterns]
    if not rows:
        return "No TLS connections."
    return tabulate(rows, ["outcome", "alert", "server", "probable cause", "conns", "captures", "example"],
                    maxcolwidths=[None, None, 30, CAUSE_WIDTH, None, None, None])


def _inputs(summary: Summary) -> str:
    rows = []
    for result in summary.inputs:
        count = totals(result)
        rows.append([result.path, result.status.value, count["tls"], count["established"], count["failed"],
                     count["not_tls"], result.reason or ""])
    return tabulate(rows, ["input", "status", "tls", "established", "failed", "not tls", "note"],
                    maxcolwidths=[50, None, None, None, None, None, 60])


def _connection_row(conn: Connection) -> list:
    alert = conn.first_fatal_alert
    teardown = conn.teardown
    return [f"{Path(conn.capture).name}:{conn.stream}", f"{conn.client}:{conn.client_port}",
            conn.server_label, conn.version or "-", conn.outcome.value,
            f"{alert.code} {alert.name} ({alert.sender.value})" if alert else "-",
            f"{teardown.kind} by {teardown.by.value} @{teardown.frame}" if teardown else "-",
            conn.causes[0].summary if conn.causes else ""]


def render_table(summary: Summary, connections: bool = False) -> str:
    parts = ["Failure patterns", _patterns(summary), "", "Inputs", _inputs(summary)]
    if connections:
        rows = [_connection_row(conn) for result in summary.inputs for conn in result.connections if conn.is_tls]
        parts += ["", "Connections", tabulate(rows, ["capture:stream", "client", "server", "version", "outcome",
                                                      "fatal alert", "teardown", "probable cause"],
                                               maxcolwidths=[None, None, 30, None, None, None, None, CAUSE_WIDTH])]
    return "\n".join(parts) + "\n"
