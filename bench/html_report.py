#!/usr/bin/env python3
"""Benchmark the HTML report of a large batch: its size, the time to write it, the time Chromium takes to load it.

Run from the repository root after scripts/setup (Chromium: apt-get install -y chromium):

    .venv/bin/python bench/html_report.py [--work bench/work] [--copies 57 114 228]

captures/batch-mixed.pcapng (44 connections) is replicated with workloads.replicate, 228 copies giving 10,032
connections, and read once per size with summarize's own pipeline. Then, per size:
  write      the time to write the page (records streamed from disk; best of 2), and Python's peak memory while
             writing (tracemalloc, a run of its own), next to the same for --format json
  size       of the page, per connection
  chromium   headless Chromium, fresh profile each run: the wall time of loading the page and taking a screenshot
             of its first screen, minus the same for an empty page (Chromium's own start), best of 3
Not a test: figures depend on the machine. Put them in README's "HTML report" section.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads  # noqa: E402

from tsharkpost import __version__  # noqa: E402
from tsharkpost.capture import tshark as ts  # noqa: E402
from tsharkpost.capture.analyze import analyze  # noqa: E402
from tsharkpost.render.summary_html import write_html  # noqa: E402
from tsharkpost.render.summary_json import write_json  # noqa: E402
from tsharkpost.summary import Summary  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--window-size=1280,1000"]


def _chromium_seconds(page: Path, work: Path) -> float:
    """Wall time of loading a page and taking a screenshot of its first screen, with a fresh profile."""
    profile = work / "profile"
    shutil.rmtree(profile, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={work / 'shot.png'}",
                    page.resolve().as_uri()], check=True, capture_output=True, timeout=300)
    return time.perf_counter() - started


def _written(summary: Summary, path: Path, writer: str, measure_memory: bool = False) -> float:
    """Seconds to write the page or document; with measure_memory, Python's peak memory meanwhile (MiB) instead
    (tracemalloc slows Python down, so the two are measured in separate runs)."""
    if measure_memory:
        tracemalloc.start()
    started = time.perf_counter()
    with path.open("w", encoding="utf-8") as out:
        write_html(summary, out) if writer == "html" else write_json(summary, out)
    seconds = time.perf_counter() - started
    if not measure_memory:
        return seconds
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "work")
    parser.add_argument("--copies", type=int, nargs="+", default=[57, 114, 228])
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    tshark = ts.locate(None)
    empty = args.work / "empty.html"
    empty.write_text("<!DOCTYPE html><title>empty</title>")
    start = min(_chromium_seconds(empty, args.work) for _ in range(3))
    print(f"chromium start (empty page): {start:.2f} s")
    print("connections  failed  html size  per conn  write html  peak MiB  write json  peak MiB  chromium load")
    for copies in args.copies:
        capture = workloads.replicate(REPO / "captures" / "batch-mixed.pcapng", args.work / f"batch-{copies}.pcapng",
                                      copies, 10.0)
        with tempfile.TemporaryDirectory(prefix="tsharkpost-bench-") as scratch:
            result = analyze(capture, tshark, ts.Options(), Path(scratch) / "records.jsonl")
            summary = Summary(__version__, tshark.path, tshark.version, [result], result.patterns.rows())
            page = args.work / f"report-{copies}.html"
            html_seconds = min(_written(summary, page, "html") for _ in range(2))
            json_seconds = min(_written(summary, args.work / f"report-{copies}.json", "json") for _ in range(2))
            html_peak = _written(summary, page, "html", measure_memory=True)
            json_peak = _written(summary, args.work / f"report-{copies}.json", "json", measure_memory=True)
            load = min(_chromium_seconds(page, args.work) for _ in range(3)) - start
            size = page.stat().st_size
            print(f"{result.totals.tls:>11,}  {result.totals.failed:>6,}  {size / 1e6:>7.1f} MB  "
                  f"{size / result.totals.tls:>6.0f} B  {html_seconds:>8.2f} s  {html_peak:>8.1f}  "
                  f"{json_seconds:>8.2f} s  {json_peak:>8.1f}  {load:>11.2f} s", flush=True)
            capture.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
