"""One frame as tsharkpost reads it (Packet, its TLS Records and Handshake messages), built by fields_reader.py
from tshark's output and by wire.py from the plugin's tpost.tls line in it.

Handshake values keep the form tshark's TLS tree gave them (codes as "0x0303", bytes colon-separated): the
form tracker.py reads, whatever carried them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tsharkpost.plugin import fields as F
from tsharkpost.record.model import Certificate, Finding

_SHOWNAME_LABEL = re.compile(r":\s*(\S+)\s*\((?:0x)?[0-9a-fA-F]+\)\s*$")  # "Cipher Suite: NAME (0xc02f)"


@dataclass
class Handshake:
    """One handshake message: its type and the fields tsharkpost reads from it.

    values: field name -> shows in order; extension fields are keyed by
    (extension type, field name) as well, since several extensions share names.
    """

    type: int | None  # None: encrypted handshake message
    values: dict[str, list[str]] = field(default_factory=dict)
    # Names read from shownames (LABELLED), one per value of the same field: None where the showname
    # has no plain name (GREASE, unknown codes).
    labels: dict[str, list[str | None]] = field(default_factory=dict)
    extensions: dict[int, dict[str, list[str]]] = field(default_factory=dict)

    def first(self, name: str) -> str | None:
        found = self.values.get(name)
        return found[0] if found else None

    def label(self, name: str) -> str | None:
        """The first name read from a showname, e.g. the cipher suite of "Cipher Suite: NAME (0xc02f)"."""
        return next((label for label in self.labels.get(name, []) if label), None)

    def named(self, name: str) -> list[tuple[int, str | None]]:
        """Every value of a labelled field as (code, name from its showname), in wire order."""
        named = []
        for value, label in zip(self.values.get(name, []), self.labels.get(name, [])):
            try:
                named.append((int(value, 0), label))
            except ValueError:  # not a code: nothing to name
                continue
        return named


@dataclass
class Record:
    """One TLS record: content type (20-23), length, and what it carries."""

    content_type: int | None
    opaque: bool  # a TLS 1.3 record tshark could not decrypt: only its outer type is known
    length: int
    wire_encrypted: bool = False  # a TLS 1.3 record encrypted on the wire (decrypted or not)
    handshakes: list[Handshake] = field(default_factory=list)
    alert_level: int | None = None
    alert_code: int | None = None
    alert_encrypted: bool = False


@dataclass
class Packet:
    """One frame as tsharkpost reads it.

    Attributes:
        app_src, app_dst: application data bytes sent so far in this stream by the source and by the
            destination, counted by the plugin over every frame (tshark's output carries only a few).
        last_data_frame, last_data_time: the stream's latest application data so far (0 if none).
        transport: "tcp", "udp-dtls" or "quic" (the bridge line's stream letter); stream is that transport's
            tcp.stream or udp.stream.
        one_rtt, handshake_done, close_code: QUIC only: a 1-RTT (short header) packet, a HANDSHAKE_DONE frame,
            a CONNECTION_CLOSE's error code (-1: a close whose code tshark did not read; None: no close).
        handshake_undecrypted: QUIC only: a Handshake packet tshark could not decrypt (no key log for it).
        retry, version_negotiation, quic_versions: QUIC only: a Retry packet, a Version Negotiation packet, and
            the versions (the Version Negotiation's list, else the first long header's version);
            application_close: the CONNECTION_CLOSE is an application close (frame type 0x1d).
        opened_by_peer: DTLS only: the flow's first datagram came from this frame's receiver (Zeek's originator).
    """

    number: int
    time: float
    stream: int | None = None
    src: str = ""
    dst: str = ""
    srcport: int = 0
    dstport: int = 0
    syn: bool = False
    ack: bool = False
    fin: bool = False
    rst: bool = False
    app_src: int = 0
    app_dst: int = 0
    last_data_frame: int = 0
    last_data_time: float = 0.0
    records: list[Record] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    plaintext: str | None = None  # the first line of a payload that is not TLS (an HTTP status line, a banner)
    transport: str = "tcp"
    one_rtt: bool = False
    handshake_done: bool = False
    handshake_undecrypted: bool = False
    close_code: int | None = None
    retry: bool = False
    version_negotiation: bool = False
    quic_versions: tuple[int, ...] = ()
    application_close: bool = False
    opened_by_peer: bool = False


def label(showname: str | None) -> str | None:
    """The plain name of a showname ("Cipher Suite: NAME (0xc02f)" -> NAME); None for GREASE, unknown codes."""
    match = _SHOWNAME_LABEL.search(showname or "")
    return match.group(1) if match else None


LABELLED = {F.CIPHER_SUITE, F.CIPHER_SPEC_V2, F.NAMED_CURVE, F.KEY_SHARE_GROUP, F.SUPPORTED_GROUP,
            F.EXTENSION_TYPE}


# The messages whose facts tracker.py reads (ClientHello, ServerHello and HelloRetryRequest, ServerKeyExchange);
# of every other message only the type matters.
DETAILED = {1, 2, 12}


# SSL 2.0 message types (RFC 6101 E.2 lists them; the SSL 2.0 draft defines them) -> the TLS handshake type
# of the same step: CLIENT-HELLO, CLIENT-MASTER-KEY (the key exchange), SERVER-HELLO. The others travel
# encrypted and reach tsharkpost as encrypted data.
SSL2_HANDSHAKE_TYPES = {1: 1, 2: 16, 4: 2}
