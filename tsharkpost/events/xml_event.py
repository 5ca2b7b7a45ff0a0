"""One <Event> element (wevtutil/Event Viewer XML, or the XML the evtx parser renders) -> Event."""

from __future__ import annotations

from lxml import etree

from tsharkpost.errors import EventLogError
from tsharkpost.events.model import MAX_FIELDS, Event, level_name, parse_system_time, record_number

# Event XML comes from other people's machines: no DTD is loaded, no entity of one expanded, nothing fetched, and
# libxml2's own limits on a text node's size and nesting depth stay on.
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _local(element: etree._Element) -> str:
    tag = element.tag
    return tag[tag.rfind("}") + 1:] if isinstance(tag, str) else ""  # "{namespace}Name" -> "Name"


def _text(element: etree._Element | None) -> str:
    # The evtx renderer indents even empty elements: whitespace-only text is no value.
    return (element.text or "").strip() if element is not None else ""


def _children(parent: etree._Element | None) -> dict[str, etree._Element]:
    found: dict[str, etree._Element] = {}
    for child in parent if parent is not None else ():
        tag = child.tag  # inlined _local: this runs for every child of every event's System header
        if isinstance(tag, str):
            found.setdefault(tag[tag.rfind("}") + 1:], child)
    return found


def _event_data(payload: etree._Element, fields: dict[str, str]) -> None:
    unnamed = 0
    for item in payload:
        if len(fields) > MAX_FIELDS:  # one more than kept: bounded() then says it cut
            return
        name = _local(item)
        if name == "Data" and item.get("Name"):
            fields[item.get("Name", "")] = _text(item)
        elif name == "Data":
            unnamed += 1
            fields[f"Data{unnamed}"] = _text(item)
        elif name:
            fields[name] = _text(item)


def _user_data(payload: etree._Element, fields: dict[str, str]) -> None:
    """UserData/<Operation>/...: element -> text, element.attribute -> value; the first occurrence wins."""
    for operation in payload:
        if not _local(operation):
            continue
        fields.setdefault("UserData", _local(operation))
        for element in operation.iter():
            if len(fields) > MAX_FIELDS:  # one more than kept: bounded() then says it cut
                return
            name = _local(element)
            if not name:
                continue
            leaf = len(element) == 0 and not element.attrib  # <TargetName></TargetName> is a value too
            if element is not operation and (_text(element) or leaf):
                fields.setdefault(name, _text(element))
            for attribute, value in element.attrib.items():
                fields.setdefault(f"{name}.{etree.QName(attribute).localname}", str(value))
        break


def event_from_element(element: etree._Element, source: str, raw: str, fallback_time: str = "") -> Event:
    """The normalised event; EventLogError when the System header lacks the provider, id or time.

    fallback_time: the EVTX record header's write time, used when a damaged template left TimeCreated empty.
    """
    system = _children(_children(element).get("System"))
    provider, event_id, created = system.get("Provider"), system.get("EventID"), system.get("TimeCreated")
    stamp = (created.get("SystemTime", "") if created is not None else "") or fallback_time
    if provider is None or event_id is None or not stamp:
        raise EventLogError(f"{source}: an Event without Provider, EventID or TimeCreated")
    try:
        time = parse_system_time(stamp)
        number = int(_text(event_id))
    except ValueError as error:
        raise EventLogError(f"{source}: {error}") from None
    record = _text(system.get("EventRecordID"))
    fields: dict[str, str] = {}
    for payload in element:
        if _local(payload) == "EventData":
            _event_data(payload, fields)
        elif _local(payload) == "UserData":
            _user_data(payload, fields)
    return Event(time=time, computer=_text(system.get("Computer")),
                 provider=provider.get("Name") or provider.get("EventSourceName") or "", event_id=number,
                 level=level_name(_text(system.get("Level"))), fields=fields, raw=raw, source=source,
                 channel=_text(system.get("Channel")), record_id=record_number(record))


def event_from_xml(data: bytes, source: str, fallback_time: str = "") -> Event:
    try:
        element = etree.fromstring(data, SAFE_PARSER)
    except etree.XMLSyntaxError as error:
        raise EventLogError(f"{source}: malformed event XML ({error})") from None
    return event_from_element(element, source, data.decode("utf-8", "replace"), fallback_time)
