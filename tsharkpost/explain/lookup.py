"""A code as typed by an analyst -> every reading of it in the fact tables, each with its source.

A number can mean several things (43 is an alert; 252 is no alert but a Schannel
error state): every reading is given, and a code in no table is said to be
unknown rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tsharkpost.errors import NotACode
from tsharkpost.plugin import tables as facts
from tsharkpost.events.interpret import ROLE_TEXT, alert_events

SCHANNEL_EVENT_IDS = range(36864, 36929)
_OID = re.compile(r"[0-9]+(\.[0-9]+){2,}")
_DECIMAL = re.compile(r"[+-]?[0-9]+")  # ASCII digits only: int() would also take "4_3" and other scripts' digits
# 0x80090325, or eight hex digits with a letter among them (800B0109, as CAPI2 writes them).
_HEX = re.compile(r"^0[xX][0-9a-fA-F]+$|^(?=[0-9]*[a-fA-F])[0-9a-fA-F]{8}$")


@dataclass
class Answer:
    """One reading of a code.

    Attributes:
        kind: tls_alert, schannel_event, schannel_error_state, hresult, oid, or unknown.
        title: the code's name, e.g. "unsupported_certificate".
        details: label -> value lines, in order.
        provenance: documented, community-reported, unverified or unknown (how far to trust it).
        source: where the fact comes from.
    """

    code: str
    kind: str
    title: str
    details: dict[str, str] = field(default_factory=dict)
    provenance: str = "documented"
    source: str = ""


def _alert(code: int, typed: str) -> Answer:
    fact = facts.alerts().get(code)
    if fact is None:
        return Answer(typed, "tls_alert", f"unassigned alert {code}",
                      {"status": "unassigned in the IANA TLS Alerts registry: no standard meaning"},
                      "documented", "IANA TLS Alerts registry (lua/tables/tls_alerts.tsv lists the assigned codes)")
    reserved = fact.name.endswith("_RESERVED")
    details = {"status": "reserved: defined by an older version, must not be sent in TLS 1.3" if reserved
               else "assigned", "meaning": fact.meaning}
    if fact.windows_name:
        details["Windows name"] = f"{fact.windows_name} (schannel.h)"
    on_receipt = [f"0x{value:08X} {row['symbol']}" for value, row in facts.windows_errors().items()
                  if str(code) in row["alerts_on_receipt"].split()]
    if on_receipt:
        details["Schannel on receipt"] = f"returns {', '.join(on_receipt)} to the receiving application"
    by_role = [(role, ids) for role in ("generated", "received") if (ids := alert_events(role))]
    if by_role:
        said = [f"{', '.join(map(str, ids))} when {'it' if index else 'this host'} {role} it"
                for index, (role, ids) in enumerate(by_role)]
        details["Schannel events"] = f"{', '.join(said)} (AlertDesc {code})"
    return Answer(typed, "tls_alert", fact.name, details, "documented", fact.source)


def _event(code: int, typed: str) -> Answer | None:
    row = facts.windows_events().get(("schannel", code))
    if row is None:
        return None
    details = {"meaning": row["meaning"], "fields": row["fields"] or "-"}
    if row["alert_role"]:
        details["alert"] = ROLE_TEXT[row["alert_role"]]
    return Answer(typed, "schannel_event", f"Schannel {code}: {row['name']}", details, "documented", row["source"])


def _error_states(code: int, typed: str) -> list[Answer]:
    found = []
    for (event_id, state), row in facts.schannel_error_states().items():
        if state == code:
            details = {"field": f"ErrorState of event {event_id}", "meaning": row["meaning"]}
            if row["alerts_seen"]:
                details["reported with alerts"] = row["alerts_seen"]
            found.append(Answer(typed, "schannel_error_state", f"Schannel error state {code} (event {event_id})",
                                details, row["provenance"], row["source"]))
    return found


def _hresult(value: int, typed: str) -> Answer:
    value &= 0xFFFFFFFF
    signed = value - (1 << 32) if value >= 1 << 31 else value
    forms = f"0x{value:08X} = {value} unsigned = {signed} signed"
    row = facts.windows_errors().get(value)
    if row is None:
        return Answer(typed, "unknown", f"HRESULT 0x{value:08X}", {"forms": forms, "meaning":
                      "not in tsharkpost's table of TLS-related Windows error codes (unknown here, not guessed)"},
                      "unknown", "lua/tables/windows_errors.tsv")
    details = {"forms": forms, "message": row["message"] or "(no message text found)"}
    if row["note"]:
        details["note"] = row["note"]
    if row["alerts_on_receipt"]:
        details["from alerts"] = (f"what Schannel returns on receiving alert(s) "
                                  f"{', '.join(row['alerts_on_receipt'].split())}")
    return Answer(typed, "hresult", row["symbol"], details, row["provenance"], row["source"])


def _oid(oid: str) -> Answer:
    found = facts.algorithm_oids().get(oid)
    if found is None:
        return Answer(oid, "unknown", f"OID {oid}", {"meaning": "not in tsharkpost's algorithm tables "
                      "(signature, public key, curve)"}, "unknown", "lua/tables")
    table, row = found
    details = {"table": table}
    for key in ("hash", "signature", "weakness", "key_type", "bits"):
        if row.get(key):
            details[key] = row[key]
    if table == "signature_algorithms":
        schemes = [facts.signature_scheme_name(int(code, 16)) for code in row["tls_schemes"].split()]
        details["TLS signature_algorithms"] = (", ".join(schemes) if schemes else
                                               "none: no TLS code offers it, so a TLS 1.2 client never accepts it "
                                               "in a chain (RFC 5246 7.4.2)")
    return Answer(oid, "oid", row["name"], details, "documented", row["source"])


def _symbol(name: str) -> list[Answer]:
    upper = name.upper()
    found = [_hresult(value, name) for value, row in facts.windows_errors().items() if row["symbol"] == upper]
    found += [_alert(code, name) for code, fact in facts.alerts().items()
              if name.lower() == fact.name.lower() or (fact.windows_name and upper == fact.windows_name)]
    return found


def _quoted(typed: str, limit: int = 80) -> str:
    """typed as Python writes a string (control characters escaped), cut past limit characters."""
    return repr(typed) if len(typed) <= limit else f"{typed[:limit]!r}... [{len(typed):,} characters]"


def explain(typed: str) -> list[Answer]:
    """Every reading of one code (each answer's code is typed without surrounding spaces); NotACode when it cannot
    be read as one."""
    text = typed = typed.strip()
    if _OID.fullmatch(text):
        return [_oid(text)]
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text) and not _HEX.match(text):
        found = _symbol(text)
        if not found:
            return [Answer(typed, "unknown", text, {"meaning": "no alert or error code of this name in the tables"},
                           "unknown")]
        return found
    if _HEX.match(text):
        if int(text, 16) > 0xFFFFFFFF:
            raise NotACode(f"{_quoted(typed)}: above the 32-bit range")
        return [_hresult(int(text, 16), typed)]
    if not _DECIMAL.fullmatch(text):
        raise NotACode(f"{_quoted(typed)}: not a number, a hex code (0x...), an OID or a symbol name")
    if len(text.lstrip("+-").lstrip("0")) > 10:  # no int() of thousands of digits: far outside 32 bits anyway
        raise NotACode(f"{_quoted(typed)}: {'below the 32-bit signed' if text[0] == '-' else 'above the 32-bit'} range")
    number = int(text)
    if number < 0:
        if number < -(1 << 31):
            raise NotACode(f"{typed!r}: below the 32-bit signed range")
        return [_hresult(number, typed)]
    if number >= 1 << 31:
        if number >= 1 << 32:
            raise NotACode(f"{typed!r}: above the 32-bit range")
        return [_hresult(number, typed)]
    answers: list[Answer] = []
    if re.fullmatch(r"[0-9]{8}", text) and int(text, 16) in facts.windows_errors():
        # CAPI2 writes error codes as 8 hex digits without 0x; some have no letter (80090325)
        answers.append(_hresult(int(text, 16), typed))
    if number in facts.windows_errors():  # a success code (SEC_I_*, 0x0009xxxx) in decimal: 590610
        answers.append(_hresult(number, typed))
    if number <= 255:
        answers.append(_alert(number, typed))
    if number in SCHANNEL_EVENT_IDS:
        event = _event(number, typed)
        answers.append(event or Answer(typed, "unknown", f"Schannel event {number}",
                                       {"meaning": "in Schannel's event id range but not in the table"}, "unknown",
                                       "lua/tables/windows_events.tsv"))
    answers += _error_states(number, typed)
    if number <= 255 and not facts.alerts().get(number) and not _error_states(number, typed):
        answers.append(Answer(typed, "schannel_error_state", f"Schannel error state {number}",
                              {"meaning": "if this is a Schannel ErrorState: unknown (Microsoft publishes no "
                                          "list; no community report in tsharkpost's table)"}, "unknown",
                              "lua/tables/schannel_error_states.tsv"))
    if not answers:
        answers.append(Answer(typed, "unknown", str(number), {"meaning": "not a TLS alert, a Schannel event id, a "
                              "known Schannel error state or a Windows error code in tsharkpost's tables "
                              "(if it is a Schannel ErrorState: unknown, Microsoft publishes no list)"},
                              "unknown", "lua/tables"))
    return answers
