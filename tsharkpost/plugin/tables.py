"""The fact tables shared with the Lua plugin (lua/tables/*.tsv), read once, on first use.

One source of truth: the plugin loads the same files at start-up, so an alert
name, a version name, a check id or a severity is never kept in two copies.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from enum import IntEnum
from functools import cache

from tsharkpost.plugin.location import tables_dir


def read_table(name: str) -> list[dict[str, str]]:
    """Rows of lua/tables/<name>.tsv: '#' lines are comments, the first other line is the header."""
    path = tables_dir() / f"{name}.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


@dataclass(frozen=True)
class AlertFact:
    code: int
    name: str
    windows_name: str
    meaning: str
    source: str


@cache
def alerts() -> dict[int, AlertFact]:
    return {int(row["code"]): AlertFact(int(row["code"]), row["name"], row["windows_name"], row["meaning"],
                                        row["source"]) for row in read_table("tls_alerts")}


def alert_name(code: int | None) -> str | None:
    if code is None:
        return None
    fact = alerts().get(code)
    return fact.name if fact else f"unassigned_{code}"


@cache
def versions() -> dict[int, str]:
    """Protocol version code -> name ("TLS 1.2"), in the table's order (oldest first)."""
    return {int(row["code"], 16): row["name"] for row in read_table("protocol_versions")}


def version_name(code: int) -> str:
    if code in versions():
        return versions()[code]
    if code >> 8 == 0x7F:  # TLS 1.3 drafts
        return f"TLS 1.3 draft {code & 0xFF}"
    return f"unknown-{code}"  # Zeek's spelling


def version_rank(name: str) -> int:
    """A sortable rank of a version name: SSL 3.0 < TLS 1.0 < ... < TLS 1.3 (drafts rank as TLS 1.3)."""
    ordered = [value for value in versions().values() if value.startswith(("SSL", "TLS"))]
    if name in ordered:
        return ordered.index(name)
    return ordered.index("TLS 1.3") if name.startswith("TLS 1.3") else -1


@cache
def signature_schemes() -> dict[int, str]:
    return {int(row["code"], 16): row["name"] for row in read_table("signature_schemes")}


def signature_scheme_name(code: int) -> str:
    return signature_schemes().get(code, f"0x{code:04x}")


@cache
def checks() -> dict[str, dict[str, str]]:
    """Check id -> its row in checks.tsv (severity, group, weight, summary)."""
    return {row["check"]: row for row in read_table("checks")}


UNRANKED_WEIGHT = 99
# The plugin's finding for a frame it failed on (it catches its own Lua errors per frame): that frame's checks
# did not run, so the connection's findings may be incomplete.
PLUGIN_ERROR_CHECK = "plugin_error"


def check_weight(check: str) -> int:
    """How decisive a check is when it explains a refused chain: 0 is the most (the seed's check)."""
    row = checks().get(check)
    return int(row["weight"]) if row else UNRANKED_WEIGHT


def check_group(check: str) -> str | None:
    """The Wireshark expert group of a check (security, protocol, sequence, ...)."""
    row = checks().get(check)
    return row["group"] if row else None


_SEVERITY_LEVELS = {row["name"]: int(row["level"]) for row in read_table("severities")}


class Severity(IntEnum):
    """A finding's severity, as tpost.severity carries it; the numbers come from severities.tsv."""

    NOTE = _SEVERITY_LEVELS["note"]
    WARNING = _SEVERITY_LEVELS["warning"]
    ERROR = _SEVERITY_LEVELS["error"]

    @classmethod
    def of(cls, level: int) -> int:
        """The named severity of a level; a level no table row names stays a plain number."""
        try:
            return cls(level)
        except ValueError:
            return level


@cache
def windows_events() -> dict[tuple[str, int], dict[str, str]]:
    """(provider in lower case, event id) -> its row in windows_events.tsv."""
    return {(row["provider"].lower(), int(row["event_id"])): row for row in read_table("windows_events")}


@cache
def schannel_error_states() -> dict[tuple[int, int], dict[str, str]]:
    """(event id, error state) -> its row in schannel_error_states.tsv (with provenance and source)."""
    return {(int(row["event_id"]), int(row["error_state"])): row for row in read_table("schannel_error_states")}


@cache
def windows_errors() -> dict[int, dict[str, str]]:
    """HRESULT (unsigned 32-bit) -> its row in windows_errors.tsv."""
    return {int(row["code"], 16): row for row in read_table("windows_errors")}


@cache
def signature_algorithms() -> dict[str, dict[str, str]]:
    """Signature algorithm OID -> its row in signature_algorithms.tsv (name, label, hash, weakness, ...)."""
    return {row["oid"]: row for row in read_table("signature_algorithms")}


def signature_label(oid: str, name: str = "") -> str:
    """How messages name a signature algorithm ("MD2", "ECDSA with SHA-1"); its name or OID when unknown."""
    row = signature_algorithms().get(oid)
    return row["label"] if row else (name or oid)


@cache
def algorithm_oids() -> dict[str, tuple[str, dict[str, str]]]:
    """OID -> (table it comes from, row): signature, public key and curve algorithms."""
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for table in ("signature_algorithms", "public_key_algorithms", "ec_curves"):
        for row in read_table(table):
            found.setdefault(row["oid"], (table, row))
    return found


@dataclass(frozen=True)
class QuicErrorFact:
    code: int
    name: str
    meaning: str


@cache
def quic_transport_errors() -> dict[int, QuicErrorFact]:
    """QUIC transport error code -> its name and meaning (quic_transport_errors.tsv; RFC 9000 §20.1)."""
    return {int(row["code"], 16): QuicErrorFact(int(row["code"], 16), row["name"], row["meaning"])
            for row in read_table("quic_transport_errors")}


@cache
def quic_versions() -> dict[int, str]:
    """QUIC version -> its name (quic_versions.tsv)."""
    return {int(row["code"], 16): row["name"] for row in read_table("quic_versions")}


def quic_version_label(version: int) -> str:
    """0x00000001 (QUIC v1); a version without a name is its code alone."""
    name = quic_versions().get(version)
    return f"0x{version:08x}" + (f" ({name})" if name else "")
