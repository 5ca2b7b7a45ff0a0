"""The message templates shared with the Lua plugin (lua/tables/messages.tsv), filled in as the plugin fills them.

Every sentence about a finding comes from that one table: the plugin's Diagnosis column, tree labels and
expert items, and on this side the probable causes of summarize, diff and the HTML report. The functions
here are the twins of lua/tpost/tpost_messages.lua and of the plugin's own bounds (lua/tpost/tpost_checks.lua,
its findings in words): the same template and values give the same bytes in both languages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from functools import cache

from tsharkpost.plugin.tables import read_table

# The plugin's bounds, in bytes of UTF-8: a finding's sentence, a name inside it (a subject, an SNI).
TEXT_BYTES = 200
NAME_BYTES = 64

_PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")
_ELLIPSIS = "\u2026"


@cache
def templates() -> dict[str, str]:
    """Message id -> template, as lua/tables/messages.tsv holds them."""
    return {row["id"]: row["text"] for row in read_table("messages")}


def template(message: str) -> str:
    """The template of an id the package relies on (KeyError names an id the table lacks)."""
    return templates()[message]


def pick(check: str, form: str, *variants: str) -> str | None:
    """The template of <check>.<variant>.<form> for the first variant that has one, else of <check>.<form>."""
    table = templates()
    for variant in variants:
        found = table.get(f"{check}.{variant}.{form}")
        if found is not None:
            return found
    return table.get(f"{check}.{form}")


def placeholders(text: str) -> list[str]:
    """The names a template uses, in order."""
    return _PLACEHOLDER.findall(text)


def fill(text: str, values: Mapping[str, object]) -> str:
    """{name} replaced by values[name], {Name} by the same value with a capital first letter (ASCII)."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return str(values[name])
        lower = name[:1].lower() + name[1:]
        if lower != name and lower in values:
            found = str(values[lower])
            return (found[:1].upper() if found[:1].isascii() else found[:1]) + found[1:]
        raise KeyError(f"message placeholder {{{name}}} has no value")
    return _PLACEHOLDER.sub(value, text)


def say(message: str, /, **values: object) -> str:
    """The template of `message` filled with `values`."""
    return fill(template(message), values)


def cut(text: str, max_bytes: int) -> str:
    """text, or its longest prefix of whole characters followed by an ellipsis, at most max_bytes of UTF-8."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[:max(0, max_bytes - len(_ELLIPSIS.encode("utf-8")))].decode("utf-8", "ignore") + _ELLIPSIS


def listed(items: Iterable[str], max_items: int) -> str:
    """"a, b, c and 2 more": the first max_items items, each cut to NAME_BYTES ("nothing" for none)."""
    every = list(items)
    if not every:
        return template("list.none")
    text = ", ".join(cut(item, NAME_BYTES) for item in every[:max_items])
    if len(every) > max_items:
        text = say("list.more", list=text, count=len(every) - max_items)
    return text


def delay(seconds: float | None) -> str:
    """A delay as the messages say it: "2 ms", or "12.5 s" from 10 s on ("?" when unknown)."""
    if seconds is None:
        return "?"
    ms = math.floor(seconds * 1000 + 0.5)
    return f"{ms} ms" if ms < 10000 else f"{ms / 1000:.1f} s"


def role(index: int, self_signed: bool, sender: str = "server") -> str:
    """A certificate's role in its chain, as the messages name it: leaf (#0), root (self-signed), intermediate;
    a certificate the client sent says so ("client leaf", role.client)."""
    key = "leaf" if index == 0 else "root" if self_signed else "intermediate"
    own = template(f"role.{key}")
    return fill(template("role.client"), {"role": own}) if sender == "client" else own
