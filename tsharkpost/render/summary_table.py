"""summarize as tables for people: patterns, per-input totals, optionally every connection.

Every cell goes through printable(): file names, server names and event text may hold terminal controls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

from tsharkpost.record.model import ConnectionRecord
from tsharkpost.render.plain_table import tabulate
from tsharkpost.render.text import printable
from tsharkpost.summary import Summary

CAUSE_WIDTH = 70


def _table(rows: Sequence[Sequence[Any]], headers: list[str], maxcolwidths: list[int | None]) -> str:
    return tabulate([[printable(cell) if isinstance(cell, str) else cell for cell in row] for row in rows],
                    headers, maxcolwidths=maxcolwidths)


def _patterns(summary: Summary) -> str:
    rows = [[p.outcome.value, p.alert, p.server, p.cause, p.connections, p.captures, p.example]
            for p in summary.patterns]
    if not rows:
        return "No TLS connections."
    return _table(rows, ["outcome", "alert", "server", "probable cause", "conns", "captures", "example"],
                    maxcolwidths=[None, None, 30, CAUSE_WIDTH, None, None, None])


def _inputs(summary: Summary) -> str:
    rows = [[result.path, result.status.value, result.totals.tls, result.totals.established, result.totals.failed,
             result.totals.not_tls, result.reason] for result in summary.inputs]
    # Paths are never wrapped: analysts copy them into the next command.
    return _table(rows, ["input", "status", "tls", "established", "failed", "not tls", "note"],
                    maxcolwidths=[None, None, None, None, None, None, 60])


def _connection_row(summary: Summary, record: ConnectionRecord) -> list[Any]:
    alert = record.first_fatal_alert
    teardown = record.teardown
    # a DTLS or QUIC flow's udp.stream is named with its transport: TCP's stream 0 is another connection
    return [f"{summary.name(record.capture)}:{record.stream_id}", f"{record.client}:{record.client_port}",
            record.server_label, record.version or "-", record.outcome.value,
            f"{alert.code} {alert.name} ({alert.sender.value})" if alert else "-",
            f"{teardown.kind} by {teardown.by.value} @{teardown.frame}" if teardown else "-",
            _client_certificate(record), _cause(record)]


def _client_certificate(record: ConnectionRecord) -> str:
    """Mutual TLS: the client's leaf by its subject, and how many more it sent ("-" without a client chain)."""
    chain = record.client_certificates
    if not chain:
        return "-"
    leaf = chain[0]
    return (leaf.subject_cn or leaf.subject or "?") + (f" (+{len(chain) - 1})" if len(chain) > 1 else "")


def _cause(record: ConnectionRecord) -> str:
    """The top cause with its first piece of evidence, e.g. 'client hung up 2 ms after ...; chain certificate ...'."""
    top = record.top_cause
    if top is None:
        return ""
    return f"{top.evidence[0]}; {top.summary}" if top.evidence else top.summary


def write_table(summary: Summary, out: IO[str], connections: bool = False) -> None:
    parts = ["Failure patterns", _patterns(summary), "", "Inputs", _inputs(summary)]
    if summary.events is not None:
        parts += ["", "Event logs", _table(
            [[log.path, log.status, log.form or "-", log.events, "; ".join(
                ([log.reason] if log.reason else []) + log.problems + log.notes)]
             for log in summary.events.logs],
            ["log", "status", "form", "events", "note"], maxcolwidths=[None, None, None, None, 60])]
        parts.append(f"Clock: {printable(summary.events.skew.note)}")
    if connections:
        rows = [_connection_row(summary, record) for record in summary.records() if record.is_tls]
        parts += ["", "Connections", _table(rows, ["capture:stream", "client", "server", "version", "outcome",
                                                      "fatal alert", "teardown", "client cert", "probable cause"],
                                               maxcolwidths=[None, None, 30, None, None, None, None, 40,
                                                             CAUSE_WIDTH])]
    out.write("\n".join(parts) + "\n")
