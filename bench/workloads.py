"""Build the two benchmark workloads (not committed: a few hundred MB each, rebuilt on demand).

handshake-heavy: captures/batch-mixed.pcapng replicated N times, each copy
shifted in time and given its own client address, so that every copy is new
connections to tshark (same-ISN copies would be taken for retransmissions).

bulk-heavy: a few TLS connections moving large files, recorded with dumpcap
inside a private network namespace whose loopback has an Ethernet-like MTU of
1500 and no segmentation offload (the host's loopback, MTU 65536 with GSO,
would make packets unrealistically few and large).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path

SHB, IDB, EPB = 0x0A0D0D0A, 1, 6
ETHERNET_HEADER = 14
CLIENT = bytes([127, 0, 0, 1])


def _blocks(data: bytes):
    offset = 0
    while offset < len(data):
        kind, length = struct.unpack_from("<II", data, offset)
        yield kind, data[offset:offset + length]
        offset += length


def _tsresol(idb: bytes) -> int:
    """Ticks per second of an interface (option if_tsresol, default microseconds)."""
    offset = 16
    while offset + 4 <= len(idb) - 4:
        code, size = struct.unpack_from("<HH", idb, offset)
        if code == 0:
            break
        if code == 9:
            value = idb[offset + 4]
            return 2 ** (value & 0x7F) if value & 0x80 else 10 ** value
        offset += 4 + (size + 3) // 4 * 4
    return 10 ** 6


def replicate(source: Path, target: Path, copies: int, spacing_seconds: float) -> Path:
    """Write `copies` copies of a little-endian pcapng, shifted in time, each with its own client address."""
    data = source.read_bytes()
    head, packets, ticks = [], [], 10 ** 6
    for kind, block in _blocks(data):
        if kind == EPB:
            packets.append(block)
        elif not packets:
            head.append(block)
            if kind == IDB:
                ticks = _tsresol(block)
    with target.open("wb") as out:
        out.write(b"".join(head))
        for copy in range(copies):
            client = bytes([10, (copy >> 8) & 0xFF, copy & 0xFF, 1])
            shift = int(copy * spacing_seconds * ticks)
            for block in packets:
                packet = bytearray(block)
                high, low = struct.unpack_from("<II", packet, 12)
                stamp = (high << 32 | low) + shift
                struct.pack_into("<II", packet, 12, stamp >> 32, stamp & 0xFFFFFFFF)
                for field in (28 + ETHERNET_HEADER + 12, 28 + ETHERNET_HEADER + 16):  # IPv4 source, destination
                    if packet[field:field + 4] == CLIENT:
                        packet[field:field + 4] = client
                out.write(packet)
    return target


def _netns(name: str, *argv: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(["ip", "netns", "exec", name, *argv], **kwargs)


def bulk(target: Path, connections: int = 3, megabytes: int = 80) -> Path:
    """Record `connections` HTTPS downloads of `megabytes` MB each over a 1500-byte-MTU loopback."""
    namespace = f"tsharkpost-bench-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    work = Path(tempfile.mkdtemp(prefix="tsharkpost-bulk-"))
    try:
        # MTU 1500 and no segmentation offload: one captured packet per wire-sized segment, as on Ethernet.
        subprocess.run(["ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "mtu", "1500",
                        "gso_max_size", "1500", "up"], check=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=bulk.example.net",
                        "-days", "2", "-keyout", str(work / "key.pem"), "-out", str(work / "cert.pem")],
                       check=True, capture_output=True)
        (work / "big.bin").write_bytes(os.urandom(megabytes * 1024 * 1024))
        dumpcap = _netns(namespace, "dumpcap", "-q", "-i", "lo", "-f", "tcp port 443", "-w", str(target),
                         stderr=subprocess.PIPE, text=True)
        for line in dumpcap.stderr:
            if line.startswith("Capturing on"):
                break
        time.sleep(0.5)
        server = _netns(namespace, "openssl", "s_server", "-accept", "127.0.0.1:443", "-cert", str(work / "cert.pem"),
                        "-key", str(work / "key.pem"), "-WWW", "-naccept", str(connections), "-quiet",
                        cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        client = (f"import socket, ssl\nctx = ssl.create_default_context(); ctx.check_hostname = False\n"
                  f"ctx.verify_mode = ssl.CERT_NONE\n"
                  f"for _ in range({connections}):\n"
                  f"    s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', 443)), server_hostname='bulk.example.net')\n"
                  f"    s.sendall(b'GET /big.bin HTTP/1.0\\r\\n\\r\\n')\n"
                  f"    while s.recv(1 << 16): pass\n"
                  f"    s.close()\n")
        _netns(namespace, "python3", "-c", client).wait(timeout=600)
        server.wait(timeout=60)
        time.sleep(0.5)
        dumpcap.send_signal(2)
        dumpcap.wait(timeout=30)
    finally:
        subprocess.run(["ip", "netns", "delete", namespace], check=False)
        shutil.rmtree(work, ignore_errors=True)
    return target

