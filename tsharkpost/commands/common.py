"""What every command shares: exit codes, diagnostics, tshark options, input expansion, the -o file."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from enum import IntEnum
from pathlib import Path
from typing import IO

from tsharkpost.capture import tshark as ts
from tsharkpost.capture.capfile import CAPTURE_SUFFIXES
from tsharkpost.errors import OutputError, TsharkError

log = logging.getLogger("tsharkpost")



class ExitCode(IntEnum):
    """Every exit code of every command; each command's --help says what they mean for it."""

    OK = 0
    FAIL_ON = 1  # summarize: a --fail-on condition met; diff: a difference found; wireshark: a user file kept
    USAGE = 2  # bad arguments (argparse exits with 2 too)
    INPUT_ERROR = 3  # an input could not be read completely; the others were processed
    NO_TSHARK = 4  # tshark missing, too old or unusable: nothing was processed


def setup_logging() -> logging.Handler:
    """Diagnostics go to this call's stderr, one line each ("tsharkpost: error: ..."); stdout carries output."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("tsharkpost: %(levelname)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return handler


# -- tshark options (summarize, diff, timeline) ----------------------------------------------------------------------

def add_tshark_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keylog", help="TLS key log file (SSLKEYLOGFILE) to decrypt TLS 1.3 chains")
    parser.add_argument("--decode-as", action="append", default=[], metavar="RULE",
                        help="passed to tshark -d, e.g. tcp.port==8443,tls (repeatable)")
    parser.add_argument("--plugin-pref", action="append", default=[], metavar="PREF:VALUE",
                        help="a plugin preference, e.g. tpost.rsa_warning_bits:3072 (repeatable)")
    parser.add_argument("--tshark", metavar="PATH", help="the tshark executable (or its folder)")
    parser.add_argument("--tshark-timeout", type=_seconds, default=ts.DEFAULT_TSHARK_TIMEOUT, metavar="SECONDS",
                        help="take tshark as hung and stop it when it writes nothing for this long "
                             f"(default: {ts.DEFAULT_TSHARK_TIMEOUT:g}; 0: wait forever)")


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"not a number of seconds (0 or more): {text!r}")
    return seconds


def tshark_options(args: argparse.Namespace) -> ts.Options:
    """How tshark reads the captures, from the options above."""
    return ts.Options(args.keylog, tuple(args.decode_as), tuple(args.plugin_pref), args.tshark_timeout)


def locate_tshark(args: argparse.Namespace) -> ts.Tshark | None:
    """The tshark to use, or None after saying why there is none."""
    try:
        return ts.locate(args.tshark)
    except TsharkError as error:
        log.error("%s", error)
        return None


# -- inputs ----------------------------------------------------------------------------------------------------------

def expand(arguments: list[str]) -> list[Path]:
    """Files are kept as given (even a missing one, to be reported); directories yield their captures, sorted.

    Every argument is accounted for: a folder that holds no capture, and a folder that cannot be read, are kept
    themselves, for the capture stage to report (capfile.folder_problem) instead of vanishing.
    """
    found: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        try:
            folder = path.is_dir()
        except OSError:  # not even its type can be read: the capture stage says why
            folder = False
        if not folder:
            found.append(path)
            continue
        inside: list[Path] = []
        for parent, _, names in os.walk(path, onerror=lambda error: inside.append(Path(error.filename or path))):
            inside += [Path(parent) / name for name in names if name.lower().endswith(CAPTURE_SUFFIXES)]
        found += sorted(inside) or [path]
    return list(dict.fromkeys(found))


# -- the -o file: opened before any work starts, so an unwritable one fails in one line before tshark runs ----------

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
