"""`tsharkpost diff GOOD BAD`: arguments, reading both sides, pairing, exit codes (wiring only)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from tsharkpost import __version__
from tsharkpost.capture import tshark as ts
from tsharkpost.capture.analyze import analyze
from tsharkpost.capture.capfile import precheck
from tsharkpost.capture.result import InputResult, InputStatus
from tsharkpost.commands.common import (ExitCode, add_tshark_options, exit_codes_help, log, prepare, tshark_options,
                                        write_output)
from tsharkpost.diff import compare
from tsharkpost.diff.model import Comparison
from tsharkpost.diff.sides import (Candidate, ServerSpec, SideSpec, listing, matches, pair, parse_server, parse_side,
                                   tls_candidates)
from tsharkpost.diff.verdict import verdict
from tsharkpost.errors import InputProblem
from tsharkpost.record.model import ConnectionRecord
from tsharkpost.render.diff_html import write_diff_html
from tsharkpost.render.diff_json import diff_document, write_diff_json
from tsharkpost.render.diff_table import write_diff_table
from tsharkpost.render.text import Lines, printable


EXIT_CODES_HELP = exit_codes_help({
    ExitCode.OK: "compared; no difference that would explain BAD's failure (or BAD did not fail)",
    ExitCode.FAIL_ON: "compared; the verdict lists at least one difference that may explain BAD's failure",
    ExitCode.USAGE: "usage error (a bad option value; -o is GOOD or BAD or cannot be written; standard output "
                     "cannot be written)",
    ExitCode.INPUT_ERROR: "a side is unreadable, has no TLS, or no single pair of connections could be chosen\n"
                          "       (the message lists the candidates)",
    ExitCode.NO_TSHARK: "tshark is missing, too old or cannot run",
}, output_file=True)


def _side(text: str) -> SideSpec:
    try:
        return parse_side(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _server(text: str) -> ServerSpec:
    try:
        return parse_server(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_parser(commands: Any) -> None:
    """Register the diff subcommand on the main parser's subparsers."""
    parser = commands.add_parser(
        "diff", help="compare a good and a bad TLS handshake and say what explains the failure",
        description="Compare one TLS connection that worked (GOOD) with one that failed (BAD), from two captures "
                    "or from one: a ranked verdict of the differences that may explain the failure, then "
                    "ClientHello, ServerHello, certificate chain, alerts, teardown and outcome side by side. "
                    "TCP, DTLS and QUIC connections alike. Without FILE#STREAM, GOOD's established connections are "
                    "paired with BAD's failed ones by server name and address.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("good", type=_side, metavar="GOOD", help="capture of the working case, FILE or FILE#STREAM "
                        "(STREAM as summarize --connections names it: N is tcp.stream N; quic/N and udp-dtls/N "
                        "a QUIC or DTLS flow's udp.stream N)")
    parser.add_argument("bad", type=_side, metavar="BAD", help="capture of the failing case, FILE or FILE#STREAM")
    parser.add_argument("--sni", metavar="NAME", help="only connections whose ClientHello asks for this server name")
    parser.add_argument("--server", type=_server, metavar="ADDR:PORT",
                        help="only connections to this server address (and port)")
    parser.add_argument("--format", choices=["table", "json", "html"], default="table",
                        help="output format (default: table); html: one self-contained page, best with -o")
    parser.add_argument("-o", "--output", type=Path,
                        help="write to this file instead of standard output; it is replaced only when the run "
                             "has finished, and may not be GOOD or BAD")
    add_tshark_options(parser)


def _read(label: str, path: Path, tshark: ts.Tshark, options: ts.Options, scratch: Path,
          done: dict[Path, InputResult]) -> InputResult:
    """One capture through the summarize pipeline, once even when both sides name it (however spelt)."""
    key = path.resolve()
    if key not in done:
        done[key] = analyze(path, tshark, options, scratch / f"{len(done)}.jsonl")
    result = done[key]
    if result.status is InputStatus.BUG:
        log.error("%s: %s: %s\n%s", label, path, result.reason, Lines(result.traceback or ""))
    if result.status in (InputStatus.ERROR, InputStatus.BUG):
        raise InputProblem(f"{label}: {path}: {result.reason}")
    if result.status is InputStatus.NO_TLS:
        raise InputProblem(f"{label}: {path}: {result.reason}")
    if result.status is InputStatus.TRUNCATED:
        log.warning("%s: %s: %s (comparing what came before the cut)", label, path, result.reason)
    return result


def _candidates(label: str, spec: SideSpec, result: InputResult, args: argparse.Namespace) -> list[Candidate]:
    every = list(tls_candidates(result.records()))
    chosen = [candidate for candidate in every if matches(candidate, spec, args.sni, args.server)]
    if not chosen:
        wanted = [f"stream {spec.stream_id}" if spec.stream is not None else "",
                  f"--sni {args.sni}" if args.sni else "",
                  f"--server {args.server.address}{'' if args.server.port is None else f':{args.server.port}'}"
                  if args.server else ""]
        raise InputProblem(f"{label}: {spec.path}: no TLS connection matches "
                            f"{', '.join(part for part in wanted if part)}", listing(every, label))
    return chosen


def _record(result: InputResult, candidate: Candidate) -> ConnectionRecord:
    """The candidate's record: a stream may hold more than one connection (a client that connects again from its
    port), so the candidate's own first frame tells them apart."""
    return next(record for record in result.records() if Candidate.of(record) == candidate)


def _say_each(problems: list[InputProblem]) -> None:
    """Each side's problem in its own line: all but the last logged here, the last raised (run() says it, with the
    candidates when there are)."""
    if problems:
        for earlier in problems[:-1]:
            log.error("%s", earlier)
        raise problems[-1]


def _compare(args: argparse.Namespace, tshark: ts.Tshark, scratch: Path) -> Comparison:
    options = tshark_options(args, scratch)
    sides = (("GOOD", args.good), ("BAD", args.bad))
    # Both sides checked before tshark runs on either, then both read, and every side's problem said
    _say_each([InputProblem(f"{label}: {spec.path}: {problem.reason}") for label, spec in sides
               for problem in [precheck(spec.path)] if problem])
    done: dict[Path, InputResult] = {}
    read: dict[str, InputResult] = {}
    failed: list[InputProblem] = []
    for label, spec in sides:
        try:
            read[label] = _read(label, spec.path, tshark, options, scratch, done)
        except InputProblem as unusable:
            failed.append(unusable)
    _say_each(failed)
    good_result, bad_result = read["GOOD"], read["BAD"]
    good_candidate, bad_candidate = pair(_candidates("GOOD", args.good, good_result, args),
                                         _candidates("BAD", args.bad, bad_result, args))
    good, bad = _record(good_result, good_candidate), _record(bad_result, bad_candidate)
    if not bad.failed and good.failed:
        log.warning("BAD (%s) did not fail but GOOD (%s) did: are GOOD and BAD swapped?",
                    bad_candidate.name, good_candidate.name)
    elif good.failed:
        log.warning("GOOD (%s) failed too (%s): the verdict says how BAD's failure differs",
                    good_candidate.name, good.outcome.value)
    sections = compare.sections(good, bad)
    return Comparison(str(args.good.path), str(args.bad.path), good, bad, sections, verdict(good, bad, sections))


def run(args: argparse.Namespace) -> int:
    prepared = prepare(args, [args.good.path, args.bad.path])
    if isinstance(prepared, ExitCode):
        return prepared
    tshark, output = prepared
    with output:
        with tempfile.TemporaryDirectory(prefix="tsharkpost-diff-") as scratch:
            try:
                comparison = _compare(args, tshark, Path(scratch))
            except InputProblem as problem:  # PairingError too
                log.error("%s", Lines("\n".join(printable(line) for line in [str(problem), *problem.lines])))
                return ExitCode.INPUT_ERROR
        if args.format == "json":
            document = diff_document(comparison, __version__, tshark.path, tshark.version)
            written = write_output(output, lambda out: write_diff_json(document, out))
        elif args.format == "html":
            written = write_output(output, lambda out: write_diff_html(comparison, out, __version__, tshark.path,
                                                                       tshark.version))
        else:
            written = write_output(output, lambda out: write_diff_table(comparison, out))
        if not written:
            return ExitCode.USAGE
    return ExitCode.FAIL_ON if comparison.relevant else ExitCode.OK
