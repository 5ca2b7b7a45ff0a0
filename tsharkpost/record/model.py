"""The connection record: what tsharkpost knows about one TCP connection, typed and frozen.

The capture stage makes one when a connection is finished (capture/connection.py
freezes the state it was built in); every later stage (aggregation, diff,
timeline, renderers) reads it by attribute. record/jsonform.py writes it as one
JSON object and reads it back as the same type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

T = TypeVar("T")


class Side(str, Enum):
    CLIENT = "client"
    SERVER = "server"

    @property
    def other(self) -> Side:
        return Side.SERVER if self is Side.CLIENT else Side.CLIENT


class Outcome(str, Enum):
    """How a connection (TCP, DTLS or QUIC) ended, from a TLS troubleshooter's point of view (capture/classify.py)."""

    ESTABLISHED = "established"
    CLIENT_FATAL_ALERT = "client_fatal_alert"
    SERVER_FATAL_ALERT = "server_fatal_alert"
    ENCRYPTED_ALERT_IN_HANDSHAKE = "encrypted_alert_in_handshake"
    CLIENT_SILENT_CLOSE = "client_silent_close_after_certificates"
    CLIENT_RESET = "client_reset_after_certificates"
    CLIENT_CLOSED_DURING_HANDSHAKE = "client_closed_during_handshake"
    SERVER_CLOSED_BEFORE_SERVER_HELLO = "server_closed_before_server_hello"
    SERVER_RESET_BEFORE_SERVER_HELLO = "server_reset_before_server_hello"
    SERVER_CLOSED_AFTER_SERVER_HELLO = "server_closed_after_server_hello"
    SERVER_RESET_AFTER_SERVER_HELLO = "server_reset_after_server_hello"
    SERVER_ANSWERED_PLAINTEXT = "server_answered_plaintext"
    NO_SERVER_RESPONSE = "no_server_response"
    CLIENT_CRYPTO_ERROR = "client_crypto_error"  # QUIC: the client closed with CRYPTO_ERROR (a TLS alert)
    SERVER_CRYPTO_ERROR = "server_crypto_error"  # QUIC: the server closed with CRYPTO_ERROR (a TLS alert)
    HELLO_VERIFY_UNANSWERED = "hello_verify_unanswered"  # DTLS: the client never resent its hello with the cookie
    VERSION_NEGOTIATION_FAILED = "version_negotiation_failed"  # QUIC: the server's Version Negotiation, no common one
    RETRY_UNANSWERED = "retry_unanswered"  # QUIC: the client never came back after the server's Retry
    CONNECTION_CLOSE_BEFORE_HANDSHAKE = "connection_close_before_handshake"  # QUIC: a close that is no CRYPTO_ERROR
    INCOMPLETE = "capture_incomplete"
    NOT_TLS = "not_tls"

    @property
    def failed(self) -> bool:
        """The one definition of a failed connection: every outcome but these three."""
        return self not in (Outcome.ESTABLISHED, Outcome.NOT_TLS, Outcome.INCOMPLETE)


UDP_TRANSPORTS = ("udp-dtls", "quic")  # ConnectionRecord.transport values whose stream is udp.stream


# The record's message names (messages, milestones, teardown.after; capture/tracker.py HANDSHAKE_NAMES and the
# rest) as the ladder and the timeline show them: each message's name in its RFC's spelling.
MESSAGE_NAMES = {
    "client_hello": "ClientHello", "server_hello": "ServerHello", "hello_retry_request": "HelloRetryRequest",
    "hello_verify_request": "HelloVerifyRequest", "retry": "Retry", "version_negotiation": "Version Negotiation",
    "handshake_done": "HANDSHAKE_DONE", "connection_close": "CONNECTION_CLOSE",
    "certificate": "Certificate", "server_key_exchange": "ServerKeyExchange",
    "certificate_request": "CertificateRequest", "server_hello_done": "ServerHelloDone",
    "client_key_exchange": "ClientKeyExchange", "certificate_verify": "CertificateVerify", "finished": "Finished",
    "new_session_ticket": "NewSessionTicket", "encrypted_extensions": "EncryptedExtensions",
    "certificate_status": "CertificateStatus", "hello_request": "HelloRequest", "key_update": "KeyUpdate",
    "end_of_early_data": "EndOfEarlyData", "change_cipher_spec": "ChangeCipherSpec",
    "encrypted_handshake": "Encrypted Handshake Message",
    "encrypted_server_flight": "encrypted server flight (EncryptedExtensions .. Finished)",
}


def stream_id(transport: str, stream: int) -> str:
    """tcp.stream N as "N"; a DTLS or QUIC flow's udp.stream N as "udp-dtls/N" or "quic/N" (TCP's stream 0 is
    another connection than udp.stream 0)."""
    return str(stream) if transport == "tcp" else f"{transport}/{stream}"


class CauseKind(str, Enum):
    """What a probable cause rests on; diff ranks causes by kind, never by their wording."""

    CERTIFICATE = "certificate"  # a certificate's error findings (checks name them)
    EXPIRED_CERTIFICATE = "expired_certificate"  # a certificate not valid at capture time
    UNEXPLAINED_REFUSAL = "unexplained_refusal"  # the client refused the chain; the plugin found nothing wrong
    NO_COMMON_PARAMETERS = "no_common_parameters"  # no version or cipher suite in common
    ALERT = "alert"  # what the fatal alert means
    TEARDOWN = "teardown"  # how the connection ended, nothing more known
    FINDING = "finding"  # a connection-level error finding of the plugin
    FALLBACK = "fallback"  # the client retried with a lower version
    EVENT = "event"  # a Windows event attributed to the connection (summarize --events)
    PLUGIN_ERROR = "plugin_error"  # the plugin failed on a frame of the connection: its findings may be incomplete
    PLAINTEXT_ANSWER = "plaintext_answer"  # the server answered the ClientHello with something that is not TLS
    CAPTURE_GAP = "capture_gap"  # the capture does not hold the connection whole (one side, its start or its end)
    CHAIN_UNREAD = "chain_unread"  # the client refused the chain, which could not be read: no check ran on it


@dataclass(frozen=True)
class BothSides(Generic[T]):
    """One value per side of the connection."""

    client: T
    server: T

    def of(self, side: Side) -> T:
        return self.client if side is Side.CLIENT else self.server


@dataclass(frozen=True)
class Finding:
    """One judgement of the Lua plugin (tpost.finding), as it reported it.

    Attributes:
        check: stable check id, e.g. "sigalg_not_offered" (lua/tables/checks.tsv).
        severity: a plugin.tables.Severity (lua/tables/severities.tsv).
        message: the plugin's one-line explanation.
        frame: the frame that carries it.
        cert_index: chain position it concerns, 0 = leaf; None for handshake/connection checks.
    """

    check: str
    severity: int
    message: str
    frame: int
    cert_index: int | None = None



@dataclass(frozen=True)
class Certificate:
    """One certificate as sent in a Certificate message, from the plugin's tpost.cert summary.

    Attributes:
        index: position in its message, 0 = leaf.
        sender: "server" or "client".
        sha256: lowercase hex SHA-256 of the DER encoding (Zeek's cert_chain_fps).
        sha1: lowercase hex SHA-1 of the DER (what Suricata, nDPI and browsers show); both are "" for a
            certificate over the plugin's hashing bound (tpost.max_hash_kib, a fingerprint_skipped finding).
        ca, path_len: basicConstraints' cA flag and pathLenConstraint; ca is None without the extension,
            path_len None without a limit.
        key_usage: RFC 5280 names of the keyUsage bits set, in bit order; None without the extension.
        key_alg: the subjectPublicKeyInfo algorithm's name (rsaEncryption, id-ecPublicKey, ML-DSA-44: Zeek's
            key_alg), else its OID.
        not_before, not_after: ISO-8601 UTC as the certificate states them.
        key_bits: RSA modulus / DSA p size, or the EC curve size.
        findings: the plugin's findings that name this certificate.
    """

    index: int
    sender: str
    subject: str = ""
    subject_cn: str = ""
    issuer: str = ""
    serial: str = ""
    sigalg_oid: str = ""
    sigalg_name: str = ""
    key_type: str = ""
    key_bits: int | None = None
    key_curve: str = ""
    not_before: str = ""
    not_after: str = ""
    san: tuple[str, ...] = ()
    sha256: str = ""
    self_signed: bool = False
    frame: int = 0
    findings: tuple[Finding, ...] = ()
    sha1: str = ""
    ca: bool | None = None
    path_len: int | None = None
    key_usage: tuple[str, ...] | None = None
    key_alg: str = ""

    @property
    def label(self) -> str:
        """How causes name it: "leaf certificate 'CN=...'" or "chain certificate #3 'CN=...'"."""
        role = "leaf certificate" if self.index == 0 else f"chain certificate #{self.index}"
        return f"{role} '{self.subject or self.subject_cn}'"


@dataclass(frozen=True)
class Alert:
    """A TLS alert record. level/code are None when it was encrypted."""

    frame: int
    time: float
    sender: Side
    level: int | None
    code: int | None
    name: str | None
    encrypted: bool

    @property
    def fatal(self) -> bool:
        return self.level == 2


@dataclass(frozen=True)
class Teardown:
    """The first FIN or RST of a connection.

    Attributes:
        after: the last TLS message seen before it, e.g. "server_hello_done".
        after_frame: the frame of that message; seconds_after: the delay since it.
    """

    kind: str  # "FIN" or "RST"
    by: Side
    frame: int
    time: float
    after: str | None
    after_frame: int | None
    seconds_after: float | None


@dataclass(frozen=True)
class Milestone:
    """A moment of a connection worth placing on a timeline (kept once per name and side; alerts each).

    Attributes:
        name: syn, syn_ack, client_hello, server_hello, certificate, server_key_exchange, certificate_request,
            server_hello_done, encrypted_server_flight (TLS 1.3 without keys), client_key_exchange,
            change_cipher_spec, alert, first_application_data, fin, rst.
        detail: e.g. the SNI of a ClientHello, "fatal 43 unsupported_certificate" of an alert.

    The same type carries ConnectionRecord.messages, where names are those of every TLS message (see there).
    """

    name: str
    side: Side
    frame: int
    time: float
    detail: str = ""


@dataclass(frozen=True)
class ClientHello:
    """What the client offered, in wire order; GREASE values (RFC 8701) are left out of every list.

    Attributes:
        cipher_suites, extensions, supported_groups: names as tshark shows them, "0x...." for a code it
            cannot name.
        max_version: highest of supported_versions, else legacy_version.
    """

    frame: int
    legacy_version: str | None = None
    supported_versions: tuple[str, ...] = ()
    server_name: str | None = None
    alpn: tuple[str, ...] = ()
    cipher_suite_count: int = 0
    notable_offers: tuple[str, ...] = ()  # e.g. TLS_FALLBACK_SCSV
    signature_algorithms: tuple[str, ...] = ()
    signature_algorithms_cert: tuple[str, ...] = ()
    session_id: str = ""
    max_version: str | None = None
    cipher_suites: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    supported_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServerHello:
    frame: int
    version: str | None = None
    cipher: str | None = None
    curve: str | None = None
    session_id: str = ""
    resumed: bool = False
    extensions: tuple[str, ...] = ()  # as ClientHello.extensions


@dataclass(frozen=True)
class Fingerprints:
    """The connection's TLS fingerprints (capture/fingerprints.py); None where the hello is missing.

    Attributes:
        ja3, ja3_full: MD5 of the ClientHello's JA3 string, and the string (decimal codes, GREASE left out),
            as Suricata and Zeek's ja3 package print them.
        ja3s, ja3s_full: the same of the ServerHello.
        ja4: FoxIO's JA4 of the ClientHello (its public BSD-3 specification), e.g. "t13d1516h2_8daaf6152771_...".
    """

    ja3: str | None = None
    ja3_full: str | None = None
    ja3s: str | None = None
    ja3s_full: str | None = None
    ja4: str | None = None


@dataclass(frozen=True)
class Cause:
    """A probable cause, in plain words, with the evidence behind it; rank 1 is the likeliest.

    Attributes:
        kind: what it rests on (CauseKind).
        checks: the plugin's check ids it comes from, most decisive first.
    """

    rank: int
    kind: CauseKind
    summary: str
    evidence: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventNote:
    """A Windows event attributed to the connection (summarize --events), as the record keeps it."""

    source: str  # "file#n"
    time: float  # as logged (before any clock shift)
    provider: str
    event_id: int
    level: str
    computer: str
    fields: Mapping[str, str]
    text: str  # the event in words, naming the side and the alert
    confidence: str  # high, medium, low
    reasons: tuple[str, ...] = ()


class HandshakeFacts:
    """What a connection's hellos and alerts say, for the connection while it is read (capture/connection.py)
    and for its frozen record alike: one definition each."""

    client_hello: ClientHello | None
    server_hello: ServerHello | None
    alerts: Sequence[Alert]

    @property
    def version(self) -> str | None:
        return self.server_hello.version if self.server_hello else None

    @property
    def server_name(self) -> str | None:
        return self.client_hello.server_name if self.client_hello else None

    @property
    def first_fatal_alert(self) -> Alert | None:
        return next((alert for alert in self.alerts if alert.fatal), None)


@dataclass(frozen=True)
class ConnectionRecord(HandshakeFacts):
    """Everything tsharkpost knows about one connection (TCP, DTLS or QUIC) of one capture (README: record fields).

    Attributes:
        history: Zeek's ssl_history letters (upper case: client).
        certificate_frame: frame of the server's Certificate message.
        certificates: the server's chain as sent; client_certificates: the client's (mutual TLS), each
            certificate with the same facts and the plugin's findings on it (its frame is the client's
            Certificate message).
        chain_encrypted: the handshake was encrypted and no chain could be read (TLS 1.3 without keys).
        chain_undecoded: the server sent handshake messages in the clear (TLS 1.2 or older) that neither tshark nor
            the plugin decoded, and no chain was read: its checks did not run (the plugin's chain_not_decoded
            finding says why, when it knows; tshark 4.0 leaves a Certificate message of 64 KiB or more undecoded
            and the plugin reassembles one up to tpost.max_handshake_kib).
        application_data_bytes, first_application_data_frame: per side.
        fallback_of, retried_by: the stream of the failed attempt this one retries, and of the retry that
            followed this failure.
        milestones: the moments a timeline needs, each name once per side (Milestone).
        messages: every TLS message in wire order, for a ladder diagram: each handshake message (repeats too;
            names as capture/tracker.py HANDSHAKE_NAMES, "encrypted_handshake" for one tshark could not read,
            "hello_retry_request", "encrypted_server_flight" once per frame of a TLS 1.3 flight without keys),
            "change_cipher_spec" and "alert" (detail as in milestones). Application data records are not
            messages: milestones and application_data_bytes summarize them. At most
            capture/tracker.py MAX_MESSAGES; messages_left_out counts those past the cap.
        alerts, findings: the first capture/tracker.py MAX_ALERTS and MAX_FINDINGS (past MAX_ALERTS, also the
            alerts the verdicts rest on: the first fatal one, each side's first encrypted one, the latest plaintext
            one); alerts_left_out and findings_left_out count the others (an alert storm: every fatal alert is a
            finding too).
    """

    capture: str
    stream: int
    client: str
    client_port: int
    server: str
    server_port: int
    first_time: float
    last_time: float
    first_frame: int
    outcome: Outcome
    established: bool
    client_hello: ClientHello | None
    server_hello: ServerHello | None
    certificate_frame: int | None
    certificates: tuple[Certificate, ...]
    chain_encrypted: bool
    alerts: tuple[Alert, ...]
    findings: tuple[Finding, ...]
    teardown: Teardown | None
    application_data_bytes: BothSides[int]
    first_application_data_frame: BothSides[int | None]
    fallback_of: int | None
    retried_by: int | None
    causes: tuple[Cause, ...]
    milestones: tuple[Milestone, ...]
    history: str
    events: tuple[EventNote, ...] = field(default=())
    messages: tuple[Milestone, ...] = field(default=())
    messages_left_out: int = 0
    alerts_left_out: int = 0
    findings_left_out: int = 0
    fingerprints: Fingerprints = field(default=Fingerprints())
    client_certificates: tuple[Certificate, ...] = field(default=())
    chain_undecoded: bool = False
    transport: str = "tcp"  # "tcp", "udp-dtls" (DTLS over UDP) or "quic"; stream is udp.stream for the last two

    @property
    def failed(self) -> bool:
        return self.outcome.failed

    @property
    def is_tls(self) -> bool:
        return self.outcome is not Outcome.NOT_TLS

    @property
    def last_alert(self) -> Alert | None:
        plain = [alert for alert in self.alerts if not alert.encrypted]
        return plain[-1] if plain else None

    @property
    def stream_id(self) -> str:
        """The connection within its capture as summarize --connections and diff's FILE#STREAM name it."""
        return stream_id(self.transport, self.stream)

    @property
    def server_label(self) -> str:
        return self.server_name or f"{self.server}:{self.server_port}"

    @property
    def top_cause(self) -> Cause | None:
        return self.causes[0] if self.causes else None

    def alert_milestones(self) -> list[tuple[Alert, Milestone]]:
        """Each alert milestone with its alert: both are kept in wire order, the milestones up to a cap."""
        return list(zip(self.alerts, (m for m in self.milestones if m.name == "alert")))

    def certificate(self, index: int | None) -> Certificate | None:
        """The chain certificate at a position (None for None or a position the chain lacks)."""
        if index is None:
            return None
        return next((cert for cert in self.certificates if cert.index == index), None)
