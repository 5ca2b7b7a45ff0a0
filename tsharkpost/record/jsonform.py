"""A ConnectionRecord as one JSON object (the shape of summarize's json, jsonl and records files) and back.

to_json and from_json are inverses: from_json(to_json(record)) == record for a
record whose times are whole microseconds, which every record read from a file is.
The "zeek" block is derived from the record, so it is written but never read.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from tsharkpost.plugin.tables import Severity
from tsharkpost.record.model import (Alert, BothSides, Cause, CauseKind, Certificate, ClientHello, ConnectionRecord,
                                     EventNote, Finding, Fingerprints, Milestone, Outcome, ServerHello, Side, Teardown)

SCHEMA_VERSION = 1


# The times iso_time can write: datetime's years 1 to 9999, UTC, as seconds since 1970 (from FIRST_TIME, before
# END_TIME). capture/fields_reader.py refuses a frame outside them: its capture's clock is damaged.
FIRST_TIME, END_TIME = -62135596800.0, 253402300800.0
# The text of whole seconds already written (a record's twenty times fall within a few seconds). Bounded.
_SECONDS: dict[int, str] = {}
SECONDS_KEPT = 4096


def iso_time(epoch: float | None) -> str | None:
    """The time in UTC to the microsecond, "2026-11-30T11:58:02.123456Z".

    The same text as datetime.fromtimestamp(epoch, utc).isoformat(timespec="microseconds") with Z for +00:00,
    rounding alike (half to even, as CPython rounds a timestamp), at a fifth of the cost: summarize writes
    about twenty times per record, and the date part of consecutive ones is the same.
    """
    if epoch is None:
        return None
    fraction, whole = math.modf(epoch)
    micro = round(fraction * 1e6)
    if micro >= 1_000_000:
        micro, whole = micro - 1_000_000, whole + 1.0
    elif micro < 0:
        micro, whole = micro + 1_000_000, whole - 1.0
    second = int(whole)
    text = _SECONDS.get(second)
    if text is None:
        text = dt.datetime.fromtimestamp(second, dt.timezone.utc).isoformat()[:-len("+00:00")]
        if len(_SECONDS) >= SECONDS_KEPT:
            _SECONDS.clear()
        _SECONDS[second] = text
    return f"{text}.{micro:06d}Z"


def epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def zeek_version(version: str | None) -> str | None:
    """Zeek's spelling: TLS 1.2 -> TLSv12, SSL 3.0 -> SSLv3, TLS 1.3 draft 23 -> TLSv13-draft23, DTLS 1.2 -> DTLSv12."""
    if version is None:
        return None
    if version.startswith("SSL"):
        return "SSLv" + version.split()[1].split(".")[0]
    if version.startswith("TLS 1.3 draft"):
        return "TLSv13-draft" + version.rsplit(" ", 1)[1]
    if version.startswith("TLS "):
        return "TLSv" + version[4:].replace(".", "")
    if version in ("DTLS 1.0", "DTLS 1.2", "DTLS 1.3"):
        return "DTLSv" + version[5:].replace(".", "")
    return version


def _sni_matches_cert(record: ConnectionRecord) -> bool | None:
    if not record.server_name or not record.certificates:
        return None
    return not any(finding.check == "name_mismatch" for finding in record.findings)


def _zeek_name(name: str | None) -> str | None:
    """Zeek writes a code point it has no name for in decimal: unknown-0x6399 is its unknown-25497."""
    if name and name.startswith("unknown-0x"):
        return f"unknown-{int(name[len('unknown-0x'):], 16)}"
    return name


def zeek_fields(record: ConnectionRecord) -> dict[str, Any]:
    """The ssl.log columns, with Zeek's meaning (README: mapping to Zeek)."""
    last = record.last_alert
    hello = record.server_hello
    return {
        "version": zeek_version(record.version),
        "cipher": _zeek_name(hello.cipher) if hello else None,
        "curve": _zeek_name(hello.curve) if hello else None,
        "server_name": record.server_name,
        "resumed": bool(hello and hello.resumed),
        "last_alert": last.name if last else None,
        "established": record.established,
        "ssl_history": record.history,
        "cert_chain_fps": [cert.sha256 for cert in record.certificates],
        "client_cert_chain_fps": [cert.sha256 for cert in record.client_certificates],
        "sni_matches_cert": _sni_matches_cert(record),
    }


# -- writing ---------------------------------------------------------------------------------------------------------
# An enum member's text is read as `_value_`, the member's own attribute: `.value` is a descriptor call, which cost
# as much as the rest of a milestone's dict (about twenty per record).

def _finding(finding: Finding) -> dict[str, Any]:
    return {"check": finding.check, "severity": int(finding.severity), "message": finding.message,
            "frame": finding.frame, "cert_index": finding.cert_index}


def _certificate(cert: Certificate) -> dict[str, Any]:
    return {"index": cert.index, "sender": cert.sender, "subject": cert.subject, "subject_cn": cert.subject_cn,
            "issuer": cert.issuer, "serial": cert.serial, "sigalg_oid": cert.sigalg_oid,
            "sigalg_name": cert.sigalg_name, "key_type": cert.key_type, "key_bits": cert.key_bits,
            "key_curve": cert.key_curve, "not_before": cert.not_before, "not_after": cert.not_after,
            "san": list(cert.san), "sha256": cert.sha256, "sha1": cert.sha1, "self_signed": cert.self_signed,
            "ca": cert.ca, "path_len": cert.path_len,
            "key_usage": list(cert.key_usage) if cert.key_usage is not None else None, "key_alg": cert.key_alg,
            "frame": cert.frame,
            "findings": [_finding(finding) for finding in cert.findings]}


def _client_hello(hello: ClientHello) -> dict[str, Any]:
    return {"frame": hello.frame, "legacy_version": hello.legacy_version,
            "supported_versions": list(hello.supported_versions), "server_name": hello.server_name,
            "alpn": list(hello.alpn), "cipher_suite_count": hello.cipher_suite_count,
            "notable_offers": list(hello.notable_offers), "signature_algorithms": list(hello.signature_algorithms),
            "signature_algorithms_cert": list(hello.signature_algorithms_cert), "session_id": hello.session_id,
            "max_version": hello.max_version, "cipher_suites": list(hello.cipher_suites),
            "extensions": list(hello.extensions), "supported_groups": list(hello.supported_groups)}


def _server_hello(hello: ServerHello) -> dict[str, Any]:
    return {"frame": hello.frame, "version": hello.version, "cipher": hello.cipher, "curve": hello.curve,
            "session_id": hello.session_id, "resumed": hello.resumed, "extensions": list(hello.extensions)}


def _alert(alert: Alert) -> dict[str, Any]:
    return {"frame": alert.frame, "time": iso_time(alert.time), "sender": alert.sender._value_,
            "level": alert.level, "code": alert.code, "name": alert.name, "encrypted": alert.encrypted}


def _teardown(teardown: Teardown | None) -> dict[str, Any] | None:
    if teardown is None:
        return None
    return {"kind": teardown.kind, "by": teardown.by._value_, "frame": teardown.frame, "time": iso_time(teardown.time),
            "after": teardown.after, "after_frame": teardown.after_frame, "seconds_after": teardown.seconds_after}


def _cause(cause: Cause) -> dict[str, Any]:
    return {"rank": cause.rank, "kind": cause.kind._value_, "summary": cause.summary, "evidence": list(cause.evidence),
            "checks": list(cause.checks)}


def _event(note: EventNote) -> dict[str, Any]:
    return {"source": note.source, "time": iso_time(note.time), "provider": note.provider,
            "event_id": note.event_id, "level": note.level, "computer": note.computer, "fields": dict(note.fields),
            "text": note.text, "confidence": note.confidence, "reasons": list(note.reasons)}


def _milestone(milestone: Milestone) -> dict[str, Any]:
    return {"name": milestone.name, "side": milestone.side._value_, "frame": milestone.frame,
            "time": iso_time(milestone.time), "detail": milestone.detail}


def _fingerprints(prints: Fingerprints) -> dict[str, Any]:
    return {"ja3": prints.ja3, "ja3_full": prints.ja3_full, "ja3s": prints.ja3s, "ja3s_full": prints.ja3s_full,
            "ja4": prints.ja4}


def to_json(record: ConnectionRecord) -> dict[str, Any]:
    """The record as summarize writes it (tsharkpost/schema/summary.schema.json, "connection")."""
    return {
        "capture": record.capture,
        "stream": record.stream,
        "transport": record.transport,
        "client": record.client, "client_port": record.client_port,
        "server": record.server, "server_port": record.server_port,
        "first_time": iso_time(record.first_time), "last_time": iso_time(record.last_time),
        "first_frame": record.first_frame,
        "outcome": record.outcome._value_,
        "established": record.established,
        "version": record.version,
        "server_name": record.server_name,
        "client_hello": _client_hello(record.client_hello) if record.client_hello else None,
        "server_hello": _server_hello(record.server_hello) if record.server_hello else None,
        "certificate_frame": record.certificate_frame,
        "certificates": [_certificate(cert) for cert in record.certificates],
        "chain_encrypted": record.chain_encrypted,
        "client_certificates": [_certificate(cert) for cert in record.client_certificates],
        "chain_undecoded": record.chain_undecoded,
        "alerts": [_alert(alert) for alert in record.alerts],
        "alerts_left_out": record.alerts_left_out,
        "findings": [_finding(finding) for finding in record.findings],
        "findings_left_out": record.findings_left_out,
        "teardown": _teardown(record.teardown),
        "application_data_bytes": {"client": record.application_data_bytes.client,
                                   "server": record.application_data_bytes.server},
        "first_application_data_frame": {"client": record.first_application_data_frame.client,
                                         "server": record.first_application_data_frame.server},
        "fallback_of": record.fallback_of,
        "retried_by": record.retried_by,
        "causes": [_cause(cause) for cause in record.causes],
        "events": [_event(note) for note in record.events],
        "milestones": [_milestone(milestone) for milestone in record.milestones],
        "messages": [_milestone(message) for message in record.messages],
        "messages_left_out": record.messages_left_out,
        "fingerprints": _fingerprints(record.fingerprints),
        "zeek": zeek_fields(record),
    }


# -- reading ---------------------------------------------------------------------------------------------------------

def _read_finding(data: dict[str, Any]) -> Finding:
    return Finding(data["check"], Severity.of(data["severity"]), data["message"], data["frame"], data["cert_index"])


def _read_certificate(data: dict[str, Any]) -> Certificate:
    return Certificate(
        index=data["index"], sender=data["sender"], subject=data["subject"], subject_cn=data["subject_cn"],
        issuer=data["issuer"], serial=data["serial"], sigalg_oid=data["sigalg_oid"],
        sigalg_name=data["sigalg_name"], key_type=data["key_type"], key_bits=data["key_bits"],
        key_curve=data["key_curve"], not_before=data["not_before"], not_after=data["not_after"],
        san=tuple(data["san"]), sha256=data["sha256"], self_signed=data["self_signed"], frame=data["frame"],
        findings=tuple(_read_finding(finding) for finding in data["findings"]),
        # Records written before these facts were recorded lack them.
        sha1=data.get("sha1", ""), ca=data.get("ca"), path_len=data.get("path_len"),
        key_usage=tuple(data["key_usage"]) if data.get("key_usage") is not None else None,
        key_alg=data.get("key_alg", ""))


def _read_client_hello(data: dict[str, Any] | None) -> ClientHello | None:
    if data is None:
        return None
    return ClientHello(
        frame=data["frame"], legacy_version=data["legacy_version"],
        supported_versions=tuple(data["supported_versions"]), server_name=data["server_name"],
        alpn=tuple(data["alpn"]), cipher_suite_count=data["cipher_suite_count"],
        notable_offers=tuple(data["notable_offers"]), signature_algorithms=tuple(data["signature_algorithms"]),
        signature_algorithms_cert=tuple(data["signature_algorithms_cert"]), session_id=data["session_id"],
        max_version=data["max_version"], cipher_suites=tuple(data["cipher_suites"]),
        extensions=tuple(data["extensions"]), supported_groups=tuple(data["supported_groups"]))


def _read_server_hello(data: dict[str, Any] | None) -> ServerHello | None:
    if data is None:
        return None
    return ServerHello(data["frame"], data["version"], data["cipher"], data["curve"], data["session_id"],
                       data["resumed"], tuple(data["extensions"]))


def _read_alert(data: dict[str, Any]) -> Alert:
    return Alert(data["frame"], epoch(data["time"]), Side(data["sender"]), data["level"], data["code"], data["name"],
                 data["encrypted"])


def _read_teardown(data: dict[str, Any] | None) -> Teardown | None:
    if data is None:
        return None
    return Teardown(data["kind"], Side(data["by"]), data["frame"], epoch(data["time"]), data["after"],
                    data["after_frame"], data["seconds_after"])


def _read_cause(data: dict[str, Any]) -> Cause:
    return Cause(data["rank"], CauseKind(data["kind"]), data["summary"], tuple(data["evidence"]),
                 tuple(data["checks"]))


def _read_event(data: dict[str, Any]) -> EventNote:
    return EventNote(data["source"], epoch(data["time"]), data["provider"], data["event_id"], data["level"],
                     data["computer"], dict(data["fields"]), data["text"], data["confidence"],
                     tuple(data["reasons"]))


def _read_milestone(data: dict[str, Any]) -> Milestone:
    return Milestone(data["name"], Side(data["side"]), data["frame"], epoch(data["time"]), data["detail"])


def _read_fingerprints(data: dict[str, Any] | None) -> Fingerprints:
    if data is None:  # a records file written before fingerprints were recorded
        return Fingerprints()
    return Fingerprints(data["ja3"], data["ja3_full"], data["ja3s"], data["ja3s_full"], data["ja4"])


def from_json(data: dict[str, Any]) -> ConnectionRecord:
    """The record to_json wrote (KeyError/ValueError when it is not one)."""
    return ConnectionRecord(
        capture=data["capture"], stream=data["stream"], transport=data.get("transport", "tcp"),
        client=data["client"], client_port=data["client_port"],
        server=data["server"], server_port=data["server_port"],
        first_time=epoch(data["first_time"]), last_time=epoch(data["last_time"]),
        first_frame=data["first_frame"], outcome=Outcome(data["outcome"]), established=data["established"],
        client_hello=_read_client_hello(data["client_hello"]),
        server_hello=_read_server_hello(data["server_hello"]),
        certificate_frame=data["certificate_frame"],
        certificates=tuple(_read_certificate(cert) for cert in data["certificates"]),
        chain_encrypted=data["chain_encrypted"],
        alerts=tuple(_read_alert(alert) for alert in data["alerts"]),
        findings=tuple(_read_finding(finding) for finding in data["findings"]),
        teardown=_read_teardown(data["teardown"]),
        application_data_bytes=BothSides(data["application_data_bytes"]["client"],
                                         data["application_data_bytes"]["server"]),
        first_application_data_frame=BothSides(data["first_application_data_frame"]["client"],
                                               data["first_application_data_frame"]["server"]),
        fallback_of=data["fallback_of"], retried_by=data["retried_by"],
        causes=tuple(_read_cause(cause) for cause in data["causes"]),
        milestones=tuple(_read_milestone(milestone) for milestone in data["milestones"]),
        history=data["zeek"]["ssl_history"],
        events=tuple(_read_event(note) for note in data["events"]),
        messages=tuple(_read_milestone(message) for message in data["messages"]),
        messages_left_out=data["messages_left_out"],
        alerts_left_out=data["alerts_left_out"], findings_left_out=data["findings_left_out"],
        fingerprints=_read_fingerprints(data.get("fingerprints")),
        # a records file written before the client's chain was recorded lacks it
        client_certificates=tuple(_read_certificate(cert) for cert in data.get("client_certificates", ())),
        chain_undecoded=data.get("chain_undecoded", False),  # records written before it lack it
    )
