"""An independent reading of DTLS and QUIC captures with plain tshark fields, for checking captures/expected-dtls.json
and captures/expected-quic.json.

Like tshark_oracle.py it shares no code with the tsharkpost package or its plugin: it is their yardstick. One
Observed per connection: per udp.stream, and per handshake when a client connects again from the same port, in the
vocabulary of the generators' expected files.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tshark_oracle import Endpoints

DTLS_PORT = 4740  # captures/dtls.py's server port: no dissector claims it, so the reading names DTLS there
DTLS_VERSIONS = {0xFEFF: "DTLS 1.0", 0xFEFD: "DTLS 1.2", 0xFEFC: "DTLS 1.3"}
TLS_VERSIONS = {0x0304: "TLS 1.3"}
RETRY_V1 = 3  # the long header packet type of a Retry in QUIC v1 (RFC 9000 §17.2)
HANDSHAKE_DONE = 0x1E
DTLS_FIELDS = ["frame.number", "udp.stream", "ip.src", "udp.srcport", "ip.dst", "udp.dstport",
               "dtls.record.content_type", "dtls.handshake.type", "dtls.handshake.version", "dtls.handshake.random",
               "dtls.handshake.cookie_length", "dtls.handshake.extensions_server_name",
               "dtls.handshake.extensions.supported_version", "dtls.alert_message.level",
               "dtls.alert_message.desc"]
QUIC_FIELDS = ["frame.number", "udp.stream", "ip.src", "udp.srcport", "ip.dst", "udp.dstport", "quic.header_form",
               "quic.version",
               "quic.long.packet_type", "quic.supported_version", "quic.frame_type", "quic.cc.error_code",
               "quic.cc.error_code.tls_alert", "tls.handshake.type", "tls.handshake.random",
               "tls.handshake.extensions_server_name",
               "tls.handshake.extensions.supported_version"]


@dataclass
class Observed(Endpoints):
    """What plain tshark shows of one UDP flow."""

    quic_version: str | None = None
    ccs_from: set[str] = field(default_factory=set)
    handshake_done: bool = False
    one_rtt_from: set[str] = field(default_factory=set)  # sides that sent a short header (1-RTT) packet
    first_fatal_alert: dict[str, Any] | None = None
    close: dict[str, Any] | None = None
    close_frame: int = 0
    hello_verify_request: bool = False
    cookie_answered: bool = False
    retry: bool = False
    retry_frame: int = 0
    client_versions: list[str] = field(default_factory=list)
    server_versions: list[str] | None = None  # a Version Negotiation packet's list
    negotiation_frame: int = 0
    frames: int = 0
    senders: set[str] = field(default_factory=set)  # the sides that sent a datagram of the flow
    client_random: str = ""  # DTLS: the first ClientHello's random (sent again with the cookie, kept)


def _ints(value: str) -> list[int]:
    return [int(item, 0) for item in value.split(",") if item]


def _rows(tshark: str, capture: Path, fields: list[str], *options: str) -> list[dict[str, str]]:
    argv = [tshark, "-n", "-r", str(capture), *options, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
            "-E", "separator=\t"] + [arg for name in fields for arg in ("-e", name)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return [dict(zip(fields, line.split("\t"))) for line in out.splitlines()]


def _flow(flows: dict[int, Observed], row: dict[str, str]) -> tuple[Observed, str]:
    """The row's flow (its first datagram's sender is the client) and the side that sent the row."""
    conn = flows.setdefault(int(row["udp.stream"]), Observed())
    if not conn.client:
        conn.client, conn.client_port = row["ip.src"], int(row["udp.srcport"])
        conn.server, conn.server_port = row["ip.dst"], int(row["udp.dstport"])
    conn.frames += 1
    side = "client" if (row["ip.src"], int(row["udp.srcport"])) == (conn.client, conn.client_port) else "server"
    conn.senders.add(side)
    return conn, side


def _connection(found: list[Observed], latest: dict[str, Observed], row: dict[str, str],
                random: str) -> tuple[Observed, str]:
    """The row's connection and sender: its flow's (udp.stream's) latest, or a new one when the row holds a
    ClientHello with another random than that connection's first (another handshake from the same port; the
    ClientHello sent again after a HelloVerifyRequest or a Retry keeps its random, RFC 6347 §4.2.1, RFC 9000
    §17.2.5.2)."""
    known = latest.get(row["udp.stream"])
    if known is None or (random and known.client_random and random != known.client_random):
        known = latest[row["udp.stream"]] = Observed()
        found.append(known)
    conn, side = _flow({int(row["udp.stream"]): known}, row)
    conn.client_random = conn.client_random or random
    return conn, side


def read_dtls(tshark: str, capture: Path, names: dict[int, str]) -> dict[int, Observed]:
    """One Observed per DTLS connection, numbered in the order they start (see _connection)."""
    found: list[Observed] = []
    latest: dict[str, Observed] = {}  # udp.stream -> its latest connection
    for row in _rows(tshark, capture, DTLS_FIELDS, "-d", f"udp.port=={DTLS_PORT},dtls"):
        if not row["udp.stream"] or not row["dtls.record.content_type"]:
            continue
        handshakes = _ints(row["dtls.handshake.type"])
        random = row["dtls.handshake.random"].split(",")[0] if 1 in handshakes else ""
        conn, side = _connection(found, latest, row, random)
        if 1 in handshakes:
            if row["dtls.handshake.extensions_server_name"]:
                conn.sni = row["dtls.handshake.extensions_server_name"].split(",")[0]
            if conn.hello_verify_request and any(_ints(row["dtls.handshake.cookie_length"])):
                conn.cookie_answered = True
        if 3 in handshakes and side == "server":
            conn.hello_verify_request = True
        if 2 in handshakes:
            supported = _ints(row["dtls.handshake.extensions.supported_version"])
            versions = _ints(row["dtls.handshake.version"])
            conn.version = DTLS_VERSIONS.get(supported[0] if supported else versions[handshakes.index(2)])
        if 20 in _ints(row["dtls.record.content_type"]):
            conn.ccs_from.add(side)
        for level, code in zip(_ints(row["dtls.alert_message.level"]), _ints(row["dtls.alert_message.desc"])):
            if level == 2 and conn.first_fatal_alert is None:
                conn.first_fatal_alert = {"sender": side, "code": code, "name": names.get(code)}
    return dict(enumerate(found))


def read_quic(tshark: str, capture: Path, keys: Path | None) -> dict[int, Observed]:
    """One Observed per QUIC connection, numbered in the order they start (see _connection)."""
    options = ("-o", f"tls.keylog_file:{keys}") if keys is not None else ()
    found: list[Observed] = []
    latest: dict[str, Observed] = {}  # udp.stream -> its latest connection
    for row in _rows(tshark, capture, QUIC_FIELDS, *options):
        if not row["udp.stream"] or not row["quic.header_form"]:
            continue
        hellos = _ints(row["tls.handshake.type"])
        random = row["tls.handshake.random"].split(",")[0] if 1 in hellos and 2 not in hellos else ""
        conn, side = _connection(found, latest, row, random)
        if 0 in _ints(row["quic.header_form"]):
            conn.one_rtt_from.add(side)
        versions = [f"0x{version:08x}" for version in _ints(row["quic.version"])]
        if side == "client":
            conn.quic_version = conn.quic_version or (versions[0] if versions else None)
            conn.client_versions += [version for version in versions if version not in conn.client_versions]
        elif "0x00000000" in versions and conn.server_versions is None:
            conn.server_versions = [f"0x{version:08x}" for version in _ints(row["quic.supported_version"])]
            conn.negotiation_frame = int(row["frame.number"])
        handshakes = _ints(row["tls.handshake.type"])
        if 1 in handshakes and row["tls.handshake.extensions_server_name"]:
            conn.sni = conn.sni or row["tls.handshake.extensions_server_name"].split(",")[0]
        if 2 in handshakes and side == "server":
            conn.version = TLS_VERSIONS.get(_ints(row["tls.handshake.extensions.supported_version"])[-1])
        if side == "server" and RETRY_V1 in _ints(row["quic.long.packet_type"]) and not conn.retry:
            conn.retry, conn.retry_frame = True, int(row["frame.number"])
        if side == "server" and HANDSHAKE_DONE in _ints(row["quic.frame_type"]):
            conn.handshake_done = True
        codes = _ints(row["quic.cc.error_code"])
        if codes and conn.close is None:
            alerts = _ints(row["quic.cc.error_code.tls_alert"])
            conn.close = {"sender": side, "error_code": codes[0], "tls_alert": alerts[0] if alerts else None}
            conn.close_frame = int(row["frame.number"])
    return dict(enumerate(found))
