"""Command line entry point: argument parsing, exit codes, wiring only."""

from __future__ import annotations

import argparse
import sys

from tsharkpost import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tsharkpost", description="Turn packet captures into answers "
                                     "for people who troubleshoot TLS.")
    parser.add_argument("--version", action="version", version=f"tsharkpost {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("summarize", help="per-connection TLS outcomes and failure patterns (coming)")
    args = parser.parse_args(argv)
    print(f"tsharkpost: '{args.command}' is not implemented yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
