"""tsharkpost timeline CAPTURE... --events LOG...: parser setup and runner (wiring only)."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tsharkpost import tshark as ts
from tsharkpost.inputs import expand
from tsharkpost.models import InputStatus
from tsharkpost.timeline.build import run_timeline
from tsharkpost.timeline.render import write_json, write_table
from tsharkpost.tshark_args import add_tshark_options, tshark_options

log = logging.getLogger("tsharkpost")

EXIT_OK, EXIT_USAGE, EXIT_INPUT_ERROR, EXIT_NO_TSHARK = 0, 2, 3, 4  # as in tsharkpost/cli.py
# Clocks a week apart are a wrong date, not skew; the bound also keeps event times within datetime's range.
MAX_SHIFT_SECONDS = 7 * 86400


def shift_seconds(text: str) -> float:
    """--shift: a finite number of seconds within a week either way."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > MAX_SHIFT_SECONDS:
        raise argparse.ArgumentTypeError(f"{text}: not a finite number of seconds within {MAX_SHIFT_SECONDS} "
                                         "(7 days) either way")
    return value


def around_seconds(text: str) -> float:
    """--around: a finite number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text}: not a finite number of seconds, 0 or more")
    return value


class ZoneAction(argparse.Action):
    """--events-tz: checked while the arguments are parsed, before tshark runs (timeline and summarize alike);
    a name that is no zone is one error line and exit 2."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        try:
            setattr(namespace, self.dest, zone(str(values)))
        except ValueError as error:
            log.error("%s", error)
            parser.exit(EXIT_USAGE)


def add_event_options(parser: argparse.ArgumentParser, required: bool) -> None:
    """--events, --events-tz and --shift, shared by timeline and summarize."""
    parser.add_argument("--events", nargs="+", action="extend", default=[], metavar="LOG", required=required,
                        help="Windows event logs: .evtx, wevtutil/Event Viewer XML, evtx_dump JSON lines, "
                             "Event Viewer CSV/TXT exports; takes every name after it, so give it after the "
                             "captures or end the logs with --")
    parser.add_argument("--events-tz", metavar="ZONE", action=ZoneAction,
                        help="time zone of the machine that exported CSV/TXT logs (e.g. Europe/Berlin); "
                             "without it their local times are assumed UTC")
    parser.add_argument("--shift", type=shift_seconds, metavar="SECONDS",
                        help="add this to event times (event clock behind the capture: positive; at most "
                             f"{MAX_SHIFT_SECONDS} s, 7 days, either way); "
                             "default: estimated from alert events that pair unambiguously with connections")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "timeline", help="connection milestones and Windows events on one time axis",
        description="Put the milestones of every connection (SYN, ClientHello, server flight, alerts, CCS, first "
                    "application data, FIN/RST) and Windows events on one timeline, each event placed between the "
                    "frames it falls between and attributed to the connection it most plausibly belongs to.",
        epilog=f"exit codes: {EXIT_OK} all read; {EXIT_USAGE} usage error; {EXIT_INPUT_ERROR} a capture or log "
               f"could not be read completely (the rest is shown); {EXIT_NO_TSHARK} tshark missing or unusable",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("captures", nargs="+", metavar="CAPTURE", help="capture files or directories")
    add_event_options(parser, required=True)
    parser.add_argument("--around", type=around_seconds, metavar="SECONDS",
                        help="show only failed connections and events within SECONDS of them")
    parser.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    add_tshark_options(parser)


def zone(name: str) -> ZoneInfo:
    """The --events-tz zone; ValueError with a one-line reason when it is not one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"--events-tz {name}: not a time zone name (e.g. Europe/Berlin, UTC)") from None


def report_logs(logs: list[Any]) -> bool:
    """Log every event log's problems; True when one could not be read completely."""
    incomplete = False
    for result in logs:
        for note in result.notes:
            log.warning("%s: %s", result.path, note)
        for problem in result.problems:
            log.error("%s: %s", result.path, problem)
            incomplete = True
        if result.reason:
            log.error("%s: %s", result.path, result.reason)
            incomplete = True
    return incomplete


def enrich_summary(args: argparse.Namespace, results: list[Any]) -> tuple[list[dict[str, Any]], dict[str, Any], bool]:
    """summarize --events: event logs' statuses, the clock, and whether a log could not be read completely."""
    from tsharkpost.timeline.enrich import enrich

    done = enrich(results, [Path(name) for name in args.events], args.events_tz, args.shift)
    incomplete = report_logs(done.logs)
    return [result.as_dict() for result in done.logs], done.skew.as_dict(), incomplete


def run(args: argparse.Namespace) -> int:
    try:
        tshark = ts.locate(args.tshark)
    except ts.TsharkError as error:
        log.error("%s", error)
        return EXIT_NO_TSHARK
    paths = expand(args.captures)
    if not paths:
        log.error("no capture files found in %s", " ".join(args.captures))
        return EXIT_INPUT_ERROR
    options = tshark_options(args)
    timeline = run_timeline(paths, [Path(name) for name in args.events], tshark, options, args.events_tz,
                            args.shift, args.around)
    failed = False
    for result in timeline.captures:
        if result.status in (InputStatus.ERROR, InputStatus.TRUNCATED):
            log.error("%s: %s", result.path, result.reason)
            failed = True
    failed = report_logs(timeline.logs) or failed
    (write_json if args.format == "json" else write_table)(timeline, sys.stdout)
    return EXIT_INPUT_ERROR if failed else EXIT_OK
