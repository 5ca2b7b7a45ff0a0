"""tshark's -T fields output (tshark.fields_argv) -> iterator of Packet, one line at a time, in constant memory.

Each line is one frame: the columns of fields.COLUMNS separated by tabs, a field's several values in a frame
joined by fields.AGGREGATOR. What is read is the plugin's (its bridge line, its TLS records line read by
wire.py, one line per certificate summary and per finding: lua/tpost/tpost_lines.lua), the frame's number and
time, and, for a frame without the plugin's line, the endpoints and the first line of a plaintext answer.

A line that does not have the columns, or a value of the wrong form, is a FieldsError naming the line, never a
crash; so is output that ends without a newline: tshark ends every line it writes, and a stream cut mid-line
must not pass for a whole one. That the output reached the capture's last frame is analyze.py's to check.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from typing import Protocol
from urllib.parse import unquote_to_bytes

from tsharkpost.capture import wire
from tsharkpost.capture.packet import Packet
from tsharkpost.errors import CaptureClockError, FieldsError
from tsharkpost.plugin import fields as F
from tsharkpost.plugin.tables import Severity
from tsharkpost.record.jsonform import END_TIME, FIRST_TIME
from tsharkpost.record.model import Certificate, Finding

COLUMNS = len(F.COLUMNS)
(_NUMBER, _TIME, _PACKET, _WIRE, _CERTS, _FINDINGS, _IP_SRC, _IP_DST, _IPV6_SRC, _IPV6_DST, _SRCPORT, _DSTPORT,
 _DATA, _RESPONSE_VERSION, _RESPONSE_CODE, _REQUEST_METHOD, _REQUEST_VERSION) = range(17)
READ_SIZE = 1 << 16
LINE_BYTES = 1 << 26  # a longer line is not tshark's (its longest, a frame's TLS records line, is bounded)
PLAINTEXT_SHOWN = 60  # characters of a plaintext answer's first line kept as evidence
SHOWN_IN_REASON = 40  # characters of a line that does not parse quoted in the reason


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _text(value: str) -> str:
    return unquote_to_bytes(value).decode("utf-8", "replace") if "%" in value else value


def _tokens(line: str, letters: dict[str, str]) -> dict[str, str]:
    """A certificate's or finding's line as {attribute: text}; the first of a letter counts, unknown ones not."""
    values: dict[str, str] = {}
    for token in line.split(" "):
        name = letters.get(token[:1])
        if name is not None and name not in values:
            values[name] = _text(token[1:])
    return values


def _flag(value: str | None) -> bool:
    return value in ("1", "True", "true")


def _certificate(line: str, frame: int) -> Certificate:
    return dataclasses.replace(_certificate_read(line), frame=frame)


# A server's chain comes again, as the same lines, on every connection to it: each distinct line is read once
# (the last CERTIFICATE_LINES_KEPT of them), and each of its frames gets a copy.
CERTIFICATE_LINES_KEPT = 1024


@functools.lru_cache(maxsize=CERTIFICATE_LINES_KEPT)
def _certificate_read(line: str) -> Certificate:
    values = _tokens(line, F.CERT_TOKENS)
    text = values.get
    bits, path_len, usage = text("key_bits", ""), text("path_len", ""), text("key_usage")
    return Certificate(
        index=int(text("index", "0") or 0), sender=text("sender", "server"), subject=text("subject", ""),
        subject_cn=text("subject_cn", ""), issuer=text("issuer", ""), serial=text("serial", ""),
        sigalg_oid=text("sigalg_oid", ""), sigalg_name=text("sigalg_name", ""), key_type=text("key_type", ""),
        key_bits=int(bits) if bits.isdigit() else None, key_curve=text("key_curve", ""),
        not_before=text("not_before", ""), not_after=text("not_after", ""),
        san=tuple(name for name in text("san", "").split(",") if name), sha256=text("sha256", ""),
        self_signed=_flag(text("self_signed", "0")), frame=0, sha1=text("sha1", ""),
        ca=_flag(values["ca"]) if "ca" in values else None, path_len=int(path_len) if path_len.isdigit() else None,
        key_usage=tuple(name for name in usage.split(",") if name) if usage is not None else None,
        key_alg=text("key_alg", ""))


def _finding(line: str, frame: int) -> Finding:
    values = _tokens(line, F.FINDING_TOKENS)
    index = values.get("cert_index")
    return Finding(check=values.get("check", ""), severity=Severity.of(int(values.get("severity") or 0)),
                   message=values.get("message", ""), frame=frame,
                   cert_index=int(index) if index is not None else None)


def _bridge(packet: Packet, line: str) -> None:
    """Read the plugin's tpost.pkt line (see fields.PACKET)."""
    parts = line.split()
    if len(parts) != 10:
        return
    stream, src, srcport, dst, dstport, flags, app_src, app_dst, last_frame, last_time = parts
    transport = F.UDP_TRANSPORTS.get(stream[:1])
    if transport is not None:
        stream = stream[1:]
        packet.transport = transport
        flags, _, versions = flags.partition("/")
        letters, _, code = flags.partition(":")
        packet.one_rtt, packet.handshake_done = "o" in letters, "h" in letters
        packet.handshake_undecrypted = "e" in letters
        packet.retry, packet.version_negotiation = "r" in letters, "n" in letters
        packet.application_close = "a" in letters
        packet.close_code = int(code) if code else -1 if "x" in letters else None
        packet.quic_versions = tuple(int(version) for version in versions.split(",") if version.isdigit())
        packet.opened_by_peer = "^" in letters
    else:
        packet.syn, packet.ack, packet.fin, packet.rst = ("S" in flags, "A" in flags, "F" in flags, "R" in flags)
    packet.stream, packet.src, packet.srcport, packet.dst, packet.dstport = (
        int(stream), src, int(srcport), dst, int(dstport))
    packet.app_src, packet.app_dst = int(app_src), int(app_dst)
    packet.last_data_frame, packet.last_data_time = int(last_frame), float(last_time)


def _first(column: str) -> str:
    return column.split(F.AGGREGATOR, 1)[0]


def _last(column: str) -> str:
    return column.rsplit(F.AGGREGATOR, 1)[-1]


def _first_line(text: str) -> str:
    line = text.replace("\\r\\n", "\n").split("\n", 1)[0].strip()  # as when tshark wrote CRLF as text
    return "".join(char if char.isprintable() else "?" for char in line)[:PLAINTEXT_SHOWN]


def _plaintext(columns: list[str]) -> str | None:
    """The first line of an HTTP message, else of undissected data; None when the frame holds neither.

    tshark has no field for an HTTP message's first line: it is put together from its parts, as sent when they
    are separated by single spaces. Only the last column may hold a tab (the reader joins what follows the
    fixed columns), so a tab in a request's URI moves the response phrase, which is then empty.
    """
    rest = columns[_REQUEST_VERSION + 1:]
    uri, phrase = (rest[0], "\t".join(rest[1:])) if len(rest) > 1 else ("", "\t".join(rest))
    if columns[_REQUEST_METHOD]:
        uri = "\t".join(rest[:-1]) if len(rest) > 2 else uri
        parts = [_first(columns[_REQUEST_METHOD]), _first(uri), _first(columns[_REQUEST_VERSION])]
        return _first_line(" ".join(parts))
    if columns[_RESPONSE_VERSION]:
        parts = [_first(columns[_RESPONSE_VERSION]), _first(columns[_RESPONSE_CODE]), _first(phrase)]
        return _first_line(" ".join(parts))
    if columns[_DATA]:
        raw = bytes.fromhex(_first(columns[_DATA])[:2 * PLAINTEXT_SHOWN])
        return _first_line(raw.decode("latin-1"))
    return None


def _endpoints(packet: Packet, columns: list[str]) -> None:
    """Addresses and ports from tshark's IP and TCP fields, for a packet without the plugin's line (the innermost
    of tunnelled ones, IPv6 before IPv4 when a frame has both)."""
    for src, dst in ((_IPV6_SRC, _IPV6_DST), (_IP_SRC, _IP_DST)):
        if columns[src] and columns[dst]:
            packet.src, packet.dst = _last(columns[src]), _last(columns[dst])
            break
    if columns[_SRCPORT] and columns[_DSTPORT]:
        packet.srcport, packet.dstport = int(_last(columns[_SRCPORT])), int(_last(columns[_DSTPORT]))


def _packet(line: str) -> Packet:
    columns = line.split("\t")
    if len(columns) < COLUMNS:
        raise FieldsError(f"{len(columns)} column{'s' if len(columns) != 1 else ''} instead of {COLUMNS}")
    packet = Packet(number=int(columns[_NUMBER]), time=float(columns[_TIME]))
    # A time no record can be written with: the capture's clock is damaged (a damaged timestamp resolution
    # multiplies every time), which is the input's fault, not a bug.
    if not FIRST_TIME <= packet.time < END_TIME:
        raise CaptureClockError(f"damaged clock: frame {packet.number}'s time ({columns[_TIME][:40]} s since 1970) "
                                "is outside the years 1 to 9999")
    if columns[_PACKET]:
        _bridge(packet, _last(columns[_PACKET]))
    if columns[_WIRE]:
        for value in columns[_WIRE].split(F.AGGREGATOR):
            packet.records.extend(wire.records(value))
    if columns[_CERTS]:
        packet.certificates = [_certificate(value, packet.number) for value in columns[_CERTS].split(F.AGGREGATOR)]
    if columns[_FINDINGS]:
        packet.findings = [_finding(value, packet.number) for value in columns[_FINDINGS].split(F.AGGREGATOR)]
    packet.plaintext = _plaintext(columns)
    if packet.plaintext is not None and packet.stream is None:
        _endpoints(packet, columns)
    return packet


def _lines(stream: Readable) -> Iterator[tuple[int, bytes]]:
    """The stream's lines (without their newline), numbered from 1, as they arrive; FieldsError when it is empty,
    when a line has no end (the stream was cut), or when a line is longer than LINE_BYTES."""
    pending = b""
    number = 0
    seen = False
    while True:
        data = stream.read(READ_SIZE)
        if not data:
            break
        seen = True
        pending += data
        start = 0
        while True:
            end = pending.find(b"\n", start)
            if end < 0:
                break
            number += 1
            yield number, pending[start:end]
            start = end + 1
        pending = pending[start:]
        if len(pending) > LINE_BYTES:
            raise FieldsError(f"tshark output line {number + 1} is longer than {LINE_BYTES} bytes")
    if not seen:
        raise FieldsError("tshark output is empty")
    if pending:
        raise FieldsError(f"tshark output ended early (line {number + 1} is cut)")


def packets(stream: Readable) -> Iterator[Packet]:
    """Read tshark's fields output as it arrives, one Packet per line.

    CaptureClockError (a FieldsError) when a frame's time is outside the years 1 to 9999; FieldsError when a
    line does not have summarize's columns or holds a value of the wrong form, and when the
    output is empty or its last line has no end.
    """
    for number, raw in _lines(stream):
        line = raw.decode("utf-8", "replace")
        try:
            packet = _packet(line)
        except CaptureClockError:
            raise  # the capture's fault, said as it is
        except (FieldsError, ValueError) as error:
            shown = "".join(char if char.isprintable() else "?" for char in line[:SHOWN_IN_REASON])
            raise FieldsError(f"tshark output is not summarize's fields: line {number} ({shown!r}): "
                              f"{error}") from None
        yield packet
