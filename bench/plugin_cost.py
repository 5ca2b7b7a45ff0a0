#!/usr/bin/env python3
"""Benchmark (not a test): how much slower tshark runs with lua/tsharkpost.lua loaded.

Builds a large capture in a temporary directory by replicating the bundled captures (and
../shared/corpus when present) with `editcap -t` time shifts and `mergecap`, then times tshark
with and without the plugin in a few output modes and prints the ratios. Target: <= 1.3x.

    .venv/bin/python bench/plugin_cost.py [--copies 60] [--runs 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLUGIN = REPO / "lua" / "tsharkpost.lua"
CORPUS = REPO.parent / "shared" / "corpus"

# Output modes: what a user or the post-processor asks tshark for.
MODES = {
    "summary": [],
    "fields": ["-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tls.handshake.type"],
    "filtered-pdml": ["-Y", "tls.handshake.type == 11 || tls.alert_message || tcp.flags.reset == 1", "-T", "pdml"],
}


def build_capture(workdir: Path, copies: int) -> Path:
    inputs = sorted(str(p) for p in (REPO / "captures").glob("*.pcapng"))
    if CORPUS.is_dir():
        inputs += sorted(str(p) for p in CORPUS.glob("*/*.pcap"))
    base = workdir / "base.pcapng"
    subprocess.run(["mergecap", "-w", str(base), *inputs], check=True)
    shifted = []
    for i in range(copies):
        target = workdir / f"copy{i}.pcapng"
        # one day apart: copies never share a TCP connection
        subprocess.run(["editcap", "-t", str(i * 86400), str(base), str(target)], check=True)
        shifted.append(str(target))
    big = workdir / "big.pcapng"
    subprocess.run(["mergecap", "-w", str(big), *shifted], check=True)
    for name in shifted:
        os.unlink(name)
    return big


def cpu_seconds(argv: list[str]) -> tuple[float, float]:
    """(wall, user+sys CPU) seconds of one tshark run, stdout discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    problems = [line for line in proc.stderr.splitlines() if "Running as user" not in line]
    if proc.returncode != 0 or problems:
        sys.exit(f"plugin_cost: {' '.join(argv)} failed: {problems[:3]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def floor_plugin(workdir: Path) -> Path:
    """A copy of the plugin whose dissector returns at once: what loading any Lua field extractor costs.

    Wireshark builds a protocol tree for every packet as soon as a Lua script calls Field.new (its
    fields are primed through a tap filter), so plain `tshark -r` loses its no-tree fast path. This
    copy separates that cost, which no post-dissector can avoid, from the plugin's own work.
    """
    target = workdir / "floor-lua"
    shutil.copytree(PLUGIN.parent, target, dirs_exist_ok=True)
    script = target / PLUGIN.name
    text = script.read_text(encoding="utf-8")
    marker = "function tpost.dissector(tvb, pinfo, tree)\n"
    assert marker in text
    script.write_text(text.replace(marker, marker + "    if tvb then return end\n"), encoding="utf-8")
    return script


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=60, help="time-shifted copies of the captures")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the fastest counts")
    parser.add_argument("--keep", type=Path, help="build the capture in this directory and keep it")
    args = parser.parse_args(argv)
    tshark = shutil.which("tshark")
    if not tshark:
        sys.exit("plugin_cost: tshark not found on PATH")

    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        big = build_capture(workdir, args.copies)
        count = subprocess.run(["capinfos", "-c", "-M", str(big)], capture_output=True, text=True,
                               check=True).stdout.split()[-1]
        print(f"capture: {count} packets, {big.stat().st_size / 1e6:.1f} MB ({args.copies} copies)")
        floor = floor_plugin(workdir)

        def best(*extra: str) -> float:
            return min(cpu_seconds([tshark, "-n", *extra, "-r", str(big)])[1] for _ in range(args.runs))

        print(f"{'mode':<14} {'plain s':>8} {'floor s':>8} {'plugin s':>9} {'ratio':>6} {'floor':>6}"
              f"   (CPU user+sys, best of {args.runs}; floor = plugin that returns at once)")
        worst = 0.0
        for mode, extra in MODES.items():
            plain = best(*extra)
            floored = best("-X", f"lua_script:{floor}", *extra)
            loaded = best("-X", f"lua_script:{PLUGIN}", *extra)
            worst = max(worst, loaded / plain)
            print(f"{mode:<14} {plain:8.2f} {floored:8.2f} {loaded:9.2f} {loaded / plain:5.2f}x {floored / plain:5.2f}x")
        print(f"worst ratio {worst:.2f}x (target <= 1.30x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
