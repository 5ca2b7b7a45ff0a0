"""Event log file -> iterator of Event, whatever its form; one reader per form, chosen by the file's content.

Forms: evtx, xml, jsonl (evtx_dump), csv/txt (Event Viewer "Save as"), details (Event Viewer "Copy details as
text", read through its embedded Event Xml).

Every reader streams: .evtx through the Rust-backed evtx parser (record by record),
XML through lxml's pull parser (each <Event> freed once read), JSON lines and
CSV/TXT line by line. A damaged part is reported in the LogResult and skipped; a
fatal problem ends that file with a reason, keeping the events read before it.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from lxml import etree

from tsharkpost.errors import EventLogError
from tsharkpost.events.model import Event, LogResult, level_name, parse_system_time
from tsharkpost.events.xml_event import event_from_element, event_from_xml

EVTX_MAGIC = b"ElfFile\x00"
CSV_HEADER = ("level", "date and time", "source", "event id")  # Event Viewer's "Save as CSV/TXT" columns
CHUNK = 1 << 16
# EVTX layout: a 4096-byte file header (header size 128 at offset 32, block size 4096 at offset 40, chunk count at
# offset 42), then chunks of 64 KiB.
EVTX_HEADER_BLOCK, EVTX_HEADER_SIZE, EVTX_CHUNK = 4096, 128, 65536
# The evtx iterator raises once per damaged chunk and then goes on; a file that only raises is not an event log.
MAX_DAMAGED_PARTS = 1000
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>")


def _sniff(head: bytes) -> str | None:
    if head.startswith(EVTX_MAGIC):
        return "evtx"
    text = _decode_head(head).lstrip()
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


def _encoding(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


def _decode_head(head: bytes) -> str:
    return head.decode(_encoding(head), "replace") if head else ""


def read_log(path: Path, result: LogResult, tz: ZoneInfo | None = None) -> Iterator[Event]:
    """The events of one log file in file order; what went wrong goes into result, never raised."""
    try:
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
    readers: dict[str, Callable[[Path, LogResult], Iterator[Event]]] = {
        "evtx": _read_evtx, "xml": _read_xml, "jsonl": _read_jsonl, "details": _read_details,
        "csv": lambda p, r: _read_table(p, r, ",", tz), "txt": lambda p, r: _read_table(p, r, "\t", tz)}
    try:
        for event in readers[form](path, result):
            result.events += 1
            yield event
    except EventLogError as error:
        result.reason = str(error)
    except (OSError, UnicodeDecodeError) as error:
        result.reason = f"cannot read it: {error}"


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


def _chunks_without_checksums(path: Path) -> int:
    """Chunks whose header and records CRC32 fields are both zero (written without checksums)."""
    count = 0
    with path.open("rb") as handle:
        handle.seek(EVTX_HEADER_BLOCK)
        while True:
            header = handle.read(128)
            if len(header) < 128:
                return count
            if header.startswith(b"ElfChnk\x00") and header[52:56] == header[124:128] == b"\x00" * 4:
                count += 1
            handle.seek(EVTX_CHUNK - 128, 1)


def _read_evtx(path: Path, result: LogResult) -> Iterator[Event]:
    from evtx import PyEvtxParser  # imported here: only .evtx inputs need the native module

    layout = _evtx_layout(path)
    result.problems += layout
    unchecked = _chunks_without_checksums(path)
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
            if number == 0 and (layout or damaged):
                raise EventLogError("no readable record: " + "; ".join(result.problems)) from None
            return
        except RuntimeError as error:  # a damaged chunk: the parser reports it and goes on with the next one
            record = error
        if isinstance(record, Exception):
            damaged += 1
            result.problems.append(f"damaged part skipped: {_short(record)}")
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
            result.problems.append(str(error))


def _short(error: BaseException) -> str:
    return " ".join(str(error).split())[:200]


def _utf8_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    """The file as UTF-8 chunks (UTF-16 exports re-encoded), without its XML declaration."""
    head = handle.read(CHUNK)
    pieces: Iterator[bytes]
    if _encoding(head) == "utf-16":
        text = io.TextIOWrapper(io.BufferedReader(_Prepend(head, handle)), encoding="utf-16")
        pieces = (piece.encode("utf-8") for piece in iter(lambda: text.read(CHUNK), ""))
        first = next(pieces, b"")
    else:
        pieces = iter(lambda: handle.read(CHUNK), b"")
        first = head.removeprefix(codecs.BOM_UTF8)
    yield _DECLARATION.sub(b"", first, count=1)
    yield from pieces


class _Prepend(io.RawIOBase):
    """A binary stream that first gives back the bytes already read from it."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        if self.head:
            data, self.head = self.head[:size], self.head[size:]
        else:
            data = self.rest.read(size)
        buffer[:len(data)] = data
        return len(data)


def _read_xml(path: Path, result: LogResult) -> Iterator[Event]:
    """wevtutil's bare <Event> sequence, or <Events>...</Events> from Event Viewer / wevtutil /e:Events."""
    parser = etree.XMLPullParser(events=("end",), tag="{*}Event", huge_tree=True)
    parser.feed(b"<tsharkpost-events>")  # wevtutil prints events without a root element
    number = 0
    with path.open("rb") as handle:
        try:
            for chunk in _utf8_chunks(handle):
                parser.feed(chunk)
                for event in _finished_events(parser, path, number):
                    number += 1
                    yield event
            parser.feed(b"</tsharkpost-events>")
            parser.close()
            for event in _finished_events(parser, path, number):
                number += 1
                yield event
        except etree.XMLSyntaxError as error:
            where = f"line {error.position[0]}" if error.position else "somewhere"
            raise EventLogError(f"malformed or truncated XML at {where} after {number} events "
                                f"({error.msg})") from None
    if number == 0:
        raise EventLogError("XML without any <Event> element")


def _finished_events(parser: etree.XMLPullParser, path: Path, done: int) -> Iterator[Event]:
    for _, element in parser.read_events():
        if not isinstance(element, etree._Element):
            continue
        parent = element.getparent()
        if parent is None or str(parent.tag).rsplit("}", 1)[-1] not in ("tsharkpost-events", "Events"):
            continue  # an element named Event inside another event's payload
        done += 1
        raw = etree.tostring(element, encoding="unicode")
        yield event_from_element(element, f"{path.name}#{done}", str(raw))
        element.clear()  # constant memory: the finished event and everything before it go
        while element.getprevious() is not None:
            del parent[0]


# evtx_dump -o json/jsonl (omerbenamram/evtx): attributes under "#attributes", or beside the element as
# "<name>_attributes" when it was run with --separate-json-attributes.
def _attributes(parent: dict[str, Any], name: str) -> dict[str, Any]:
    value = parent.get(name)
    nested = value.get("#attributes") if isinstance(value, dict) else None
    found = nested or parent.get(f"{name}_attributes") or {}
    return found if isinstance(found, dict) else {}


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return _scalar(value.get("#text"))
    if isinstance(value, list):
        return ", ".join(_scalar(item) for item in value)
    return str(value).replace("\r\n", "\n").strip()  # as an XML parser normalises line ends


def _json_event_data(data: dict[str, Any], fields: dict[str, str]) -> None:
    for name, value in data.items():
        if name == "#attributes" or name.endswith("_attributes"):
            continue
        if name == "Data":
            items = value.get("#text") if isinstance(value, dict) else value
            for index, item in enumerate(items if isinstance(items, list) else [items], start=1):
                fields[f"Data{index}"] = _scalar(item)
        else:
            fields[name] = _scalar(value)


_REPEATED = re.compile(r"_\d+$")  # evtx_dump names repeated sibling elements Certificate, Certificate_1, ...


def _json_user_data(value: Any, name: str, fields: dict[str, str]) -> None:
    name = _REPEATED.sub("", name)
    if isinstance(value, list):
        for item in value:
            _json_user_data(item, name, fields)
        return
    if not isinstance(value, dict):
        fields.setdefault(name, _scalar(value))
        return
    for attribute, attribute_value in (value.get("#attributes") or {}).items():
        if attribute != "xmlns" and not attribute.startswith("xmlns:"):  # XML has no such attribute
            fields.setdefault(f"{name}.{attribute}", _scalar(attribute_value))
    if _scalar(value.get("#text")):
        fields.setdefault(name, _scalar(value.get("#text")))
    for child, child_value in value.items():
        if child.endswith("_attributes") and child != "#attributes":
            for attribute, attribute_value in child_value.items():
                fields.setdefault(f"{child[:-len('_attributes')]}.{attribute}", _scalar(attribute_value))
        elif not child.startswith("#"):
            _json_user_data(child_value, child, fields)


def event_from_json(record: dict[str, Any], source: str, raw: str) -> Event:
    event = record.get("Event", record)
    system = event.get("System") if isinstance(event, dict) else None
    if not isinstance(system, dict):
        raise EventLogError(f"{source}: a JSON record without Event.System")
    provider = _attributes(system, "Provider")
    event_id = system.get("EventID")
    created = _attributes(system, "TimeCreated").get("SystemTime")
    if not provider or event_id is None or not created:
        raise EventLogError(f"{source}: a JSON record without Provider, EventID or TimeCreated")
    try:
        time = parse_system_time(str(created))
        number = int(_scalar(event_id))
    except ValueError as error:
        raise EventLogError(f"{source}: {error}") from None
    fields: dict[str, str] = {}
    if isinstance(event.get("EventData"), dict):
        _json_event_data(event["EventData"], fields)
    user_data = event.get("UserData")
    if isinstance(user_data, dict):
        for operation, payload in user_data.items():
            if not operation.startswith("#"):
                fields["UserData"] = operation
                _json_user_data(payload, operation, fields)
                fields.pop(operation, None)
                break
    record_id = _scalar(system.get("EventRecordID"))
    return Event(time=time, computer=_scalar(system.get("Computer")),
                 provider=str(provider.get("Name") or provider.get("EventSourceName") or ""), event_id=number,
                 level=level_name(_scalar(system.get("Level"))), fields=fields, raw=raw, source=source,
                 channel=_scalar(system.get("Channel")), record_id=int(record_id) if record_id.isdigit() else None)


def _read_jsonl(path: Path, result: LogResult) -> Iterator[Event]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            source = f"{path.name}#{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                if number == 1:
                    raise EventLogError(f"not JSON lines ({error.msg} on line 1; pretty-printed JSON is not "
                                        "read: use evtx_dump -o jsonl)") from None
                result.problems.append(f"line {number}: not a JSON record ({error.msg}), skipped")
                continue
            if not isinstance(record, dict):
                result.problems.append(f"line {number}: not a JSON object, skipped")
                continue
            try:
                yield event_from_json(record, source, line.rstrip("\n"))
            except EventLogError as error:
                result.problems.append(str(error))


def _read_details(path: Path, result: LogResult) -> Iterator[Event]:
    """Event Viewer's "Copy details as text" (forum pastes): the embedded "Event Xml:" part is read, in UTC.

    The "Date:" line is local time without an offset and the description is rendered text: neither is used.
    """
    with path.open("rb") as probe:
        encoding = _encoding(probe.read(4))
    with path.open(encoding=encoding) as handle:
        number, has_xml = 0, True
        block: list[str] | None = None
        for line in handle:
            if line.startswith("Log Name:"):
                if not has_xml:
                    result.problems.append(f"event {number}: no Event Xml section (only rendered text), skipped")
                number, block, has_xml = number + 1, None, False
            elif line.startswith("Event Xml:"):
                block, has_xml = list[str](), True
            elif block is not None:
                block.append(line)
                if "</Event>" in line:
                    try:
                        yield event_from_xml("".join(block).encode("utf-8"), f"{path.name}#{number}")
                    except EventLogError as error:
                        result.problems.append(str(error))
                    block = None
        if block is not None:
            raise EventLogError(f"event {number}: its Event Xml is cut off")
        if not has_xml:
            result.problems.append(f"event {number}: no Event Xml section (only rendered text), skipped")


# Event Viewer writes the viewing machine's local time in its culture's format, without an offset.
_LOCAL_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%Y/%m/%d %H:%M:%S")


def parse_local_time(text: str, tz: ZoneInfo | None) -> float:
    """A CSV/TXT date -> epoch seconds; tz None means the times are taken as UTC."""
    text = " ".join(text.split())
    for pattern in _LOCAL_FORMATS:
        try:
            moment = dt.datetime.strptime(text, pattern)
            break
        except ValueError:
            continue
    else:
        match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d\d):(\d\d)", text)
        if not match:
            raise ValueError(f"unrecognised date {text!r}")
        first, second = int(match.group(1)), int(match.group(2))
        if first <= 12 and second <= 12 and first != second:
            raise ValueError(f"date {text!r} could be day/month or month/day")
        day, month = (first, second) if first > 12 else (second, first)
        hour, minute, second_of_minute = (int(match.group(n)) for n in (4, 5, 6))
        moment = dt.datetime(int(match.group(3)), month, day, hour, minute, second_of_minute)
    return moment.replace(tzinfo=tz or dt.timezone.utc).timestamp()


def _read_table(path: Path, result: LogResult, delimiter: str, tz: ZoneInfo | None) -> Iterator[Event]:
    """Event Viewer "Save as CSV/TXT": level, local date, source, id, task category, then the message.

    The message is the only carrier of AlertDesc or ErrorState here; it is never parsed (its wording changed
    across Windows builds and omits the error state since Windows 10 1607): fields stay empty.
    """
    if tz is None:
        result.notes.append("times are local time without an offset: assumed UTC "
                               "(give --events-tz ZONE, e.g. Europe/Berlin, for the viewing machine's zone)")
    with path.open("rb") as probe:
        encoding = _encoding(probe.read(4))
    with path.open(encoding=encoding, newline="") as handle:
        rows = csv.reader(handle, delimiter=delimiter)
        next(rows, None)
        for number, row in enumerate(rows, start=2):
            if not row or not any(cell.strip() for cell in row):
                continue
            source = f"{path.name}#{number}"
            try:
                level, when, provider, event_id = (cell.strip() for cell in row[:4])
                time = parse_local_time(when, tz)
                number_id = int(event_id)
            except ValueError as error:
                result.problems.append(f"row {number}: {error}, skipped")
                continue
            raw = delimiter.join(row)
            yield Event(time=time, computer="", provider=provider, event_id=number_id, level=level_name(level),
                        fields={}, raw=raw, source=source, resolution=1.0)
