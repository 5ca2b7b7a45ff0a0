"""Command line entry point: the parser collected from the commands, and dispatch."""

from __future__ import annotations

import argparse
import sys

from tsharkpost import __version__
from tsharkpost.commands import diff, explain, summarize, timeline, wireshark
from tsharkpost.commands.common import log, setup_logging

# Each command module adds its parser(s) and runs what it added; the order is --help's.
COMMANDS = [summarize, wireshark, diff, explain, timeline]
RUNNERS = {"summarize": summarize.run, "wireshark": wireshark.run, "filters": wireshark.run, "diff": diff.run,
           "explain": explain.run, "timeline": timeline.run}


def parser() -> argparse.ArgumentParser:
    found = argparse.ArgumentParser(prog="tsharkpost", description="Turn packet captures into answers for "
                                    "people who troubleshoot TLS.")
    found.add_argument("--version", action="version", version=f"tsharkpost {__version__}")
    commands = found.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return found


def main(argv: list[str] | None = None) -> int:
    handler = setup_logging()
    try:
        args = parser().parse_args(argv)
        return int(RUNNERS[args.command](args))
    finally:
        log.removeHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
