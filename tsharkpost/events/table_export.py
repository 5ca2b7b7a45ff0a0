"""Event Viewer "Save as CSV/TXT" -> Event: rows assembled from lines here, split into fields by the csv module.

Event Viewer quotes a message that holds the delimiter, a quote or a line break, and ends each row with CRLF. The
rows are put together from physical lines by following the quoting as the csv module does, so that a row's length
is bounded (MAX_ROW_CHARS, cut past it) and a stray quote is caught: a quoted field that runs into a line shaped
like a row (level, date, source, numeric id) does not swallow it; the row is read as ending at its own line, and
the damage is named.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tsharkpost.events.model import Event, LogResult, level_name
from tsharkpost.events.textfile import Line

CSV_HEADER = ("level", "date and time", "source", "event id")  # Event Viewer's "Save as CSV/TXT" columns
# The csv module's own default field limit: no message Event Viewer writes comes near it. A longer row is cut
# there (its first fields, the ones read, come first) and the log says so.
MAX_ROW_CHARS = 131072
# Event Viewer writes the viewing machine's local time in its culture's format, without an offset.
_LOCAL_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%Y/%m/%d %H:%M:%S")
_DATE_START = re.compile(r"\s*\d{1,4}[./-]\d{1,2}[./-]\d{1,4}[ T]\d{1,2}:\d\d")


def local_time_gap(moment: dt.datetime, tz: ZoneInfo) -> str:
    """Whether a local time without an offset is ambiguous in tz: "repeated" (the hour the clocks go back, lived
    twice), "skipped" (the hour they go forward: no such local time), or "". Such a time is read as zoneinfo
    reads it (fold 0: a repeated hour as its first pass), and the log's notes say so."""
    first, second = moment.replace(tzinfo=tz, fold=0), moment.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return ""
    back = first.astimezone(dt.timezone.utc).astimezone(tz).replace(tzinfo=None)
    return "repeated" if back == moment else "skipped"


def _offset_text(moment: dt.datetime) -> str:
    offset = moment.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:5]}"


def local_moment(text: str) -> dt.datetime:
    """A CSV/TXT date as written (naive: the viewing machine's local time)."""
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
            raise ValueError(f"unrecognised date {text[:64]!r}")
        first, second = int(match.group(1)), int(match.group(2))
        if first <= 12 and second <= 12 and first != second:
            raise ValueError(f"date {text!r} could be day/month or month/day")
        day, month = (first, second) if first > 12 else (second, first)
        hour, minute, second_of_minute = (int(match.group(n)) for n in (4, 5, 6))
        moment = dt.datetime(int(match.group(3)), month, day, hour, minute, second_of_minute)
    return moment


def _quoted_at_end(text: str, quoted: bool, delimiter: str) -> bool:
    """Whether a row is inside a quoted field at the end of this line, given whether it was at its start.

    The csv module's reading: a quote opens a quoted field only as the field's first character; inside one, two
    quotes are a quote and one ends it; after the end, the field goes on unquoted (and its quotes are text).
    """
    if '"' not in text:
        return quoted
    body = text.rstrip("\r\n")
    field_start = 0
    position = 0
    while True:
        if quoted:
            end = body.find('"', position)
            if end < 0:
                return True
            if body.startswith('"', end + 1):
                position = end + 2
                continue
            quoted = False
            position = end + 1
            field_start = -1  # the rest of this field is unquoted text
        next_quote = body.find('"', position)
        if next_quote < 0:
            return False
        delimiter_before = body.rfind(delimiter, position, next_quote)
        if delimiter_before >= 0:
            field_start = delimiter_before + 1
        if next_quote == field_start:
            quoted = True
            position = next_quote + 1
        else:
            position = next_quote + 1  # a quote inside an unquoted field is text


def _looks_like_row(text: str, delimiter: str) -> bool:
    """level, date, source, numeric event id: the start of an Event Viewer row."""
    cells = text.split(delimiter, 4)
    return (len(cells) >= 4 and 0 < len(cells[0].strip()) <= 40 and '"' not in cells[0]
            and bool(_DATE_START.match(cells[1])) and cells[3].strip().isdecimal())


@dataclass
class _Row:
    """One row as assembled from lines, with what went wrong putting it together."""

    number: int  # counting the header as row 1, as a spreadsheet does
    line: int
    lines: list[str]
    length: int = 0
    cut: bool = False
    unclosed: str = ""  # "row": a quote ran into the next row; "file": into the end of the file


def _rows(lines: Iterator[Line], delimiter: str, result: LogResult) -> Iterator[_Row]:
    row: _Row | None = None
    quoted = False
    number = 0
    for line in lines:
        if line.replaced:
            result.add_problem(f"line {line.number}: not valid UTF-8 (the bad bytes were read as U+FFFD)")
        if row is not None and quoted and _looks_like_row(line.text, delimiter):
            row.unclosed = "row"
            yield row
            row, quoted = None, False
        if row is None:
            number += 1
            row = _Row(number, line.number, [])
        if not row.cut and row.length + line.length <= MAX_ROW_CHARS:
            row.lines.append(line.text)
        elif not row.cut:
            row.lines.append(line.text[:MAX_ROW_CHARS - row.length - 1])
            row.cut = True
        row.length += line.length
        quoted = _quoted_at_end(line.text, quoted, delimiter)
        if line.quotes_dropped % 2:  # past a cut, quotes are taken to pair up as in a well-formed row
            quoted = not quoted
        if not quoted:
            yield row
            row = None
    if row is not None:
        row.unclosed = "file"
        yield row


def _cells(row: _Row, delimiter: str) -> list[str]:
    if len(row.lines) == 1 and '"' not in row.lines[0]:
        return row.lines[0].rstrip("\r\n").split(delimiter)
    return next(csv.reader(row.lines, delimiter=delimiter), [])


def read_table(lines: Iterator[Line], name: str, result: LogResult, delimiter: str,
               tz: ZoneInfo | None) -> Iterator[Event]:
    """Event Viewer "Save as CSV/TXT": level, local date, source, id, task category, then the message.

    The message is the only carrier of AlertDesc or ErrorState here; it is never parsed (its wording changed
    across Windows builds and omits the error state since Windows 10 1607): fields stay empty.
    """
    if tz is None:
        result.notes.append("times are local time without an offset: assumed UTC "
                            "(give --events-tz ZONE, e.g. Europe/Berlin, for the viewing machine's zone)")
    header: list[str] | None = None
    unclear: dict[str, tuple[int, str]] = {}  # "repeated"/"skipped" -> rows whose local time tz blurs, the first
    for row in _rows(lines, delimiter, result):
        try:
            cells = _cells(row, delimiter)
        except csv.Error as error:
            result.add_problem(f"row {row.number} (line {row.line}): {error}, skipped")
            continue
        if header is None:
            header = cells
            continue
        where = f"row {row.number}" if row.number == row.line else f"row {row.number} (line {row.line})"
        if row.cut:
            result.add_problem(f"{where}: {row.length:,} characters, over the {MAX_ROW_CHARS:,} a row may have: "
                               "read from its first part")
        if row.unclosed == "row":
            result.add_problem(f"{where}: a stray quote opens a field that runs into the next row: this row is "
                               "read as ending at its line, the next rows as they are")
        elif row.unclosed == "file":
            result.add_problem(f"{where}: a quote opens a field that is never closed: this row runs to the end "
                               "of the file")
        if not cells or not any(cell.strip() for cell in cells):
            continue
        if len(cells) < len(CSV_HEADER):
            result.add_problem(f"{where}: {len(cells)} fields where the header has {len(header)}, skipped")
            continue
        if len(cells) > len(header) + 1:  # the message column has no header
            result.add_problem(f"{where}: {len(cells)} fields where the header has {len(header)} and the "
                               "message: read by its first four")
        try:
            level, when, provider, event_id = (cell.strip() for cell in cells[:4])
            moment = local_moment(when)
            number_id = int(event_id)
        except ValueError as error:
            result.add_problem(f"{where}: {error}, skipped")
            continue
        time = moment.replace(tzinfo=tz or dt.timezone.utc).timestamp()
        gap = local_time_gap(moment, tz) if tz is not None else ""
        if gap:
            count, first = unclear.get(gap, (0, f"{where}, {' '.join(when.split())}, read as "
                                                f"{_offset_text(moment.replace(tzinfo=tz))}"))
            unclear[gap] = (count + 1, first)
        yield Event(time=time, computer="", provider=provider, event_id=number_id, level=level_name(level),
                    fields={}, raw=delimiter.join(cells), source=f"{name}#{row.number}", resolution=1.0)
    if tz is None:
        return
    says = {"repeated": f"in the hour {tz.key} lives twice when its clocks go back: the export cannot tell which "
                        "pass, and the first is taken; an event of the second pass happened later than shown, by the "
                        "change of offset",
            "skipped": f"at a local time {tz.key} skips when its clocks go forward: is --events-tz the viewing "
                       "machine's zone?"}
    for gap, text in says.items():   # in this order, whichever came first
        if gap in unclear:
            count, first = unclear[gap]
            rows = "1 row" if count == 1 else f"{count:,} rows, the first"
            result.notes.append(f"{rows} ({first}) {'is' if count == 1 else 'are'} {text}")
