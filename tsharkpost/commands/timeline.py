"""`tsharkpost timeline CAPTURE... --events LOG...`: milestones and Windows events on one time axis."""

from __future__ import annotations

import argparse
import math
import tempfile
import sys
from pathlib import Path
from typing import Any

from tsharkpost.commands.common import (ExitCode, add_tshark_options, checked, exit_codes_help, expand, log,
                                        prepare, tshark_options)
from tsharkpost.commands.event_options import add_event_options, report_logs
from tsharkpost.render.timeline import write_json, write_table
from tsharkpost.timeline.build import run_timeline


def around_seconds(text: str) -> float:
    """--around: a finite number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValueError("not a finite number of seconds, 0 or more")
    return value


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "timeline", help="connection milestones and Windows events on one time axis",
        description="Put the milestones of every connection (SYN, ClientHello, server flight, alerts, CCS, first "
                    "application data, FIN/RST) and Windows events on one timeline, each event placed between the "
                    "frames it falls between and attributed to the connection it most plausibly belongs to.",
        epilog=exit_codes_help({
            ExitCode.OK: "all read",
            ExitCode.INPUT_ERROR: "a capture or log could not be read completely (the rest is shown)",
            ExitCode.NO_TSHARK: "tshark is missing, too old or cannot run"}),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("captures", nargs="+", metavar="CAPTURE", help="capture files or directories")
    add_event_options(parser, required=True)
    parser.add_argument("--around", action=checked(around_seconds), metavar="SECONDS",
                        help="show only failed connections and events within SECONDS of them")
    parser.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    add_tshark_options(parser)


def run(args: argparse.Namespace) -> int:
    paths = expand(args.captures)  # every argument is accounted for: a folder without captures is an input too
    prepared = prepare(args, [])  # timeline writes to standard output only
    if isinstance(prepared, ExitCode):
        return prepared
    tshark, _ = prepared
    with tempfile.TemporaryDirectory(prefix="tsharkpost-timeline-") as scratch:
        timeline = run_timeline(paths, [Path(name) for name in args.events], tshark,
                                tshark_options(args, Path(scratch)), args.events_tz, args.shift, args.around)
    failed = False
    for result in timeline.captures:
        if result.status.incomplete:
            log.error("%s: %s", result.path, result.reason)
            failed = True
    failed = report_logs(timeline.logs) or failed
    (write_json if args.format == "json" else write_table)(timeline, sys.stdout)
    return ExitCode.INPUT_ERROR if failed else ExitCode.OK
