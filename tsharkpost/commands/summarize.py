"""`tsharkpost summarize CAPTURE...`: every TLS connection of every capture, and the failure patterns across them."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from tsharkpost import __version__
from tsharkpost.capture.aggregate import PatternTally
from tsharkpost.capture import tshark as ts
from tsharkpost.capture.batch import Finished, analyze_all
from tsharkpost.capture.result import InputResult, InputStatus
from tsharkpost.capture.sliced import DEFAULT_SLICE_MB
from tsharkpost.commands.common import (ExitCode, JobsValue, SliceValue, add_tshark_options, exit_codes_help, expand,
                                        log, prepare, tshark_options, write_output)
from tsharkpost.commands.event_options import add_event_options, refuse_without_events, report_logs
from tsharkpost.commands.progress import progress
from tsharkpost.plugin.tables import Severity
from tsharkpost.render.summary_csv import write_csv
from tsharkpost.render.summary_html import write_html
from tsharkpost.render.summary_json import write_json, write_jsonl
from tsharkpost.render.summary_table import write_table
from tsharkpost.render.text import Lines
from tsharkpost.summary import Summary, distinguishing_names
from tsharkpost.timeline.attach import attribute_to_records

EXIT_CODES_HELP = exit_codes_help({
    ExitCode.OK: "every input read; no --fail-on condition met",
    ExitCode.FAIL_ON: "a --fail-on condition was met",
    ExitCode.USAGE: "usage error (a bad option value; -o is an input or cannot be written; standard output "
                     "cannot be written)",
    ExitCode.INPUT_ERROR: "an input or event log could not be read completely (missing, unreadable, truncated, "
                          "damaged, not a capture,\n       tshark's output incomplete or hung, a plugin error, a bug); "
                          "the rest were processed",
    ExitCode.NO_TSHARK: "tshark is missing, too old or cannot run (nothing was processed)",
}, output_file=True)
FAIL_ON = {
    "failure": "any TLS connection that failed",
    "error": "any plugin finding of severity error",
    "warning": "any plugin finding of severity warning or error",
}
WRITERS: dict[str, Callable[[Summary, IO[str]], None]] = {"json": write_json, "jsonl": write_jsonl, "csv": write_csv}


def add_parser(commands: Any) -> None:
    summarize = commands.add_parser(
        "summarize", help="per-connection TLS outcomes and failure patterns across captures",
        description="Read captures with tshark and the tsharkpost plugin; report one record per TCP "
                    "connection and the failure patterns across all of them.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    summarize.add_argument("captures", nargs="+", metavar="CAPTURE",
                           help="capture files (pcap, pcapng, gzip'd too) or directories to search")
    summarize.add_argument("--format", choices=["table", *WRITERS, "html"], default="table",
                           help="output format (default: table); html: one self-contained page, best with -o")
    summarize.add_argument("--connections", action="store_true",
                           help="with the table: list every connection; with html: draw the ones that did not fail "
                                "too (collapsed)")
    summarize.add_argument("-o", "--output", type=Path,
                           help="write to this file instead of standard output; it is replaced only when the run "
                                "has finished, and may not be one of the inputs")
    summarize.add_argument("--jobs", "-j", action=JobsValue, default=os.cpu_count() or 1, metavar="N",
                           help="captures read in parallel, 1 or more (default: CPU count)")
    summarize.add_argument("--slice-mb", action=SliceValue, default=DEFAULT_SLICE_MB, metavar="MB",
                           help="read a capture larger than this in parts, in parallel (one per started MB, at "
                                "most one per --jobs or cluster thread; records as from the whole capture); "
                                f"0: never (default: {DEFAULT_SLICE_MB:g})")
    summarize.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                           help="read the captures on this Dask cluster's workers instead of here (needs "
                                "tsharkpost[cluster]; workers need tshark and tsharkpost, and the same paths)")
    summarize.add_argument("--quiet", "-q", action="store_true",
                           help="no progress on stderr (shown only when stderr is a terminal anyway)")
    add_tshark_options(summarize)
    summarize.add_argument("--fail-on", action="append", choices=sorted(FAIL_ON), default=[],
                           help="exit 1 when: " + "; ".join(f"{k}: {v}" for k, v in FAIL_ON.items()))
    add_event_options(summarize, required=False)


def _on_cluster(scheduler: str, paths: list[Path], tshark: ts.Tshark, options: ts.Options, scratch: Path,
                finished: Finished | None, slice_mb: float) -> list[InputResult] | None:
    """The captures read on the cluster; None after saying why it cannot be used. dask is imported only here."""
    try:
        from tsharkpost.capture.cluster import ClusterError, analyze_on_cluster
    except ImportError as error:
        log.error("--scheduler needs dask.distributed (pip install 'tsharkpost[cluster]'): %s", error)
        return None
    try:
        return analyze_on_cluster(paths, tshark, options, scheduler, scratch, finished, slice_mb)
    except ClusterError as error:
        log.error("%s", error)
        return None


def _report_inputs(results: list[InputResult]) -> None:
    for result in results:
        if result.status is InputStatus.BUG:
            log.error("%s: %s\n%s", result.path, result.reason, Lines(result.traceback or ""))
        elif result.status.incomplete:
            log.error("%s: %s", result.path, result.reason)
        elif result.status is InputStatus.NO_TLS:
            log.warning("%s: %s", result.path, result.reason)


def _exit_code(results: list[InputResult], fail_on: list[str]) -> ExitCode:
    if any(result.status.incomplete for result in results):
        return ExitCode.INPUT_ERROR
    failed = any(result.totals.failed for result in results)
    worst = max((finding.severity for result in results for record in result.records()
                 for finding in record.findings), default=0) if {"error", "warning"} & set(fail_on) else 0
    if (("failure" in fail_on and failed) or ("error" in fail_on and worst >= Severity.ERROR)
            or ("warning" in fail_on and worst >= Severity.WARNING)):
        return ExitCode.FAIL_ON
    return ExitCode.OK


def run(args: argparse.Namespace) -> int:
    if refuse_without_events(args):
        return ExitCode.USAGE
    paths = expand(args.captures)  # every argument is accounted for: a folder without captures is an input too
    prepared = prepare(args, [*paths, *(Path(name) for name in args.events)])
    if isinstance(prepared, ExitCode):
        return prepared
    tshark, output = prepared
    with output, tempfile.TemporaryDirectory(prefix="tsharkpost-") as scratch:
        with progress(paths, args.quiet, within_captures=not args.scheduler) as shown:
            if args.scheduler:
                results = _on_cluster(args.scheduler, paths, tshark, tshark_options(args, Path(scratch)),
                                      Path(scratch), shown.finished if shown else None, args.slice_mb)
                if results is None:
                    return ExitCode.USAGE
            else:
                results = analyze_all(paths, tshark, tshark_options(args, Path(scratch)), args.jobs, Path(scratch),
                                      shown.finished if shown else None, args.slice_mb,
                                      shown.sliced if shown else None)
        _report_inputs(results)
        events = attribute_to_records(results, [Path(name) for name in args.events], args.events_tz, args.shift) \
            if args.events else None
        logs_incomplete = report_logs(events.logs) if events else False
        tally = PatternTally()
        for result in results:
            tally.merge(result.patterns)
        names = distinguishing_names(result.path for result in results)
        summary = Summary(__version__, tshark.path, tshark.version, results, tally.rows(names), events, names)
        if args.format == "table":
            written = write_output(output, lambda out: write_table(summary, out, args.connections))
        elif args.format == "html":
            written = write_output(output, lambda out: write_html(summary, out, args.connections))
        else:
            written = write_output(output, lambda out: WRITERS[args.format](summary, out))
        if not written:
            return ExitCode.USAGE
        return ExitCode.INPUT_ERROR if logs_incomplete else _exit_code(results, args.fail_on)
