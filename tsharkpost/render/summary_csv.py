"""summarize as CSV: one row per connection; an input without connections still gets a row.

Every string cell is written as tables show it (printable: a capture's SNI or a file name may hold an escape
sequence that repaints the terminal a CSV is printed to, or a line break that forges a row), then through
spreadsheet_safe (it may be a formula); numbers and booleans are written as they are.
"""

from __future__ import annotations

import csv
from typing import IO, Any

from tsharkpost.record.jsonform import iso_time
from tsharkpost.record.model import ConnectionRecord
from tsharkpost.render.text import printable, spreadsheet_safe
from tsharkpost.summary import Summary

COLUMNS = ["input", "input_status", "input_reason", "stream", "transport", "client", "client_port", "server", "server_port",
           "server_name", "first_time", "last_time", "outcome", "established", "version", "cipher", "alert_code",
           "alert_name", "alert_sender", "teardown", "teardown_by", "teardown_frame", "teardown_after",
           "seconds_after", "client_app_bytes", "server_app_bytes", "chain", "client_chain", "findings",
           "probable_cause",
           "fallback_of", "retried_by", "ssl_history"]


def _row(record: ConnectionRecord) -> dict[str, Any]:
    alert = record.first_fatal_alert
    teardown = record.teardown
    return {
        "stream": record.stream, "transport": record.transport, "client": record.client, "client_port": record.client_port,
        "server": record.server, "server_port": record.server_port, "server_name": record.server_name,
        "first_time": iso_time(record.first_time), "last_time": iso_time(record.last_time),
        "outcome": record.outcome.value, "established": record.established, "version": record.version,
        "cipher": record.server_hello.cipher if record.server_hello else None,
        "alert_code": alert and alert.code, "alert_name": alert and alert.name,
        "alert_sender": alert and alert.sender.value, "teardown": teardown and teardown.kind,
        "teardown_by": teardown and teardown.by.value, "teardown_frame": teardown and teardown.frame,
        "teardown_after": teardown and teardown.after, "seconds_after": teardown and teardown.seconds_after,
        "client_app_bytes": record.application_data_bytes.client,
        "server_app_bytes": record.application_data_bytes.server,
        "chain": " | ".join(f"#{c.index} {c.subject} ({c.sigalg_name}, {c.key_type} {c.key_bits})"
                            for c in record.certificates),
        "client_chain": " | ".join(f"#{c.index} {c.subject} ({c.sigalg_name}, {c.key_type} {c.key_bits})"
                                   for c in record.client_certificates),
        "findings": " ".join(f"{f.check}@{f.frame}" + (f"#{f.cert_index}" if f.cert_index is not None else "")
                             for f in record.findings),
        "probable_cause": record.causes[0].summary if record.causes else None,
        "fallback_of": record.fallback_of, "retried_by": record.retried_by,
        "ssl_history": record.history,
    }


def _cell(value: Any) -> Any:
    return spreadsheet_safe(printable(value)) if isinstance(value, str) else value


def write_csv(summary: Summary, out: IO[str]) -> None:
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()

    def write(row: dict[str, Any]) -> None:
        writer.writerow({column: _cell(value) for column, value in row.items()})

    for result in summary.inputs:
        base = {"input": result.path, "input_status": result.status.value, "input_reason": result.reason or None}
        empty = True
        for record in summary.records_of(result):
            write({**base, **_row(record)})
            empty = False
        if empty:
            write(base)
