"""Where a command writes its result: standard output or the -o file, opened before any work starts.

Opening first means an unwritable -o fails in one line before tshark runs, never
as a traceback (or, for diff, as an exit code that reads like a verdict) at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO


class OutputError(Exception):
    """The -o file cannot be written; the message names it and says why."""


def open_output(path: Path | None) -> IO[str]:
    if path is None:
        return sys.stdout
    try:
        return path.open("w", encoding="utf-8")
    except OSError as error:
        raise OutputError(f"{path}: cannot write the output there: {error.strerror or error}") from None


def close_output(stream: IO[str]) -> None:
    if stream is not sys.stdout:
        stream.close()
