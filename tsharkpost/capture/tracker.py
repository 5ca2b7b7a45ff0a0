"""Packets -> one record per connection (TCP, DTLS or QUIC): created on first sight, filled in order, finalized once.

A connection is keyed by its transport and that transport's stream number (tcp.stream, or udp.stream for DTLS
and QUIC). A UDP flow has no FIN: it stays open to the end of the capture; a QUIC CONNECTION_CLOSE is its teardown.

Roles: the SYN's sender is the client; without a SYN (capture started
mid-connection) the ClientHello's sender, then the ServerHello's receiver,
then the endpoint on the lower port is the server.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from tsharkpost.capture import fingerprints
from tsharkpost.capture.connection import Connection, Key, tls13_family
from tsharkpost.capture.packet import Handshake, Packet, Record
from tsharkpost.plugin import fields as F
from tsharkpost.plugin import tables as facts
from tsharkpost.record.model import (Alert, Certificate, ClientHello, Fingerprints, Milestone, ServerHello, Side,
                                     Teardown)

# Zeek's ssl_history letters (DOMAIN.md): upper case = client, lower case = server.
HISTORY_LETTERS = {0: "H", 1: "C", 2: "S", 3: "V", 4: "T", 5: "E", 6: "J", 8: "O", 11: "X", 12: "K", 13: "R",
                   14: "N", 15: "Y", 16: "G", 20: "F", 21: "W", 22: "U", 23: "A", 24: "P", 254: "M"}
HANDSHAKE_NAMES = {0: "hello_request", 1: "client_hello", 2: "server_hello", 3: "hello_verify_request",
                   4: "new_session_ticket",
                   5: "end_of_early_data", 6: "hello_retry_request", 8: "encrypted_extensions", 11: "certificate",
                   12: "server_key_exchange", 13: "certificate_request", 14: "server_hello_done",
                   15: "certificate_verify", 16: "client_key_exchange", 20: "finished", 22: "certificate_status",
                   24: "key_update"}
SERVER_FLIGHT = {11, 12, 13, 14, 22}  # certificate .. server_hello_done: what a client judges before answering
# RFC 8446 4.1.3: a ServerHello with this random is a HelloRetryRequest.
HELLO_RETRY_RANDOM = "cf:21:ad:74:e5:9a:61:11:be:1d:8c:02:1e:65:b8:91:c2:a2:11:16:7a:bb:8c:5e:07:9e:09:e2:c8:a8:33:9c"
SCSV_NAMES = {0x5600: "TLS_FALLBACK_SCSV", 0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"}
UNKNOWN_LABEL = "Unknown"  # tshark's showname for a code it has no name for: "Cipher Suite: Unknown (0xfefe)"
# Handshake messages that mark a step of the handshake on a timeline (connection milestones).
MILESTONE_HANDSHAKES = {1, 2, 11, 12, 13, 14, 16}
# Server flight milestones that follow the Certificate message (where a reassembled one goes before them).
AFTER_CERTIFICATE = {"server_key_exchange", "certificate_request", "server_hello_done"}
MAX_ALERT_MILESTONES = 8  # alerts are rare; a storm of them is recorded in alerts[], not on the timeline
# A full handshake is 5 to 15 TLS messages; renegotiations add as many each. Past this, messages (the ladder's
# data) are only counted (messages_left_out), so a renegotiation or alert storm cannot grow one record unbounded.
MAX_MESSAGES = 48
MAX_QUIC_VERSIONS = 4  # the client's versions kept (one, or two after a Version Negotiation, in practice)
# A hostile or broken peer can send alerts without end (seven bytes each), and the plugin finds something in each
# fatal one: past these, a connection's alerts and findings are only counted (alerts_left_out, findings_left_out),
# but for the alerts its outcome rests on (_alert). A handshake has one alert or two, a chain's checks a few
# findings per certificate.
MAX_ALERTS = 32
MAX_FINDINGS = 256
# Zeek's SSL::max_ssl_history_length: ssl_history stops growing there (Zeek's own bound against such storms).
MAX_HISTORY = 100
# An encrypted TLS 1.3 alert: 2 bytes of alert, 1 of inner type, 16 of AEAD tag.
TLS13_ALERT_RECORD_LENGTH = 19


def _version(value: str | None) -> str | None:
    return facts.version_name(int(value, 16)) if value else None


def _codes(values: list[str] | None) -> list[int]:
    return [int(value, 16) for value in values or [] if value.startswith("0x")]


def _grease(code: int) -> bool:
    """RFC 8701 reserved values (0x0a0a, 0x1a1a, ...): random per connection, so never worth comparing."""
    return fingerprints.grease(code)


def _numbers(values: list[str] | None) -> list[int]:
    """Every code of a field, hex ("0xc02f") or decimal ("11") as tshark shows it."""
    found = []
    for value in values or []:
        try:
            found.append(int(value, 0))
        except ValueError:
            continue
    return found


def unknown_code(code: int) -> str:
    """A code point nobody named: its number, never a bare "Unknown" (Zeek's spelling is decimal: jsonform)."""
    return f"unknown-0x{code:04x}"


def _names(handshake: Handshake, name: str) -> list[str]:
    """A labelled field's values as tshark names them, GREASE left out."""
    return [label if label and label != UNKNOWN_LABEL else unknown_code(code)
            for code, label in handshake.named(name) if not _grease(code)]


def _name(handshake: Handshake, name: str) -> str | None:
    """The first value of a labelled field, named (unknown-0x.... when tshark has no name for it)."""
    named = handshake.named(name)
    if not named:
        return handshake.label(name)
    code, label = named[0]
    return label if label and label != UNKNOWN_LABEL else unknown_code(code)


@dataclass
class _Progress:
    """What the builder tracks per connection beyond the record itself."""

    last_message: tuple[str, int, float] | None = None  # (name, frame, time) of the latest TLS message
    fin_from: set[Side] = field(default_factory=set)
    reset: bool = False
    opaque_records: dict[Side, int] = field(default_factory=dict)  # TLS 1.3 records without keys, per side
    # Sides whose TLS <= 1.2 records are encrypted from here on (after their ChangeCipherSpec).
    encrypted: set[Side] = field(default_factory=set)
    milestones_seen: set[tuple[str, Side]] = field(default_factory=set)
    # Where the server's latest undecoded plaintext handshake message ended: (history length, messages length).
    undecoded_end: tuple[int, int] | None = None
    client_random: str | None = None  # DTLS, QUIC: the first ClientHello's random (its repeats keep it)
    latest_alert_at: int | None = None  # past MAX_ALERTS: where in alerts[] the latest plaintext alert is kept


class ConnectionTracker:
    """The open connections of one capture, keyed by (transport, stream); closed ones leave it (see sweep).

    A stream can hold more than one connection: tshark keeps the stream number when a client reuses its port
    with the same initial sequence number after a RST. A new SYN on a closed stream starts a new connection.
    """

    def __init__(self, capture: str) -> None:
        self.capture = capture
        self.connections: dict[Key, Connection] = {}
        self._progress: dict[Key, _Progress] = {}
        self._finished: set[Key] = set()  # streams already handed out: late packets (final ACKs) are ignored
        self._split: list[Connection] = []  # connections ended by a reused port's new SYN, for the next sweep
        # (src, srcport, dst, dstport) -> TCP connection key, both directions: for packets without a stream number
        self._by_endpoints: dict[tuple[str, int, str, int], Key] = {}
        self._last_sweep = 0.0
        self.split_count = 0  # how many of what sweep() or finish() last returned were split off (they lead)
        self.last_seen = 0.0  # the time of the latest frame read: a UDP flow's silence lasts until it

    def _closed(self, key: Key) -> bool:
        """Whether the stream's connection ended: handed out already, or reset, or closed both ways."""
        if key in self._finished:
            return True
        progress = self._progress.get(key)
        return progress is not None and (progress.reset or len(progress.fin_from) == 2)

    def add(self, packet: Packet) -> None:
        self.last_seen = max(self.last_seen, packet.time)
        if packet.stream is None:
            if packet.plaintext is not None:  # a payload that is not TLS, without the plugin's line
                found = self._by_endpoints.get((packet.src, packet.srcport, packet.dst, packet.dstport))
                if found is not None and found in self.connections:
                    self._plaintext(self.connections[found], packet)
            return
        key = (packet.transport, packet.stream)
        # A new connection on the stream of one that ended gets a record of its own: over TCP a new SYN after RST or
        # FIN both ways (the client reused its port, and tshark kept the stream number); over DTLS and QUIC, which
        # have no SYN, a ClientHello of another handshake (another random) after a fatal alert or a CONNECTION_CLOSE.
        if (packet.syn and not packet.ack and self._closed(key)) or (
                packet.transport != "tcp" and self._new_handshake(key, packet)):
            self._split += self._hand_out([self.connections[key]] if key in self.connections else [])
            self._finished.discard(key)
        if key in self._finished:
            return
        conn = self.connections.get(key)
        if conn is None:
            conn = self.connections[key] = self._open(packet)
            self._progress[key] = _Progress()
        conn.last_time = max(conn.last_time, packet.time, packet.last_data_time)
        side = Side.CLIENT if (packet.src, packet.srcport) == (conn.client, conn.client_port) else Side.SERVER
        conn.packets_from[side] += 1
        # Byte counts come from the plugin, which sees every frame; tshark's output has only some of them.
        conn.app_data_bytes[side] = max(conn.app_data_bytes[side], packet.app_src)
        other = Side.SERVER if side is Side.CLIENT else Side.CLIENT
        conn.app_data_bytes[other] = max(conn.app_data_bytes[other], packet.app_dst)
        if packet.syn:
            conn.saw_syn = True
            self._milestone(conn, "syn_ack" if packet.ack else "syn", side, packet)
        for record in packet.records:
            self._add_record(conn, record, side, packet)
        if packet.plaintext is not None:
            self._plaintext(conn, packet)
        self._add_plugin_output(conn, packet)
        if packet.transport == "quic":
            self._add_quic(conn, side, packet)
        progress = self._progress[conn.key]
        if packet.fin:
            self._milestone(conn, "fin", side, packet)
        if packet.rst:
            self._milestone(conn, "rst", side, packet)
        if packet.fin:
            progress.fin_from.add(side)
        progress.reset = progress.reset or packet.rst
        if (packet.fin or packet.rst) and conn.teardown is None:
            last = progress.last_message
            if packet.last_data_frame and (last is None or packet.last_data_frame > last[1]):
                last = ("application_data", packet.last_data_frame, packet.last_data_time)  # a frame not in the output
            conn.teardown = Teardown("RST" if packet.rst else "FIN", side, packet.number, packet.time,
                                     last[0] if last else None, last[1] if last else None,
                                     round(packet.time - last[2], 6) if last else None)

    def _new_handshake(self, key: Key, packet: Packet) -> bool:
        """Whether a UDP flow's datagram starts a new connection: it holds a ClientHello, and the flow's connection
        ended (handed out already, or a fatal alert or QUIC CONNECTION_CLOSE) with another ClientHello random (the
        ClientHello sent again after a HelloVerifyRequest or a Retry, or retransmitted, keeps its random)."""
        random = next((handshake.first(F.RANDOM) for record in packet.records for handshake in record.handshakes
                       if handshake.type == 1), None)
        if random is None:
            return False
        if key in self._finished:
            return True
        conn = self.connections.get(key)
        if conn is None or (conn.first_fatal_alert is None and conn.teardown is None):
            return False
        return self._progress[key].client_random != random

    @staticmethod
    def _plaintext(conn: Connection, packet: Packet) -> None:
        """The server's first payload that is not TLS (kept only when it follows a ClientHello)."""
        from_server = (packet.src, packet.srcport) == (conn.server, conn.server_port)
        if from_server and conn.plaintext_answer is None and conn.client_hello is not None:
            conn.plaintext_answer = (packet.number, packet.plaintext or "")

    def _open(self, packet: Packet) -> Connection:
        conn = Connection(self.capture, packet.stream or 0, transport=packet.transport, first_time=packet.time,
                          last_time=packet.time, first_frame=packet.number)
        types = {handshake.type for record in packet.records for handshake in record.handshakes}
        src_is_client = (
            not packet.ack if packet.syn
            else True if 1 in types
            else False if 2 in types
            else packet.srcport > packet.dstport
        )
        if src_is_client:
            conn.client, conn.client_port, conn.server, conn.server_port = (
                packet.src, packet.srcport, packet.dst, packet.dstport)
        else:
            conn.client, conn.client_port, conn.server, conn.server_port = (
                packet.dst, packet.dstport, packet.src, packet.srcport)
        if conn.transport == "tcp":
            self._by_endpoints[(conn.client, conn.client_port, conn.server, conn.server_port)] = conn.key
            self._by_endpoints[(conn.server, conn.server_port, conn.client, conn.client_port)] = conn.key
        return conn

    def _add_quic(self, conn: Connection, side: Side, packet: Packet) -> None:
        """QUIC's own steps: 1-RTT packets and HANDSHAKE_DONE (the handshake done), CONNECTION_CLOSE (its end).

        A CONNECTION_CLOSE with CRYPTO_ERROR (0x0100 + a TLS alert, RFC 9001 4.8) is QUIC's fatal alert: it joins
        the connection's alerts (QUIC carries no alert level; every alert it sends ends the connection). A QUIC
        connection is TLS whatever part of it the capture holds (a capture that starts past its handshake)."""
        conn.is_tls = True
        if packet.one_rtt:
            conn.one_rtt_from.add(side)
            self._milestone(conn, "first_application_data", side, packet)
            conn.first_app_data.setdefault(side, packet.number)
        if packet.handshake_done:
            conn.handshake_done = True
            self._milestone(conn, "handshake_done", side, packet)
            self._message(conn, "handshake_done", side, packet)
        if packet.handshake_undecrypted and side is Side.SERVER and not conn.encrypted_handshake:
            # The server's Handshake packets (EncryptedExtensions .. Finished) carry the chain, as a TLS 1.3
            # server's encrypted flight does: without their keys the chain is "encrypted", not absent.
            conn.encrypted_handshake = True
            self._message(conn, "encrypted_handshake", side, packet)
        self._quic_versions(conn, side, packet)
        code = packet.close_code
        if code is None or conn.teardown is not None:
            return
        if 0x100 <= code <= 0x1FF:
            alert = code - 0x100
            self._alert(conn, Alert(packet.number, packet.time, side, 2, alert, facts.alert_name(alert), False))
            detail = f"fatal {alert} {facts.alert_name(alert)}"  # as a TLS alert's (the alert it carries)
            self._milestone(conn, "alert", side, packet, detail)
            self._message(conn, "alert", side, packet, detail)
        else:
            detail = f"0x{code:04x}" if code >= 0 else ""  # -1: a close whose code tshark did not read
            self._milestone(conn, "connection_close", side, packet, detail)
            self._message(conn, "connection_close", side, packet, detail)
        if not 0x100 <= code <= 0x1FF:
            conn.close_code, conn.close_application = code, packet.application_close
        last = self._progress[conn.key].last_message
        conn.teardown = Teardown("CONNECTION_CLOSE", side, packet.number, packet.time, last[0] if last else None,
                                 last[1] if last else None, round(packet.time - last[2], 6) if last else None)
        self._remember(conn, "connection_close", packet)

    def _quic_versions(self, conn: Connection, side: Side, packet: Packet) -> None:
        """Version Negotiation and Retry (RFC 9000 §6, §8.1.2): the server's answers to an Initial that hold no
        handshake; the versions the client's long headers asked for; whether the client came back after a Retry."""
        if side is Side.CLIENT:
            if packet.quic_versions and len(conn.quic_versions_asked) < MAX_QUIC_VERSIONS \
                    and packet.quic_versions[0] not in conn.quic_versions_asked:
                conn.quic_versions_asked += packet.quic_versions[:1]
            if conn.retry_frame is not None and packet.quic_versions:
                conn.retry_answered = True
            return
        if packet.version_negotiation and conn.version_negotiation is None:
            conn.version_negotiation = (packet.number, packet.quic_versions)
            detail = ",".join(f"0x{version:08x}" for version in packet.quic_versions)
            self._milestone(conn, "version_negotiation", side, packet, detail)
            self._message(conn, "version_negotiation", side, packet, detail)
        if packet.retry and conn.retry_frame is None:
            conn.retry_frame, conn.retry_time = packet.number, packet.time
            self._milestone(conn, "retry", side, packet)
            self._message(conn, "retry", side, packet)

    def _alert(self, conn: Connection, alert: Alert) -> None:
        """Record an alert: every one up to MAX_ALERTS; past it, those the record's verdicts rest on (the first fatal
        one and each side's first encrypted one: classify.py; the latest plaintext one: Zeek's last_alert), in wire
        order. The others are counted."""
        kept, progress = conn.alerts, self._progress[conn.key]
        first_of_its_kind = (alert.fatal and not any(other.fatal for other in kept)) or (
            alert.encrypted and not any(other.encrypted and other.sender is alert.sender for other in kept))
        if len(kept) >= MAX_ALERTS and not first_of_its_kind and alert.encrypted:
            conn.alerts_left_out += 1
            return
        if progress.latest_alert_at is not None and not alert.encrypted:
            del kept[progress.latest_alert_at]   # no longer the latest plaintext alert: counted instead
            conn.alerts_left_out += 1
            progress.latest_alert_at = None
        kept.append(alert)
        if len(kept) > MAX_ALERTS and not first_of_its_kind:
            progress.latest_alert_at = len(kept) - 1

    @staticmethod
    def _history(conn: Connection, letter: str) -> None:
        """Zeek's ssl_history letter, while the history is shorter than Zeek's bound."""
        if len(conn.history) < MAX_HISTORY:
            conn.history += letter

    def _milestone(self, conn: Connection, name: str, side: Side, packet: Packet, detail: str = "") -> None:
        """Record a milestone the first time it happens on this side (every alert, up to a cap)."""
        seen = self._progress[conn.key].milestones_seen
        if name == "alert":
            if sum(1 for milestone in conn.milestones if milestone.name == "alert") >= MAX_ALERT_MILESTONES:
                return
        elif (name, side) in seen:
            return
        seen.add((name, side))
        conn.milestones.append(Milestone(name, side, packet.number, packet.time, detail))

    @staticmethod
    def _message(conn: Connection, name: str, side: Side, packet: Packet, detail: str = "") -> None:
        """Record a TLS message in wire order (every one, up to MAX_MESSAGES; counted past it)."""
        last = conn.messages[-1] if conn.messages else None
        if name == "encrypted_server_flight" and last and (last.name, last.side, last.frame) == (
                name, side, packet.number):
            return  # the records of one flight in one frame are one message to the reader
        if len(conn.messages) >= MAX_MESSAGES:
            conn.messages_left_out += 1
            return
        conn.messages.append(Milestone(name, side, packet.number, packet.time, detail))

    def _remember(self, conn: Connection, name: str, packet: Packet) -> None:
        self._progress[conn.key].last_message = (name, packet.number, packet.time)

    def _visible(self, conn: Connection, side: Side, record: Record) -> bool:
        """Whether the record was in the clear on the wire: Zeek sees it, and it goes into ssl_history."""
        if record.wire_encrypted:
            return False
        return tls13_family(conn.version) or side not in self._progress[conn.key].encrypted

    def _ciphertext(self, conn: Connection, side: Side) -> None:
        conn.ciphertext_from.add(side)

    def _add_record(self, conn: Connection, record: Record, side: Side, packet: Packet) -> None:
        conn.is_tls = True
        client = side is Side.CLIENT
        if record.opaque:
            self._add_opaque(conn, record, side, packet)
        elif record.content_type == 22:
            for handshake in record.handshakes:
                self._add_handshake(conn, handshake, side, packet, self._visible(conn, side, record))
        elif record.content_type == 20:
            conn.ccs_from.add(side)
            self._milestone(conn, "change_cipher_spec", side, packet)
            self._message(conn, "change_cipher_spec", side, packet)
            self._history(conn, "I" if client else "i")  # a CCS record is never encrypted
            if conn.server_hello is not None:
                # Before the real ServerHello a CCS is TLS 1.3's middlebox compatibility one (RFC 8446 D.4),
                # sent around a HelloRetryRequest: the second ClientHello and the ServerHello stay plaintext.
                self._progress[conn.key].encrypted.add(side)
            self._remember(conn, "change_cipher_spec", packet)
        elif record.content_type == 21:
            encrypted = record.alert_encrypted
            self._alert(conn, Alert(packet.number, packet.time, side, record.alert_level, record.alert_code,
                                    facts.alert_name(record.alert_code), encrypted))
            detail = "encrypted" if encrypted else (f"{'fatal' if record.alert_level == 2 else 'warning'} "
                                                    f"{record.alert_code} {facts.alert_name(record.alert_code)}")
            self._milestone(conn, "alert", side, packet, detail)
            self._message(conn, "alert", side, packet, detail)
            if self._visible(conn, side, record) and not encrypted:
                self._history(conn, "L" if client else "l")
            else:
                self._ciphertext(conn, side)
            self._remember(conn, "alert", packet)
        elif record.content_type == 23:
            self._add_application_data(conn, side, packet)

    def _add_application_data(self, conn: Connection, side: Side, packet: Packet) -> None:
        conn.first_app_data.setdefault(side, packet.number)
        self._milestone(conn, "first_application_data", side, packet)
        self._ciphertext(conn, side)
        self._remember(conn, "application_data", packet)

    def _add_opaque(self, conn: Connection, record: Record, side: Side, packet: Packet) -> None:
        """A TLS 1.3 record without keys: the encrypted handshake and alerts look like application data."""
        progress = self._progress[conn.key]
        seen = progress.opaque_records[side] = progress.opaque_records.get(side, 0) + 1
        if side is Side.SERVER and Side.CLIENT not in progress.opaque_records:
            # The server's encrypted flight (EncryptedExtensions .. Finished) carries the chain.
            conn.encrypted_handshake = True
            conn.certificate_flight_end = (packet.number, packet.time)
            self._milestone(conn, "encrypted_server_flight", side, packet)
            self._message(conn, "encrypted_server_flight", side, packet)
            self._ciphertext(conn, side)
            self._remember(conn, "application_data", packet)
            return
        if side is Side.CLIENT and seen == 1 and record.length == TLS13_ALERT_RECORD_LENGTH:
            # The client's first encrypted record is the size of an alert, not of a Finished.
            self._alert(conn, Alert(packet.number, packet.time, side, None, None, None, True))
            self._milestone(conn, "alert", side, packet, "encrypted")
            self._message(conn, "alert", side, packet, "encrypted")
            self._remember(conn, "application_data", packet)
            return
        self._add_application_data(conn, side, packet)

    def _add_handshake(self, conn: Connection, handshake: Handshake, side: Side, packet: Packet,
                       visible: bool) -> None:
        kind = handshake.type
        client = side is Side.CLIENT
        if kind is None and visible:
            # In the clear on the wire, yet tshark did not decode it: tshark 4.0 takes a handshake message of
            # 64 KiB or more at a record's start for ciphertext. Neither encrypted nor ciphertext, only unread;
            # the records of one such message in a row are one message to the reader.
            conn.undecoded_from.add(side)
            progress = self._progress[conn.key]
            if not client and progress.undecoded_end == (len(conn.history), len(conn.messages)):
                self._remember(conn, "encrypted_handshake", packet)
                return
            if not client:
                progress.undecoded_end = (len(conn.history), len(conn.messages) + 1)
        elif kind is None or not visible:
            conn.encrypted_handshake = True
            self._ciphertext(conn, side)
        if kind is None:
            self._message(conn, "encrypted_handshake", side, packet)
            self._remember(conn, "encrypted_handshake", packet)
            return
        if kind == 2 and handshake.first(F.RANDOM) == HELLO_RETRY_RANDOM:
            self._history(conn, "J" if client else "j")
            self._message(conn, "hello_retry_request", side, packet)
            self._remember(conn, "hello_retry_request", packet)
            return
        if visible:
            letter = HISTORY_LETTERS.get(kind, "Z")
            if kind == 1 and client and packet.opened_by_peer and not conn.history:
                conn.history = "^"  # Zeek's originator, the flow's first sender, is the TLS server: Zeek flips
            self._history(conn, letter if client else letter.lower())
        detail = handshake.first(F.SERVER_NAME) or "" if kind == 1 else ""
        if kind in MILESTONE_HANDSHAKES:
            self._milestone(conn, HANDSHAKE_NAMES[kind], side, packet, detail)
        self._message(conn, HANDSHAKE_NAMES.get(kind, f"handshake_{kind}"), side, packet, detail)
        if kind == 3 and not client and conn.hello_verify_frame is None:
            conn.hello_verify_frame = packet.number  # DTLS's cookie exchange: the client must send its hello again
            conn.hello_verify_time = packet.time
        elif kind == 1 and conn.hello_verify_frame is not None:
            conn.hello_verify_answered = True
        if kind == 1 and conn.client_hello is None:
            conn.client_hello = self._client_hello(handshake, packet.number)
            self._progress[conn.key].client_random = handshake.first(F.RANDOM)
            conn.fingerprints = self._client_fingerprints(handshake, conn.fingerprints)
        elif kind == 2 and conn.server_hello is None:
            conn.server_hello = self._server_hello(handshake, packet.number, conn.client_hello)
            conn.fingerprints = self._server_fingerprints(handshake, conn.fingerprints)
        elif kind == 12 and conn.server_hello and not conn.server_hello.curve:
            conn.server_hello = dataclasses.replace(conn.server_hello, curve=_name(handshake, F.NAMED_CURVE))
        if kind == 11 and not client and conn.certificate_frame is None:
            conn.certificate_frame = packet.number
        if kind in SERVER_FLIGHT and not client:
            conn.certificate_flight_end = (packet.number, packet.time)
        self._remember(conn, HANDSHAKE_NAMES.get(kind, f"handshake_{kind}"), packet)

    @staticmethod
    def _client_hello(handshake: Handshake, frame: int) -> ClientHello:
        suites = _codes(handshake.values.get(F.CIPHER_SUITE))
        specs = handshake.values.get(F.CIPHER_SPEC_V2, [])
        supported = tuple(facts.version_name(code) for code in _codes(
            handshake.extensions.get(F.EXTENSION_SUPPORTED_VERSIONS, {}).get(F.SUPPORTED_VERSION)) if not _grease(code))
        legacy = _version(handshake.first(F.HANDSHAKE_VERSION))
        offered = supported or ((legacy,) if legacy else ())
        return ClientHello(
            frame=frame, legacy_version=legacy,
            supported_versions=supported, server_name=handshake.first(F.SERVER_NAME),
            alpn=tuple(handshake.values.get(F.ALPN, [])), cipher_suite_count=len(suites) or len(specs),
            notable_offers=tuple(SCSV_NAMES[code] for code in suites if code in SCSV_NAMES),
            signature_algorithms=tuple(facts.signature_scheme_name(code) for code in _codes(
                handshake.extensions.get(F.EXTENSION_SIGNATURE_ALGORITHMS, {}).get(F.SIGNATURE_ALGORITHM))),
            signature_algorithms_cert=tuple(facts.signature_scheme_name(code) for code in _codes(
                handshake.extensions.get(F.EXTENSION_SIGNATURE_ALGORITHMS_CERT, {}).get(F.SIGNATURE_ALGORITHM))),
            session_id=handshake.first(F.SESSION_ID) or "",
            max_version=max(offered, key=facts.version_rank) if offered else None,
            cipher_suites=tuple(_names(handshake, F.CIPHER_SUITE) or _names(handshake, F.CIPHER_SPEC_V2)),
            extensions=tuple(_names(handshake, F.EXTENSION_TYPE)),
            supported_groups=tuple(_names(handshake, F.SUPPORTED_GROUP)),
        )

    @staticmethod
    def _client_fingerprints(handshake: Handshake, known: Fingerprints) -> Fingerprints:
        """JA3 and JA4 of a ClientHello; none of an SSLv2-format one (neither defines them)."""
        version = _numbers([handshake.first(F.HANDSHAKE_VERSION) or ""])
        if not version or F.CIPHER_SPEC_V2 in handshake.values:
            return known
        signatures = handshake.extensions.get(F.EXTENSION_SIGNATURE_ALGORITHMS, {}).get(F.SIGNATURE_ALGORITHM)
        alpn = handshake.values.get(F.ALPN)
        values = handshake.values.get
        client = fingerprints.client(
            version[0], _numbers(values(F.CIPHER_SUITE)), _numbers(values(F.EXTENSION_TYPE)),
            _numbers(values(F.SUPPORTED_GROUP)), _numbers(values(F.EC_POINT_FORMAT)),
            _numbers(handshake.extensions.get(F.EXTENSION_SUPPORTED_VERSIONS, {}).get(F.SUPPORTED_VERSION)),
            alpn[0] if alpn else None, _numbers(signatures))
        return dataclasses.replace(known, ja3=client.ja3, ja3_full=client.ja3_full, ja4=client.ja4)

    @staticmethod
    def _server_fingerprints(handshake: Handshake, known: Fingerprints) -> Fingerprints:
        version, cipher = (_numbers([handshake.first(name) or ""]) for name in (F.HANDSHAKE_VERSION, F.CIPHER_SUITE))
        if not version or not cipher:
            return known
        ja3s, ja3s_full = fingerprints.server(version[0], cipher[0], _numbers(handshake.values.get(F.EXTENSION_TYPE)))
        return dataclasses.replace(known, ja3s=ja3s, ja3s_full=ja3s_full)

    @staticmethod
    def _server_hello(handshake: Handshake, frame: int, client_hello: ClientHello | None) -> ServerHello:
        supported = handshake.extensions.get(F.EXTENSION_SUPPORTED_VERSIONS, {}).get(F.SUPPORTED_VERSION)
        session_id = handshake.first(F.SESSION_ID) or ""
        version = _version(supported[0] if supported else handshake.first(F.HANDSHAKE_VERSION))
        # TLS 1.3 servers echo the session id for middleboxes; only a PSK resumes there.
        resumed = F.EXTENSION_PRE_SHARED_KEY in handshake.extensions if tls13_family(version) \
            else bool(session_id and client_hello and client_hello.session_id == session_id)
        return ServerHello(
            frame=frame, version=version,
            cipher=_name(handshake, F.CIPHER_SUITE), curve=_name(handshake, F.KEY_SHARE_GROUP), session_id=session_id,
            resumed=resumed, extensions=tuple(_names(handshake, F.EXTENSION_TYPE)))

    def _add_plugin_output(self, conn: Connection, packet: Packet) -> None:
        if packet.certificates:
            chain: list[Certificate] = sorted(packet.certificates, key=lambda cert: cert.index)
            if chain[0].sender == "server" and not conn.certificates:
                conn.certificates = chain
                undecoded_end = self._progress[conn.key].undecoded_end
                if conn.certificate_frame is None and undecoded_end is not None and any(
                        finding.check == "chain_reassembled" for finding in packet.findings):
                    # A Certificate message tshark left undecoded, which the plugin reassembled: Zeek's `x`, in
                    # place of its last record (messages of the same frame after it, ServerKeyExchange..., follow).
                    letters, messages = undecoded_end
                    conn.certificate_frame = packet.number
                    conn.history = (conn.history[:letters] + "x" + conn.history[letters:])[:MAX_HISTORY]
                    self._milestone(conn, "certificate", Side.SERVER, packet)
                    if conn.milestones and conn.milestones[-1].name == "certificate":
                        milestone = conn.milestones.pop()
                        at = next((i for i, m in enumerate(conn.milestones) if m.frame == packet.number
                                   and m.side is Side.SERVER and m.name in AFTER_CERTIFICATE), len(conn.milestones))
                        conn.milestones.insert(at, milestone)
                    if messages <= len(conn.messages):
                        conn.messages[messages - 1] = Milestone("certificate", Side.SERVER, packet.number, packet.time)
            elif chain[0].sender == "client" and not conn.client_certificates:
                conn.client_certificates = chain  # mutual TLS: the client's own Certificate message
        # those naming a chain certificate join it at freeze (they come with the chain, before any storm)
        kept = packet.findings[:max(0, MAX_FINDINGS - len(conn.findings))]
        conn.findings.extend(kept)
        conn.findings_left_out += len(packet.findings) - len(kept)

    @property
    def split_pending(self) -> bool:
        """A reused port's new SYN ended a connection, which the next sweep() hands out first."""
        return bool(self._split)

    def sweep(self, now: float, linger: float, clock: bool = True) -> list[Connection]:
        """Closed connections quiet for `linger` seconds of capture time, oldest first: TCP's (RST, or FIN both
        ways), and the UDP flows that ended (a QUIC CONNECTION_CLOSE, a fatal alert); any other UDP flow stays
        to the capture's end, as nothing on the wire says it ended.

        They leave the table, so memory follows the connections open at a time, not the capture's size.
        Sweeping at most once per second of capture time keeps it cheap. analyze.py sweeps at its clock's frames
        only (tshark.HEARTBEAT_FRAMES), which every part of a sliced capture holds alike (capture/slicing.py);
        without `clock`, only what a reused port split off is handed out.
        """
        split, self._split = self._split, []
        self.split_count = len(split)
        if not clock or now - self._last_sweep < 1.0:
            return split
        self._last_sweep = now
        done = [conn for key, conn in self.connections.items()
                if (self._progress[key].reset or len(self._progress[key].fin_from) == 2
                    or (conn.transport != "tcp" and (conn.teardown is not None or conn.first_fatal_alert is not None)))
                and now - conn.last_time > linger]
        return split + self._hand_out(done)

    def finish(self) -> list[Connection]:
        """Every connection still open at the end of the capture, oldest first."""
        for conn in self.connections.values():
            conn.capture_end = self.last_seen
        split, self._split = self._split, []
        self.split_count = len(split)
        return split + self._hand_out(list(self.connections.values()))

    def _hand_out(self, done: list[Connection]) -> list[Connection]:
        for conn in done:
            del self.connections[conn.key]
            del self._progress[conn.key]
            for ends in ((conn.client, conn.client_port, conn.server, conn.server_port),
                         (conn.server, conn.server_port, conn.client, conn.client_port)):
                if self._by_endpoints.get(ends) == conn.key:
                    del self._by_endpoints[ends]
            self._finished.add(conn.key)
        return sorted(done, key=lambda conn: (conn.last_time, conn.stream, conn.transport))
