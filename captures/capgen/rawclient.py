"""A Schannel-like TLS 1.2 client that hangs up silently, byte by byte on a raw socket.

Windows 7/8 Schannel clients (IE10, .NET) send a TLS 1.2 ClientHello whose
signature_algorithms lists neither MD2 (TLS has no code for it) nor MD5. When a
certificate of the server's chain is signed with an algorithm they did not
offer, they log Schannel event 36888 and the application simply closes the
socket: FIN (or RST), no alert on the wire. No TLS library can be told to do
that, so this client writes the ClientHello itself and stops reading after
ServerHelloDone.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from dataclasses import dataclass

from .peers import connect

HANDSHAKE, ALERT = 22, 21
CLIENT_HELLO, SERVER_HELLO_DONE = 1, 14

# The order IE11 on Windows 7 offered (TLS 1.2 enabled); no GCM with ECDHE_RSA there.
CIPHER_SUITES = [
    0xC028, 0xC027, 0xC014, 0xC013, 0x009F, 0x009E, 0x0039, 0x0033, 0x009D, 0x009C,
    0x003D, 0x003C, 0x0035, 0x002F, 0xC02C, 0xC02B, 0xC024, 0xC023, 0xC00A, 0xC009,
    0x006A, 0x0040, 0x0038, 0x0032, 0x000A, 0x0013,
]
# SignatureAndHashAlgorithm pairs (RFC 5246 7.4.1.4.1): rsa, ecdsa and dsa with
# sha256, sha384 and sha1. MD5 (0x01) is absent; MD2 has no code at all.
SIGNATURE_ALGORITHMS = [0x0401, 0x0501, 0x0201, 0x0403, 0x0503, 0x0203, 0x0402, 0x0202]
SUPPORTED_GROUPS = [0x0017, 0x0018]  # secp256r1, secp384r1


def _vector(data: bytes, length_size: int) -> bytes:
    return len(data).to_bytes(length_size, "big") + data


def _extension(kind: int, body: bytes) -> bytes:
    return struct.pack("!H", kind) + _vector(body, 2)


def client_hello(server_name: str) -> bytes:
    """One TLS record carrying a TLS 1.2 ClientHello."""
    host = server_name.encode()
    extensions = b"".join([
        _extension(0x0000, _vector(b"\x00" + _vector(host, 2), 2)),  # server_name
        _extension(0x0005, b"\x01\x00\x00\x00\x00"),  # status_request (OCSP)
        _extension(0x000A, _vector(b"".join(struct.pack("!H", g) for g in SUPPORTED_GROUPS), 2)),
        _extension(0x000B, b"\x01\x00"),  # ec_point_formats: uncompressed
        _extension(0x000D, _vector(b"".join(struct.pack("!H", s) for s in SIGNATURE_ALGORITHMS), 2)),
        _extension(0xFF01, b"\x00"),  # renegotiation_info, initial handshake
    ])
    body = (
        b"\x03\x03" + os.urandom(32) + _vector(b"", 1)
        + _vector(b"".join(struct.pack("!H", c) for c in CIPHER_SUITES), 2)
        + _vector(b"\x00", 1) + _vector(extensions, 2)
    )
    handshake = bytes([CLIENT_HELLO]) + _vector(body, 3)
    return bytes([HANDSHAKE]) + b"\x03\x01" + _vector(handshake, 2)


@dataclass(frozen=True)
class SilentAbort:
    """What the client saw and when it decided to give up (the moment Schannel logs 36888)."""

    handshake_types: list[int]
    decided_at: float  # time.time() between the last server frame and our FIN/RST


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("server closed before ServerHelloDone")
        data += chunk
    return data


def connect_and_abort(address: str, port: int, source_port: int, server_name: str, reset: bool) -> SilentAbort:
    """Send the ClientHello, read the server flight up to ServerHelloDone, close without an alert."""
    sock = connect(address, port, source_port)
    sock.sendall(client_hello(server_name))

    types: list[int] = []
    pending = b""
    while SERVER_HELLO_DONE not in types:
        content_type, _version, length = struct.unpack("!BHH", _read_exactly(sock, 5))
        fragment = _read_exactly(sock, length)
        if content_type == ALERT:
            raise ConnectionError(f"server sent an alert {fragment.hex()}")
        if content_type != HANDSHAKE:
            continue
        pending += fragment  # a handshake message may span records
        while len(pending) >= 4 and len(pending) >= 4 + int.from_bytes(pending[1:4], "big"):
            size = 4 + int.from_bytes(pending[1:4], "big")
            types.append(pending[0])
            pending = pending[size:]

    # A real client needs a moment to build and reject the chain; keeping the
    # pauses lets the event time fall strictly between the two frames.
    time.sleep(0.001)
    decided_at = time.time()
    time.sleep(0.001)
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    return SilentAbort(types, decided_at)
