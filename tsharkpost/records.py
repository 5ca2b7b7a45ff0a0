"""Connection records, inputs and patterns as plain dicts: the one shape every output format is made from."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from tsharkpost.models import Alert, Connection, Pattern, Side
from tsharkpost.results import InputResult

SCHEMA_VERSION = 1


def iso_time(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def zeek_version(version: str | None) -> str | None:
    """Zeek's spelling: TLS 1.2 -> TLSv12, SSL 3.0 -> SSLv3, TLS 1.3 draft 23 -> TLSv13-draft23."""
    if version is None:
        return None
    if version.startswith("SSL"):
        return "SSLv" + version.split()[1].split(".")[0]
    if version.startswith("TLS 1.3 draft"):
        return "TLSv13-draft" + version.rsplit(" ", 1)[1]
    if version.startswith("TLS "):
        return "TLSv" + version[4:].replace(".", "")
    return version


def _sni_matches_cert(conn: Connection) -> bool | None:
    leaf = conn.certificates[0] if conn.certificates else None
    if not conn.server_name or leaf is None:
        return None
    return not any(finding.check == "name_mismatch" for finding in conn.findings)


def zeek_fields(conn: Connection) -> dict[str, Any]:
    """The ssl.log columns, with Zeek's meaning (README: mapping to Zeek)."""
    last = conn.last_alert
    return {
        "version": zeek_version(conn.version),
        "cipher": conn.server_hello.cipher if conn.server_hello else None,
        "curve": conn.server_hello.curve if conn.server_hello else None,
        "server_name": conn.server_name,
        "resumed": bool(conn.server_hello and conn.server_hello.resumed),
        "last_alert": last.name if last else None,
        "established": conn.established,
        "ssl_history": conn.history,
        "cert_chain_fps": [cert.sha256 for cert in conn.certificates],
        "sni_matches_cert": _sni_matches_cert(conn),
    }


def _plain(obj: Any) -> dict[str, Any]:
    """A flat dataclass (values: scalars and lists of scalars) as a dict with its own lists.

    dataclasses.asdict deep-copies every value recursively: a fifth of summarize's Python time.
    """
    return {name: list(value) if isinstance(value, list) else value for name, value in vars(obj).items()}


def _alert(alert: Alert) -> dict[str, Any]:
    return {"frame": alert.frame, "time": iso_time(alert.time), "sender": alert.sender.value,
            "level": alert.level, "code": alert.code, "name": alert.name, "encrypted": alert.encrypted}


def connection_record(conn: Connection) -> dict[str, Any]:
    teardown = conn.teardown
    return {
        "capture": conn.capture,
        "stream": conn.stream,
        "client": conn.client, "client_port": conn.client_port,
        "server": conn.server, "server_port": conn.server_port,
        "first_time": iso_time(conn.first_time), "last_time": iso_time(conn.last_time),
        "first_frame": conn.first_frame,
        "outcome": conn.outcome.value,
        "established": conn.established,
        "version": conn.version,
        "server_name": conn.server_name,
        "client_hello": _plain(conn.client_hello) if conn.client_hello else None,
        "server_hello": _plain(conn.server_hello) if conn.server_hello else None,
        "certificate_frame": conn.certificate_frame,
        "certificates": [
            {**_plain(cert), "findings": [_plain(finding) for finding in cert.findings]}
            for cert in conn.certificates],
        "chain_encrypted": conn.encrypted_handshake and not conn.certificates,
        "alerts": [_alert(alert) for alert in conn.alerts],
        "findings": [_plain(finding) for finding in conn.findings],
        "teardown": None if teardown is None else {
            "kind": teardown.kind, "by": teardown.by.value, "frame": teardown.frame, "time": iso_time(teardown.time),
            "after": teardown.after, "after_frame": teardown.after_frame, "seconds_after": teardown.seconds_after},
        "application_data_bytes": {side.value: conn.app_data_bytes[side] for side in Side},
        "first_application_data_frame": {side.value: conn.first_app_data.get(side) for side in Side},
        "fallback_of": conn.fallback_of,
        "retried_by": conn.retried_by,
        "causes": [_plain(cause) for cause in conn.causes],
        "events": [],  # filled by summarize --events (timeline/enrich.py)
        "milestones": [{"name": m.name, "side": m.side.value, "frame": m.frame, "time": iso_time(m.time),
                        "detail": m.detail} for m in conn.milestones],
        "zeek": zeek_fields(conn),
    }


def first_fatal_alert(record: dict[str, Any]) -> dict[str, Any] | None:
    """The record's first fatal alert (level 2), as the table and CSV show it."""
    return next((alert for alert in record["alerts"] if alert["level"] == 2), None)


def input_record(result: InputResult) -> dict[str, Any]:
    return {"path": result.path, "status": result.status.value, "reason": result.reason or None,
            "packets": result.packets, **dataclasses.asdict(result.totals)}


def pattern_record(pattern: Pattern) -> dict[str, Any]:
    return {**dataclasses.asdict(pattern), "outcome": pattern.outcome.value}
