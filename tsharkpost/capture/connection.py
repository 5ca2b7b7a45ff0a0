"""One connection (TCP, DTLS or QUIC) while its packets are read: filled in by the tracker, judged by classify,
then frozen.

freeze() turns it into the ConnectionRecord that every later stage reads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from typing import TypeAlias

from tsharkpost.record.model import (Alert, BothSides, Cause, Certificate, ClientHello, ConnectionRecord, Finding,
                                     Fingerprints, HandshakeFacts, Milestone, Outcome, ServerHello, Side, Teardown)

Key: TypeAlias = tuple[str, int]  # (transport, stream): tcp.stream, or udp.stream for DTLS and QUIC


def tls13_family(version: str | None) -> bool:
    """TLS 1.3 (and its drafts) or DTLS 1.3: no ChangeCipherSpec, the handshake after ServerHello encrypted, a PSK
    as the only resumption."""
    return (version or "").startswith(("TLS 1.3", "DTLS 1.3"))


@dataclass
class Connection(HandshakeFacts):
    """The state of one connection of one capture (see README: record fields for what each part means)."""

    capture: str
    stream: int
    client: str = ""
    client_port: int = 0
    server: str = ""
    server_port: int = 0
    first_time: float = 0.0
    last_time: float = 0.0
    first_frame: int = 0
    saw_syn: bool = False
    is_tls: bool = False
    client_hello: ClientHello | None = None
    server_hello: ServerHello | None = None
    certificates: list[Certificate] = field(default_factory=list)  # the server's chain, findings attached at freeze
    client_certificates: list[Certificate] = field(default_factory=list)  # the client's chain (mutual TLS), likewise
    certificate_frame: int | None = None
    certificate_flight_end: tuple[int, float] | None = None  # frame, time of the server's last flight message
    alerts: list[Alert] = field(default_factory=list)  # the first tracker.MAX_ALERTS
    alerts_left_out: int = 0
    findings: list[Finding] = field(default_factory=list)  # the first tracker.MAX_FINDINGS
    findings_left_out: int = 0
    teardown: Teardown | None = None
    history: str = ""
    ccs_from: set[Side] = field(default_factory=set)
    ciphertext_from: set[Side] = field(default_factory=set)  # sides that sent an encrypted record
    app_data_bytes: dict[Side, int] = field(default_factory=lambda: {Side.CLIENT: 0, Side.SERVER: 0})
    first_app_data: dict[Side, int] = field(default_factory=dict)  # side -> frame
    encrypted_handshake: bool = False
    undecoded_from: set[Side] = field(default_factory=set)  # sides with a plaintext handshake message tshark left undecoded
    outcome: Outcome = Outcome.NOT_TLS
    causes: list[Cause] = field(default_factory=list)
    fallback_of: int | None = None  # stream of the failed attempt this one retries
    retried_by: int | None = None  # stream of the retry that followed this failure
    milestones: list[Milestone] = field(default_factory=list)  # in frame order
    messages: list[Milestone] = field(default_factory=list)  # every TLS message, in wire order (capped)
    messages_left_out: int = 0
    fingerprints: Fingerprints = field(default_factory=Fingerprints)  # of the first ClientHello and ServerHello
    packets_from: dict[Side, int] = field(default_factory=lambda: {Side.CLIENT: 0, Side.SERVER: 0})
    plaintext_answer: tuple[int, str] | None = None  # frame and first line of the server's first non-TLS payload
    hello_verify_frame: int | None = None  # DTLS: the server's first HelloVerifyRequest
    hello_verify_time: float = 0.0  # DTLS: its time (the client's silence since, classify's UDP timeout)
    hello_verify_answered: bool = False  # DTLS: the client sent a ClientHello after it
    one_rtt_from: set[Side] = field(default_factory=set)  # QUIC: sides that sent a 1-RTT (short header) packet
    handshake_done: bool = False  # QUIC: the server's HANDSHAKE_DONE was read (it needs the key log)
    quic_versions_asked: tuple[int, ...] = ()  # QUIC: the versions of the client's long headers (first few)
    version_negotiation: tuple[int, tuple[int, ...]] | None = None  # QUIC: the server's first VN: frame, versions
    retry_frame: int | None = None  # QUIC: the server's first Retry
    retry_time: float = 0.0  # QUIC: its time (the client's silence since, classify's UDP timeout)
    retry_answered: bool = False  # QUIC: the client sent a long header packet after the Retry
    close_code: int | None = None  # QUIC: the first CONNECTION_CLOSE's error code, not a CRYPTO_ERROR (-1: unread)
    close_application: bool = False  # QUIC: the first CONNECTION_CLOSE was an application close (frame type 0x1d)
    capture_end: float = 0.0  # the time of the capture's last frame, set when the capture ends with it open
    transport: str = "tcp"  # "tcp", "udp-dtls" or "quic": stream is tcp.stream, or udp.stream for the others

    @property
    def key(self) -> Key:
        return (self.transport, self.stream)

    @property
    def crypto_error(self) -> Alert | None:
        """QUIC: the first CONNECTION_CLOSE with CRYPTO_ERROR, as the TLS alert it carries."""
        return self.first_fatal_alert if self.transport == "quic" else None

    @property
    def missing_side(self) -> Side | None:
        """The side none of whose packets is in the capture though the other side's TLS shows it was there.

        A server's TLS message answers a ClientHello; a client's ChangeCipherSpec or ciphertext answers the
        server's flight, and a client that sent its SYN and then data had a SYN-ACK. (tshark's output holds only some
        frames, the plugin's choice: a server that only ACKed is no evidence either way, so that alone is not
        taken for a missing side.)
        """
        if not self.is_tls:
            return None
        if self.packets_from[Side.CLIENT] == 0 and self.packets_from[Side.SERVER] > 0:
            return Side.CLIENT
        if self.packets_from[Side.SERVER] == 0 and self.packets_from[Side.CLIENT] > 0 and (
                self.saw_syn or Side.CLIENT in self.ccs_from or Side.CLIENT in self.ciphertext_from):
            return Side.SERVER
        return None

    @property
    def answered_unseen_server_messages(self) -> bool:
        """The client went on past its ClientHello (ChangeCipherSpec, ciphertext) though no ServerHello was read,
        while the server's side is in the capture: tshark left the server's messages out of its reassembly."""
        return (self.is_tls and self.server_hello is None and self.packets_from[Side.SERVER] > 0
                and (Side.CLIENT in self.ccs_from or Side.CLIENT in self.ciphertext_from))

    @property
    def established(self) -> bool:
        """Zeek's meaning: both sides reached the encrypted state and sent ciphertext (TLS 1.3 and SSL 2.0 send
        no ChangeCipherSpec for it). QUIC: HANDSHAKE_DONE, or 1-RTT packets from both sides."""
        if self.transport == "quic":
            return self.handshake_done or len(self.one_rtt_from) == 2
        return bool(self.server_hello) and len(self.ciphertext_from) == 2 and (
            tls13_family(self.version) or self.version == "SSL 2.0"
            or self.ccs_from == {Side.CLIENT, Side.SERVER})

    def certificate_findings(self, cert: Certificate) -> tuple[Finding, ...]:
        """The findings the plugin attached to a certificate of the chain (same frame, same position)."""
        return tuple(finding for finding in self.findings
                     if finding.cert_index == cert.index and finding.frame == cert.frame)

    def _with_findings(self, cert: Certificate) -> Certificate:
        findings = self.certificate_findings(cert)
        # Most certificates have none: the frozen certificate itself then serves (a copy costs 6 us).
        return cert if findings == cert.findings else dataclasses.replace(cert, findings=findings)

    def freeze(self) -> ConnectionRecord:
        """The finished connection as the record every later stage reads."""
        return ConnectionRecord(
            capture=self.capture, stream=self.stream, client=self.client, client_port=self.client_port,
            server=self.server, server_port=self.server_port, first_time=self.first_time, last_time=self.last_time,
            first_frame=self.first_frame, outcome=self.outcome, established=self.established,
            client_hello=self.client_hello, server_hello=self.server_hello,
            certificate_frame=self.certificate_frame,
            certificates=tuple(self._with_findings(cert) for cert in self.certificates),
            chain_encrypted=self.chain_encrypted,
            alerts=tuple(self.alerts), findings=tuple(self.findings), teardown=self.teardown,
            application_data_bytes=BothSides(self.app_data_bytes[Side.CLIENT], self.app_data_bytes[Side.SERVER]),
            first_application_data_frame=BothSides(self.first_app_data.get(Side.CLIENT),
                                                   self.first_app_data.get(Side.SERVER)),
            fallback_of=self.fallback_of, retried_by=self.retried_by, causes=tuple(self.causes),
            milestones=tuple(self.milestones), history=self.history, messages=tuple(self.messages),
            messages_left_out=self.messages_left_out, alerts_left_out=self.alerts_left_out,
            findings_left_out=self.findings_left_out, fingerprints=self.fingerprints,
            client_certificates=tuple(self._with_findings(cert) for cert in self.client_certificates),
            chain_undecoded=self.chain_undecoded, transport=self.transport)

    @property
    def chain_encrypted(self) -> bool:
        """The chain was encrypted on the wire and could not be read (TLS 1.3 without keys). A TLS 1.2 handshake's
        encrypted messages (Finished) never carry the chain: its chain is in the clear, read or undecoded."""
        version = self.version or ""
        return self.encrypted_handshake and not self.certificates and (not version or tls13_family(version))

    @property
    def chain_undecoded(self) -> bool:
        """The server's plaintext handshake held messages nobody decoded, and no chain was read."""
        return Side.SERVER in self.undecoded_from and not self.certificates
