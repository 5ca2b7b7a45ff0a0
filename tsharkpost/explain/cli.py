"""tsharkpost explain CODE...: parser setup and runner (wiring only; the lookup is lookup.py)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from typing import IO, Any

from tsharkpost.explain.lookup import Answer, NotACode, explain

log = logging.getLogger("tsharkpost")

EXIT_OK = 0
EXIT_BAD_CODE = 3  # at least one argument could not be read as a code (the others were answered)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "explain", help="what a TLS alert, Schannel event id or error state, Windows error code or OID means",
        description="Look codes up in tsharkpost's offline fact tables (lua/tables/*.tsv); every answer names its "
                    "source and how far to trust it (documented, community-reported, unverified, unknown).",
        epilog="examples: explain 43 | explain 252 | explain 0x80090325 | explain -2146893019 | explain 36888 | "
               "explain 1.2.840.113549.1.1.2 | explain SEC_E_UNTRUSTED_ROOT\n"
               f"exit codes: {EXIT_OK} every argument read (unknown codes are answered as unknown); "
               f"2 usage error; {EXIT_BAD_CODE} an argument is not a code",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("codes", nargs="+", metavar="CODE",
                        help="decimal (43, 36888, 2148074277, -2146893019), hex (0x80090325), OID or symbol name")
    parser.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")


def _write_text(answers: list[Answer], out: IO[str]) -> None:
    for answer in answers:
        out.write(f"{answer.code}: {answer.title} [{answer.kind.replace('_', ' ')}; {answer.provenance}]\n")
        width = max((len(label) for label in answer.details), default=0)
        for label, value in answer.details.items():
            out.write(f"  {label.ljust(width)}  {value}\n")
        if answer.source:
            out.write(f"  {'source'.ljust(width)}  {answer.source}\n")
        out.write("\n")


def run(args: argparse.Namespace) -> int:
    answers: list[Answer] = []
    status = EXIT_OK
    for code in args.codes:
        try:
            answers += explain(code)
        except NotACode as error:
            log.error("%s", error)
            status = EXIT_BAD_CODE
    if args.format == "json":
        json.dump({"answers": [asdict(answer) for answer in answers]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _write_text(answers, sys.stdout)
    return status
