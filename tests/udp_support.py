"""The DTLS and QUIC captures tests of diff, timeline and the UDP timeout read, named once, and plain-tool helpers.

Every path to a UDP capture these tests use is here, so that moving the captures is one edit. The helpers build
captures with Wireshark's own tools (editcap, mergecap) and a datagram written by hand, never with tsharkpost.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

from conftest import CAPTURES

DTLS = CAPTURES  # captures/dtls.py writes them here, beside the TCP captures
QUIC = CAPTURES  # captures/quic.py
DTLS_GOOD = DTLS / "dtls-good-twin.pcapng"  # OpenSSL s_client -dtls1_2 against s_server: established
DTLS_REFUSED = DTLS / "dtls-client-refuses-chain.pcapng"  # the client's fatal alert on the server's chain
DTLS_COOKIE = DTLS / "dtls-cookie-never-answered.pcapng"  # ClientHello, HelloVerifyRequest, nothing more
QUIC_GOOD = QUIC / "quic-good-twin.pcapng"  # aioquic client and server: established
QUIC_GOOD_KEYS = QUIC / "quic-good-twin.keys"
QUIC_REFUSED = QUIC / "quic-client-refuses-chain.pcapng"  # the client's CONNECTION_CLOSE with CRYPTO_ERROR
QUIC_REFUSED_KEYS = QUIC / "quic-client-refuses-chain.keys"
TCP_GOOD = CAPTURES / "known-good-twin.pcapng"  # a TCP capture to mix with the UDP ones


def plain(tshark: str, capture: Path, display_filter: str, *fields: str, keys: Path | None = None) -> list[list[str]]:
    """Plain tshark's fields (no plugin), one list per frame shown."""
    argv = [tshark, "-n", "-r", str(capture), *(("-o", f"tls.keylog_file:{keys}") if keys else ()),
            "-Y", display_filter, "-T", "fields", *(arg for name in fields for arg in ("-e", name))]
    return [line.split("\t") for line in
            subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()]


def first_frames(capture: Path, count: int, out: Path) -> Path:
    """The capture's first `count` frames (editcap -r): e.g. a client's datagrams without the server's answer."""
    subprocess.run(["editcap", "-r", str(capture), str(out), f"1-{count}"], check=True, capture_output=True)
    return out


def with_later_datagram(capture: Path, seconds: float, out: Path) -> Path:
    """The capture and, `seconds` after its last frame (as plain tshark reads it), one UDP datagram between two
    other hosts that carries no TLS: the capture runs on that long and nothing else changes (mergecap)."""
    last = float(subprocess.run(["capinfos", "-T", "-r", "-e", "-S", str(capture)], capture_output=True, text=True,
                                check=True).stdout.split()[-1])
    udp = struct.pack("!HHHH", 40000, 9, 8 + 4, 0) + b"ping"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([10, 9, 9, 1]),
                     bytes([10, 9, 9, 2]))
    frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + udp
    when = last + seconds
    whole, micro = int(when), round((when - int(when)) * 1_000_000)
    if micro == 1_000_000:
        whole, micro = whole + 1, 0
    later = out.with_suffix(".later.pcap")
    later.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
                      + struct.pack("<IIII", whole, micro, len(frame), len(frame)) + frame)
    subprocess.run(["mergecap", "-w", str(out), str(capture), str(later)], check=True, capture_output=True)
    return out
