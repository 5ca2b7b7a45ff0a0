"""Plain data shared by every stage: packets in, connection records and summary rows out."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Side(str, Enum):
    CLIENT = "client"
    SERVER = "server"


class Outcome(str, Enum):
    """How a TCP connection ended, from a TLS troubleshooter's point of view (see classify.py)."""

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
    NO_SERVER_RESPONSE = "no_server_response"
    INCOMPLETE = "capture_incomplete"
    NOT_TLS = "not_tls"

    @property
    def failed(self) -> bool:
        return self not in (Outcome.ESTABLISHED, Outcome.NOT_TLS, Outcome.INCOMPLETE)


class InputStatus(str, Enum):
    """What became of one input file."""

    OK = "ok"
    NO_TLS = "no_tls"  # a readable capture without any TLS
    TRUNCATED = "truncated"  # the file ends mid-packet: what came before it is reported
    ERROR = "error"  # unreadable, not a capture, tshark failed


@dataclass(frozen=True)
class Finding:
    """One judgement of the Lua plugin (tpost.finding), as it reported it.

    Attributes:
        check: stable check id, e.g. "sigalg_not_offered" (lua/tables/checks.tsv).
        severity: 1 note, 2 warning, 3 error.
        message: the plugin's one-line explanation.
        frame: the frame that carries it.
        cert_index: chain position it concerns, 0 = leaf; None for handshake/connection checks.
    """

    check: str
    severity: int
    message: str
    frame: int
    cert_index: int | None = None

    @property
    def severity_name(self) -> str:
        return {1: "note", 2: "warning", 3: "error"}.get(self.severity, str(self.severity))


@dataclass
class Certificate:
    """One certificate as sent in a Certificate message, from the plugin's tpost.cert summary.

    Attributes:
        index: position in its message, 0 = leaf.
        sender: "server" or "client".
        sha256: lowercase hex SHA-256 of the DER encoding (Zeek's cert_chain_fps).
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
    san: list[str] = field(default_factory=list)
    sha256: str = ""
    self_signed: bool = False
    frame: int = 0
    findings: list[Finding] = field(default_factory=list)


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
    """

    name: str
    side: Side
    frame: int
    time: float
    detail: str = ""


@dataclass
class ClientHello:
    """What the client offered, in wire order; GREASE values (RFC 8701) are left out of every list.

    Attributes:
        cipher_suites, extensions, supported_groups: names as tshark shows them, "0x...." for a code it
            cannot name.
    """

    frame: int
    legacy_version: str | None = None
    supported_versions: list[str] = field(default_factory=list)
    server_name: str | None = None
    alpn: list[str] = field(default_factory=list)
    cipher_suite_count: int = 0
    notable_offers: list[str] = field(default_factory=list)  # e.g. TLS_FALLBACK_SCSV
    signature_algorithms: list[str] = field(default_factory=list)
    signature_algorithms_cert: list[str] = field(default_factory=list)
    session_id: str = ""
    max_version: str | None = None  # highest of supported_versions, else legacy_version
    cipher_suites: list[str] = field(default_factory=list)
    extensions: list[str] = field(default_factory=list)
    supported_groups: list[str] = field(default_factory=list)


@dataclass
class ServerHello:
    frame: int
    version: str | None = None
    cipher: str | None = None
    curve: str | None = None
    session_id: str = ""
    resumed: bool = False
    extensions: list[str] = field(default_factory=list)  # as ClientHello.extensions


@dataclass
class Cause:
    """A probable cause, in plain words, with the evidence behind it; rank 1 is the likeliest."""

    rank: int
    summary: str
    evidence: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


@dataclass
class Connection:
    """Everything tsharkpost knows about one TCP connection of one capture (see README: record fields)."""

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
    certificates: list[Certificate] = field(default_factory=list)
    certificate_frame: int | None = None
    certificate_flight_end: tuple[int, float] | None = None  # frame, time of the server's last flight message
    alerts: list[Alert] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    teardown: Teardown | None = None
    history: str = ""
    ccs_from: set[Side] = field(default_factory=set)
    ciphertext_from: set[Side] = field(default_factory=set)  # sides that sent an encrypted record
    app_data_bytes: dict[Side, int] = field(default_factory=lambda: {Side.CLIENT: 0, Side.SERVER: 0})
    first_app_data: dict[Side, int] = field(default_factory=dict)  # side -> frame
    encrypted_handshake: bool = False
    outcome: Outcome = Outcome.NOT_TLS
    causes: list[Cause] = field(default_factory=list)
    fallback_of: int | None = None  # stream of the failed attempt this one retries
    retried_by: int | None = None  # stream of the retry that followed this failure
    milestones: list[Milestone] = field(default_factory=list)  # in frame order

    @property
    def established(self) -> bool:
        """Zeek's meaning: both sides reached the encrypted state and sent ciphertext."""
        return bool(self.server_hello) and len(self.ciphertext_from) == 2 and (
            (self.version or "").startswith("TLS 1.3") or self.ccs_from == {Side.CLIENT, Side.SERVER})

    @property
    def version(self) -> str | None:
        return self.server_hello.version if self.server_hello else None

    @property
    def server_name(self) -> str | None:
        return self.client_hello.server_name if self.client_hello else None

    @property
    def last_alert(self) -> Alert | None:
        plain = [alert for alert in self.alerts if not alert.encrypted]
        return plain[-1] if plain else None

    @property
    def first_fatal_alert(self) -> Alert | None:
        return next((alert for alert in self.alerts if alert.fatal), None)

    @property
    def server_label(self) -> str:
        return self.server_name or f"{self.server}:{self.server_port}"


@dataclass
class Pattern:
    """A failure (or success) pattern across inputs: connections that ended alike, for alike reasons."""

    outcome: Outcome
    alert: str
    server: str
    cause: str
    connections: int
    captures: int
    example: str  # file:frame
