"""--events LOG..., --events-tz ZONE and --shift SECONDS: declared once for summarize and timeline, checked while
the arguments are parsed (before tshark runs), and the logs' problems reported alike."""

from __future__ import annotations

import argparse
import math
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tsharkpost.commands.common import ExitCode, checked, log
from tsharkpost.events.model import LogResult
from tsharkpost.render.text import printable

# Clocks a week apart are a wrong date, not skew; the bound also keeps event times within datetime's range.
MAX_SHIFT_SECONDS = 7 * 86400


def shift_seconds(text: str) -> float:
    """--shift: a finite number of seconds within a week either way."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > MAX_SHIFT_SECONDS:
        raise ValueError(f"not a finite number of seconds within {MAX_SHIFT_SECONDS} (7 days) either way")
    return value


def zone(name: str) -> ZoneInfo:
    """The --events-tz zone; ValueError with a one-line reason when it is not one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"--events-tz {name}: not a time zone name (e.g. Europe/Berlin, UTC)") from None


class ZoneAction(argparse.Action):
    """--events-tz: a name that is no zone is one error line and exit 2."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        try:
            setattr(namespace, self.dest, zone(str(values)))
        except ValueError as error:
            log.error("%s", error)
            parser.exit(ExitCode.USAGE)


def add_event_options(parser: argparse.ArgumentParser, required: bool) -> None:
    """--events, --events-tz and --shift, shared by timeline and summarize."""
    parser.add_argument("--events", nargs="+", action="extend", default=[], metavar="LOG", required=required,
                        help="Windows event logs: .evtx, wevtutil/Event Viewer XML, evtx_dump JSON lines, "
                             "Event Viewer CSV/TXT exports; takes every name after it, so give it after the "
                             "captures or end the logs with --")
    parser.add_argument("--events-tz", metavar="ZONE", action=ZoneAction,
                        help="time zone of the machine that exported CSV/TXT logs (e.g. Europe/Berlin); "
                             "without it their local times are assumed UTC")
    parser.add_argument("--shift", action=checked(shift_seconds), metavar="SECONDS",
                        help="add this to event times (event clock behind the capture: positive; at most "
                             f"{MAX_SHIFT_SECONDS} s, 7 days, either way); "
                             "default: estimated from alert events that pair unambiguously with connections")


def refuse_without_events(args: argparse.Namespace) -> bool:
    """--events-tz or --shift with no --events (summarize, where --events is optional): one error line and True,
    rather than options that silently do nothing."""
    given = [name for name, value in (("--events-tz", args.events_tz), ("--shift", args.shift)) if value is not None]
    if args.events or not given:
        return False
    log.error("%s without --events: %s event log times, and no event log was given", " and ".join(given),
              "they set" if len(given) > 1 else "it sets")
    return True


def report_logs(logs: list[LogResult]) -> bool:
    """Log every event log's problems, one line each; True when one could not be read completely."""
    incomplete = False
    for result in logs:
        path = printable(result.path)
        for note in result.notes:
            log.warning("%s: %s", path, printable(note))
        for problem in result.problems:
            log.error("%s: %s", path, printable(problem))
            incomplete = True
        if result.reason:
            log.error("%s: %s", path, printable(result.reason))
            incomplete = True
    return incomplete
