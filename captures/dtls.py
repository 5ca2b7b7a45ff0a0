#!/usr/bin/env python3
"""Rebuild the DTLS captures (issue 14): OpenSSL's s_client and s_server over UDP on loopback, recorded by dumpcap.

Run as root on Debian 12 with openssl, dumpcap and tshark installed:

    python3 captures/dtls.py              # rewrite the DTLS captures in captures/ and captures/expected-dtls.json
    python3 captures/dtls.py --out DIR

Every server runs `s_server -listen`, which answers a first ClientHello with a HelloVerifyRequest cookie
(RFC 6347 §4.2.1) before it keeps any state for the client. Every client is bound to a port of its own.
expected-dtls.json is this generator's own ground truth, one entry per connection, in the facts the generator
set up: tests/captures/test_udp_captures.py checks every capture against it with plain tshark fields.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capgen.capture import dumpcap  # noqa: E402
from capgen.selfsigned import OPENSSL_ENV, self_signed  # noqa: E402

ADDRESS = "127.0.0.1"
PORT = 4740  # no dissector claims it: tshark finds DTLS there by its heuristic
NAME = "dtls.example.test"
COOKIE_WAIT_SECONDS = 2.0  # how long the cookie-less client stays silent after the HelloVerifyRequest
# Between a failed handshake and the next one from the same port: longer than summarize's linger (6 s), after
# which a UDP flow that ended leaves its reading's table.
RETRY_GAP_SECONDS = 7.0


def s_server(cert: Path, key: Path, version: str = "-dtls") -> subprocess.Popen[bytes]:
    """s_server -listen for one client (any DTLS version unless given); its stdin stays open (at EOF it would stop
    at once)."""
    server = subprocess.Popen(["openssl", "s_server", version, "-listen", "-accept", f"{ADDRESS}:{PORT}",
                               "-naccept", "1", "-cert", str(cert), "-key", str(key)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=OPENSSL_ENV)
    assert server.stdout is not None
    for line in server.stdout:
        if line.startswith(b"ACCEPT"):
            break
    return server


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
    server.communicate(timeout=10)


def s_client(port: int, *extra: str, version: str = "-dtls1_2") -> None:
    """s_client (DTLS 1.2 unless given) from the given port: handshake, a line of data, then close_notify at the
    end of its input (not -quiet, which ignores the end of input)."""
    client = subprocess.Popen(["openssl", "s_client", version, "-bind", f"{ADDRESS}:{port}", "-connect",
                               f"{ADDRESS}:{PORT}", "-servername", NAME, "-brief", "-verify_return_error", *extra],
                              stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=OPENSSL_ENV)
    assert client.stdin is not None
    client.stdin.write(b"hello over DTLS\n")
    client.stdin.flush()
    time.sleep(1.0)
    client.stdin.close()
    client.wait(timeout=10)


def first_client_hello(capture: Path) -> bytes:
    """The UDP payload of the capture's first ClientHello (OpenSSL's own), to be sent again as it was."""
    out = subprocess.run(["tshark", "-n", "-r", str(capture), "-d", f"udp.port=={PORT},dtls", "-Y",
                          "dtls.handshake.type == 1", "-c", "1", "-T", "fields", "-e", "udp.payload"],
                         capture_output=True, text=True, check=True).stdout.split()
    return bytes.fromhex(out[0].replace(":", ""))


def expected(client_port: int, version: str | None, established: bool, alert: dict[str, Any] | None,
             cookie_answered: bool, note: str) -> dict[str, Any]:
    """The facts of one connection, as the scenario set them up (every server sends a HelloVerifyRequest)."""
    return {"transport": "udp-dtls", "client": ADDRESS, "client_port": client_port, "server": ADDRESS,
            "server_port": PORT, "sni": NAME, "version": version, "established": established,
            "first_fatal_alert": alert, "hello_verify_request": True, "cookie_answered": cookie_answered,
            "note": note}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="folder to write into (default: captures/)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("openssl", "dumpcap", "tshark")):
        sys.exit("dtls.py: run as root with openssl, dumpcap and tshark installed")
    args.out.mkdir(parents=True, exist_ok=True)
    made_with = "openssl s_client -> openssl s_server -listen"
    captures: dict[str, Any] = {}

    def note(name: str, title: str, how: str, *connections: dict[str, Any]) -> None:
        (args.out / name).chmod(0o644)  # dumpcap writes 0600
        captures[name] = {"title": title, "made_with": how, "connections": list(connections)}

    with tempfile.TemporaryDirectory(prefix="tsharkpost-dtls-") as name:
        scratch = Path(name)
        cert, key = self_signed(scratch, NAME)
        # The client does not trust the server's self-signed certificate: fatal alert unknown_ca, in plaintext.
        refused = args.out / "dtls-client-refuses-chain.pcapng"
        title = "DTLS 1.2: the client refuses the server's certificate"
        with dumpcap(refused, [PORT], title, transport="udp"):
            server = s_server(cert, key)
            s_client(53501)
            stop(server)
        note(refused.name, title, made_with, expected(
            53501, "DTLS 1.2", False, {"sender": "client", "code": 48, "name": "unknown_ca"}, True,
            "s_client -verify_return_error without trust for the self-signed certificate"))
        # The good twin: the client trusts the certificate; a line of data each way is not needed, one is sent.
        title = "DTLS 1.2: a handshake that completes"
        with dumpcap(args.out / "dtls-good-twin.pcapng", [PORT], title, transport="udp"):
            server = s_server(cert, key)
            s_client(53502, "-CAfile", str(cert))
            stop(server)
        note("dtls-good-twin.pcapng", title, made_with, expected(
            53502, "DTLS 1.2", True, None, True, "s_client -CAfile with the server's certificate"))
        # A cookie exchange that never completes: OpenSSL's first ClientHello sent again from a plain socket,
        # which reads the server's HelloVerifyRequest and never answers it.
        hello = first_client_hello(refused)
        title = "DTLS 1.2: the client never answers the HelloVerifyRequest"
        with dumpcap(args.out / "dtls-cookie-never-answered.pcapng", [PORT], title, transport="udp"):
            server = s_server(cert, key)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.bind((ADDRESS, 53503))
                client.settimeout(5)
                client.sendto(hello, (ADDRESS, PORT))
                client.recvfrom(4096)
                time.sleep(COOKIE_WAIT_SECONDS)
            stop(server)
        note("dtls-cookie-never-answered.pcapng", title,
             "OpenSSL's ClientHello from a plain UDP socket -> openssl s_server -listen", expected(
                 53503, None, False, None, False, "the HelloVerifyRequest is read and never answered"))
        # A server that speaks only DTLS 1.2 refusing a DTLS 1.0 client: fatal alert protocol_version after the
        # cookie exchange, no ServerHello. OpenSSL 3 offers DTLS 1.0 only at security level 0.
        title = "DTLS: a DTLS 1.2-only server refuses a DTLS 1.0 client (protocol_version)"
        with dumpcap(args.out / "dtls-server-refuses-version.pcapng", [PORT], title, transport="udp"):
            server = s_server(cert, key, version="-dtls1_2")
            s_client(53504, "-cipher", "DEFAULT:@SECLEVEL=0", version="-dtls1")
            stop(server)
        note("dtls-server-refuses-version.pcapng", title, "openssl s_client -dtls1 -> openssl s_server -dtls1_2",
             expected(53504, None, False, {"sender": "server", "code": 70, "name": "protocol_version"}, True,
                      "the client offers DTLS 1.0 only; the server takes DTLS 1.2 only"))
        # One client port, two handshakes: the client refuses the chain (unknown_ca), then, trusting it, connects
        # again from the same port and completes. One UDP flow (udp.stream) holds two connections.
        title = "DTLS 1.2: the client refuses the chain, then connects again from the same port and completes"
        with dumpcap(args.out / "dtls-reconnect-same-port.pcapng", [PORT], title, transport="udp"):
            server = s_server(cert, key)
            s_client(53505)
            stop(server)
            time.sleep(RETRY_GAP_SECONDS)
            server = s_server(cert, key)
            s_client(53505, "-CAfile", str(cert))
            stop(server)
        note("dtls-reconnect-same-port.pcapng", title, made_with, expected(
            53505, "DTLS 1.2", False, {"sender": "client", "code": 48, "name": "unknown_ca"}, True,
            "s_client -verify_return_error without trust for the self-signed certificate"), expected(
            53505, "DTLS 1.2", True, None, True, f"{RETRY_GAP_SECONDS:g} s later from the same port: s_client -CAfile "
                                                 "with the server's certificate"))
    (args.out / "expected-dtls.json").write_text(json.dumps({
        "generator": "captures/dtls.py",
        "note": "One entry per DTLS connection; checked against every capture by tests/captures/test_udp_captures.py",
        "captures": captures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
