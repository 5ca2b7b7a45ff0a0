"""Strings from captures, logs and file names made safe for where they are shown: a terminal, a spreadsheet.

Captures and file names may come from an attacker: an SNI of `=HYPERLINK(...)` is a formula once a CSV is
opened in a spreadsheet, and an escape sequence in a file name repaints the analyst's terminal.
"""

from __future__ import annotations

import re
from typing import TypeVar

# OWASP, CSV injection: a cell starting with one of these is read as a formula; a leading ' makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# C0 and C1 controls and DEL, and the Unicode marks that reorder text on screen (the "Trojan Source" ones).
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
UNPRINTABLE_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

Cell = TypeVar("Cell")


def spreadsheet_safe(value: Cell) -> Cell | str:
    """A string cell that a spreadsheet would evaluate, behind a single quote; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    r"""text with every control character written as an escape (\x1b, \u202e), for a table cell on a terminal."""
    return UNPRINTABLE.sub(_escape, text)


def printable_lines(text: str) -> str:
    """The same for finished text: its line breaks are kept."""
    return UNPRINTABLE_BUT_NEWLINE.sub(_escape, text)
