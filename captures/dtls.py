#!/usr/bin/env python3
"""Rebuild the DTLS captures (issue 14): OpenSSL's s_client and s_server over UDP on loopback, recorded by dumpcap.

Run as root on Debian 12 with openssl, dumpcap and tshark installed:

    python3 captures/dtls.py              # rewrite tests/data/dtls/ in place
    python3 captures/dtls.py --out DIR

Every server runs `s_server -dtls -listen`, which answers a first ClientHello with a HelloVerifyRequest cookie
(RFC 6347 §4.2.1) before it keeps any state for the client.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capgen.capture import dumpcap  # noqa: E402

ADDRESS = "127.0.0.1"
PORT = 4740  # no dissector claims it: tshark finds DTLS there by its heuristic
NAME = "dtls.example.test"
OPENSSL_ENV = {**os.environ, "OPENSSL_CONF": os.devnull}
COOKIE_WAIT_SECONDS = 2.0  # how long the cookie-less client stays silent after the HelloVerifyRequest


def make_identity(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "server.crt", folder / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", f"/CN={NAME}", "-addext", f"subjectAltName=DNS:{NAME}", "-days", "3650",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, env=OPENSSL_ENV)
    return cert, key


def s_server(cert: Path, key: Path) -> subprocess.Popen[bytes]:
    """s_server -dtls -listen for one client; its stdin stays open (at EOF it would stop at once)."""
    server = subprocess.Popen(["openssl", "s_server", "-dtls", "-listen", "-accept", f"{ADDRESS}:{PORT}",
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


def s_client(*extra: str) -> None:
    """s_client -dtls1_2: handshake, a line of data, then close_notify at the end of its input (not -quiet,
    which ignores the end of input)."""
    client = subprocess.Popen(["openssl", "s_client", "-dtls1_2", "-connect", f"{ADDRESS}:{PORT}", "-servername",
                               NAME, "-brief", "-verify_return_error", *extra], stdin=subprocess.PIPE,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent.parent / "tests" / "data" / "dtls")
    args = parser.parse_args(argv)
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("openssl", "dumpcap", "tshark")):
        sys.exit("dtls.py: run as root with openssl, dumpcap and tshark installed")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tsharkpost-dtls-") as name:
        scratch = Path(name)
        cert, key = make_identity(scratch)
        # The client does not trust the server's self-signed certificate: fatal alert unknown_ca, in plaintext.
        refused = args.out / "dtls-client-refuses-chain.pcapng"
        with dumpcap(refused, [PORT], "DTLS 1.2: the client refuses the server's certificate", transport="udp"):
            server = s_server(cert, key)
            s_client()
            stop(server)
        # The good twin: the client trusts the certificate; a line of data each way is not needed, one is sent.
        with dumpcap(args.out / "dtls-good-twin.pcapng", [PORT], "DTLS 1.2: a handshake that completes",
                     transport="udp"):
            server = s_server(cert, key)
            s_client("-CAfile", str(cert))
            stop(server)
        # A cookie exchange that never completes: OpenSSL's first ClientHello sent again from a plain socket,
        # which reads the server's HelloVerifyRequest and never answers it.
        hello = first_client_hello(refused)
        with dumpcap(args.out / "dtls-cookie-never-answered.pcapng", [PORT],
                     "DTLS 1.2: the client never answers the HelloVerifyRequest", transport="udp"):
            server = s_server(cert, key)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.settimeout(5)
                client.sendto(hello, (ADDRESS, PORT))
                client.recvfrom(4096)
                time.sleep(COOKIE_WAIT_SECONDS)
            stop(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
