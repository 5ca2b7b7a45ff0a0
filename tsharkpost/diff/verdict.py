"""Compared records -> the ranked differences that plausibly explain why BAD failed and GOOD did not.

Nothing here judges an algorithm, a key or a version: the judgements are the
plugin's findings (lua/tables/*.tsv) and the causes capture/classify.py made of them.
This module keeps what BAD has and GOOD does not, in this order:
  1. BAD's probable causes that GOOD does not share (classify's ranking);
  2. the plugin's other findings only BAD has (severity, then the check's weight in checks.tsv);
  3. an offer of BAD's client that left out what GOOD's server chose (when BAD's server refused);
  4. the protocol version (and the fallback link, when GOOD is BAD's retry); before 3 when BAD got a
     protocol_version alert;
  5. chain differences not named above; 6. another transport (TCP, DTLS, QUIC); 7. a different server name.
Each item says what GOOD had instead, so the contrast is the evidence.
"""

from __future__ import annotations

from tsharkpost.diff.model import ChainRow, Section, VerdictItem
from tsharkpost.diff.sides import same_server_name
from tsharkpost.plugin.tables import Severity, check_group, check_weight, version_rank
from tsharkpost.record.model import CauseKind, Certificate, ConnectionRecord, Finding

# checks.tsv groups whose checks describe how a connection ended (an alert, a teardown, missing keys)
# rather than why: both sides of a comparison differ there by definition.
DESCRIPTIVE_GROUPS = frozenset({"response_code", "sequence", "decryption", "debug"})
CHAIN_PARTS_SHOWN = 4  # the chain section has them all
TRANSPORT_NAMES = {"tcp": "TCP", "udp-dtls": "DTLS over UDP", "quic": "QUIC"}
# The alert a peer sends for a protocol version it will not speak (RFC 5246 §7.2.2, RFC 8446 §6.2): when BAD got
# it, the version difference (item 4) is likelier than a suite or group BAD's client left out (item 3).
PROTOCOL_VERSION_ALERT = 70
# The alert for an ALPN offer the server supports none of (RFC 7301 §3.2): its item names what each client offered.
NO_APPLICATION_PROTOCOL_ALERT = 120


def _explains(check: str) -> bool:
    return check_group(check) not in DESCRIPTIVE_GROUPS


def _identity(record: ConnectionRecord, finding: Finding) -> tuple[str, str | None]:
    """A finding as comparable across captures: its check, and the certificate's SHA-256 when it names one."""
    cert = record.certificate(finding.cert_index)
    if cert is not None:
        return finding.check, cert.sha256 or f"#{cert.index}"
    return finding.check, None if finding.cert_index is None else f"#{finding.cert_index}"


def _rank(version: str) -> tuple[int, float] | None:
    """A version's place among its family's (TLS, DTLS) for comparing two of one family; None when unknown."""
    if version.startswith("DTLS "):
        number = version.split()[1]
        return (1, float(number)) if number.replace(".", "", 1).isdigit() else None
    rank = version_rank(version)
    return (0, float(rank)) if rank >= 0 else None


def _offered(supported_versions: tuple[str, ...], max_version: str | None, version: str) -> bool:
    """Whether a ClientHello offered a version. With supported_versions, the client lists each version it accepts
    (RFC 8446 §4.2.1); without it, its legacy_version is the highest it supports and the server may answer with
    any lower one (RFC 5246 Appendix E.1): only a version above it was not offered. Unknown: taken as offered."""
    if supported_versions:
        return version in supported_versions
    chosen, highest = _rank(version), _rank(max_version or "")
    return chosen is None or highest is None or chosen[0] != highest[0] or chosen[1] <= highest[1]


def _label(cert: Certificate) -> str:
    return f"#{cert.index} '{cert.subject or cert.subject_cn}'"


def _chain_end(record: ConnectionRecord) -> str:
    certs = record.certificates
    if record.chain_encrypted:
        return "GOOD's chain is encrypted (TLS 1.3 without a key log)"
    if record.chain_undecoded:
        return "GOOD's chain was not decoded (its Certificate message stayed unread)"
    if not certs:
        return "GOOD received no certificates"
    return f"GOOD's chain ends at {_label(certs[-1])} ({len(certs)} certificate{'s' if len(certs) != 1 else ''})"


class _Builder:
    def __init__(self, good: ConnectionRecord, bad: ConnectionRecord, sections: list[Section]) -> None:
        self.good, self.bad = good, bad
        chain = next(section for section in sections if section.name == "chain")
        self.rows = chain.rows
        self.items: list[VerdictItem] = []
        self.named_rows: set[int] = set()  # BAD chain positions an item already speaks of
        good_ids = {_identity(good, finding) for finding in good.findings}
        self.bad_only = [finding for finding in bad.findings
                         if _explains(finding.check) and _identity(bad, finding) not in good_ids]
        self.covered: list[Finding] = []

    def add(self, summary: str, evidence: list[str], checks: list[str], sections: list[str]) -> None:
        self.items.append(VerdictItem(len(self.items) + 1, summary, evidence, checks, sections))

    # -- contrasts: what GOOD had instead ------------------------------------------------------------------------

    def _row(self, bad_index: int) -> ChainRow | None:
        return next((row for row in self.rows if row.bad_index == bad_index), None)

    def _certificate_contrast(self, cert: Certificate, checks: list[str]) -> str:
        self.named_rows.add(cert.index)
        row = self._row(cert.index)
        if row is None or row.relation == "only_bad":
            return f"GOOD's chain does not carry it: {_chain_end(self.good)}"
        if row.relation == "changed":
            return (f"GOOD received another certificate at #{row.good_index} "
                    f"({'; '.join(row.differences[:3])})")
        contrast = f"GOOD received the same certificate (#{row.good_index}) without {', '.join(checks)}"
        if "sigalg_not_offered" in checks:
            hello = self.good.client_hello
            if not (hello and hello.signature_algorithms):
                max_version = hello.max_version if hello else None
                contrast += (f": GOOD's {max_version or ''} ClientHello has no signature_algorithms "
                             "extension, so it places no limit on chain signatures").replace("  ", " ")
        return contrast

    def _finding_item(self, summary: str, evidence: list[str], findings: list[Finding]) -> None:
        checks = sorted(dict.fromkeys(finding.check for finding in findings), key=check_weight)
        contrasts, sections = [], ["outcome"]
        certs = {cert.index: cert for cert in (self.bad.certificate(f.cert_index) for f in findings)
                 if cert is not None}
        for cert in certs.values():
            contrasts.append(self._certificate_contrast(cert, checks))
            sections = ["chain", "outcome"]
        if "sigalg_not_offered" in checks:
            sections.insert(0, "client_hello")
        self.covered += findings
        self.add(f"BAD: {summary}" + "".join(f"; {contrast}" for contrast in contrasts), evidence, checks, sections)

    # -- the items, in rank order --------------------------------------------------------------------------------

    def causes(self) -> None:
        good_causes = {cause.summary for cause in self.good.causes}
        for cause in self.bad.causes:
            if cause.kind is CauseKind.FALLBACK:
                continue  # the version item speaks of it
            if not cause.checks:
                if cause.summary not in good_causes:
                    evidence, sections = list(cause.evidence), ["outcome"]
                    if cause.kind is CauseKind.ALERT and self._alpn_refused():
                        evidence.append(self._alpn_offers())
                        sections.insert(0, "client_hello")
                    self.add(f"BAD: {cause.summary}", evidence, [], sections)
                continue
            own = [finding for finding in self.bad_only if finding.check in cause.checks
                   and (finding.message in cause.evidence or finding.message == cause.summary)]
            if own:  # otherwise GOOD has the same findings: they do not tell the two apart
                self._finding_item(cause.summary, list(cause.evidence), own)

    def _alpn_refused(self) -> bool:
        alert = self.bad.first_fatal_alert
        return alert is not None and alert.code == NO_APPLICATION_PROTOCOL_ALERT

    def _alpn_offers(self) -> str:
        def offered(record: ConnectionRecord) -> str:
            alpn = record.client_hello.alpn if record.client_hello else ()
            return ", ".join(alpn) if alpn else "(none)"

        return f"ALPN offered: BAD {offered(self.bad)}; GOOD {offered(self.good)}"

    def findings(self) -> None:
        rest = [finding for finding in self.bad_only
                if finding not in self.covered and finding.severity >= Severity.WARNING]
        rest.sort(key=lambda f: (-f.severity, check_weight(f.check), f.frame))
        # One item per certificate (all its findings), one per connection-level finding.
        by_subject: dict[int | str, list[Finding]] = {}
        for finding in rest:
            key = finding.cert_index if finding.cert_index is not None else finding.check
            by_subject.setdefault(key, []).append(finding)
        for group in by_subject.values():
            self._finding_item(group[0].message, [f"frame {f.frame}: {f.message}" for f in group], group)

    def offers(self) -> None:
        good_server, bad_hello = self.good.server_hello, self.bad.client_hello
        if self.bad.server_hello is not None or good_server is None or bad_hello is None:
            return
        good_suites = self.good.client_hello.cipher_suites if self.good.client_hello else ()
        common = [suite for suite in bad_hello.cipher_suites if suite in good_suites]
        suites = bad_hello.cipher_suites
        if good_server.cipher and suites and good_server.cipher not in suites:
            self.add(f"BAD's client did not offer {good_server.cipher}, the suite GOOD's server chose",
                     [f"BAD offered {len(suites)} cipher suites ({', '.join(suites[:6])}"
                      f"{', ...' if len(suites) > 6 else ''}); {len(common)} of them GOOD offered too",
                      f"GOOD's server chose {good_server.cipher} in frame {good_server.frame}"],
                     [], ["client_hello", "server_hello"])
        groups = bad_hello.supported_groups
        if good_server.curve and groups and good_server.curve not in groups:
            self.add(f"BAD's client did not offer the group {good_server.curve}, which GOOD's server chose",
                     [f"BAD's supported_groups: {', '.join(groups)}"], [], ["client_hello", "server_hello"])

    def version(self) -> None:
        good, bad = self.good, self.bad
        good_hello, bad_hello = good.client_hello, bad.client_hello
        good_max = good_hello.max_version if good_hello else None
        bad_max = bad_hello.max_version if bad_hello else None
        negotiated_differs = bool(good.version and bad.version and good.version != bad.version)
        if not negotiated_differs and good_max == bad_max:
            return

        def said(record: ConnectionRecord, max_version: str | None) -> str:
            chosen = f"negotiated {record.version}" if record.version else "got no ServerHello"
            return f"{chosen}, its client offering up to {max_version or '?'}"

        evidence = [f"BAD {said(bad, bad_max)} (frame {bad_hello.frame if bad_hello else '?'})",
                    f"GOOD {said(good, good_max)} (frame {good_hello.frame if good_hello else '?'})"]
        if good.version and bad_hello and not _offered(bad_hello.supported_versions, bad_max, good.version):
            evidence.append(f"BAD's client did not offer {good.version}")
        if bad_hello and bad_hello.signature_algorithms and not (good_hello and good_hello.signature_algorithms):
            evidence.append("BAD's ClientHello carries signature_algorithms; GOOD's has none")
        summary = f"protocol version: BAD {said(bad, bad_max)}; GOOD {said(good, good_max)}"
        same_capture = good.capture == bad.capture
        if same_capture and bad.retried_by == good.stream and bad.transport == good.transport:
            fallback = next((cause for cause in bad.causes if cause.kind is CauseKind.FALLBACK), None)
            summary = (f"GOOD is the client's fallback after BAD failed: it offered {good_max} "
                       f"instead of {bad_max}, and {good.version or 'that'} worked")
            evidence = (list(fallback.evidence) if fallback else []) + evidence
        self.add(summary, evidence, [], ["client_hello", "server_hello"])

    def chain(self) -> None:
        changed = [row for row in self.rows if row.relation != "same"
                   and (row.bad_index is None or row.bad_index not in self.named_rows)]
        if not changed or not self.bad.certificates:
            return
        words = {"only_bad": "only in BAD's chain", "only_good": "only in GOOD's chain", "changed": "replaced",
                 "moved": "at another position"}
        parts = []
        for row in changed:
            where = f"BAD #{row.bad_index}" if row.bad_index is not None else f"GOOD #{row.good_index}"
            parts.append(f"{where} '{row.subject}' {words[row.relation]}")
        evidence = [f"{row.subject}: {'; '.join(row.differences)}" for row in changed if row.differences]
        shown = parts[:CHAIN_PARTS_SHOWN] + ([f"{len(parts) - CHAIN_PARTS_SHOWN} more"]
                                             if len(parts) > CHAIN_PARTS_SHOWN else [])
        self.add("BAD's chain differs from GOOD's: " + "; ".join(shown), evidence, [], ["chain"])

    def transport(self) -> None:
        """TCP against QUIC or DTLS: another server stack may answer each (a QUIC listener is its own program)."""
        good, bad = self.good, self.bad
        if good.transport != bad.transport:
            self.add(f"BAD ran over {TRANSPORT_NAMES.get(bad.transport, bad.transport)}, GOOD over "
                     f"{TRANSPORT_NAMES.get(good.transport, good.transport)}: another server stack and "
                     "configuration may answer each", [f"BAD: {bad.server}:{bad.server_port} ({bad.transport})",
                                                       f"GOOD: {good.server}:{good.server_port} ({good.transport})"],
                     [], ["outcome"])

    def server_name(self) -> None:
        if not same_server_name(self.good.server_name, self.bad.server_name):
            self.add(f"BAD's client asked for server name {self.bad.server_name or '(none)'}, GOOD's for "
                     f"{self.good.server_name or '(none)'}", [], [], ["client_hello"])


def verdict(good: ConnectionRecord, bad: ConnectionRecord, sections: list[Section]) -> list[VerdictItem]:
    """Ranked explanations; empty when BAD did not fail (there is nothing to explain)."""
    if not bad.failed:
        return []
    builder = _Builder(good, bad, sections)
    builder.causes()
    builder.findings()
    if any(alert.code == PROTOCOL_VERSION_ALERT for alert in bad.alerts):
        builder.version()  # BAD's peer refused the version: that difference before the suites it left out
        builder.offers()
    else:
        builder.offers()
        builder.version()
    builder.chain()
    builder.transport()
    builder.server_name()
    return builder.items
