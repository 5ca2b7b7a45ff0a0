#!/usr/bin/env python3
"""What summarize's progress display costs: the same run with stderr a terminal (bars drawn, tshark's offsets
polled twice a second) and with --quiet, alternated, on the handshake-heavy workload.

    .venv/bin/python bench/progress_cost.py [--work bench/work] [--copies 64] [--files 4] [--rounds 3]

The workload is captures/batch-mixed.pcapng replicated --copies times (bench/workloads.py), in --files
files read with --jobs 2. Not a test: figures depend on the machine. Record them in README (summarize's progress bars).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import shutil
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SUMMARIZE = [sys.executable, "-c", "import sys; from tsharkpost.cli import main; sys.exit(main())", "summarize",
             "--format", "json", "-o", "/dev/null", "--jobs", "2"]


def on_a_terminal(argv: list[str]) -> tuple[float, int]:
    """Wall time of argv with stderr a pseudo-terminal (24x120), and how many bytes it drew there."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    started = time.monotonic()
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    os.close(slave)
    drawn = 0
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += len(chunk)
    process.wait()
    seconds = time.monotonic() - started
    os.close(master)
    if process.returncode != 0:
        raise SystemExit(f"summarize failed with status {process.returncode}")
    return seconds, drawn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "work")
    parser.add_argument("--copies", type=int, default=64, help="copies of the batch capture (about 250 KB each)")
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = args.work / f"progress-{args.copies}x{args.files}"
    if not folder.is_dir():
        folder.mkdir(parents=True)
        one = workloads.replicate(REPO / "captures" / "batch-mixed.pcapng", folder / "0.pcapng", args.copies, 5.0)
        for number in range(1, args.files):
            shutil.copy(one, folder / f"{number}.pcapng")
    files = sorted(folder.glob("*.pcapng"))
    size = sum(path.stat().st_size for path in files)
    shown: list[float] = []
    quiet: list[float] = []
    drawn = 0
    for _ in range(args.rounds):
        seconds, drawn = on_a_terminal([*SUMMARIZE, *map(str, files)])
        shown.append(seconds)
        quiet.append(on_a_terminal([*SUMMARIZE, "--quiet", *map(str, files)])[0])
    print(f"{len(files)} files, {size / 1e6:.1f} MB, --jobs 2, {args.rounds} rounds (median)")
    print(f"  progress shown  {statistics.median(shown):7.2f} s   ({drawn:,} bytes drawn on the terminal)")
    print(f"  --quiet         {statistics.median(quiet):7.2f} s")
    print(f"  difference      {100 * (statistics.median(shown) / statistics.median(quiet) - 1):+6.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
