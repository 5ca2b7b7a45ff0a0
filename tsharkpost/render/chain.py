"""A record's certificate chain -> one card per certificate, with the plugin's findings on the one they concern.

The HTML renderers draw the cards (templates/macros.html.j2); nothing here writes markup. A card marks the line
a finding is about (the signature algorithm for weak_signature and sigalg_not_offered, the key for the weak_*_key
checks, the names for name_mismatch, the issuer for chain_order) and the validity when the certificate was not
valid at the time it was sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tsharkpost.plugin.tables import Severity
from tsharkpost.record.model import Certificate, ConnectionRecord

SAN_SHOWN = 8  # a card lists this many names of the SAN; the rest are counted
# Which line of a card a certificate check is about.
CHECK_LINE = {"weak_signature": "sigalg", "sigalg_not_offered": "sigalg", "weak_rsa_key": "key",
              "weak_dsa_key": "key", "weak_ec_key": "key", "name_mismatch": "names", "chain_order": "issuer"}
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


def card(cert: Certificate, sent_at: float | None, relation: str = "") -> Card:
    """A card for one certificate, judged valid or not at `sent_at` (epoch seconds)."""
    notes = tuple(FindingNote(SEVERITY_TONES.get(finding.severity, "note"), finding.check, finding.message)
                  for finding in sorted(cert.findings, key=lambda finding: -finding.severity))
    valid = sent_at is None or cert.valid_at(sent_at)
    marked = {CHECK_LINE[note.check] for note in notes if note.check in CHECK_LINE}
    if not valid:
        marked.add("validity")
    worst = max((finding.severity for finding in cert.findings), default=0)
    tone = SEVERITY_TONES.get(worst, "") if cert.findings else ("error" if not valid else "")
    return Card(cert.index, _role(cert), cert.subject or cert.subject_cn, cert.issuer,
                cert.sigalg_name or "unknown algorithm", cert.sigalg_oid, _key(cert), cert.not_before,
                cert.not_after, valid, cert.san[:SAN_SHOWN], max(0, len(cert.san) - SAN_SHOWN), cert.sha256,
                cert.serial, notes, tone, frozenset(marked), relation)


def sent_at(record: ConnectionRecord) -> float | None:
    """When the server's Certificate message was sent: the instant its validity is judged at."""
    for message in (*record.messages, *record.milestones):
        if message.name == "certificate" and message.frame == record.certificate_frame:
            return message.time
    return None


def cards(record: ConnectionRecord, relations: Sequence[str] = ()) -> list[Card]:
    """The chain as sent, leaf first; relations (from a diff) by position, when given."""
    when = sent_at(record)
    return [card(cert, when, relations[number] if number < len(relations) else "")
            for number, cert in enumerate(record.certificates)]
