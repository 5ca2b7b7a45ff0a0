"""One big capture cut into parts by connection (`summarize --slice-mb`), each part read by its own tshark.

Every packet goes into every part, so that frame numbers, timestamps and tshark's tcp.stream numbers stay
those of the whole capture; but a TCP packet is whole only in the part that owns its connection, and cut to
its headers (link, IP and TCP header; captured length shortened, original length kept) in the others, where
tshark does its TCP bookkeeping and no TLS work (and, on Ethernet, leaves them out of its output: CUT_MARK).
The owner is a stable hash of the packet's unordered IP
address pair (owner()), so every connection between two hosts, a client's retry to the same server too
(classify.find_retry), is in one part and nothing needs stitching: analyze.py keeps, in each part, the
connections that part owns (owns()) and merge.py puts the parts' records back in the whole capture's order.

What is cut: an IPv4 (unfragmented) or IPv6 packet carrying TCP directly, on Ethernet (VLAN tags too), Linux
cooked (v1, v2), BSD loopback or raw IP. Everything else (UDP, ICMP, ARP, fragments, tunnels, IPv6 extension
headers, unknown link types, pcapng Simple Packet Blocks) is copied whole into every part: a connection
inside it is then read in every part and kept by the one its addresses name, whatever framing carried it.
Bytes after a cut or damage are copied as they are into every part, so every part's tshark says what the
whole capture's tshark says.
"""

from __future__ import annotations

import ipaddress
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from tsharkpost.capture.capfile import (EPB_HEADER, PCAPNG_MAGIC, UNIT_HEAD, UNIT_PACKET, UNIT_TAIL, UNIT_WHOLE, Unit,
                                        _opened, units)

ETHERNET, RAW, RAW_ALT, RAW_OPENBSD, NULL, LOOP, SLL, SLL2, IPV4_ONLY, IPV6_ONLY = (1, 101, 12, 14, 0, 108, 113,
                                                                                    276, 228, 229)
VLAN_TAGS = {0x8100, 0x88A8, 0x9100}
ETHERTYPE_IPV4, ETHERTYPE_IPV6 = 0x0800, 0x86DD
BSD_IPV4, BSD_IPV6 = {2}, {10, 24, 28, 30}  # AF_INET, AF_INET6 of Linux, NetBSD/OpenBSD, FreeBSD, macOS
TCP = 6
# The Ethernet destination a cut copy gets (locally administered, "\x02tpost"): tshark leaves such frames out
# of a part's output (CUT_FILTER), since no record needs them; TCP's bookkeeping does not read addresses of the
# link. A capture holding a frame to that address already is read with its cut copies in the output.
CUT_MARK = b"\x02tpost"
CUT_FILTER = "eth.dst == 02:74:70:6f:73:74"
SECTION_LENGTH = slice(16, 24)  # a Section Header Block's section length: unknown (-1) in a part
UNKNOWN_LENGTH = b"\xff" * 8


def owner(first: bytes, second: bytes, parts: int) -> int:
    """The part (0 .. parts-1) that owns the traffic between two IP addresses (packed), either way round."""
    low, high = sorted((first, second))
    return zlib.crc32(bytes([len(low)]) + low + high) % parts


def owns(src: str, dst: str, part: int, parts: int) -> bool:
    """Whether the part owns a connection between these addresses as tshark writes them; one that is not an IP
    address pair belongs to part 0."""
    try:
        packed = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    except ValueError:
        return part == 0
    return owner(*packed, parts) == part


def _network(link: int | None, data: bytes) -> int | None:
    """Where the IP header starts in a packet of this link type, None when it is not IP (or not known)."""
    if link == ETHERNET:
        at, kind = 12, None
        while at + 2 <= len(data):
            kind = int.from_bytes(data[at:at + 2], "big")
            if kind not in VLAN_TAGS:
                break
            at += 4
        return at + 2 if kind in (ETHERTYPE_IPV4, ETHERTYPE_IPV6) else None
    if link in (RAW, RAW_ALT, RAW_OPENBSD, IPV4_ONLY, IPV6_ONLY):
        return 0
    if link in (NULL, LOOP) and len(data) >= 4:
        family = {int.from_bytes(data[:4], "little"), int.from_bytes(data[:4], "big")}
        return 4 if family & (BSD_IPV4 | BSD_IPV6) else None
    if link == SLL and len(data) >= 16:
        return 16 if int.from_bytes(data[14:16], "big") in (ETHERTYPE_IPV4, ETHERTYPE_IPV6) else None
    if link == SLL2 and len(data) >= 20:
        return 20 if int.from_bytes(data[0:2], "big") in (ETHERTYPE_IPV4, ETHERTYPE_IPV6) else None
    return None


def headers(link: int | None, data: bytes) -> tuple[int, int] | None:
    """For a packet that may be cut (TCP directly over IP, see the module's docstring): the length of its
    headers (link, IP, TCP) and where its IP header starts; None for a packet that goes whole into every part."""
    at = _network(link, data)
    if at is None or at >= len(data):
        return None
    version = data[at] >> 4
    if version == 4 and len(data) >= at + 20:
        length = (data[at] & 0x0F) * 4
        fragment = int.from_bytes(data[at + 6:at + 8], "big") & 0x3FFF  # more-fragments flag, offset
        if length < 20 or fragment or data[at + 9] != TCP:
            return None
        transport = at + length
    elif version == 6 and len(data) >= at + 40:
        if data[at + 6] != TCP:
            return None
        transport = at + 40
    else:
        return None
    if len(data) < transport + 20:
        return None
    end = transport + (data[transport + 12] >> 4) * 4
    if end < transport + 20 or end > len(data):
        return None
    return end, at


def _addresses(data: bytes, at: int) -> tuple[bytes, bytes]:
    if data[at] >> 4 == 4:
        return data[at + 12:at + 16], data[at + 16:at + 20]
    return data[at + 8:at + 24], data[at + 24:at + 40]


def _cut(unit: Unit, length: int) -> bytes:
    """The packet with only its first `length` bytes captured (its original length kept); on Ethernet, sent to
    CUT_MARK."""
    raw, order = unit.raw, unit.order
    data = raw[unit.data_at:unit.data_at + length]
    if unit.link == ETHERNET:
        data = CUT_MARK + data[len(CUT_MARK):]
    if unit.data_at == EPB_HEADER:  # an Enhanced Packet Block, without its options in the cut copy
        padded = (length + 3) // 4 * 4
        total = EPB_HEADER + padded + 4
        head = struct.pack(order + "II", 6, total) + raw[8:20] + struct.pack(order + "I", length) + raw[24:28]
        return head + data + b"\0" * (padded - length) + struct.pack(order + "I", total)
    return raw[:8] + struct.pack(order + "I", length) + raw[12:16] + data


@dataclass(frozen=True)
class Written:
    """What write_parts read, and whether the cut copies can be told from every other frame (CUT_FILTER)."""

    read: int
    marked: bool


def write_parts(source: Path, parts: int, targets: dict[int, Path]) -> Written:
    """Write the parts named in targets (part number -> file) of the capture cut into `parts`, reading it once.

    Memory stays one packet (or one MiB of a damaged tail) whatever the size.
    """
    handles = {part: open(path, "wb") for part, path in targets.items()}  # noqa: SIM115 - closed below
    read, marked = 0, True
    try:
        with _opened(source) as stream:
            for unit in units(stream):
                read += len(unit.raw)
                if unit.kind == UNIT_PACKET:
                    data = unit.raw[unit.data_at:unit.data_at + unit.captured]
                    if unit.link == ETHERNET and data.startswith(CUT_MARK):
                        marked = False
                    found = headers(unit.link, data)
                    if found is not None:
                        mine = owner(*_addresses(data, found[1]), parts)
                        cut = _cut(unit, found[0])
                        for part, handle in handles.items():
                            handle.write(unit.raw if part == mine else cut)
                        continue
                raw = unit.raw
                if unit.kind == UNIT_HEAD and raw[:4] == PCAPNG_MAGIC and len(raw) >= SECTION_LENGTH.stop:
                    raw = raw[:SECTION_LENGTH.start] + UNKNOWN_LENGTH + raw[SECTION_LENGTH.stop:]
                assert unit.kind in (UNIT_HEAD, UNIT_PACKET, UNIT_WHOLE, UNIT_TAIL)
                for handle in handles.values():
                    handle.write(raw)
    finally:
        for handle in handles.values():
            handle.close()
    return Written(read, marked)
