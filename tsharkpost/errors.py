"""Every error tsharkpost raises on purpose, under one base class.

Expected failures (a missing tshark, an unwritable -o, a damaged event log, two
captures that do not pair) are raised as one of these and reported in one line.
Anything else that escapes a stage is a bug: the stage reports it as such, with
its traceback, instead of dressing it up as bad input.
"""

from __future__ import annotations


class TsharkpostError(Exception):
    """Base of tsharkpost's own errors; the message is one line that names the input and the reason."""


class TsharkError(TsharkpostError):
    """tshark cannot be used at all (missing, too old, will not run): every input would fail alike."""


class FieldsError(TsharkpostError):
    """summarize's tshark output (-T fields) cannot be read (cut off, malformed, or a value of the wrong form)."""


class CaptureClockError(FieldsError):
    """A frame's time that no date can hold (before the year 1 or after 9999): the capture's clock is damaged."""


class OutputError(TsharkpostError):
    """The -o file cannot be written; the message names it and says why."""


class EventLogError(TsharkpostError):
    """A log that cannot be read (further): not an event log, malformed or truncated."""


class InputProblem(TsharkpostError):
    """An input cannot be used for what was asked; `lines` lists what there was to choose from."""

    def __init__(self, message: str, lines: list[str] | None = None) -> None:
        super().__init__(message)
        self.lines = lines or []


class PairingError(InputProblem):
    """tsharkpost diff: no single pair of GOOD and BAD connections could be chosen."""


class UnknownPreset(TsharkpostError, KeyError):
    """A display-filter preset name that does not exist."""


class NotACode(TsharkpostError, ValueError):
    """tsharkpost explain: an argument that cannot be read as any kind of code."""
