"""Strings from captures, logs and file names made safe for where they are shown: a terminal, a spreadsheet.

Captures, event logs and file names may come from an attacker: an SNI of `=HYPERLINK(...)` is a formula once a
CSV is opened in a spreadsheet; a newline in a provider name would forge a table row or a diagnostic line; an
escape sequence in a file name repaints the analyst's terminal; a bidirectional override makes text read other
than it is. Tables and stderr show them escaped the way Python's repr does ("\\n", "\\x1b", "\\u202e"); JSON
keeps every string as read (its encoder escapes what it must).
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

# OWASP, CSV injection: a cell starting with one of these is read as a formula; a leading ' makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# C0 and C1 controls and DEL; the invisible format characters that reorder or hide text (bidirectional marks,
# embeddings, overrides and isolates, zero-width characters, the byte order mark: the "Trojan Source" ones); the
# Unicode line and paragraph separators, which some terminals and editors break lines at; lone surrogates, which
# stand for the bytes of a file name that is not UTF-8 (os.fsdecode) and which a strict UTF-8 stream refuses.
_UNSAFE = "\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff"
UNPRINTABLE = re.compile(f"[{_UNSAFE}]")
UNPRINTABLE_BUT_NEWLINE = re.compile(f"(?!\n)[{_UNSAFE}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

Cell = TypeVar("Cell")


def spreadsheet_safe(value: Cell) -> Cell | str:
    """A string cell that a spreadsheet would evaluate, behind a single quote; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, limit: int | None = None) -> str:
    """text for a table cell or a line of stderr: control and invisible format characters escaped; past limit
    characters, cut and marked with its length."""
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}... [{len(text):,} characters]"
    return text if UNPRINTABLE.search(text) is None else UNPRINTABLE.sub(_escape, text)


def printable_lines(text: str) -> str:
    """The same for finished text: its line breaks are kept."""
    return UNPRINTABLE_BUT_NEWLINE.sub(_escape, text)


class Lines(str):
    """Text whose line breaks are the program's own (a traceback, a list it built of escaped lines): a diagnostic
    shows it with printable_lines, its other control characters escaped and its newlines kept."""


def diagnostic_value(value: object) -> object:
    """A value put into a diagnostic line (logging's %-arguments): numbers as they are, for %d and %.1f; anything
    else (a file name, an SNI, a reason quoting tshark or a log) as printable text."""
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Lines):
        return printable_lines(value)
    return printable(str(value))


def show_value(value: Any) -> str:
    """A compared value in words, the same in every diff renderer: '-' for none, yes/no, a list joined."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) if value else "(none)"
    return str(value)


def plural(count: int, word: str, words: str | None = None) -> str:
    """"1 event", "2 events" (words: the plural when it is not word + "s"), the count with thousands separators."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"
