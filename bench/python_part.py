#!/usr/bin/env python3
"""Python's own part of summarize on one capture: its real run, with tshark's output replayed from a file.

    .venv/bin/python bench/python_part.py [--capture FILE | --copies 64] [--runs 5] [--work DIR] [SOURCE...]

summarize runs as a user runs it (`summarize --format json -o /dev/null --jobs 1 --quiet CAPTURE`), but with
`--tshark` naming a stand-in script that answers `-v` with the real tshark's version and, for the reading
itself, writes the real tshark's output for that capture, saved once beforehand (tsharkpost's own argv,
capture.tshark.fields_argv). What is timed is then Python's part alone: start-up, reading the plugin's lines,
connections, classification, records written. summarize runs it at the same time as tshark, on the other core.

With several SOURCE folders (source trees of tsharkpost, e.g. two git worktrees), each is measured with its own
package (PYTHONPATH), interleaved run by run: an A/B of a Python change on one machine state. The output was
saved with the first tree's plugin and argv, so the trees must agree on both. Default: this repository.

Prints CPU (user + sys of summarize and the stand-in, which only copies a file) and wall time, best and median.
Not a test: measurements, for README's Speed and memory and bench/SPEED-HISTORY.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

import plugin_cost  # noqa: E402

from tsharkpost.capture.capfile import count_packets  # noqa: E402
from tsharkpost.capture.tshark import Options, fields_argv, locate, run_environment  # noqa: E402

STAND_IN = """#!/bin/sh
# tshark's stand-in for bench/python_part.py: the real version, then the saved output of the reading.
case "$1" in
    -v|--version) exec {tshark} "$@" ;;
esac
exec cat {saved}
"""


def save_output(capture: Path, work: Path) -> Path:
    """The real tshark's output of summarize's reading of capture, written once to work."""
    saved = work / f"{capture.name}.fields"
    if not saved.exists():
        argv = fields_argv(locate(remember=False), capture, Options(), count_packets(capture) or None)
        partial = saved.with_suffix(".partial")
        with open(partial, "wb") as out:
            subprocess.run(argv, stdout=out, stderr=subprocess.DEVNULL, env=run_environment(), check=True)
        partial.replace(saved)
    return saved


def stand_in(saved: Path, work: Path) -> Path:
    real = shutil.which("tshark")
    if not real:
        sys.exit("python_part: tshark not found on PATH")
    script = work / "tshark-replay"
    script.write_text(STAND_IN.format(tshark=shlex.quote(real), saved=shlex.quote(str(saved))), encoding="utf-8")
    script.chmod(0o755)
    return script


def one_run(source: Path, script: Path, capture: Path) -> tuple[float, float]:
    """CPU (summarize and its children) and wall seconds of one summarize run with the stand-in."""
    env = dict(os.environ, PYTHONPATH=str(source))
    argv = [sys.executable, "-m", "tsharkpost.cli", "summarize", "--tshark", str(script), "--format", "json",
            "-o", os.devnull, "--jobs", "1", "--quiet", str(capture)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(argv, env=env, cwd=script.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"python_part: summarize failed with {source}: {done.stderr.strip()[:300]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", type=Path, default=[REPO], help="tsharkpost source trees to compare")
    parser.add_argument("--capture", type=Path, help="the capture (default: the handshake-heavy workload)")
    parser.add_argument("--copies", type=int, default=64, help="copies of batch-mixed.pcapng when no --capture")
    parser.add_argument("--runs", type=int, default=5, help="runs per source tree, interleaved")
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "work", help="where workloads are kept")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    capture = (args.capture or plugin_cost.build_capture(args.work, args.copies)).resolve()
    script = stand_in(save_output(capture, args.work), args.work)
    runs: dict[Path, list[tuple[float, float]]] = {source: [] for source in args.sources}
    for _ in range(args.runs):
        for source in args.sources:
            runs[source].append(one_run(source.resolve(), script, capture))
    print(f"{capture} ({capture.stat().st_size / 1e6:.1f} MB), {args.runs} runs each, load {os.getloadavg()[0]:.1f}")
    for source, measured in runs.items():
        cpu, wall = [m[0] for m in measured], [m[1] for m in measured]
        print(f"{source}: CPU best {min(cpu):.2f} s, median {statistics.median(cpu):.2f} s; "
              f"wall best {min(wall):.2f} s, median {statistics.median(wall):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
