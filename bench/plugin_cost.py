#!/usr/bin/env python3
"""Benchmark (not a test): how much slower tshark runs with lua/tsharkpost.lua loaded.

Workload: captures/batch-mixed.pcapng replicated with bench/workloads.py `replicate()`, which gives
every copy its own client address, so that each copy is new TCP connections and new TLS handshakes
(copies that reuse the same conversations let the plugin skip most of its work and flatter it).
The default, 256 copies, is about 64 MB and 143k packets, ~11k connections.

Times tshark's CPU (user+sys, best of --runs) in three modes, each without the plugin, with a
"floor" copy of the plugin whose dissector returns at once, and with the plugin:
  fields   tshark -n -r FILE -T fields -e tcp.stream         (a protocol tree is built for every packet)
  summary  tshark -n -r FILE                                 (one line per packet, no tree unless asked)
  run      summarize's own run (tsharkpost.capture.tshark.fields_argv: bridge and wire preferences, display
           filter, -T fields with the plugin's lines); without the plugin, the same run minus everything naming
           tpost
and prints the ratios. Target (issue 3): plugin / plain <= 1.30 on a large capture.

The floor column separates what loading any Lua post-dissector with field extractors costs
(Wireshark then primes those fields and calls into Lua for every packet) from the plugin's own work.

    .venv/bin/python bench/plugin_cost.py [--copies 256] [--runs 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
import workloads  # noqa: E402

from tsharkpost.plugin import fields as F  # noqa: E402
from tsharkpost.capture.tshark import Options, Tshark, fields_argv  # noqa: E402

PLUGIN = REPO / "lua" / "tsharkpost.lua"
SOURCE = REPO / "captures" / "batch-mixed.pcapng"
SPACING_SECONDS = 5.0  # between copies: longer than the source capture, so copies do not overlap in time


def build_capture(workdir: Path, copies: int) -> Path:
    target = workdir / f"batch-mixed-x{copies}.pcapng"
    if not target.exists():
        workloads.replicate(SOURCE, target, copies, SPACING_SECONDS)
    return target


def floor_plugin(workdir: Path, plugin: Path) -> Path:
    """A copy of the plugin whose dissector returns at once (same fields, prefs and extractors)."""
    target = workdir / "floor-lua"
    shutil.copytree(plugin.parent, target, dirs_exist_ok=True)
    script = target / plugin.name
    text = script.read_text(encoding="utf-8")
    marker = "function tpost.dissector(tvb, pinfo, tree)\n"
    assert marker in text
    script.write_text(text.replace(marker, marker + "    if tvb then return end\n"), encoding="utf-8")
    return script


# What summarize's run would have to select without the plugin's bridge (F.DISPLAY_FILTER starts with tpost.pkt).
PLAIN_FILTER = ("tcp.flags.syn == 1 || tcp.flags.fin == 1 || tcp.flags.reset == 1 || tls.handshake"
                " || tls.handshake.type || tls.alert_message || tls.change_cipher_spec")


def mode_argvs(tshark: str, capture: Path, plugin: Path, floor: Path) -> dict[str, dict[str, list[str]]]:
    """mode -> {"plain", "floor", "plugin"} -> argv."""
    base = [tshark, "-n", "-r", str(capture)]
    argvs: dict[str, dict[str, list[str]]] = {}
    for mode, extra in (("fields", ["-T", "fields", "-e", "tcp.stream"]), ("summary", [])):
        argvs[mode] = {"plain": base + extra,
                       "floor": base + ["-X", f"lua_script:{floor}"] + extra,
                       "plugin": base + ["-X", f"lua_script:{plugin}"] + extra}
    run = fields_argv(Tshark(tshark, "?"), capture, Options())
    plugin_arg = next(arg for arg in run if arg.startswith("lua_script:"))
    plain = list(run)
    del plain[plain.index(plugin_arg) - 1: plain.index(plugin_arg) + 1]
    del plain[plain.index(F.PLUGIN_BRIDGE_PREF) - 1: plain.index(F.PLUGIN_BRIDGE_PREF) + 1]
    del plain[plain.index(F.PLUGIN_WIRE_PREF) - 1: plain.index(F.PLUGIN_WIRE_PREF) + 1]
    plain[plain.index(F.DISPLAY_FILTER)] = PLAIN_FILTER
    for column in F.COLUMNS:
        if column.startswith("tpost"):
            del plain[plain.index(column) - 1: plain.index(column) + 1]
    argvs["run"] = {"plain": plain,
                    "floor": [f"lua_script:{floor}" if arg == plugin_arg else arg for arg in run],
                    "plugin": [f"lua_script:{plugin}" if arg == plugin_arg else arg for arg in run]}
    return argvs


def cpu_run(argv: list[str], reported: str | None = None) -> tuple[float, list[str]]:
    """user+sys CPU seconds of one tshark run, stdout discarded, and its stderr lines that start with `reported`
    (what a measuring copy of the plugin writes); exits on a failure or any other error output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in proc.stderr.splitlines() if line and "Running as user" not in line]
    wanted = [line for line in lines if reported is not None and line.startswith(reported)]
    problems = [line for line in lines if line not in wanted]
    if proc.returncode != 0 or problems:
        sys.exit(f"{Path(sys.argv[0]).name}: {' '.join(argv)} failed: {problems[:3]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wanted


def cpu_seconds(argv: list[str]) -> float:
    """user+sys CPU seconds of one tshark run, stdout discarded; exits on any error output."""
    return cpu_run(argv)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=256, help="copies of batch-mixed.pcapng, each its own client")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement, interleaved; the fastest counts")
    parser.add_argument("--keep", type=Path, help="build the capture in this directory and keep it (reused if there)")
    parser.add_argument("--plugin", type=Path, default=PLUGIN, help="plugin to measure (default: lua/tsharkpost.lua)")
    args = parser.parse_args(argv)
    tshark = shutil.which("tshark")
    if not tshark:
        sys.exit("plugin_cost: tshark not found on PATH")

    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        capture = build_capture(workdir, args.copies)
        count = subprocess.run(["capinfos", "-c", "-M", str(capture)], capture_output=True, text=True,
                               check=True).stdout.split()[-1]
        print(f"capture: {capture.stat().st_size / 1e6:.1f} MB, {count} packets ({args.copies} copies of "
              f"{SOURCE.name}, each its own client address), built in {time.perf_counter() - started:.1f} s")
        plugin = args.plugin.resolve()
        argvs = mode_argvs(tshark, capture, plugin, floor_plugin(workdir, plugin))

        best: dict[tuple[str, str], float] = {}
        for _ in range(args.runs):   # interleaved, so that a slow spell of the machine hits every variant
            for mode, variants in argvs.items():
                for variant, command in variants.items():
                    seconds = cpu_seconds(command)
                    best[mode, variant] = min(best.get((mode, variant), seconds), seconds)

        print(f"{'mode':<8} {'plain s':>8} {'floor s':>8} {'plugin s':>9} {'plugin/plain':>13} {'floor/plain':>12}"
              f"   (CPU user+sys, best of {args.runs})")
        worst = 0.0
        for mode in argvs:
            plain, floored, loaded = best[mode, "plain"], best[mode, "floor"], best[mode, "plugin"]
            worst = max(worst, loaded / plain)
            print(f"{mode:<8} {plain:8.2f} {floored:8.2f} {loaded:9.2f} {loaded / plain:12.2f}x {floored / plain:11.2f}x")
        print(f"worst ratio {worst:.2f}x (target <= 1.30x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
