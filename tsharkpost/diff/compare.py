"""Two connection records -> the handshake compared section by section.

Only what says something about the handshake is compared; what differs on
every run (ports, frames, times, randoms, session ids) is not. Offers are
compared as sets (what only one side has, in that side's wire order); the
chain is aligned by certificate identity, so an extra, missing, moved or
reissued certificate shows as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tsharkpost.diff.model import ChainRow, FieldDiff, Section
from tsharkpost.record.model import Alert, Certificate, ClientHello, ConnectionRecord, ServerHello, Teardown

# ClientHello fields compared as sets / as single values.
CLIENT_HELLO_SETS = ["supported_versions", "cipher_suites", "extensions", "supported_groups", "signature_algorithms",
                     "signature_algorithms_cert", "alpn"]
CLIENT_HELLO_VALUES = ["legacy_version", "max_version", "server_name"]
SERVER_HELLO_VALUES = ["version", "cipher", "curve", "resumed"]
# Certificate fields that tell two certificates of the same subject apart, in the order they matter.
CERTIFICATE_FIELDS = ["sigalg_name", "key", "issuer", "serial", "not_before", "not_after", "san", "self_signed"]


def _set_field(name: str, good: Sequence[str] | None, bad: Sequence[str] | None) -> FieldDiff:
    good_list, bad_list = list(good or []), list(bad or [])
    only_good = [item for item in good_list if item not in bad_list]
    only_bad = [item for item in bad_list if item not in good_list]
    return FieldDiff(name, good_list if good is not None else None, bad_list if bad is not None else None,
                     not only_good and not only_bad and (good is None) == (bad is None), only_good, only_bad)


def _value_field(name: str, good: Any, bad: Any) -> FieldDiff:
    return FieldDiff(name, good, bad, good == bad)


Hello = ClientHello | ServerHello


def _hello(section: str, title: str, good: Hello | None, bad: Hello | None, values: list[str],
           sets: list[str]) -> Section:
    result = Section(section, title)
    if good is None or bad is None:
        result.fields.append(_value_field("seen", good is not None, bad is not None))
    for name in values:
        result.fields.append(_value_field(name, getattr(good, name, None), getattr(bad, name, None)))
    for name in sets:
        result.fields.append(_set_field(name, getattr(good, name) if good else None,
                                        getattr(bad, name) if bad else None))
    return result


def client_hello(good: ConnectionRecord, bad: ConnectionRecord) -> Section:
    return _hello("client_hello", "ClientHello", good.client_hello, bad.client_hello, CLIENT_HELLO_VALUES,
                  CLIENT_HELLO_SETS)


def server_hello(good: ConnectionRecord, bad: ConnectionRecord) -> Section:
    return _hello("server_hello", "ServerHello", good.server_hello, bad.server_hello, SERVER_HELLO_VALUES,
                  ["extensions"])


def _certificate_value(cert: Certificate, name: str) -> Any:
    if name == "key":
        return f"{cert.key_type} {cert.key_bits or ''}{' ' + cert.key_curve if cert.key_curve else ''}"
    value = getattr(cert, name)
    if isinstance(value, tuple):
        return ", ".join(value) or "(none)"
    return value


def _findings(cert: Certificate | None) -> list[str]:
    return [finding.check for finding in cert.findings] if cert else []


def align_chain(good: Sequence[Certificate], bad: Sequence[Certificate]) -> list[ChainRow]:
    """Pair certificates by SHA-256, then by subject, then two different leaves with each other; the rest belong
    to one chain only. BAD's order leads."""
    matched: dict[int, tuple[int, str]] = {}  # BAD position -> (GOOD position, how)
    free = set(range(len(good)))
    for how in ("sha256", "subject"):
        for b, cert in enumerate(bad):
            if b in matched or not getattr(cert, how):
                continue
            g = next((g for g in sorted(free) if getattr(good[g], how) == getattr(cert, how)), None)
            if g is not None:
                matched[b] = (g, how)
                free.discard(g)
    if bad and 0 not in matched and 0 in free:  # two different leaves: still each side's server certificate
        matched[0] = (0, "position")
        free.discard(0)
    placed: list[tuple[float, ChainRow]] = []
    for b, cert in enumerate(bad):
        if b not in matched:
            placed.append((b, ChainRow(None, b, cert.subject, "only_bad", sigalg_bad=cert.sigalg_name,
                                       findings_bad=_findings(cert))))
            continue
        g, how = matched[b]
        other = good[g]
        relation = ("same" if g == b else "moved") if how == "sha256" else "changed"
        compared = ["subject", *CERTIFICATE_FIELDS] if how == "position" else CERTIFICATE_FIELDS
        differences = [f"{name}: {_certificate_value(other, name)} -> {_certificate_value(cert, name)}"
                       for name in compared
                       if how != "sha256" and _certificate_value(other, name) != _certificate_value(cert, name)]
        placed.append((b, ChainRow(g, b, cert.subject, relation, differences, other.sigalg_name,
                                   cert.sigalg_name, _findings(other), _findings(cert))))
    for g in sorted(free):
        placed.append((g + 0.5, ChainRow(g, None, good[g].subject, "only_good", sigalg_good=good[g].sigalg_name,
                                         findings_good=_findings(good[g]))))
    return [row for _, row in sorted(placed, key=lambda item: item[0])]


def chain(good: ConnectionRecord, bad: ConnectionRecord) -> Section:
    result = Section("chain", "Certificate chain")
    result.fields.append(_value_field("certificates", len(good.certificates), len(bad.certificates)))
    result.fields.append(_value_field("chain_encrypted", good.chain_encrypted, bad.chain_encrypted))
    result.fields.append(_value_field("chain_undecoded", good.chain_undecoded, bad.chain_undecoded))
    result.rows = align_chain(good.certificates, bad.certificates)
    return result


def alert_text(alert: Alert) -> str:
    if alert.encrypted:
        return f"{alert.sender.value}: encrypted alert"
    level = {1: "warning", 2: "fatal"}.get(alert.level or 0, str(alert.level))
    return f"{alert.sender.value}: {level} {alert.code} {alert.name}"


def alerts(good: ConnectionRecord, bad: ConnectionRecord) -> Section:
    result = Section("alerts", "Alerts")
    result.fields.append(_value_field("alerts", [alert_text(a) for a in good.alerts],
                                      [alert_text(a) for a in bad.alerts]))
    return result


def teardown_text(teardown: Teardown | None) -> str | None:
    """The first FIN or RST (QUIC: CONNECTION_CLOSE), without its timing (which differs on every run)."""
    if teardown is None:
        return None
    return f"{teardown.kind} by {teardown.by.value} after {teardown.after or 'no TLS message'}"


def teardown(good: ConnectionRecord, bad: ConnectionRecord) -> Section:
    result = Section("teardown", "Teardown")
    # TCP ends with a FIN or RST; QUIC with a CONNECTION_CLOSE, DTLS with nothing but an alert (the alerts section)
    name = "first_fin_or_rst" if good.transport == bad.transport == "tcp" else "first_close"
    result.fields.append(_value_field(name, teardown_text(good.teardown), teardown_text(bad.teardown)))
    return result


def finding_labels(record: ConnectionRecord) -> list[str]:
    """The plugin's findings as 'check' or 'check #N' (N the chain position), in the record's order."""
    labels = []
    for finding in record.findings:
        label = finding.check + (f" #{finding.cert_index}" if finding.cert_index is not None else "")
        if label not in labels:
            labels.append(label)
    return labels


def outcome(good: ConnectionRecord, bad: ConnectionRecord) -> Section:
    result = Section("outcome", "Outcome")
    result.fields.append(_value_field("transport", good.transport, bad.transport))
    result.fields.append(_value_field("outcome", good.outcome.value, bad.outcome.value))
    result.fields.append(_value_field("established", good.established, bad.established))
    result.fields.append(_value_field("version", good.version, bad.version))
    result.fields.append(_set_field("findings", finding_labels(good), finding_labels(bad)))
    result.fields.append(_value_field(
        "application_data", bool(good.application_data_bytes.client + good.application_data_bytes.server),
        bool(bad.application_data_bytes.client + bad.application_data_bytes.server)))
    return result


def sections(good: ConnectionRecord, bad: ConnectionRecord) -> list[Section]:
    return [client_hello(good, bad), server_hello(good, bad), chain(good, bad), alerts(good, bad),
            teardown(good, bad), outcome(good, bad)]
