"""Command line entry point: argument parsing, exit codes, wiring only."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import IO

from tsharkpost import __version__
from tsharkpost import tshark as ts
from tsharkpost.aggregate import PatternTally
from tsharkpost.diff import cli as diff_cli
from tsharkpost.explain import cli as explain_cli
from tsharkpost.inputs import expand
from tsharkpost.models import InputStatus
from tsharkpost.output import OutputError, close_output, open_output
from tsharkpost.pipeline import analyze
from tsharkpost.render.csv_out import write_csv
from tsharkpost.render.json_out import write_json, write_jsonl
from tsharkpost.render.table import write_table
from tsharkpost.results import InputResult, Summary
from tsharkpost.wireshark import cli as wireshark_cli
from tsharkpost.timeline import cli as timeline_cli
from tsharkpost.tshark_args import add_tshark_options, tshark_options

log = logging.getLogger("tsharkpost")

EXIT_OK = 0
EXIT_FAIL_ON = 1  # --fail-on matched
EXIT_USAGE = 2  # bad arguments (argparse)
EXIT_INPUT_ERROR = 3  # at least one input could not be read completely; the others were processed
EXIT_NO_TSHARK = 4  # tshark missing, too old or unusable: nothing was processed

EXIT_CODES_HELP = f"""exit codes:
  {EXIT_OK}  every input read; no --fail-on condition met
  {EXIT_FAIL_ON}  a --fail-on condition was met
  {EXIT_USAGE}  usage error
  {EXIT_INPUT_ERROR}  at least one input was missing, unreadable, truncated or not a capture (the rest were processed)
  {EXIT_NO_TSHARK}  tshark is missing, too old or cannot run (nothing was processed)
"""
FAIL_ON = {
    "failure": "any TLS connection that failed",
    "error": "any plugin finding of severity error",
    "warning": "any plugin finding of severity warning or error",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tsharkpost", description="Turn packet captures into answers for "
                                     "people who troubleshoot TLS.")
    parser.add_argument("--version", action="version", version=f"tsharkpost {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    summarize = commands.add_parser(
        "summarize", help="per-connection TLS outcomes and failure patterns across captures",
        description="Read captures with tshark and the tsharkpost plugin; report one record per TCP "
                    "connection and the failure patterns across all of them.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    summarize.add_argument("captures", nargs="+", metavar="CAPTURE",
                           help="capture files (pcap, pcapng, gzip'd too) or directories to search")
    summarize.add_argument("--format", choices=["table", "json", "jsonl", "csv"], default="table",
                           help="output format (default: table)")
    summarize.add_argument("--connections", action="store_true", help="with the table: list every connection")
    summarize.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")
    summarize.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1,
                           help="captures read in parallel (default: CPU count)")
    add_tshark_options(summarize)
    summarize.add_argument("--fail-on", action="append", choices=sorted(FAIL_ON), default=[],
                           help="exit 1 when: " + "; ".join(f"{k}: {v}" for k, v in FAIL_ON.items()))
    wireshark_cli.add_parsers(commands)
    diff_cli.add_parser(commands)
    timeline_cli.add_event_options(summarize, required=False)
    explain_cli.add_parser(commands)
    timeline_cli.add_parser(commands)
    return parser


def _progress(stream: IO[str], done: int, total: int, name: str) -> None:
    stream.write(f"\r\x1b[K[{done}/{total}] {name}")
    if done == total:
        stream.write("\r\x1b[K")
    stream.flush()


def _analyze_all(paths: list[Path], tshark: ts.Tshark, options: ts.Options, jobs: int,
                 scratch: Path) -> list[InputResult]:
    show_progress = sys.stderr.isatty()
    results: dict[Path, InputResult] = {}
    records = {path: scratch / f"{number}.jsonl" for number, path in enumerate(paths)}
    if jobs <= 1 or len(paths) <= 1:
        for number, path in enumerate(paths, start=1):
            results[path] = analyze(path, tshark, options, records[path])
            if show_progress:
                _progress(sys.stderr, number, len(paths), path.name)
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, len(paths))) as pool:
            futures = {path: pool.submit(analyze, path, tshark, options, records[path]) for path in paths}
            for number, (path, future) in enumerate(futures.items(), start=1):
                results[path] = future.result()
                if show_progress:
                    _progress(sys.stderr, number, len(paths), path.name)
    return [results[path] for path in paths]


def _exit_code(results: list[InputResult], fail_on: list[str]) -> int:
    if any(result.status in (InputStatus.ERROR, InputStatus.TRUNCATED) for result in results):
        return EXIT_INPUT_ERROR
    failed = any(result.totals.failed for result in results)
    worst = max((finding["severity"] for result in results for record in result.records()
                 for finding in record["findings"]), default=0) if {"error", "warning"} & set(fail_on) else 0
    if ("failure" in fail_on and failed) or ("error" in fail_on and worst >= 3) or ("warning" in fail_on and worst >= 2):
        return EXIT_FAIL_ON
    return EXIT_OK


def summarize(args: argparse.Namespace) -> int:
    try:
        tshark = ts.locate(args.tshark)
    except ts.TsharkError as error:
        log.error("%s", error)
        return EXIT_NO_TSHARK
    options = tshark_options(args)
    paths = expand(args.captures)
    if not paths:
        log.error("no capture files found in %s", " ".join(args.captures))
        return EXIT_INPUT_ERROR
    try:
        out = open_output(args.output)
    except OutputError as error:
        log.error("%s", error)
        return EXIT_USAGE
    with tempfile.TemporaryDirectory(prefix="tsharkpost-") as scratch:
        results = _analyze_all(paths, tshark, options, max(1, args.jobs), Path(scratch))
        for result in results:
            if result.status in (InputStatus.ERROR, InputStatus.TRUNCATED):
                log.error("%s: %s", result.path, result.reason)
            elif result.status is InputStatus.NO_TLS:
                log.warning("%s: %s", result.path, result.reason)
        enriched = timeline_cli.enrich_summary(args, results) if args.events else None
        tally = PatternTally()
        for result in results:
            tally.merge(result.patterns)
        summary = Summary(__version__, tshark.path, tshark.version, results, tally.rows(),
                          *(enriched[:2] if enriched else (None, None)))
        try:
            if args.format == "table":
                write_table(summary, out, args.connections)
            else:
                {"json": write_json, "jsonl": write_jsonl, "csv": write_csv}[args.format](summary, out)
        finally:
            close_output(out)
        return EXIT_INPUT_ERROR if enriched and enriched[2] else _exit_code(results, args.fail_on)


def main(argv: list[str] | None = None) -> int:
    # Diagnostics go to the stderr of this call, one line each; stdout carries only the output.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("tsharkpost: %(levelname)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        args = _parser().parse_args(argv)
        if args.command == "summarize":
            return summarize(args)
        if args.command in wireshark_cli.COMMANDS:
            return wireshark_cli.run(args)
        if args.command == "diff":
            return diff_cli.run(args)
        if args.command == "explain":
            return explain_cli.run(args)
        if args.command == "timeline":
            return timeline_cli.run(args)
        return EXIT_USAGE
    finally:
        log.removeHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
