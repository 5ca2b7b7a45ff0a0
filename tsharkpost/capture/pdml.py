"""PDML bytes -> iterator of Packet, in constant memory (lxml iterparse, each packet freed once read).

What is read is the plugin's tree (tpost: its bridge line, its TLS records line read by wire.py, certificate
summaries and findings), the frame's number and time, and the first line of a plaintext answer; tshark writes no
TLS or X.509 tree (fields.PDML_NODES).

tshark does not promise valid XML (a server name may hold control characters),
so the parser runs in recover mode: an invalid character becomes U+FFFD, never
fatal, and a stream cut mid-packet still yields the packets before the cut, then fails: only a whole
document, closed by </pdml>, counts as tshark's complete answer. Only the nodes listed in fields.py are read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

from lxml import etree

from tsharkpost.capture import wire
from tsharkpost.capture.packet import Handshake, Packet, Record
from tsharkpost.errors import PdmlError
from tsharkpost.plugin import fields as F
from tsharkpost.plugin.tables import Severity
from tsharkpost.record.model import Certificate, Finding

# Packet, Record and Handshake live in packet.py (wire.py builds them too); read from here as before.
__all__ = ["Handshake", "Packet", "Readable", "Record", "packets"]


def _show(element: etree._Element, name: str) -> str | None:
    for child in element:
        if child.get("name") == name:
            return child.get("show")
    return None


def _flag(value: str | None) -> bool:
    return value in ("1", "True", "true")


def _certificate(element: etree._Element, frame: int) -> Certificate:
    values: dict[str, str] = {}
    for child in element:
        attribute = F.CERT_FIELDS.get(child.get("name", ""))
        if attribute:
            values[attribute] = child.get("show", "")
    text = values.get
    bits, path_len, usage = text("key_bits", ""), text("path_len", ""), text("key_usage")
    return Certificate(
        index=int(text("index", "0") or 0), sender=text("sender", "server"), subject=text("subject", ""),
        subject_cn=text("subject_cn", ""), issuer=text("issuer", ""), serial=text("serial", ""),
        sigalg_oid=text("sigalg_oid", ""), sigalg_name=text("sigalg_name", ""), key_type=text("key_type", ""),
        key_bits=int(bits) if bits.isdigit() else None, key_curve=text("key_curve", ""),
        not_before=text("not_before", ""), not_after=text("not_after", ""),
        san=tuple(name for name in text("san", "").split(",") if name), sha256=text("sha256", ""),
        self_signed=_flag(text("self_signed", "0")), frame=frame, sha1=text("sha1", ""),
        ca=_flag(values["ca"]) if "ca" in values else None, path_len=int(path_len) if path_len.isdigit() else None,
        key_usage=tuple(name for name in usage.split(",") if name) if usage is not None else None,
        key_alg=text("key_alg", ""))


def _finding(element: etree._Element, frame: int) -> Finding:
    index = _show(element, F.FINDING_CERT_INDEX)
    return Finding(check=_show(element, F.FINDING_CHECK) or "",
                   severity=Severity.of(int(_show(element, F.FINDING_SEVERITY) or 0)),
                   message=_show(element, F.FINDING_MESSAGE) or "", frame=frame,
                   cert_index=int(index) if index is not None else None)


def _bridge(packet: Packet, line: str) -> None:
    """Read the plugin's tpost.pkt line (see fields.PACKET)."""
    parts = line.split()
    if len(parts) != 10:
        return
    stream, src, srcport, dst, dstport, flags, app_src, app_dst, last_frame, last_time = parts
    packet.stream, packet.src, packet.srcport, packet.dst, packet.dstport = (
        int(stream), src, int(srcport), dst, int(dstport))
    packet.syn, packet.ack, packet.fin, packet.rst = ("S" in flags, "A" in flags, "F" in flags, "R" in flags)
    packet.app_src, packet.app_dst = int(app_src), int(app_dst)
    packet.last_data_frame, packet.last_data_time = int(last_frame), float(last_time)


_ADDRESSES = re.compile(r"Src: (\S+), Dst: (\S+)$")
_PORTS = re.compile(r"Src Port: (\d+), Dst Port: (\d+)")
PLAINTEXT_SHOWN = 60  # characters of a plaintext answer's first line kept as evidence


def _first_line(text: str) -> str:
    line = text.replace("\\r\\n", "\n").split("\n", 1)[0].strip()  # tshark writes an HTTP line's CRLF as text
    return "".join(char if char.isprintable() else "?" for char in line)[:PLAINTEXT_SHOWN]


def _plaintext(proto: etree._Element, name: str | None) -> str | None:
    """The first line of an HTTP response or of undissected data; None when the element is neither."""
    if name == "http":
        first = next(iter(proto), None)
        return _first_line(first.get("show", "")) if first is not None and first.get("name") == "" else None
    for child in proto:
        if child.get("name") == "data":
            raw = bytes.fromhex(child.get("value", "")[:2 * PLAINTEXT_SHOWN])
            return _first_line(raw.decode("latin-1"))
    return None


def _endpoints(packet: Packet, element: etree._Element) -> None:
    """Addresses and ports from the IP and TCP shownames, for a packet without the plugin's line."""
    for proto in element:
        shown = proto.get("showname") or ""
        if proto.get("name") in ("ip", "ipv6"):
            found = _ADDRESSES.search(shown)
            if found:
                packet.src, packet.dst = found.groups()
        elif proto.get("name") == "tcp":
            ports = _PORTS.search(shown)
            if ports:
                packet.srcport, packet.dstport = int(ports.group(1)), int(ports.group(2))


def _packet(element: etree._Element) -> Packet:
    packet = Packet(number=0, time=0.0)
    for proto in element:
        name = proto.get("name")
        if name in ("http", "fake-field-wrapper") and packet.plaintext is None:
            packet.plaintext = _plaintext(proto, name)
        if name == "geninfo":
            for child in proto:
                if child.get("name") == "num":
                    packet.number = int(child.get("show", "0"))
                elif child.get("name") == "timestamp":
                    packet.time = float(child.get("value", "0"))
        elif name == "tpost":
            for child in proto:
                if child.get("name") == F.CERT:
                    packet.certificates.append(_certificate(child, packet.number))
                elif child.get("name") == F.FINDING:
                    packet.findings.append(_finding(child, packet.number))
                elif child.get("name") == F.PACKET:
                    _bridge(packet, child.get("show", ""))
                elif child.get("name") == F.WIRE:
                    packet.records.extend(wire.records(child.get("show", "")))
    if packet.plaintext is not None and packet.stream is None:
        _endpoints(packet, element)
    return packet


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Tail:
    """The stream as lxml reads it, keeping how much came and its last bytes (where </pdml> must be)."""

    KEPT = 64

    def __init__(self, stream: Readable) -> None:
        self.stream, self.size, self.tail = stream, 0, b""

    def read(self, size: int = -1, /) -> bytes:
        data = self.stream.read(size)
        if data:
            self.size += len(data)
            self.tail = data[-self.KEPT:] if len(data) >= self.KEPT else (self.tail + data)[-self.KEPT:]
        return data


def packets(stream: Readable) -> Iterator[Packet]:
    """Parse a PDML byte stream as it arrives; each packet's elements are freed once it is read.

    PdmlError when the stream cannot be read as PDML, or a value in it has the wrong form; and, once it
    ends, unless it was one whole <pdml> document: recover mode accepts a document cut anywhere, and a
    tshark that stopped half-way must not pass for one that had nothing more to say.
    """
    source = _Tail(stream)
    parser = etree.iterparse(source, events=("end",), tag="packet", recover=True, huge_tree=True,
                             resolve_entities=False, no_network=True)
    while True:
        try:
            _, element = next(parser)
            packet = _packet(element)
        except StopIteration:
            break
        except etree.LxmlError as error:
            raise PdmlError("tshark output is empty" if source.size == 0 else str(error)) from None
        except ValueError as error:  # a number field that holds no number
            raise PdmlError(f"unexpected value in packet: {error}") from None
        yield packet
        element.clear(keep_tail=False)
        parent = element.getparent()
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]
    root = getattr(parser, "root", None)
    if root is None or root.tag != "pdml":
        raise PdmlError("tshark output is not PDML")
    if not source.tail.rstrip().endswith(b"</pdml>"):
        raise PdmlError("tshark output ended early (no closing </pdml>)")
