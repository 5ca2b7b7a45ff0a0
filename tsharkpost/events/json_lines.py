"""evtx_dump JSON lines -> Event, one line at a time: every line at most MAX_RECORD_CHARS, MAX_JSON_DEPTH deep.

A line is one record of `evtx_dump -o jsonl` (omerbenamram/evtx). A line that cannot be read (not JSON, too long,
too deep, a number too long for Python to convert) is named in the log's problems and skipped; the next is read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tsharkpost.errors import EventLogError
from tsharkpost.events.model import MAX_FIELDS, Event, LogResult, level_name, parse_system_time, record_number
from tsharkpost.events.textfile import Line

# A record as evtx_dump prints it is a few KB (the largest in the corpus's CAPI2 log: 9 KB); past this a line is
# skipped as it streams by, never held whole.
MAX_RECORD_CHARS = 1 << 20
# evtx_dump nests 8 levels for a CAPI2 chain event (Event, UserData, operation, chain, element, certificate,
# attributes); walking a record deeper than this could exhaust Python's stack.
MAX_JSON_DEPTH = 64
# Python refuses to convert longer decimal integers (sys.get_int_max_str_digits, CVE-2020-10735).
MAX_INT_DIGITS = 4300


class _LongNumber(ValueError):
    def __init__(self, digits: int) -> None:
        super().__init__(f"{digits:,} digits")
        self.digits = digits


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _LongNumber(digits)
    return int(text)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest deeper than limit (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack += [(child, depth + 1) for child in item.values() if isinstance(child, (dict, list))]
        elif isinstance(item, list):
            stack += [(child, depth + 1) for child in item if isinstance(child, (dict, list))]
    return False


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
                if len(fields) > MAX_FIELDS:  # one more than kept: bounded() then says it cut
                    return
                fields[f"Data{index}"] = _scalar(item)
        elif len(fields) <= MAX_FIELDS:
            fields[name] = _scalar(value)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


_REPEATED = re.compile(r"_\d+$")  # evtx_dump names repeated sibling elements Certificate, Certificate_1, ...


def _json_user_data(value: Any, name: str, fields: dict[str, str]) -> None:
    name = _REPEATED.sub("", name)
    if len(fields) > MAX_FIELDS:
        return
    if isinstance(value, list):
        for item in value:
            _json_user_data(item, name, fields)
        return
    if not isinstance(value, dict):
        fields.setdefault(name, _scalar(value))
        return
    for attribute, attribute_value in _mapping(value.get("#attributes")).items():
        if attribute != "xmlns" and not attribute.startswith("xmlns:"):  # XML has no such attribute
            fields.setdefault(f"{name}.{attribute}", _scalar(attribute_value))
    if _scalar(value.get("#text")):
        fields.setdefault(name, _scalar(value.get("#text")))
    for child, child_value in value.items():
        if child.endswith("_attributes") and child != "#attributes":
            for attribute, attribute_value in _mapping(child_value).items():
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
                 channel=_scalar(system.get("Channel")), record_id=record_number(record_id))


def read_json_lines(lines: Iterator[Line], name: str, result: LogResult) -> Iterator[Event]:
    for line in lines:
        number = line.number
        if line.cut:
            result.add_problem(f"line {number}: {line.length:,} characters, over the {MAX_RECORD_CHARS:,} one "
                               "record may have: skipped")
            continue
        if not line.text.strip():
            continue
        if line.replaced:
            result.add_problem(f"line {number}: not valid UTF-8 (the bad bytes were read as U+FFFD)")
        try:
            record = json.loads(line.text, parse_int=_integer)
        except _LongNumber as error:
            result.add_problem(f"line {number}: a number of {error.digits:,} digits (Python converts at most "
                               f"{MAX_INT_DIGITS:,}), skipped")
            continue
        except RecursionError:
            result.add_problem(f"line {number}: JSON nested too deeply to read, skipped")
            continue
        except json.JSONDecodeError as error:
            if number == 1:
                raise EventLogError(f"not JSON lines ({error.msg} on line 1; pretty-printed JSON is not "
                                    "read: use evtx_dump -o jsonl)") from None
            result.add_problem(f"line {number}: not a JSON record ({error.msg}), skipped")
            continue
        if not isinstance(record, dict):
            result.add_problem(f"line {number}: not a JSON object, skipped")
            continue
        if (line.text.count("{") + line.text.count("[") > MAX_JSON_DEPTH
                and _deeper_than(record, MAX_JSON_DEPTH)):
            result.add_problem(f"line {number}: nested deeper than {MAX_JSON_DEPTH} levels, skipped")
            continue
        try:
            yield event_from_json(record, f"{name}#{number}", line.text.rstrip("\r\n"))
        except EventLogError as error:
            result.add_problem(str(error))
