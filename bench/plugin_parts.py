#!/usr/bin/env python3
"""Benchmark (not a test): where the plugin's CPU goes in summarize's own tshark run, part by part.

Runs summarize's tshark run (tsharkpost.capture.tshark.fields_argv: bridge and wire preferences, display filter,
-T fields with the plugin's lines), or with --fields-mode an analyst's, on one capture, with:
  floor    tshark -n -r FILE -T fields -e tcp.stream (what any tshark-based tool pays)
  unregistered  the run with a copy of the plugin that registers no postdissector (same fields, prefs,
           extractors: the filter and columns still parse, but nothing is called): noop - unregistered is what a
           Lua postdissector's call costs on every frame, however little it does
  noop     the run with a copy of the plugin whose dissector returns at once (same fields, prefs, extractors)
  plugin   the run with the plugin
  timed    the run with a copy of the plugin whose dissector times each of its calls with os.clock:
           find (TLS found by content), analysis, the tpost tree (render: in summarize's run the findings' and
           certificates' lines alone) and its expert items, the bridge's line,
           the bridge's items and the tpost.tls line (render_bridge), the tpost.tls line alone (wire)
and prints CPU seconds (user+sys, best of --runs, interleaved) and the timed parts. The parts carry the timer's own
overhead (two os.clock calls per part per frame: "timer alone" is that cost, measured around nothing, to be
taken off each part); the rest of plugin - noop is the dissector's own calls, its per-frame field reads and the
garbage they leave.

    .venv/bin/python bench/plugin_parts.py [--capture FILE] [--copies 64] [--runs 3] [--keep DIR] [--fields-mode]

--fields-mode measures `tshark -n -r FILE -T fields -e tcp.stream` with each plugin instead of summarize's run:
what an analyst pays opening a capture (bench/plugin_cost.py's fields mode), where the plugin renders its full tree.

Without --capture the capture is captures/batch-mixed.pcapng replicated --copies times (bench/workloads.py), the
handshake-heavy workload of bench/summarize_speed.py.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
import plugin_cost  # noqa: E402

from tsharkpost.capture.tshark import Options, Tshark, fields_argv  # noqa: E402

PLUGIN = REPO / "lua" / "tsharkpost.lua"

# The dissector's calls, each timed under its name: (plugin file, text of the call, name). The texts must be
# found exactly once; a change to the dissector that moves them fails loudly here.
TIMED = [
    ("tsharkpost.lua", "    if settings.find_tls then pcall(watch_tcp, pinfo) end\n", "find"),
    ("tsharkpost.lua", "        local ok, result = pcall(analyse, pinfo, num)\n", "analysis"),
    ("tsharkpost.lua", "        local ok, rendered = pcall(render, out, tvb, tree, fetched)\n", "render"),
    ("tsharkpost.lua", "            pcall(add_experts, tvb, pinfo, tree)\n", "expert items"),
    ("tsharkpost.lua", "        local ok, line, first, ciphertext = pcall(bridge_line, pinfo, num, out ~= nil)\n",
     "bridge line"),
    ("tsharkpost.lua", "        if ok and line then render_bridge(root, tvb, tree, line, first, ciphertext) end\n",
     "bridge items and tpost.tls"),
    ("tpost/tpost_ws_render.lua",
     '            local ok, records = pcall(wire_line, string.match(line, "^(%a)"), ciphertext)\n', "tpost.tls line"),
]

# One timer around nothing, at the dissector's start: what the timing itself costs each part on each frame.
CALIBRATION = ("    forget_frame_fields()\n",
               "    local tpost_started = os.clock()\n    tpost_tick('timer alone', tpost_started)\n")

# Prepended to each timed file: a table of seconds by part in Lua's global table, which the plugin's modules
# share with it, and a tap that prints it when tshark ends.
CLOCK = """local tpost_parts = _G.tpost_parts or {}
_G.tpost_parts = tpost_parts
local function tpost_tick(name, started) tpost_parts[name] = (tpost_parts[name] or 0) + os.clock() - started end
"""
REPORT = """
local tpost_parts_tap = Listener.new("frame")
function tpost_parts_tap.draw()
    for name, seconds in pairs(_G.tpost_parts) do io.stderr:write(("part\\t%s\\t%.3f\\n"):format(name, seconds)) end
end
"""


REGISTRATION = "register_postdissector(tpost)\n"


def unregistered_plugin(workdir: Path, plugin: Path) -> Path:
    """A copy of the plugin that registers no postdissector: its fields, preferences and extractors, never called."""
    target = workdir / "unregistered-lua"
    shutil.copytree(plugin.parent, target, dirs_exist_ok=True)
    script = target / plugin.name
    text = script.read_text(encoding="utf-8")
    assert text.count(REGISTRATION) == 1
    script.write_text(text.replace(REGISTRATION, "-- (no postdissector: bench/plugin_parts.py)\n"), encoding="utf-8")
    return script


def timed_plugin(workdir: Path, plugin: Path) -> Path:
    """A copy of the plugin's folder with each call of TIMED wrapped in os.clock."""
    target = workdir / "timed-lua"
    shutil.copytree(plugin.parent, target, dirs_exist_ok=True)
    for name in sorted({file for file, _, _ in TIMED}):
        path = target / name
        text = path.read_text(encoding="utf-8")
        for file, call, part in TIMED:
            if file != name:
                continue
            assert text.count(call) == 1, f"plugin_parts: {name} no longer holds {call.strip()!r}"
            indent = call[:len(call) - len(call.lstrip())]
            text = text.replace(call, f"{indent}local tpost_started = os.clock()\n{call}"
                                      f"{indent}tpost_tick({part!r}, tpost_started)\n")
        if name == "tsharkpost.lua":
            mark, timer = CALIBRATION
            assert text.count(mark) == 1, f"plugin_parts: {name} no longer holds {mark.strip()!r}"
            text = CLOCK + text.replace(mark, timer + mark) + REPORT
        else:
            head, sep, rest = text.partition("]]\n")   # after the module's opening comment
            text = head + sep + CLOCK + rest
        path.write_text(text, encoding="utf-8")
    return target / plugin.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capture", type=Path, help="capture to measure (default: batch-mixed x --copies)")
    parser.add_argument("--copies", type=int, default=64, help="copies of batch-mixed.pcapng, each its own client")
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant, interleaved; the fastest counts")
    parser.add_argument("--keep", type=Path, help="build the capture in this directory and keep it (reused if there)")
    parser.add_argument("--fields-mode", action="store_true",
                        help="time `tshark -T fields -e tcp.stream` with the plugin, not summarize's run")
    args = parser.parse_args(argv)
    tshark = shutil.which("tshark")
    if not tshark:
        sys.exit("plugin_parts: tshark not found on PATH")

    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        capture = args.capture.resolve() if args.capture else plugin_cost.build_capture(workdir, args.copies)
        floor = [tshark, "-n", "-r", str(capture), "-T", "fields", "-e", "tcp.stream"]
        if args.fields_mode:
            run = floor[:4] + ["-X", f"lua_script:{PLUGIN}"] + floor[4:]
        else:
            run = fields_argv(Tshark(tshark, "?"), capture, Options())
        plugin_arg = next(arg for arg in run if arg.startswith("lua_script:"))
        variants = {
            "floor": floor,
            "unregistered": [f"lua_script:{unregistered_plugin(workdir, PLUGIN)}" if arg == plugin_arg else arg
                             for arg in run],
            "noop": [f"lua_script:{plugin_cost.floor_plugin(workdir, PLUGIN)}" if arg == plugin_arg else arg
                     for arg in run],
            "plugin": [f"lua_script:{PLUGIN}" if arg == plugin_arg else arg for arg in run],
            "timed": [f"lua_script:{timed_plugin(workdir, PLUGIN)}" if arg == plugin_arg else arg for arg in run],
        }
        best: dict[str, float] = {}
        parts: dict[str, float] = {}
        for _ in range(args.runs):   # interleaved, so that a slow spell of the machine hits every variant
            for name, command in variants.items():
                seconds, reported = plugin_cost.cpu_run(command, "part\t")
                if name == "timed" and seconds < best.get(name, float("inf")):
                    parts = {fields[1]: float(fields[2]) for fields in (line.split("\t") for line in reported)}
                best[name] = min(best.get(name, seconds), seconds)

    mode = "tshark -T fields -e tcp.stream" if args.fields_mode else "summarize's tshark run"
    print(f"capture: {capture} ({capture.stat().st_size / 1e6:.1f} MB); {mode}; CPU user+sys, best of {args.runs}")
    for name in ("floor", "unregistered", "noop", "plugin", "timed"):
        print(f"  {name:<12} {best[name]:6.2f} s  {best[name] / best['floor']:5.2f}x the floor")
    print(f"  noop - unregistered (the postdissector's call on every frame): "
          f"{best['noop'] - best['unregistered']:.2f} s")
    print(f"  plugin - noop: {best['plugin'] - best['noop']:.2f} s; the timed run's parts:")
    for _, _, name in TIMED:
        nested = name == "tpost.tls line"   # timed inside "bridge items and tpost.tls"
        label = f"  of which {name}" if nested else name
        print(f"    {label:<30} {parts.get(name, 0.0):6.2f} s")
    print(f"    {'(timer alone, in each part)':<30} {parts.get('timer alone', 0.0):6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
