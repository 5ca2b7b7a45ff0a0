"""The TLS peers: `openssl s_server` processes and Python `ssl` clients, on loopback with pinned ports."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Legacy protocol versions, SHA-1 signatures and 1024-bit keys need security level 0 in OpenSSL 3.
LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"
# The system openssl.cnf may raise minimum versions or security levels: keep reruns identical.
OPENSSL_ENV = {**os.environ, "OPENSSL_CONF": os.devnull}


@dataclass(frozen=True)
class ServerIdentity:
    cert: Path  # leaf certificate (PEM)
    key: Path  # its private key (PEM)
    chain: Path | None = None  # further certificates the server sends as they are


@contextmanager
def s_server(address: str, port: int, identity: ServerIdentity, connections: int,
             *extra: str) -> Iterator[None]:
    """`openssl s_server` answering `connections` connections on address:port with an HTTP status page."""
    argv = ["openssl", "s_server", "-accept", f"{address}:{port}", "-naccept", str(connections),
            "-cert", str(identity.cert), "-key", str(identity.key), "-www",
            # Close quietly when a client hangs up mid-handshake, as web servers do,
            # instead of answering the FIN with a decode_error alert.
            "-ignore_unexpected_eof", *extra]
    if identity.chain:
        argv += ["-cert_chain", str(identity.chain)]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=OPENSSL_ENV, text=True)
    output: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:  # s_server prints ACCEPT once it listens
        output.append(line)
        if line.startswith("ACCEPT"):
            break
    else:
        raise RuntimeError(f"s_server on {address}:{port} did not start: {''.join(output)}")
    drain = threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True)
    drain.start()
    try:
        yield
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def client_context(ca: Path | None, *, minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
                   maximum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2, ciphers: str | None = None,
                   keylog: Path | None = None) -> ssl.SSLContext:
    """A verifying OpenSSL client context (through Python's ssl module)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = minimum
    context.maximum_version = maximum
    if ciphers:
        context.set_ciphers(ciphers)
    if ca:
        context.load_verify_locations(cafile=str(ca))
    if keylog:
        context.keylog_filename = str(keylog)
    return context


CLIENT_ADDRESS = "127.0.0.1"
# How long a client that refused the handshake waits for the server to close.
SERVER_HANG_UP_SECONDS = 2.0


def connect(address: str, port: int, source_port: int) -> socket.socket:
    """A TCP connection from the pinned client port, so reruns give the same conversations."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.settimeout(10)
    sock.bind((CLIENT_ADDRESS, source_port))
    sock.connect((address, port))
    return sock


def _wait_for_hang_up(tls: ssl.SSLSocket) -> None:
    """Drain what TLS left unread until the server's FIN, then close."""
    with socket.socket(fileno=os.dup(tls.fileno())) as raw:
        raw.settimeout(SERVER_HANG_UP_SECONDS)
        while raw.recv(65536):
            pass
    tls.close()


def https_get(address: str, port: int, source_port: int, server_name: str, context: ssl.SSLContext) -> str:
    """Handshake, GET /, read until the server closes; return what happened, errors included.

    A refused handshake is the expected outcome of several scenarios, so it is
    reported, not raised. After a refusal the client waits for the server to
    hang up before it closes, so that who closes first does not depend on the
    scheduler. The client never sends close_notify after the server's: the
    server has closed its socket by then and would answer RST.
    """
    tls = context.wrap_socket(connect(address, port, source_port), server_hostname=server_name,
                              do_handshake_on_connect=False)
    try:
        tls.do_handshake()
    except (ssl.SSLError, ssl.CertificateError) as error:
        _wait_for_hang_up(tls)
        return f"handshake refused: {error}"
    tls.sendall(f"GET / HTTP/1.0\r\nHost: {server_name}\r\n\r\n".encode())
    received = 0
    try:
        while chunk := tls.recv(16384):
            received += len(chunk)
    except ssl.SSLError:
        pass
    version = tls.version()
    tls.close()  # no close_notify: see above
    return f"established {version}, {received} bytes received"
