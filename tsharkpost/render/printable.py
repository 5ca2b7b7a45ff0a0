"""Strings from other people's files -> text safe to put in a table cell or a line of stderr.

Provider and computer names, field values and file names come from event logs and captures that may be hostile: a
newline would forge a table row or a diagnostic line, an escape sequence would drive the terminal, a bidirectional
override would make the text read other than it is. They are shown escaped, the way Python's repr shows them
("\\n", "\\x1b", "\\u202e"), and a table cell is shortened past a limit, saying how long it was. JSON output keeps
the strings as read (its encoder escapes what it must).
"""

from __future__ import annotations

import re

# C0 and C1 controls and DEL; the invisible format characters that reorder or hide text (bidirectional marks,
# embeddings, overrides and isolates, zero-width characters, the byte order mark); the Unicode line and paragraph
# separators, which some terminals and editors break lines at.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, limit: int | None = None) -> str:
    """text with control and invisible format characters escaped; past limit characters, cut and marked."""
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}... [{len(text):,} characters]"
    return text if _UNSAFE.search(text) is None else _UNSAFE.sub(_escape, text)
