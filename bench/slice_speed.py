#!/usr/bin/env python3
"""One big capture read whole by one worker against the same capture read in parts by two (`--slice-mb`).

    .venv/bin/python bench/slice_speed.py [--copies 512] [--runs 1] [--max-connections N] [--work bench/work]

Builds the handshake-heavy workload (bench/workloads.py: captures/batch-mixed.pcapng replicated --copies times,
about 250 kB each) and times, with the output to /dev/null:
  splitter   capture/slicing.write_parts writing one part (what each part's job does) and all parts of two in one
             pass: wall, CPU, MB/s of the capture read
  jobs1      summarize --jobs 1 (the capture read whole; --jobs 2 --slice-mb 0 is the same run for one file)
  sliced2    summarize --jobs 2 --slice-mb SIZE/2 (two parts, one per worker)
wall and CPU (user + sys of summarize, its workers and their tshark), and checks that every run's JSON output is
the same. Not a test: figures depend on the machine and on what else runs on it. Record them in README (Big
captures: `--slice-mb`).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tsharkpost.capture.slicing import write_parts  # noqa: E402

SUMMARIZE = [sys.executable, "-c", "import sys; from tsharkpost.cli import main; sys.exit(main())", "summarize",
             "--format", "json", "--quiet"]
ENVIRONMENT = {**os.environ, "PYTHONPATH": str(REPO)}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summarize(capture: Path, output: Path, *options: str) -> tuple[float, float, str]:
    """Wall and CPU seconds of one summarize run, and its output's digest."""
    cpu, started = children_cpu(), time.monotonic()
    subprocess.run([*SUMMARIZE, "-o", str(output), *options, str(capture)], check=True, env=ENVIRONMENT)
    wall = time.monotonic() - started
    return wall, children_cpu() - cpu, hashlib.sha256(output.read_bytes()).hexdigest()


def splitter(capture: Path, folder: Path, parts: dict[int, Path]) -> tuple[float, float]:
    cpu, started = time.process_time(), time.monotonic()
    write_parts(capture, 2, parts)
    wall, used = time.monotonic() - started, time.process_time() - cpu
    for path in parts.values():
        path.unlink()
    return wall, used


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "work")
    parser.add_argument("--copies", type=int, default=512, help="copies of the batch capture (about 250 kB each)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each command (the median is shown)")
    parser.add_argument("--max-connections", type=int, default=0,
                        help="--plugin-pref tpost.max_connections:N for every run (README: Big captures, limits)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    capture = args.work / f"handshake-{args.copies}.pcapng"
    if not capture.exists():
        workloads.replicate(REPO / "captures" / "batch-mixed.pcapng", capture, args.copies, spacing_seconds=5.0)
    megabytes = capture.stat().st_size / 1e6
    print(f"capture {capture}: {megabytes:.1f} MB", flush=True)
    with tempfile.TemporaryDirectory(prefix="tsharkpost-slice-bench-") as scratch:
        folder = Path(scratch)
        for name, parts in (("one part", {0: folder / "p0"}), ("two parts", {0: folder / "p0", 1: folder / "p1"})):
            wall, cpu = splitter(capture, folder, parts)
            print(f"splitter, {name}: wall {wall:.2f} s, CPU {cpu:.2f} s, {megabytes / wall:.0f} MB/s", flush=True)
        half = f"{capture.stat().st_size / 2 / 2**20 * 0.99:.3f}"
        common = ["--plugin-pref", f"tpost.max_connections:{args.max_connections}"] if args.max_connections else []
        runs = {"jobs1": [*common, "--jobs", "1"], "sliced2": [*common, "--jobs", "2", "--slice-mb", half]}
        measured: dict[str, list[tuple[float, float, str]]] = {name: [] for name in runs}
        for _ in range(args.runs):  # interleaved, so that both meet the machine's load alike
            for name, options in runs.items():
                measured[name].append(summarize(capture, folder / f"{name}.json", *options))
        digests = {digest for items in measured.values() for _, _, digest in items}
        for name, options in runs.items():
            wall = statistics.median(item[0] for item in measured[name])
            cpu = statistics.median(item[1] for item in measured[name])
            print(f"{name} ({' '.join(options)}): wall {wall:.1f} s, CPU {cpu:.1f} s "
                  f"(runs: {', '.join(f'{item[0]:.1f}' for item in measured[name])})", flush=True)
        print("outputs identical" if len(digests) == 1 else f"OUTPUTS DIFFER: {len(digests)} digests", flush=True)
        return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
