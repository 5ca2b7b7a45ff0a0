"""The plugin's tpost.tls line (lua/tpost/tpost_wire.lua) -> the frame's TLS Records.

The line lists, in tree order, the fields tsharkpost reads from tshark's TLS tree, one token each: a letter and
an escaped value (%XX). This reader builds Records and Handshakes from it with the rules of that tree (the SSLv2
record that is its own message, alerts without level or code, extension scopes), values in the tree's own form.
Until issue 13's second step summarize read the tree itself from PDML; both gave byte-identical records on every
capture (captures/, tests/data/wild, the corpus, the bench workloads) before the tree reader was retired, except
where the tree's text lost bytes: PDML writes byte 0x01 before a "b" as "\x1b", which the line carries exactly.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from tsharkpost.capture.packet import (
    DETAILED,
    LABELLED,
    SSL2_HANDSHAKE_TYPES,
    Handshake,
    Record,
    label,
)
from tsharkpost.plugin import fields as F

# Letters of the hello facts (tpost_wire.lua FIELDS) -> tshark's field names.
NAMES = {
    "V": F.HANDSHAKE_VERSION, "C": F.CIPHER_SUITE, "P": F.CIPHER_SPEC_V2, "u": F.SUPPORTED_VERSION,
    "g": F.SIGNATURE_ALGORITHM, "k": F.KEY_SHARE_GROUP, "n": F.NAMED_CURVE, "G": F.SUPPORTED_GROUP,
    "e": F.EC_POINT_FORMAT, "N": F.RANDOM, "S": F.SESSION_ID, "s": F.SERVER_NAME, "p": F.ALPN,
}
FACT_LETTERS = frozenset(NAMES) | {"x"}  # a hello fact, or an extension's type
DISPLAYED = frozenset("VCPugknGe")  # written as Wireshark displays them: "NAME (0x0303)"
HEX = frozenset("NS")  # bytes, written as hex; PDML shows them colon-separated
SSL2 = 2  # tls.record.version of an SSL 2.0 record

_CODE = re.compile(r"\(((?:0x)?[0-9a-fA-F]+)\)\s*$")  # a displayed value's code: "TLS 1.2 (0x0303)" -> 0x0303


def _text(value: str) -> str:
    return unquote_to_bytes(value).decode("utf-8", "replace") if "%" in value else value


def _show(letter: str, value: str) -> str:
    """What PDML's show attribute holds for the value."""
    text = _text(value)
    if letter in HEX:
        return ":".join(text[i:i + 2] for i in range(0, len(text), 2))
    if letter in DISPLAYED:
        code = _CODE.search(text)
        return code.group(1) if code else text
    return text


class _Message:
    """A handshake message's tokens (or an SSLv2 record's), before it is built."""

    def __init__(self) -> None:
        self.type: int | None = None
        self.facts: list[tuple[str, str]] = []  # (letter, value) of hello facts and extension types, in order


class _Alert:
    def __init__(self) -> None:
        self.level: int | None = None
        self.code: int | None = None


class _Record:
    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}  # c o l v t: the record's own fields (the first of each)
        self.own = _Message()  # facts before any message: an SSLv2-format record is its own message
        self.children: list[_Message | _Alert] = []


# A token's meaning (field name, show, label), kept for tokens seen before: the same cipher suites, groups and
# extensions come in every hello. Bounded: emptied when full.
_MEANINGS: dict[tuple[str, str], tuple[str, str, str | None]] = {}
MEANINGS_KEPT = 65536


def _meaning(letter: str, value: str) -> tuple[str, str, str | None]:
    key = (letter, value)
    found = _MEANINGS.get(key)
    if found is None:
        if letter == "x":
            found = (F.EXTENSION_TYPE, _show("k", value), label(": " + _text(value)))
        else:
            name = NAMES[letter]
            found = (name, _show(letter, value), label(": " + _text(value)) if name in LABELLED else None)
        if len(_MEANINGS) >= MEANINGS_KEPT:
            _MEANINGS.clear()
        _MEANINGS[key] = found
    return found


def _handshake(message: _Message, types: dict[int, int] | None = None) -> Handshake:
    number = message.type
    handshake = Handshake(types.get(number) if types is not None and number is not None else number)
    if handshake.type not in DETAILED:
        return handshake
    extension: int | None = None
    values, labels, extensions = handshake.values, handshake.labels, handshake.extensions
    for letter, value in message.facts:
        name, show, named = _meaning(letter, value)
        values.setdefault(name, []).append(show)
        if letter == "x":
            labels.setdefault(name, []).append(named)
            extension = int(show)
            extensions.setdefault(extension, {})
            continue
        if extension is not None:
            extensions[extension].setdefault(name, []).append(show)
        if name in LABELLED:
            labels.setdefault(name, []).append(named)
    return handshake


def _build(parts: _Record) -> Record:
    numbers = parts.numbers
    content, opaque = numbers.get("c"), numbers.get("o")
    record = Record(content if content is not None else opaque, opaque=content is None and opaque is not None,
                    length=numbers.get("l", 0), wire_encrypted=opaque is not None)
    if record.content_type is None and parts.own.type is not None:
        record.content_type = 22
        sslv2 = numbers.get("v") == SSL2
        facts = parts.own.facts + [fact for child in parts.children if isinstance(child, _Message)
                                   for fact in child.facts]
        own = _Message()
        own.type, own.facts = parts.own.type, facts
        record.handshakes.append(_handshake(own, SSL2_HANDSHAKE_TYPES if sslv2 else None))
        return record
    if record.content_type is None and numbers.get("v") == SSL2:
        record.content_type = 23
        return record
    for child in parts.children:
        if isinstance(child, _Message):
            record.handshakes.append(_handshake(child))
        elif child.level is None and child.code is None:
            record.alert_encrypted = True
        else:
            record.alert_level, record.alert_code = child.level, child.code
    if record.content_type == 21 and record.alert_level is None and record.alert_code is None:
        record.alert_encrypted = True
    return record


def records(line: str) -> list[Record]:
    """The records of one tpost.tls line, in tree order. ValueError when a number token holds no number."""
    found: list[_Record] = []
    current: _Record | None = None
    child: _Message | _Alert | None = None
    facts: list[tuple[str, str]] | None = None  # where a hello fact goes: the message's, else the record's own
    for token in line.split(" "):
        if not token:
            continue
        letter, value = token[0], token[1:]
        if letter in FACT_LETTERS:  # most tokens: a hello's suites, extensions, groups, algorithms
            if facts is not None:
                facts.append((letter, value))
            continue
        if letter == "R":
            current, child = _Record(), None
            found.append(current)
            facts = current.own.facts
        elif current is None:
            continue
        elif letter == "H":
            child = _Message()
            current.children.append(child)
            facts = child.facts
        elif letter == "A":
            child = _Alert()
            current.children.append(child)
            facts = current.own.facts
        elif letter in "colv":
            current.numbers.setdefault(letter, int(value))
        elif letter == "t":
            message = child if isinstance(child, _Message) else (current.own if child is None else None)
            if message is not None and message.type is None:
                message.type = int(value)
        elif letter in "ad":
            if isinstance(child, _Alert):
                if letter == "a" and child.level is None:
                    child.level = int(value)
                elif letter == "d" and child.code is None:
                    child.code = int(value)
    return [_build(parts) for parts in found]
