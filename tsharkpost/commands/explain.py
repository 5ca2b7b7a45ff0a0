"""`tsharkpost explain CODE...`: arguments and exit codes (the lookup is explain/lookup.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tsharkpost.commands.common import ExitCode, exit_codes_help, log
from tsharkpost.errors import NotACode
from tsharkpost.explain.lookup import Answer, explain
from tsharkpost.render.explain import write_json, write_text

EXIT_CODES_HELP = exit_codes_help({
    ExitCode.OK: "every argument read (unknown codes are answered as unknown)",
    ExitCode.INPUT_ERROR: "an argument is not a code (the others were answered)",
}, runs_tshark=False)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "explain", help="what a TLS alert, Schannel event id or error state, Windows error code or OID means",
        description="Look codes up in tsharkpost's offline fact tables (lua/tables/*.tsv); every answer names its "
                    "source and how far to trust it (documented, community-reported, unverified, unknown).",
        epilog="examples: explain 43 | explain 252 | explain 0x80090325 | explain -2146893019 | explain 36888 | "
               "explain 1.2.840.113549.1.1.2 | explain SEC_E_UNTRUSTED_ROOT\n\n" + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("codes", nargs="+", metavar="CODE",
                        help="decimal (43, 36888, 2148074277, -2146893019), hex (0x80090325), OID or symbol name")
    parser.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")


def run(args: argparse.Namespace) -> int:
    answers: list[Answer] = []
    status = ExitCode.OK
    for code in args.codes:
        try:
            answers += explain(code)
        except NotACode as error:
            log.error("%s", error)
            status = ExitCode.INPUT_ERROR
    (write_json if args.format == "json" else write_text)(answers, sys.stdout)
    return status
