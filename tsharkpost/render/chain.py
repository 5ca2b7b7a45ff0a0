"""A record's certificate chain -> one card per certificate, with the plugin's findings on the one they concern.

The HTML renderers draw the cards (templates/macros.html.j2); nothing here writes markup. A card marks the line
a finding is about (the signature algorithm for weak_signature and sigalg_not_offered, the key for the weak_*_key
checks, the names for name_mismatch, the issuer for chain_order, the validity for expired_certificate and
not_yet_valid_certificate: the plugin judges validity against the time of the frame that carried the certificate).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tsharkpost.plugin.tables import Severity
from tsharkpost.record.model import Certificate, ConnectionRecord

SAN_SHOWN = 8  # a card lists this many names of the SAN; the rest are counted
# Which line of a card a certificate check is about.
CHECK_LINE = {"weak_signature": "sigalg", "sigalg_not_offered": "sigalg", "weak_rsa_key": "key",
              "weak_dsa_key": "key", "weak_ec_key": "key", "name_mismatch": "names", "chain_order": "issuer",
              "expired_certificate": "validity", "not_yet_valid_certificate": "validity"}
SEVERITY_TONES: dict[int, str] = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


@dataclass(frozen=True)
class FindingNote:
    severity: str  # error, warning, note
    check: str
    message: str

    @property
    def short(self) -> str:
        """The message's first statement (the rest, e.g. every algorithm offered, is in its tooltip and causes)."""
        return self.message.split("; ", 1)[0]


@dataclass(frozen=True)
class Card:
    """One certificate as a card.

    Attributes:
        role: "leaf", "intermediate", "root (self-signed)" or "self-signed leaf".
        tone: the worst severity of its findings ("error", "warning", "note"), "" without any.
        marked: the lines findings are about ("sigalg", "key", "names", "issuer", "validity").
        relation: in a diff, how it relates to the other side's chain ("same", "moved", "changed", "only_good",
            "only_bad"); "" elsewhere.
    """

    index: int
    role: str
    subject: str
    issuer: str
    sigalg: str
    sigalg_oid: str
    key: str
    not_before: str
    not_after: str
    valid: bool
    san: tuple[str, ...]
    san_more: int
    sha256: str
    serial: str
    findings: tuple[FindingNote, ...]
    tone: str
    marked: frozenset[str]
    relation: str = ""


def _role(cert: Certificate) -> str:
    if cert.index == 0:
        return "self-signed leaf" if cert.self_signed else "leaf"
    return "root (self-signed)" if cert.self_signed else "intermediate"


def _key(cert: Certificate) -> str:
    parts = [cert.key_type.upper() if cert.key_type else "key ?"]
    if cert.key_bits:
        parts.append(f"{cert.key_bits} bits")
    if cert.key_curve:
        parts.append(cert.key_curve)
    return " ".join(parts)


def card(cert: Certificate, relation: str = "") -> Card:
    """A card for one certificate; valid unless the plugin judged it not valid at capture time."""
    notes = tuple(FindingNote(SEVERITY_TONES.get(finding.severity, "note"), finding.check, finding.message)
                  for finding in sorted(cert.findings, key=lambda finding: -finding.severity))
    marked = {CHECK_LINE[note.check] for note in notes if note.check in CHECK_LINE}
    valid = "validity" not in marked
    worst = max((finding.severity for finding in cert.findings), default=0)
    tone = SEVERITY_TONES.get(worst, "") if cert.findings else ""
    return Card(cert.index, _role(cert), cert.subject or cert.subject_cn, cert.issuer,
                cert.sigalg_name or "unknown algorithm", cert.sigalg_oid, _key(cert), cert.not_before,
                cert.not_after, valid, cert.san[:SAN_SHOWN], max(0, len(cert.san) - SAN_SHOWN), cert.sha256,
                cert.serial, notes, tone, frozenset(marked), relation)


def cards(record: ConnectionRecord, relations: Sequence[str] = ()) -> list[Card]:
    """The server's chain as sent, leaf first; relations (from a diff) by position, when given."""
    return [card(cert, relations[number] if number < len(relations) else "")
            for number, cert in enumerate(record.certificates)]


def client_cards(record: ConnectionRecord) -> list[Card]:
    """The client's chain as sent (mutual TLS), leaf first."""
    return [card(cert) for cert in record.client_certificates]
