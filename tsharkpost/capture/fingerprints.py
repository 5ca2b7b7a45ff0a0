"""Hello messages -> TLS fingerprints (JA3, JA3S, JA4): called by tracker.py on the first ClientHello and ServerHello.

JA3 and JA3S are Salesforce's (BSD-3): the MD5 of "version,ciphers,extensions,groups,point_formats"
(ServerHello: "version,cipher,extensions"), decimal codes, lists joined by "-", GREASE (RFC 8701) left out,
exactly the strings Suricata and Zeek's ja3 package print. JA4 follows FoxIO's public JA4 specification (BSD-3,
technical_details/JA4.md); JA4S and JA4X are under another licence and deliberately absent.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence

from tsharkpost.record.model import Fingerprints

EXTENSION_SERVER_NAME = 0
EXTENSION_ALPN = 16
EXTENSION_SUPPORTED_VERSIONS = 43
# JA4's two-character version, by wire code (SSL 2.0 and DTLS included, as the specification lists them).
JA4_VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0002: "s2",
                0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}
JA4_EMPTY_HASH = "000000000000"


def grease(code: int) -> bool:
    """RFC 8701 reserved values (0x0a0a, 0x1a1a, ... 0xfafa)."""
    return (code & 0x0F0F) == 0x0A0A and code >> 8 == code & 0xFF


def _plain(codes: Sequence[int]) -> list[int]:
    return [code for code in codes if not grease(code)]


def _dashed(codes: Sequence[int]) -> str:
    return "-".join(str(code) for code in _plain(codes))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("ascii"), usedforsecurity=False).hexdigest()


def ja3_string(version: int, ciphers: Sequence[int], extensions: Sequence[int], groups: Sequence[int],
               point_formats: Sequence[int]) -> str:
    """JA3's full string of a ClientHello (point formats are one byte each and never GREASE)."""
    return ",".join((str(version), _dashed(ciphers), _dashed(extensions), _dashed(groups),
                     "-".join(str(code) for code in point_formats)))


def ja3s_string(version: int, cipher: int, extensions: Sequence[int]) -> str:
    """JA3S's full string of a ServerHello."""
    return f"{version},{cipher},{_dashed(extensions)}"


def _hex4(codes: Sequence[int]) -> str:
    return ",".join(f"{code:04x}" for code in codes)


def _sha12(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:12]


def _alpn_chars(alpn: str | None) -> str:
    """First and last character of the first ALPN value; their hex digits when either is not alphanumeric."""
    if not alpn:
        return "00"
    first, last = alpn[0], alpn[-1]
    if first.isascii() and first.isalnum() and last.isascii() and last.isalnum():
        return first + last
    hexed = alpn.encode("utf-8").hex()
    return hexed[0] + hexed[-1]


def ja4(version: int, supported_versions: Sequence[int], ciphers: Sequence[int], extensions: Sequence[int],
        alpn: str | None, signature_algorithms: Sequence[int], transport: str = "t") -> str:
    """JA4 of a ClientHello: ja4_a _ cipher hash _ extension hash (specification: technical_details/JA4.md)."""
    offered = _plain(supported_versions)
    highest = max(offered) if offered else version
    suites, kinds = _plain(ciphers), _plain(extensions)
    part_a = (f"{transport}{JA4_VERSIONS.get(highest, '00')}{'d' if EXTENSION_SERVER_NAME in kinds else 'i'}"
              f"{min(len(suites), 99):02d}{min(len(kinds), 99):02d}{_alpn_chars(alpn)}")
    cipher_hash = _sha12(_hex4(sorted(suites))) if suites else JA4_EMPTY_HASH
    listed = _hex4(sorted(kind for kind in kinds if kind not in (EXTENSION_SERVER_NAME, EXTENSION_ALPN)))
    signatures = _plain(signature_algorithms)
    extension_text = f"{listed}_{_hex4(signatures)}" if signatures else listed
    extension_hash = _sha12(extension_text) if listed else JA4_EMPTY_HASH
    return f"{part_a}_{cipher_hash}_{extension_hash}"


def client(version: int, ciphers: Sequence[int], extensions: Sequence[int], groups: Sequence[int],
           point_formats: Sequence[int], supported_versions: Sequence[int], alpn: str | None,
           signature_algorithms: Sequence[int]) -> Fingerprints:
    """The ClientHello's part of a connection's fingerprints (JA3, its string, JA4)."""
    return _client(version, tuple(ciphers), tuple(extensions), tuple(groups), tuple(point_formats),
                   tuple(supported_versions), alpn, tuple(signature_algorithms))


# A client sends the same hello, but for its random, on every connection: each distinct one is hashed once.
CLIENT_HELLOS_KEPT = 1024


@functools.lru_cache(maxsize=CLIENT_HELLOS_KEPT)
def _client(version: int, ciphers: tuple[int, ...], extensions: tuple[int, ...], groups: tuple[int, ...],
            point_formats: tuple[int, ...], supported_versions: tuple[int, ...], alpn: str | None,
            signature_algorithms: tuple[int, ...]) -> Fingerprints:
    full = ja3_string(version, ciphers, extensions, groups, point_formats)
    return Fingerprints(ja3=_md5(full), ja3_full=full,
                        ja4=ja4(version, supported_versions, ciphers, extensions, alpn, signature_algorithms))


def server(version: int, cipher: int, extensions: Sequence[int]) -> tuple[str, str]:
    """The ServerHello's part: (JA3S, its string)."""
    full = ja3s_string(version, cipher, extensions)
    return _md5(full), full
