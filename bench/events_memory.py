#!/usr/bin/env python3
"""Benchmark memory and time of `tsharkpost timeline` on a generated event log of about 1 GB (issue 12).

Run from the repository root:

    .venv/bin/python bench/events_memory.py [--size-mb 1024] [--form xml csv] [--spread-seconds 86400]
                                           [--format json|table] [--work DIR] [--root CHECKOUT]

Generates, in a temporary folder (or --work, kept), a System log of Schannel and Service Control Manager events
spread over a day around the seed capture, as `wevtutil qe /f:xml` prints it (xml) or as Event Viewer saves it as
CSV (csv), with the seed's own 36888 at its moment. Then runs, in a fresh Python, with stdout to a file:

    tsharkpost timeline captures/md2-root-silent-fin.pcapng --events BIG --format json   (csv: --events-tz UTC)

--spread-seconds 600 --size-mb 90 puts every event within reach of the capture instead: the flood that fills the
memory held for such events.
and reports that process's peak RSS (its own, without tshark's, which is given apart), wall time, output size, the
log's status and how the seed's 36888 was attributed (high for XML; CSV has no alert code: medium). --root measures another
checkout (e.g. the commit before a change, extracted with git archive) with this checkout's .venv.
Not a test: figures depend on the machine. Record them in README.md (Large logs: what is held).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "captures" / "md2-root-silent-fin.pcapng"
SEED_XML = REPO / "captures" / "md2-root-silent-fin.schannel.xml"
SEED_TIME = dt.datetime(2026, 11, 27, 17, 53, 55, 911694, tzinfo=dt.timezone.utc)
SPREAD_SECONDS = 86400.0  # by default the events lie within half a day either side of the capture

MEASURE = """
import json, resource, sys
from tsharkpost.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print(json.dumps({"code": code, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "children_peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}), file=sys.stderr)
"""

RENDERING = ("<RenderingInfo Culture='en-US'><Message>A fatal alert was generated and sent to the remote endpoint. "
             "This may result in termination of the connection. The TLS protocol defined fatal alert code is 43."
             "&#13;&#10;&#13;&#10;   Target name: {target}&#13;&#10;&#13;&#10;The TLS alert registry can be found "
             "at http://www.iana.org/assignments/tls-parameters/tls-parameters.xhtml#tls-parameters-6</Message>"
             "<Level>Error</Level><Task></Task><Opcode>Info</Opcode><Channel>System</Channel>"
             "<Provider>Microsoft-Windows-Schannel</Provider><Keywords></Keywords></RenderingInfo>")
MESSAGE = ('"A fatal alert was generated and sent to the remote endpoint. This may result in termination of the '
           'connection. The TLS protocol defined fatal alert code is {alert}.\n\n   Target name: {target}\n\n'
           'The TLS alert registry can be found at '
           'http://www.iana.org/assignments/tls-parameters/tls-parameters.xhtml#tls-parameters-6"')


def _templates() -> tuple[str, str]:
    scm, schannel = SEED_XML.read_text().splitlines()[:2]
    return scm, schannel


def _moments(count: int, chance: random.Random, spread: float) -> Iterator[dt.datetime]:
    """count moments in time order over the spread, as a Poisson process: nothing held, so this process stays
    small (Linux carries a process's peak RSS across fork and exec into the measured child)."""
    moment = SEED_TIME - dt.timedelta(seconds=spread / 2)
    rate = count / spread
    for _ in range(count):
        moment += dt.timedelta(seconds=chance.expovariate(rate))
        yield moment


def generate_xml(path: Path, size: int, chance: random.Random, spread: float) -> int:
    """wevtutil-style XML: 3 of 4 events Schannel 36888 for other servers (each with its RenderingInfo), 1 of 4
    Service Control Manager 7036; the seed's 36888 at its moment. Returns the number of events."""
    scm, schannel = _templates()
    schannel = schannel.replace("</Event>", RENDERING + "</Event>")
    each = (len(scm) + 3 * len(schannel)) // 4 + 1
    count = size // each
    written = 0
    with path.open("w", encoding="utf-8") as out:
        seed_written = False
        for number, moment in enumerate(_moments(count, chance, spread), start=1):
            if not seed_written and moment > SEED_TIME:
                out.write(schannel.replace("{target}", "shop.example.net") + "\n")
                seed_written, written = True, written + 1
            stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
            if number % 4 == 0:
                out.write(scm.replace("2026-11-27T17:53:51.5991940Z", stamp) + "\n")
            else:
                target = f"host{number % 5000}.example.com"
                out.write(schannel.replace("2026-11-27T17:53:55.9116940Z", stamp)
                          .replace(">shop.example.net<", f">{target}<").replace("{target}", target)
                          .replace("<EventRecordID>48212<", f"<EventRecordID>{number}<") + "\n")
            written += 1
    return written


def generate_csv(path: Path, size: int, chance: random.Random, spread: float) -> int:
    """Event Viewer "Save as CSV" in UTC: the same mix, each Schannel message quoted over several lines."""
    header = "Level,Date and Time,Source,Event ID,Task Category\r\n"
    row = "Error,{when},Schannel,36888,None," + MESSAGE + "\r\n"
    scm_row = ("Information,{when},Service Control Manager,7036,None,The WinHTTP Web Proxy Auto-Discovery Service "
               "service entered the running state.\r\n")
    each = (len(scm_row) + 3 * len(row)) // 4 + 40
    count = size // each
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(header)
        seed_written = False
        for number, moment in enumerate(_moments(count, chance, spread), start=1):
            if not seed_written and moment > SEED_TIME:
                when = SEED_TIME.strftime("%m/%d/%Y %I:%M:%S %p").lstrip("0")
                out.write(row.format(when=when, alert=43, target="shop.example.net"))
                seed_written, written = True, written + 1
            when = moment.strftime("%m/%d/%Y %I:%M:%S %p").lstrip("0")
            if number % 4 == 0:
                out.write(scm_row.format(when=when))
            else:
                out.write(row.format(when=when, alert=43, target=f"host{number % 5000}.example.com"))
            written += 1
    return written


def measure(root: Path, log: Path, form: str, work: Path, output_format: str) -> dict[str, object]:
    arguments = ["timeline", str(SEED), "--events", str(log), "--format", output_format]
    if form == "csv":
        arguments += ["--events-tz", "UTC"]
    output = work / f"timeline-{form}.{output_format}"
    started = time.monotonic()
    with output.open("wb") as out:
        done = subprocess.run([sys.executable, "-c", MEASURE, *arguments], stdout=out, stderr=subprocess.PIPE,
                              text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    seconds = time.monotonic() - started
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    report: dict[str, object] = {
        "form": form, "log_mb": round(log.stat().st_size / 1e6), "seconds": round(seconds, 1),
        "peak_rss_mib": round(figures["peak_kib"] / 1024), "tshark_peak_rss_mib": round(
            figures["children_peak_kib"] / 1024), "exit": figures["code"],
        "output_mb": round(output.stat().st_size / 1e6, 1)}
    if output_format == "json" and output.stat().st_size < 200e6:  # an unbounded build's output can be huge
        document = json.loads(output.read_text())
        log_result = document["logs"][0]
        seed = [entry["attribution"]["confidence"] for entry in document["entries"]
                if (entry.get("attribution") or {}).get("connection") == f"{SEED.name}:0"]
        report.update(status=log_result["status"], events_read=log_result["events"],
                      events_outside=document["events_outside"], unattributed_listed=len(document["unattributed"]),
                      seed_36888_attribution=seed[0] if seed else None)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of each generated log (default 1024)")
    parser.add_argument("--form", nargs="+", choices=["xml", "csv"], default=["xml", "csv"])
    parser.add_argument("--work", type=Path, help="folder for the logs, kept and reused (default: a temporary one)")
    parser.add_argument("--root", type=Path, default=REPO, help="the checkout whose tsharkpost runs (default: this)")
    parser.add_argument("--spread-seconds", type=float, default=SPREAD_SECONDS,
                        help="the events' span around the capture (default a day; 600 for a flood within reach)")
    parser.add_argument("--format", choices=["json", "table"], default="json", help="timeline's output format")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tsharkpost-bench-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        for form in args.form:
            log = work / f"big-{args.size_mb}mb-{args.spread_seconds:g}s.{form}"
            if not log.exists():
                started = time.monotonic()
                generate = generate_xml if form == "xml" else generate_csv
                count = generate(log, args.size_mb << 20, random.Random(args.seed), args.spread_seconds)
                print(f"generated {log.name}: {count:,} events, {log.stat().st_size / 1e6:.0f} MB in "
                      f"{time.monotonic() - started:.0f} s", flush=True)
            print(json.dumps(measure(args.root.resolve(), log, form, work, args.format)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
