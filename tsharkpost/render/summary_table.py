"""summarize as tables for people: patterns, per-input totals, optionally every connection."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from tabulate import tabulate

from tsharkpost.record.model import ConnectionRecord
from tsharkpost.render.printable import printable
from tsharkpost.summary import Summary

CAUSE_WIDTH = 70


def _patterns(summary: Summary) -> str:
    rows = [[p.outcome.value, p.alert, p.server, printable(p.cause), p.connections, p.captures, p.example]
            for p in summary.patterns]
    if not rows:
        return "No TLS connections."
    return tabulate(rows, ["outcome", "alert", "server", "probable cause", "conns", "captures", "example"],
                    maxcolwidths=[None, None, 30, CAUSE_WIDTH, None, None, None])


def _inputs(summary: Summary) -> str:
    rows = [[result.path, result.status.value, result.totals.tls, result.totals.established, result.totals.failed,
             result.totals.not_tls, result.reason] for result in summary.inputs]
    # Paths are never wrapped: analysts copy them into the next command.
    return tabulate(rows, ["input", "status", "tls", "established", "failed", "not tls", "note"],
                    maxcolwidths=[None, None, None, None, None, None, 60])


def _connection_row(record: ConnectionRecord) -> list[Any]:
    alert = record.first_fatal_alert
    teardown = record.teardown
    return [f"{Path(record.capture).name}:{record.stream}", f"{record.client}:{record.client_port}",
            record.server_label, record.version or "-", record.outcome.value,
            f"{alert.code} {alert.name} ({alert.sender.value})" if alert else "-",
            f"{teardown.kind} by {teardown.by.value} @{teardown.frame}" if teardown else "-",
            _cause(record)]


def _cause(record: ConnectionRecord) -> str:
    """The top cause with its first piece of evidence, e.g. 'client hung up 2 ms after ...; chain certificate ...'."""
    top = record.top_cause
    if top is None:
        return ""
    return printable(f"{top.evidence[0]}; {top.summary}" if top.evidence else top.summary)  # may quote events


def write_table(summary: Summary, out: IO[str], connections: bool = False) -> None:
    parts = ["Failure patterns", _patterns(summary), "", "Inputs", _inputs(summary)]
    if summary.events is not None:
        parts += ["", "Event logs", tabulate(
            [[printable(log.path), log.status, log.form or "-", log.events, printable("; ".join(
                ([log.reason] if log.reason else []) + log.problems + log.notes))]
             for log in summary.events.logs],
            ["log", "status", "form", "events", "note"], maxcolwidths=[None, None, None, None, 60])]
        parts.append(printable(f"Clock: {summary.events.skew.note}"))
    if connections:
        rows = [_connection_row(record) for record in summary.records() if record.is_tls]
        parts += ["", "Connections", tabulate(rows, ["capture:stream", "client", "server", "version", "outcome",
                                                      "fatal alert", "teardown", "probable cause"],
                                               maxcolwidths=[None, None, 30, None, None, None, None, CAUSE_WIDTH])]
    out.write("\n".join(parts) + "\n")
