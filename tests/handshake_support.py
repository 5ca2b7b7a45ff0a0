"""Hand-built TLS handshake messages and a classic pcap writer, for tests of cases no capture shows."""

from __future__ import annotations

import socket
import struct
from pathlib import Path


def vector(data: bytes, size: int) -> bytes:
    """A TLS vector: its length in `size` bytes, then the data."""
    return len(data).to_bytes(size, "big") + data


def extension(ext_type: int, data: bytes) -> bytes:
    return ext_type.to_bytes(2, "big") + vector(data, 2)


def schemes(codes: list[int]) -> bytes:
    return vector(b"".join(c.to_bytes(2, "big") for c in codes), 2)


def message(msg_type: int, body: bytes, dtls: bool = False) -> bytes:
    """A handshake message: type, 24-bit length (DTLS: message_seq 0 and one fragment at offset 0), body."""
    length = len(body).to_bytes(3, "big")
    return bytes([msg_type]) + length + (b"\x00\x00" + b"\x00\x00\x00" + length if dtls else b"") + body


def client_hello(sni: bytes, sigalgs: list[int], sigalgs_cert: list[int] | None = None, dtls: bool = False) -> bytes:
    extensions = extension(0, vector(b"\x00" + vector(sni, 2), 2)) + extension(13, schemes(sigalgs))
    if sigalgs_cert is not None:
        extensions += extension(50, schemes(sigalgs_cert))
    body = (b"\xfe\xfd" if dtls else b"\x03\x03") + bytes(32) + vector(b"\x11" * 32, 1)
    body += vector(b"\xab" * 20, 1) if dtls else b""
    body += vector(b"\x13\x01\xc0\x2f", 2) + vector(b"\x00", 1) + vector(extensions, 2)
    return message(1, body, dtls)


def server_hello(suite: int = 0xC02F) -> bytes:
    """A TLS 1.2 ServerHello without extensions."""
    return message(2, b"\x03\x03" + bytes(32) + vector(b"", 1) + suite.to_bytes(2, "big") + b"\x00")


def certificate(ders: list[bytes]) -> bytes:
    return message(11, vector(b"".join(vector(der, 3) for der in ders), 3))


def record(content_type: int, fragment: bytes) -> bytes:
    return bytes([content_type]) + b"\x03\x03" + vector(fragment, 2)


def tcp_frame(src: tuple[str, int], dst: tuple[str, int], seq: int, ack: int, payload: bytes) -> bytes:
    """Ethernet, IPv4 and TCP (PSH, ACK) headers around payload; checksums left zero (tshark does not check)."""
    tcp = struct.pack("!HHIIBBHHH", src[1], dst[1], seq, ack, 5 << 4, 0x18, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 1, 0x4000, 64, 6, 0,
                     socket.inet_aton(src[0]), socket.inet_aton(dst[0]))
    return bytes.fromhex("020000000002" "020000000001" "0800") + ip + tcp + payload


def write_pcap(path: Path, frames: list[bytes], start: float = 1_700_000_000.0, step: float = 0.001) -> Path:
    """Frames (Ethernet) into a classic pcap file, `step` seconds apart."""
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for i, frame in enumerate(frames):
            micros = round((start + i * step) * 1_000_000)
            out.write(struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)) + frame)
    return path
