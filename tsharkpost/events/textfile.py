"""Event log bytes -> text: the encoding (UTF-8, UTF-16 with or without a BOM) and lines of bounded length.

Shared by the readers of the text forms (events/readers.py): JSON lines, Event Viewer CSV/TXT and "Copy details as
text" read Line by Line, the XML reader reads UTF-8 chunks. Nothing here holds more than one line or chunk.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

CHUNK = 1 << 16
# PowerShell's Out-File and some editors write UTF-16 without a byte order mark; text that is mostly ASCII then
# has a NUL in every other byte. This share of the odd (LE) or even (BE) bytes of the first 512 must be NUL, and
# hardly any of the others: UTF-8 text has no NUL at all, and no event log form starts with binary data.
UTF16_NUL_SHARE = 0.75


def encoding(head: bytes) -> str:
    """The codec that reads a file starting with head: a BOM decides, else NULs in alternate bytes, else UTF-8."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    even, odd = head[0::2], head[1::2]
    if len(odd) >= 2:
        if odd.count(0) >= UTF16_NUL_SHARE * len(odd) and even.count(0) <= (1 - UTF16_NUL_SHARE) * len(even):
            return "utf-16-le"
        if even.count(0) >= UTF16_NUL_SHARE * len(even) and odd.count(0) <= (1 - UTF16_NUL_SHARE) * len(odd):
            return "utf-16-be"
    return "utf-8-sig"


def decode_head(head: bytes) -> str:
    return head.decode(encoding(head), "replace") if head else ""


def is_utf16(name: str) -> bool:
    return name.startswith("utf-16")


@dataclass(frozen=True)
class Line:
    """One line of a text log, its newline kept.

    Attributes:
        number: counted from 1.
        text: the line; when cut, only its first `limit` characters (bytes for UTF-8).
        length: the whole line's length, also when cut.
        cut: the line was longer than the reader's limit: the rest was read and dropped.
        replaced: bytes that are not valid UTF-8 were replaced by U+FFFD.
        quotes_dropped: double quotes in the dropped rest (the CSV reader follows quoting past the cut by them).
    """

    number: int
    text: str
    length: int
    cut: bool = False
    replaced: bool = False
    quotes_dropped: int = 0


def lines(path: Path, limit: int) -> Iterator[Line]:
    """The file's lines, split at LF, each held up to limit characters whatever the real line's length."""
    with path.open("rb") as handle:
        head = handle.read(512)
        handle.seek(0)
        name = encoding(head)
        if is_utf16(name):
            yield from _text_lines(io.TextIOWrapper(handle, encoding=name, errors="replace", newline="\n"), limit)
        else:
            yield from _utf8_lines(handle, limit)


def _utf8_lines(handle: IO[bytes], limit: int) -> Iterator[Line]:
    for number, piece in enumerate(iter(lambda: handle.readline(limit), b""), start=1):
        length, cut, quotes = len(piece), len(piece) >= limit and not piece.endswith(b"\n"), 0
        while cut:  # the rest of the line is counted, not kept
            rest = handle.readline(CHUNK)
            length, quotes = length + len(rest), quotes + rest.count(b'"')
            if not rest or rest.endswith(b"\n"):
                break
        if number == 1:
            piece = piece.removeprefix(codecs.BOM_UTF8)
        try:
            yield Line(number, piece.decode("utf-8"), length, cut, quotes_dropped=quotes)
        except UnicodeDecodeError:  # a cut line may end inside a character: not damage
            yield Line(number, piece.decode("utf-8", "replace"), length, cut, not cut, quotes)


def _text_lines(text: IO[str], limit: int) -> Iterator[Line]:
    for number, piece in enumerate(iter(lambda: text.readline(limit), ""), start=1):
        length, cut, quotes = len(piece), len(piece) >= limit and not piece.endswith("\n"), 0
        while cut:
            rest = text.readline(CHUNK)
            length, quotes = length + len(rest), quotes + rest.count('"')
            if not rest or rest.endswith("\n"):
                break
        yield Line(number, piece, length, cut, "\ufffd" in piece, quotes)


def utf8_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    """The file as UTF-8 chunks (UTF-16 re-encoded; what does not decode becomes U+FFFD)."""
    head = handle.read(512)
    handle.seek(0)
    name = encoding(head)
    if is_utf16(name):
        text = io.TextIOWrapper(handle, encoding=name, errors="replace")
        for piece in iter(lambda: text.read(CHUNK), ""):
            yield piece.encode("utf-8")
        return
    first = handle.read(CHUNK)
    yield first.removeprefix(codecs.BOM_UTF8)
    yield from iter(lambda: handle.read(CHUNK), b"")
