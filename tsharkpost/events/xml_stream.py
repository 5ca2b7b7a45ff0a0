"""Event XML bytes -> one piece of bytes per top-level <Event> element, each parsed on its own.

wevtutil prints a bare sequence of <Event> elements, Event Viewer wraps them in <Events>; either way each event
carries its own namespace declaration and stands alone. Cutting the stream at the Event tags, instead of parsing it
as one document, is what lets a malformed event be reported and skipped while the next ones are still read, and
what bounds memory: a piece is held only up to MAX_EVENT_BYTES; a longer one is counted while it streams past.

The cut is made on tags alone: comments, CDATA sections and processing instructions are stepped over, so an
"<Event" inside them starts nothing. Text between events (the <Events> root, a declaration, stray text) is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# One event as Windows writes it is at most a few tens of KB (an .evtx record lives in a 64 KiB chunk); a piece
# this large is not an event any tool wrote, and is skipped whole.
MAX_EVENT_BYTES = 1 << 20
# An <Event start tag whose '>' has not come within this many bytes is no tag.
MAX_TAG_BYTES = 4096
_TAG = re.compile(rb"<(?:(/?)(?:[A-Za-z_][\w.-]{0,31}:)?Event(?=[\s/>])|(!--|!\[CDATA\[|\?))")
_SKIP_TO = {b"!--": b"-->", b"![CDATA[": b"]]>", b"?": b"?>"}
_TAIL = 48  # bytes kept at a chunk's end: an Event tag or a comment start cut in two by the chunk boundary


@dataclass(frozen=True)
class Piece:
    """One top-level <Event> of the stream.

    Attributes:
        line: where its start tag is (counted from 1).
        data: the element's bytes, None when it was longer than MAX_EVENT_BYTES (skipped).
        size: its length in bytes.
    """

    line: int
    data: bytes | None
    size: int


@dataclass(frozen=True)
class Unfinished:
    """The stream ended inside an <Event> that started on start_line; the last line is last_line."""

    start_line: int
    last_line: int


class EventSplitter:
    """Feed bytes, take the complete <Event> pieces; close() says whether the stream ended inside one."""

    def __init__(self, limit: int = MAX_EVENT_BYTES) -> None:
        self.limit = limit
        self.buffer = b""
        self.base = 0  # offset in the stream of buffer[0]
        self.position = 0  # where scanning goes on in buffer
        self.depth = 0  # nesting of Event elements
        self.start = 0  # stream offset of the open top-level event
        self.start_line = 0
        self.oversize = False
        self.skip_to: bytes | None = None  # inside a comment, CDATA section or processing instruction
        self.line_offset = 0  # a point in buffer, and the line number there
        self.line = 1

    def _line_at(self, offset: int) -> int:
        self.line += self.buffer.count(b"\n", self.line_offset, offset)
        self.line_offset = offset
        return self.line

    def feed(self, chunk: bytes) -> list[Piece]:
        self.buffer += chunk
        found: list[Piece] = []
        buffer = self.buffer
        while True:
            if self.skip_to is not None:
                end = buffer.find(self.skip_to, self.position)
                if end < 0:
                    self.position = max(self.position, len(buffer) - len(self.skip_to) + 1)
                    break
                self.position, self.skip_to = end + len(self.skip_to), None
                continue
            match = _TAG.search(buffer, self.position)
            if match is None:
                self.position = max(self.position, len(buffer) - _TAIL)
                break
            if match.group(2) is not None:
                self.skip_to, self.position = _SKIP_TO[match.group(2)], match.end()
                continue
            close = buffer.find(b">", match.end(), match.end() + MAX_TAG_BYTES)
            if close < 0:
                if len(buffer) - match.end() < MAX_TAG_BYTES:
                    self.position = match.start()  # the rest of the tag is still to come
                    break
                self.position = match.end()  # no tag after all
                continue
            self.position = close + 1
            if match.group(1):  # </Event>
                if self.depth == 0:
                    continue  # a stray end tag outside any event
                self.depth -= 1
                if self.depth == 0:
                    found.append(self._piece(close + 1))
            elif buffer[close - 1:close] == b"/":  # <Event .../>
                if self.depth == 0:
                    self._open(match.start())
                    found.append(self._piece(close + 1))
            else:
                if self.depth == 0:
                    self._open(match.start())
                self.depth += 1
        if self.depth and not self.oversize and self.base + len(buffer) - self.start > self.limit:
            self.oversize = True
        keep = self.start - self.base if self.depth and not self.oversize else self.position
        self._line_at(keep)
        self.buffer = buffer[keep:]
        self.base += keep
        self.position -= keep
        self.line_offset = 0
        return found

    def _open(self, offset: int) -> None:
        self.start, self.start_line, self.oversize = self.base + offset, self._line_at(offset), False

    def _piece(self, end: int) -> Piece:
        size = self.base + end - self.start
        if self.oversize or size > self.limit:
            return Piece(self.start_line, None, size)
        return Piece(self.start_line, self.buffer[self.start - self.base:end], size)

    def close(self) -> Unfinished | None:
        if self.depth == 0:
            return None
        return Unfinished(self.start_line, self._line_at(len(self.buffer)))


def split_events(chunks: Iterable[bytes], ended: list[Unfinished]) -> Iterator[Piece]:
    """The pieces of a stream of chunks; an unfinished last event is appended to ended."""
    splitter = EventSplitter()
    for chunk in chunks:
        yield from splitter.feed(chunk)
    unfinished = splitter.close()
    if unfinished is not None:
        ended.append(unfinished)
