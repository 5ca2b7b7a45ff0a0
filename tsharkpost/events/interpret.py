"""What an event says to a TLS troubleshooter: Schannel alerts and error states, CAPI2 chain results.

Only fields are read (never the rendered message). Facts come from lua/tables
(windows_events, schannel_error_states, windows_errors, tls_alerts); events of
other providers are kept and shown, not interpreted.
"""

from __future__ import annotations

from dataclasses import dataclass

from tsharkpost.plugin import tables as facts
from tsharkpost.events.model import Event

SCHANNEL = "schannel"
CAPI2 = "microsoft-windows-capi2"
# The alert_role column of windows_events.tsv in words.
ROLE_TEXT = {"generated": "this host generated the alert", "received": "this host received the alert from its peer"}


@dataclass(frozen=True)
class Meaning:
    """An event read for TLS troubleshooting.

    Attributes:
        kind: "tls" (Schannel handshake evidence), "certificate" (chain evidence) or "other".
        alert_role: "generated" (36888: this host produced the alert), "received" (36887), or "".
        alert: AlertDesc, when the event carries it.
        target: TargetName (36888 on Windows 10 and later, 36880): the server name a client asked for.
        text: one line for people, built from fields and the fact tables.
    """

    kind: str
    alert_role: str
    alert: int | None
    error_state: int | None
    target: str
    text: str


def _int(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value, 16) if value.strip().lower().startswith("0x") else int(value)
    except ValueError:
        return None


def alert_label(code: int) -> str:
    fact = facts.alerts().get(code)
    if fact is None:
        return f"alert {code} (unassigned)"
    windows = f", {fact.windows_name}" if fact.windows_name else ""
    return f"alert {code} {fact.name}{windows}"


def error_state_label(event_id: int, state: int) -> str:
    row = facts.schannel_error_states().get((event_id, state))
    if row is None:
        return f"Schannel error state {state} (meaning unknown: Microsoft publishes no list)"
    # The first clause: the rest (examples, names) is for tsharkpost explain.
    return f"Schannel error state {state}, {row['provenance']} as {row['meaning'].split(';')[0].split(' (')[0]}"


def hresult_label(value: str) -> str:
    code = _int(value if value.lower().startswith("0x") else f"0x{value}")
    if code is None:
        return value
    code &= 0xFFFFFFFF
    row = facts.windows_errors().get(code)
    return f"0x{code:08X} {row['symbol']}" if row else f"0x{code:08X}"


def alert_events(role: str) -> list[int]:
    """The Schannel event ids whose alert_role is role ("generated" or "received"), from windows_events.tsv."""
    return sorted(event_id for (provider, event_id), row in facts.windows_events().items()
                  if provider == SCHANNEL and row["alert_role"] == role)


def provider_key(event: Event) -> str:
    return event.provider.lower()


def meaning(event: Event) -> Meaning:
    provider = provider_key(event)
    row = facts.windows_events().get((provider, event.event_id))
    if provider == SCHANNEL:
        return _schannel(event, row)
    if provider == CAPI2:
        return _capi2(event, row)
    return Meaning("other", "", None, None, "", f"{event.provider} {event.event_id}")


def _schannel(event: Event, row: dict[str, str] | None) -> Meaning:
    fields = event.fields
    alert, state = _int(fields.get("AlertDesc")), _int(fields.get("ErrorState"))
    target = fields.get("TargetName", "")
    head = f"Schannel {event.event_id} {row['name'] if row else '(not interpreted)'}"
    role = row["alert_role"] if row else ""
    parts = [f"{head}: {alert_label(alert)}" if alert is not None else head]
    if alert is None and role and not fields:
        parts.append("alert code not in this export (CSV/TXT carry only the message; use XML or EVTX)")
    if state is not None:
        parts.append(error_state_label(event.event_id, state))
    if target:
        parts.append(f"target {target}")
    for name in ("Protocol", "CipherSuite", "Type"):
        if fields.get(name):
            parts.append(f"{name} {fields[name]}")
    for name in ("ErrorCode",):
        if fields.get(name):
            parts.append(f"{name} {hresult_label(fields[name])}")
    kind = row["evidence"] if row else "tls"
    return Meaning(kind, role, alert, state, target, "; ".join(parts))


def _capi2(event: Event, row: dict[str, str] | None) -> Meaning:
    fields = event.fields
    operation = fields.get("UserData") or (row["name"] if row else f"event {event.event_id}")
    parts = [f"CAPI2 {event.event_id} {operation}"]
    subject = fields.get("Certificate.subjectName")
    if subject:
        parts.append(f"certificate '{subject}'")
    if fields.get("Policy.type"):
        parts.append(f"policy {fields['Policy.type']}")
    result = fields.get("Result.value")
    if result is not None:
        parts.append("result OK" if _int(f"0x{result}") == 0 else f"result {hresult_label(result)}")
    status = fields.get("ErrorStatus.value")
    if status is not None and _int(f"0x{status}"):
        flags = sorted(name.split(".", 1)[1] for name in fields
                       if name.startswith("ErrorStatus.CERT_TRUST"))
        parts.append(f"chain trust errors 0x{status}" + (f" ({', '.join(flags)})" if flags else ""))
    return Meaning("certificate", "", None, None, "", "; ".join(parts))


def interpreted(event: Event) -> bool:
    """Whether tsharkpost reads this event as TLS or certificate evidence (the rest is kept, not interpreted)."""
    return provider_key(event) in (SCHANNEL, CAPI2)
