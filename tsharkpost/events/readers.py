"""Event log file -> iterator of Event, whatever its form; one reader per form, chosen by the file's content.

Forms: evtx, xml, jsonl (evtx_dump: events/json_lines.py), csv/txt (Event Viewer "Save as":
events/table_export.py), details (Event Viewer "Copy details as text", read through its embedded Event Xml).

Every reader streams in bounded memory: .evtx through the Rust-backed evtx parser (record by record), XML cut
into one piece per <Event> (events/xml_stream.py), the text forms line by line (events/textfile.py); each line,
row, record and event is held only up to a size limit. A damaged part is reported in the LogResult and skipped, and
reading goes on; a fatal problem ends that file with a reason, keeping the events read before it. Every event
leaves with its text within the caps of events/model.py.
"""

from __future__ import annotations

import re
import stat
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from tsharkpost.errors import EventLogError
from tsharkpost.events import textfile
from tsharkpost.events.json_lines import read_json_lines
from tsharkpost.events.model import FIELD_CAP, MAX_FIELDS, RAW_CAP, Event, LogResult, bounded
from tsharkpost.events.table_export import CSV_HEADER, MAX_ROW_CHARS, read_table
from tsharkpost.events.xml_event import SAFE_PARSER, event_from_element, event_from_xml
from tsharkpost.events.xml_stream import MAX_EVENT_BYTES, Unfinished, split_events

EVTX_MAGIC = b"ElfFile\x00"
# EVTX layout: a 4096-byte file header (header size 128 at offset 32, block size 4096 at offset 40, chunk count at
# offset 42), then chunks of 64 KiB.
EVTX_HEADER_BLOCK, EVTX_HEADER_SIZE, EVTX_CHUNK = 4096, 128, 65536
# The evtx iterator raises once per damaged chunk and then goes on; a file that only raises is not an event log.
MAX_DAMAGED_PARTS = 1000
# A JSON line and the Event Xml of one "Copy details as text" event are held at most as long as one XML event.
MAX_RECORD_CHARS = MAX_EVENT_BYTES
_POSITION = re.compile(r", line \d+, column \d+$")


def _sniff(head: bytes) -> str | None:
    if head.startswith(EVTX_MAGIC):
        return "evtx"
    text = textfile.decode_head(head).lstrip()
    if text.startswith("<"):
        return "xml"
    if text.startswith("{"):
        return "jsonl"
    if text.startswith("Log Name:"):
        return "details"
    first = text.splitlines()[0].lower() if text else ""
    for delimiter, form in ((",", "csv"), ("\t", "txt")):
        if tuple(cell.strip() for cell in first.split(delimiter)[:4]) == CSV_HEADER:
            return form
    return None


def read_log(path: Path, result: LogResult, tz: ZoneInfo | None = None) -> Iterator[Event]:
    """The events of one log file in file order; what went wrong goes into result, never raised."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            result.reason = "a directory, not an event log"
            return
        if not stat.S_ISREG(mode):   # a FIFO would block the batch, and the readers open the file twice
            result.reason = "not a regular file"
            return
        with path.open("rb") as handle:
            head = handle.read(512)
    except FileNotFoundError:
        result.reason = "no such file"
        return
    except IsADirectoryError:
        result.reason = "a directory, not an event log"
        return
    except OSError as error:
        result.reason = f"cannot read it: {error.strerror or error}"
        return
    if not head:
        result.reason = "empty file"
        return
    form = _sniff(head)
    if form is None:
        result.reason = ("not an event log this tool reads (expected .evtx, event XML, evtx_dump JSON lines, "
                         "an Event Viewer CSV/TXT export or its \"Copy details as text\")")
        return
    result.form = form
    name = path.name
    readers: dict[str, Callable[[], Iterator[Event]]] = {
        "evtx": lambda: _read_evtx(path, result),
        "xml": lambda: _read_xml(path, result),
        "jsonl": lambda: read_json_lines(textfile.lines(path, MAX_RECORD_CHARS), name, result),
        "details": lambda: _read_details(path, result),
        "csv": lambda: read_table(textfile.lines(path, MAX_ROW_CHARS), name, result, ",", tz),
        "txt": lambda: read_table(textfile.lines(path, MAX_ROW_CHARS), name, result, "\t", tz)}
    try:
        for event in readers[form]():
            event, cut = bounded(event)
            result.events += 1
            result.cut += cut
            yield event
    except EventLogError as error:
        result.reason = str(error)
    except OSError as error:
        result.reason = f"cannot read it: {error.strerror or error}"
    finally:
        if result.cut:
            result.notes.append(f"{result.cut:,} event(s) carry more text than an event keeps (a value over "
                                f"{FIELD_CAP:,} characters, over {MAX_FIELDS} fields or a record over "
                                f"{RAW_CAP:,} characters): cut where the cap was hit and marked [cut: N characters]")


def _evtx_layout(path: Path) -> list[str]:
    """What the file header and size say is wrong: the parser itself stops quietly at a cut-off chunk."""
    with path.open("rb") as handle:
        head = handle.read(EVTX_HEADER_SIZE)
    size = path.stat().st_size
    if len(head) < EVTX_HEADER_SIZE:
        return [f"truncated: {size} bytes, shorter than the file header"]
    header_size, block, chunks = struct.unpack_from("<I4xHH", head, 32)
    if header_size != EVTX_HEADER_SIZE or block != EVTX_HEADER_BLOCK:
        return ["damaged file header (unexpected header or block size)"]
    expected = EVTX_HEADER_BLOCK + EVTX_CHUNK * chunks
    if size < expected or (size - EVTX_HEADER_BLOCK) % EVTX_CHUNK:
        return [f"truncated: the file ends inside chunk {(size - EVTX_HEADER_BLOCK) // EVTX_CHUNK + 1} (its header "
                f"announces {chunks} chunks, {expected} bytes; the file has {size}); records after the cut are lost"]
    return []


def _scan_chunks(path: Path) -> tuple[int, list[int]]:
    """One pass over the chunks: how many carry no checksums (their header and records CRC32 fields both zero:
    written without them), and which (numbered from 0, as the parser numbers them) are zero bytes throughout though
    a later chunk is in use. The parser takes such a chunk for an unused one and skips it without a word (unused
    chunks are the file's last), where the records it held are lost."""
    unchecked, zeroed, last_used, number = 0, [], -1, -1
    with path.open("rb") as handle:
        handle.seek(EVTX_HEADER_BLOCK)
        while True:
            chunk = handle.read(EVTX_CHUNK)
            if len(chunk) < 128:
                break
            number += 1
            if chunk.startswith(b"ElfChnk\x00"):
                last_used = number
                if chunk[52:56] == chunk[124:128] == b"\x00" * 4:
                    unchecked += 1
            elif not chunk.strip(b"\x00"):
                zeroed.append(number)
    return unchecked, [chunk for chunk in zeroed if chunk < last_used]


def _read_evtx(path: Path, result: LogResult) -> Iterator[Event]:
    from evtx import PyEvtxParser  # imported here: only .evtx inputs need the native module

    layout = _evtx_layout(path)
    for problem in layout:
        result.add_problem(problem)
    unchecked, zeroed = _scan_chunks(path)
    for number in zeroed:
        result.add_problem(f"damaged part skipped: chunk number {number} is zero bytes throughout, though a later "
                           "chunk is in use: nothing in it could be read")
    if unchecked:
        result.notes.append(f"{unchecked} chunk(s) carry no CRC32 checksums: their records cannot be verified "
                            "(read as they are)")

    try:
        parser = PyEvtxParser(str(path))
    except (RuntimeError, OSError, ValueError) as error:
        raise EventLogError(f"not a readable EVTX file ({_short(error)})") from None
    records = parser.records()
    number = damaged = 0
    while True:
        record: Any
        try:
            record = next(records)
        except StopIteration:
            if number == 0 and (layout or zeroed or damaged):
                raise EventLogError("no readable record: " + "; ".join(result.problems)) from None
            return
        except RuntimeError as error:  # a damaged chunk: the parser reports it and goes on with the next one
            record = error
        if isinstance(record, Exception):
            damaged += 1
            result.add_problem(f"damaged part skipped: {_short(record)}")
            if damaged >= MAX_DAMAGED_PARTS:
                raise EventLogError(f"gave up after {damaged} damaged parts")
            continue
        number += 1
        data: dict[str, Any] = dict(record)
        source = f"{path.name}#{data.get('event_record_id', number)}"
        try:
            header_time = str(data.get("timestamp", "")).removesuffix(" UTC")
            yield event_from_xml(str(data["data"]).encode("utf-8"), source, header_time)
        except EventLogError as error:
            result.add_problem(str(error))


def _short(error: BaseException | str) -> str:
    return " ".join(str(error).split())[:200]


def _read_xml(path: Path, result: LogResult) -> Iterator[Event]:
    """wevtutil's bare <Event> sequence, or <Events>...</Events> from Event Viewer / wevtutil /e:Events."""
    ended: list[Unfinished] = []
    number = read = 0
    with path.open("rb") as handle:
        for piece in split_events(textfile.utf8_chunks(handle), ended):
            number += 1
            where = f"event {number} (line {piece.line})"
            if piece.data is None:
                result.add_problem(f"{where}: {piece.size:,} bytes, over the {MAX_EVENT_BYTES:,} one event may "
                                   "have: skipped")
                continue
            try:
                element = etree.fromstring(piece.data, SAFE_PARSER)
            except etree.XMLSyntaxError as error:
                line = piece.line + error.position[0] - 1 if error.position else piece.line
                message = _POSITION.sub("", _short(error.msg))  # lxml's position is within the piece
                result.add_problem(f"{where}: malformed XML at line {line} ({message}), skipped")
                continue
            try:
                event = event_from_element(element, f"{path.name}#{number}",
                                           etree.tostring(element, encoding="unicode"))
            except EventLogError as error:
                result.add_problem(str(error))
                continue
            read += 1
            yield event
    if ended:
        raise EventLogError(f"malformed or truncated XML at line {ended[0].last_line} after {read} events (the "
                            f"file ends inside the <Event> that starts on line {ended[0].start_line})")
    if number == 0:
        raise EventLogError("XML without any <Event> element")


def _read_details(path: Path, result: LogResult) -> Iterator[Event]:
    """Event Viewer's "Copy details as text" (forum pastes): the embedded "Event Xml:" part is read, in UTC.

    The "Date:" line is local time without an offset and the description is rendered text: neither is used.
    """
    number, has_xml = 0, True
    block: list[str] | None = None
    size = 0
    for line in textfile.lines(path, MAX_RECORD_CHARS):
        text = line.text
        if text.startswith("Log Name:"):
            if not has_xml:
                result.add_problem(f"event {number}: no Event Xml section (only rendered text), skipped")
            number, block, has_xml = number + 1, None, False
        elif text.startswith("Event Xml:"):
            block, has_xml, size = [], True, 0
        elif block is not None:
            size += line.length
            if size > MAX_RECORD_CHARS:
                result.add_problem(f"event {number} (line {line.number}): its Event Xml is longer than "
                                   f"{MAX_RECORD_CHARS:,} characters, skipped")
                block = None
                continue
            block.append(text)
            if "</Event>" in text:
                try:
                    yield event_from_xml("".join(block).encode("utf-8"), f"{path.name}#{number}")
                except EventLogError as error:
                    result.add_problem(str(error))
                block = None
    if block is not None:
        raise EventLogError(f"event {number}: its Event Xml is cut off")
    if not has_xml:
        result.add_problem(f"event {number}: no Event Xml section (only rendered text), skipped")
