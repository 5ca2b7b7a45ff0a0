"""Just enough DER (X.690) to write certificates and read RSA keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

SEQUENCE, SET = 0x30, 0x31
INTEGER, BIT_STRING, OCTET_STRING, NULL, OID = 0x02, 0x03, 0x04, 0x05, 0x06
UTF8_STRING, PRINTABLE_STRING, IA5_STRING = 0x0C, 0x13, 0x16
UTC_TIME, GENERALIZED_TIME, BOOLEAN = 0x17, 0x18, 0x01


def tlv(tag: int, content: bytes) -> bytes:
    """One tag-length-value, with the definite length form DER requires."""
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def sequence(*items: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(items))


def set_of(*items: bytes) -> bytes:
    return tlv(SET, b"".join(sorted(items)))  # DER orders SET OF by encoding


def integer(value: int) -> bytes:
    size = value.bit_length() // 8 + 1  # one spare bit keeps positive numbers positive
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def boolean(value: bool) -> bytes:
    return tlv(BOOLEAN, b"\xff" if value else b"\x00")


def null() -> bytes:
    return tlv(NULL, b"")


def octet_string(data: bytes) -> bytes:
    return tlv(OCTET_STRING, data)


def bit_string(data: bytes) -> bytes:
    return tlv(BIT_STRING, b"\x00" + data)  # no unused bits


def oid(dotted: str) -> bytes:
    arcs = [int(arc) for arc in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(OID, bytes(body))


def time(moment: dt.datetime) -> bytes:
    """UTCTime up to 2049, GeneralizedTime after, as RFC 5280 section 4.1.2.5 demands."""
    moment = moment.astimezone(dt.timezone.utc)
    if moment.year < 2050:
        return tlv(UTC_TIME, moment.strftime("%y%m%d%H%M%SZ").encode())
    return tlv(GENERALIZED_TIME, moment.strftime("%Y%m%d%H%M%SZ").encode())


def explicit(number: int, content: bytes) -> bytes:
    """A constructed context-specific tag around content ([n] EXPLICIT)."""
    return tlv(0xA0 | number, content)


def implicit(number: int, content: bytes) -> bytes:
    """A primitive context-specific tag ([n] IMPLICIT of a primitive type)."""
    return tlv(0x80 | number, content)


def read(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """The (tag, content, next offset) of the element at offset."""
    tag = data[offset]
    length = data[offset + 1]
    offset += 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(data[offset:offset + size], "big")
        offset += size
    return tag, data[offset:offset + length], offset + length


def children(content: bytes) -> Iterator[tuple[int, bytes]]:
    """The (tag, content) of each element inside a constructed content."""
    offset = 0
    while offset < len(content):
        tag, body, offset = read(content, offset)
        yield tag, body
