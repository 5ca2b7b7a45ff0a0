#!/usr/bin/env python3
"""Rebuild the QUIC captures (issue 14): aioquic's client and server on loopback, recorded by dumpcap.

Run as root on Debian 12 with aioquic installed in the Python that runs this script (the `generate` extra:
`pip install -e .[generate]`, which scripts/setup installs):

    python3 captures/quic.py              # rewrite the QUIC captures in captures/ and captures/expected-quic.json
    python3 captures/quic.py --out DIR

Each capture is one connection (quic-reconnect-same-port: two, one after the other) from a pinned client port to
UDP port 4433 of 127.0.0.1, with the TLS secrets both endpoints used written beside it (NAME.keys, the NSS key log
format tshark reads with -o tls.keylog_file:) when there were any. expected-quic.json is this generator's own ground truth, one entry per
connection, in the facts the generator set up (not read back from the capture): tests/captures/
test_udp_captures.py checks every capture against it with plain tshark fields.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aioquic.asyncio import connect, serve  # noqa: E402
from aioquic.quic.configuration import QuicConfiguration  # noqa: E402
from aioquic.quic.connection import QuicConnection  # noqa: E402
from aioquic.quic.packet import QuicProtocolVersion  # noqa: E402

from capgen.capture import dumpcap  # noqa: E402
from capgen.selfsigned import self_signed  # noqa: E402

ADDRESS, PORT = "127.0.0.1", 4433
NAME = "quic.example.test"
V1, V2 = int(QuicProtocolVersion.VERSION_1), int(QuicProtocolVersion.VERSION_2)
SILENCE_SECONDS = 1.0  # how long a client that never comes back stays silent before the capture ends
NO_SERVER_WAIT_SECONDS = 13.0  # how long the client of a port where nothing listens tries: its probes, doubling
# from 0.2 s, reach 12.6 s, past the UDP timeout (10 s)

# The largest QUIC error code (a 62-bit varint, RFC 9000 §16): a Lua number would print it as 4.6116860184274e+18.
LARGEST_ERROR_CODE = 2**62 - 1
INVALID_TOKEN = 0x0B  # RFC 9000 §20.1
APPLICATION_ERROR = 0x0C
AGAIN_SECONDS = 1.0  # between a refused connection and the next one from the same port
H3_REQUEST_CANCELLED = 0x10C  # the code the cancelling client passes; before the handshake it goes out as 0x0c


MADE_WITH = {"": "aioquic client -> aioquic server",
             "no-server": "aioquic client -> a port where nothing listens",
             "retry-unanswered": "aioquic's first Initial from a plain UDP socket -> aioquic server (retry=True)",
             "cancel": "aioquic's QuicConnection driven by hand over a UDP socket -> aioquic server"}


@dataclass
class Scenario:
    """One capture: how the server is set up, what the client does, and the facts expected of its connection."""

    name: str
    comment: str
    client_port: int
    established: bool
    close: dict[str, Any] | None  # the first CONNECTION_CLOSE: sender, error_code, tls_alert (CRYPTO_ERROR only)
    server_alpn: list[str] = field(default_factory=lambda: ["h3"])
    client_alpn: list[str] = field(default_factory=lambda: ["h3"])
    trust: bool = True
    close_code: int | None = None  # the client closes an established connection with this transport error
    server_versions: list[int] = field(default_factory=lambda: [V1, V2])
    client_versions: list[int] = field(default_factory=lambda: [V1, V2])
    retry: bool = False  # the server validates addresses: a Retry answers an Initial without a token
    token: bytes = b""  # a stale address validation token the client presents
    raw: str = ""  # "retry-unanswered" or "cancel": a client driven by hand over aioquic's QuicConnection
    server_hello: bool = True
    version_negotiation: dict[str, list[str]] | None = None
    secrets: bool = True
    served: bool = True  # False: nothing listens on the server's port
    again: bool = False  # then the client connects again from the same port, trusting the chain, and completes

    def expected(self) -> dict[str, Any]:
        return {"transport": "quic", "client": ADDRESS, "client_port": self.client_port, "server": ADDRESS,
                "server_port": PORT, "sni": NAME, "quic_version": f"0x{self.client_versions[0]:08x}",
                "version": "TLS 1.3" if self.server_hello else None, "established": self.established,
                "retry": self.retry and not self.token, "version_negotiation": self.version_negotiation, "close": self.close,
                "server_answered": self.served,
                "keys": self.secrets, "note": self.comment}


def _expected(scenario: Scenario) -> list[dict[str, Any]]:
    """The capture's connections: the scenario's, and with `again` the good twin's that follows it."""
    second = Scenario(scenario.name, f"{scenario.comment}: the second connection", scenario.client_port, True, None)
    return [scenario.expected()] + ([second.expected()] if scenario.again else [])


def _crypto(sender: str, alert: int) -> dict[str, Any]:
    return {"sender": sender, "error_code": 0x100 + alert, "tls_alert": alert}


def _transport(sender: str, code: int) -> dict[str, Any]:
    return {"sender": sender, "error_code": code, "tls_alert": None}


SCENARIOS = [
    # The client does not trust the server's self-signed certificate: it closes with CRYPTO_ERROR
    # bad_certificate (0x012a), in an Initial packet (readable without keys) and a Handshake packet.
    Scenario("quic-client-refuses-chain", "QUIC: the client refuses the server's certificate", 53401, False,
             _crypto("client", 42), trust=False),
    # No common ALPN protocol: the server closes with CRYPTO_ERROR no_application_protocol (0x0178) in an
    # Initial packet; no secret past the Initial keys, so no key log.
    Scenario("quic-server-refuses-alpn", "QUIC: the server refuses the client's ALPN", 53402, False,
             _crypto("server", 120), client_alpn=["hq-interop"], server_hello=False, secrets=False),
    # The good twin: trusted certificate, common ALPN, a PING, then the client's application close.
    Scenario("quic-good-twin", "QUIC: a handshake that completes", 53403, True, None),
    # A completed handshake the client ends with a transport close carrying the largest error code.
    Scenario("quic-largest-close-code", "QUIC: a transport close with error code 2^62-1", 53404, True,
             _transport("client", LARGEST_ERROR_CODE), close_code=LARGEST_ERROR_CODE),
    # CRYPTO_ERROR with alert 255, which no registry assigns (tshark 4.0 then shows no alert field).
    Scenario("quic-unassigned-alert-close", "QUIC: CRYPTO_ERROR 0x01ff (an unassigned alert)", 53405, True,
             {"sender": "client", "error_code": 0x1FF, "tls_alert": None}, close_code=0x1FF),
    # Version negotiation without a common version: the client speaks only QUIC v2, the server only v1; the
    # server answers with a Version Negotiation packet listing v1 and the client gives up without a word.
    Scenario("quic-version-negotiation-failed", "QUIC: no common version (client v2 only, server v1 only)", 53406,
             False, None, server_versions=[V1], client_versions=[V2], server_hello=False, secrets=False,
             version_negotiation={"client": [f"0x{V2:08x}"], "server": [f"0x{V1:08x}"]}),
    # A server validating addresses: its Retry, the client's second Initial with the token, then the handshake.
    Scenario("quic-retry", "QUIC: the server sends a Retry, the client follows it and completes", 53407, True,
             None, retry=True),
    # The same server; aioquic's own first Initial sent from a plain socket, which reads the Retry and never
    # comes back (a client that lost its state, or an address the server's packets never reach).
    Scenario("quic-retry-unanswered", "QUIC: the client never comes back after the server's Retry", 53408, False,
             None, retry=True, raw="retry-unanswered", server_hello=False, secrets=False),
    # A client presenting a stale token to a server validating addresses: aioquic's server closes with
    # INVALID_TOKEN (0x0b, RFC 9000 §8.1.3) in an Initial packet, before any ServerHello.
    Scenario("quic-server-invalid-token", "QUIC: the server closes with INVALID_TOKEN before the handshake", 53409,
             False, _transport("server", INVALID_TOKEN), retry=True, token=b"a token from an earlier connection",
             server_hello=False, secrets=False),
    # A client that gives up after the server's first datagram (ServerHello): its application close becomes a
    # transport close with APPLICATION_ERROR (0x0c) before the handshake is done (RFC 9000 §10.2.3).
    Scenario("quic-client-cancels-handshake", "QUIC: the client cancels the handshake after the ServerHello",
             53410, False, _transport("client", APPLICATION_ERROR), raw="cancel"),
    # QUIC v2 (RFC 9369): the client speaks only v2, the server both; the good twin's handshake in v2's packets.
    Scenario("quic-v2-good-twin", "QUIC v2: a handshake that completes", 53412, True, None, client_versions=[V2]),
    # One client port, two connections: the client refuses the chain (CRYPTO_ERROR bad_certificate), then, trusting
    # it, connects again from the same port (a socket it keeps) and completes. One UDP flow, two connections.
    Scenario("quic-reconnect-same-port", "QUIC: the client refuses the chain, then connects again from the same "
             "port and completes", 53413, False, _crypto("client", 42), trust=False, again=True),
    # Nothing listens on the server's port: the client sends its Initial again and again (RFC 9002 probe
    # timeouts) until its idle timeout, NO_SERVER_WAIT_SECONDS, with no answer at all.
    Scenario("quic-no-server", "QUIC: nothing answers the client for 13 s", 53411, False, None, served=False,
             server_hello=False, secrets=False),
]


def _client_configuration(scenario: Scenario, cert: Path, secrets: Any) -> QuicConfiguration:
    client = QuicConfiguration(is_client=True, alpn_protocols=scenario.client_alpn, server_name=NAME,
                               secrets_log_file=secrets)
    client.supported_versions = list(scenario.client_versions)
    client.token = scenario.token
    if scenario.trust:
        client.load_verify_locations(str(cert))
    return client


async def _by_hand(scenario: Scenario, client: QuicConfiguration) -> str:
    """aioquic's client connection without its asyncio transport: the datagrams it writes go out of a plain
    socket bound to the scenario's port, and only what the scenario says is fed back to it."""
    loop = asyncio.get_running_loop()
    connection = QuicConnection(configuration=client)
    server = (ADDRESS, PORT)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((ADDRESS, scenario.client_port))
        sock.setblocking(False)

        def send() -> None:
            for data, _ in connection.datagrams_to_send(now=loop.time()):
                sock.sendto(data, server)

        connection.connect(server, now=loop.time())
        send()
        answer = await asyncio.wait_for(loop.sock_recv(sock, 65536), 5)
        if scenario.raw == "cancel":  # the server's first datagram (Initial with the ServerHello), then give up
            connection.receive_datagram(answer, server, now=loop.time())
            connection.close(error_code=H3_REQUEST_CANCELLED, reason_phrase="cancelled")
            send()
        await asyncio.sleep(SILENCE_SECONDS)
    return f"{scenario.raw}: the server's first datagram had {len(answer)} bytes"


async def _exchange(scenario: Scenario, cert: Path, key: Path, keys: Path) -> str:
    """One connection attempt; what the client saw (ok, or the error it raised)."""
    with open(keys, "w", encoding="ascii") as secrets:
        served = QuicConfiguration(is_client=False, alpn_protocols=scenario.server_alpn, secrets_log_file=secrets)
        served.supported_versions = list(scenario.server_versions)
        served.load_cert_chain(str(cert), str(key))
        server = await serve(ADDRESS, PORT, configuration=served, retry=scenario.retry) if scenario.served else None
        client = _client_configuration(scenario, cert, secrets)
        if not scenario.served:
            client.idle_timeout = NO_SERVER_WAIT_SECONDS
        try:
            if scenario.raw:
                said = await _by_hand(scenario, client)
            else:
                async with connect(ADDRESS, PORT, configuration=client, wait_connected=True,
                                   local_port=scenario.client_port) as connection:
                    await connection.ping()
                    if scenario.close_code is not None:  # a transport CONNECTION_CLOSE (frame type given)
                        connection._quic.close(error_code=scenario.close_code, frame_type=0, reason_phrase="closed")
                        connection.transmit()
                    said = "ok"
        except Exception as error:  # noqa: BLE001 - the refusal is the point of the capture
            said = f"{type(error).__name__}: {error}"
        if scenario.again:
            await asyncio.sleep(AGAIN_SECONDS)
            trusted = Scenario(scenario.name, scenario.comment, scenario.client_port, True, None)
            async with connect(ADDRESS, PORT, configuration=_client_configuration(trusted, cert, secrets),
                               wait_connected=True, local_port=scenario.client_port) as connection:
                await connection.ping()
            said += "; then ok"
        await asyncio.sleep(0.5)  # let the last close reach the wire
        if server is not None:
            server.close()
    return said


def record(out: Path, scenario: Scenario, scratch: Path) -> None:
    cert, key = self_signed(scratch, NAME)
    keys = out / f"{scenario.name}.keys"
    with dumpcap(out / f"{scenario.name}.pcapng", [PORT], scenario.comment, transport="udp"):
        said = asyncio.run(_exchange(scenario, cert, key, keys))
    if keys.stat().st_size == 0:  # no secret was derived past the Initial keys
        keys.unlink()
    if keys.exists() != scenario.secrets:
        sys.exit(f"quic.py: {scenario.name}: secrets {'missing' if scenario.secrets else 'unexpected'} ({said})")
    (out / f"{scenario.name}.pcapng").chmod(0o644)  # dumpcap writes 0600
    print(f"{scenario.name}: client says {said}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="folder to write into (default: captures/)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("openssl", "dumpcap")):
        sys.exit("quic.py: run as root with openssl and dumpcap installed")
    args.out.mkdir(parents=True, exist_ok=True)
    expected: dict[str, Any] = {
        "generator": "captures/quic.py",
        "note": "One entry per QUIC connection; checked against every capture by tests/captures/test_udp_captures.py",
        "captures": {},
    }
    with tempfile.TemporaryDirectory(prefix="tsharkpost-quic-") as name:
        for scenario in SCENARIOS:
            record(args.out, scenario, Path(name))
            expected["captures"][f"{scenario.name}.pcapng"] = {
                "title": scenario.comment, "made_with": MADE_WITH[scenario.raw if scenario.served else "no-server"],
                "connections": _expected(scenario)}
    (args.out / "expected-quic.json").write_text(json.dumps(expected, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
