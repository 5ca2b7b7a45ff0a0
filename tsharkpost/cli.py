"""Command line entry point: the parser collected from the commands, and dispatch."""

from __future__ import annotations

import argparse
import io
import os
import signal
import sys
import threading

from tsharkpost import __version__
from tsharkpost.commands import diff, explain, summarize, timeline, wireshark
from tsharkpost.commands.common import ArgumentParser, ExitCode, log, setup_logging

# Each command module adds its parser(s) and runs what it added; the order is --help's.
COMMANDS = [summarize, wireshark, diff, explain, timeline]
RUNNERS = {"summarize": summarize.run, "wireshark": wireshark.run, "filters": wireshark.run, "diff": diff.run,
           "explain": explain.run, "timeline": timeline.run}


def parser() -> argparse.ArgumentParser:
    found = ArgumentParser(prog="tsharkpost", description="Turn packet captures into answers for "
                                    "people who troubleshoot TLS.")
    found.add_argument("--version", action="version", version=f"tsharkpost {__version__}")
    commands = found.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return found


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an exception so that it unwinds like Ctrl-C: tshark is stopped, -o left as it was."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


class StdoutUnwritable(Exception):
    """Standard output failed (closed when tsharkpost started, a full disk, an I/O error): said in one line."""


class _Stdout:
    """sys.stdout while a command runs: a failure to write is said to be standard output's (a closed pipe stays
    BrokenPipeError, which means the reader went away); None (started with standard output closed) fails on the
    first write, not with an AttributeError."""

    def __init__(self, stream: object) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        written = self._call("write", text)
        return written if isinstance(written, int) else len(text)

    def flush(self) -> None:
        if self.stream is not None:   # closed from the start: only writing there fails (a run with -o never does)
            self._call("flush")

    def _call(self, name: str, *arguments: object) -> object:
        if self.stream is None:
            raise StdoutUnwritable("it is closed")
        try:
            return getattr(self.stream, name)(*arguments)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise StdoutUnwritable(error.strerror or str(error)) from None

    def __getattr__(self, name: str) -> object:
        if self.stream is None:
            raise StdoutUnwritable("it is closed")
        return getattr(self.stream, name)


def main(argv: list[str] | None = None) -> int:
    handler = setup_logging()
    previous = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() \
        else None
    stdout = sys.stdout
    sys.stdout = _Stdout(stdout)
    try:
        args = parser().parse_args(argv)
        code = int(RUNNERS[args.command](args))
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below, not at interpreter exit
        return code
    except StdoutUnwritable as error:
        log.error("standard output cannot be written: %s", error)
        return ExitCode.USAGE
    except BrokenPipeError:
        # The reader wants no more (| head): stop quietly, as Python's documentation of SIGPIPE advises, and
        # point stdout at devnull so that the interpreter's final flush does not fail again.
        _stdout_to_devnull()
        return ExitCode.BROKEN_PIPE
    except KeyboardInterrupt as stop:
        log.error("interrupted%s", " (SIGTERM)" if isinstance(stop, Terminated) else "")
        return ExitCode.TERMINATED if isinstance(stop, Terminated) else ExitCode.INTERRUPTED
    finally:
        sys.stdout = stdout
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        log.removeHandler(handler)


def _stdout_to_devnull() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # stdout is no file (a test's capture)
        pass


if __name__ == "__main__":
    sys.exit(main())
