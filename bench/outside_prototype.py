#!/usr/bin/env python3
"""Measured design prototype (issue 13): the plugin's analysis OUTSIDE tshark, in parallel with it. Not product code.

    python3 bench/outside_prototype.py [--runs 3] [--skip-summarize] CAPTURE...
    python3 bench/outside_prototype.py --records CAPTURE > connections.jsonl   # the prototype's records only

tshark WITHOUT the plugin writes plain `-T fields` facts (the ones bench/by_hand.py reads, plus what the analysis
needs: hello fields, certificate DER, alerts, record types, TCP flags, stream, times); bench/outside_driver.lua
runs the plugin's own analysis code (the core modules of lua/tpost/, put together by tpost_core.lua, loaded from
the source, not copied) over those lines in a second process (lua5.4 or lua5.2), reading them from a pipe while tshark
writes them; this script reads the driver's JSON lines (one per connection), as summarize would.

Each configuration's wall time and CPU time (user + sys of every process, this one's reading included) are
measured, best of --runs, beside:
  floor        tshark -n -r F -T fields -e tcp.stream
  by hand      bench/by_hand.py F (plain -T fields, the same facts, no diagnosis)
  summarize    tsharkpost summarize F --format json -o /dev/null --jobs 1 (the current design: plugin inside)
and the load average at the start of each run (the machine is shared: CPU figures are the steadier ones).
Prints one JSON object per capture. See bench/OUTSIDE.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
DRIVER = REPO / "bench" / "outside_driver.lua"
PLUGIN_DIR = REPO / "lua"

# The driver's columns, in its order (bench/outside_columns.txt), then the record's other hello facts.
DRIVER_FIELDS = [name for name in (REPO / "bench" / "outside_columns.txt").read_text().splitlines()
                 if name and not name.startswith("#")]
EXTRA_FIELDS = ["tls.handshake.extensions_alpn_str", "tls.handshake.extensions_supported_group",
                "tls.handshake.session_id", "tls.handshake.extensions_key_share_group", "tls.handshake.comp_method"]
FIELDS = DRIVER_FIELDS + EXTRA_FIELDS
# With the find script's "bytes" argument: each hello's and key exchange's bytes and place (the driver's last columns).
CARRIED_FIELDS = ["tpost_find_post.k", "tpost_find_post.msg"]
# Frames the analysis reads: every TLS record (the replies after a chain include application data) and FIN/RST
# (teardown); SYN for the record's first frame. "every" mode drops the filter: every frame gets a line (the
# record's byte counts and last time need them; the floor writes one line per frame too).
FILTER = "tls.record || tcp.flags.syn == 1 || tcp.flags.fin == 1 || tcp.flags.reset == 1"

KEYLOG = ""   # --keylog: tshark decrypts, the facts come decrypted (TLS 1.3 chains included)
STAGES: dict[str, float] = {}   # the last prototype run's CPU seconds by process

SUMMARIZE = ("import sys\nfrom tsharkpost.cli import main\n"
             "sys.exit(main(['summarize', '--format', 'json', '-o', '/dev/null', '--jobs', '1', sys.argv[1]]))\n")


def suites_table(work: Path) -> Path:
    """tshark's cipher suite names by code (the plugin reads them from the field's display): cached once."""
    path = work / "suites.tsv"
    if not path.exists():
        values = subprocess.run(["tshark", "-G", "values"], capture_output=True, text=True, check=True).stdout
        rows = [line.split("\t") for line in values.splitlines()]
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(f"{r[2]}\t{r[3]}\n" for r in rows
                               if len(r) >= 4 and r[0] == "V" and r[1] == "tls.handshake.ciphersuite"))
        tmp.replace(path)
    return path


def tshark_argv(capture: Path, every: bool, find: bool = True, carry: bool = False, records: bool = False,
                certificates: bool = True) -> list[str]:
    """find: with bench/outside_find.lua, the part of the plugin that must stay in tshark (TLS found by content);
    carry: that script also carries the bytes of hellos and key exchanges (its "bytes" argument); records: and of
    every record but application data (its "records" argument: measured only, no driver reads them);
    certificates: whether tshark writes tls.handshake.certificate (which carried records would make redundant)."""
    argv = ["tshark", "-n", "-r", str(capture)]
    if find:
        argv += ["-X", f"lua_script:{REPO / 'bench' / 'outside_find.lua'}", "-X", f"lua_script1:{PLUGIN_DIR}"]
        if carry:
            argv += ["-X", "lua_script1:bytes"]
        if records:
            argv += ["-X", "lua_script1:records"]
    if not every:
        argv += ["-Y", FILTER]
    if KEYLOG:
        argv += ["-o", f"tls.keylog_file:{KEYLOG}"]
    argv += ["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"]
    for name in DRIVER_FIELDS + (CARRIED_FIELDS if carry else []) + EXTRA_FIELDS:
        if certificates or name != "tls.handshake.certificate":
            argv += ["-e", name]
    if records:
        argv += ["-e", "tpost_find_post.record"]
    return argv


def prototype(capture: Path, lua: str, every: bool, suites: Path, sink: Callable[[str], None] | None = None,
              find: bool = True, carry: bool = False) -> int:
    """tshark | lua driver, read here; returns the number of connection records."""
    tshark = subprocess.Popen(tshark_argv(capture, every, find, carry), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    assert tshark.stdout is not None
    driver = subprocess.Popen([lua, str(DRIVER), str(PLUGIN_DIR), str(suites)], stdin=tshark.stdout,
                              stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, OUTSIDE_BYTES="1" if carry else ""))
    tshark.stdout.close()
    assert driver.stdout is not None
    count = 0
    for line in driver.stdout:
        record = json.loads(line)
        count += 1
        if sink:
            sink(json.dumps({"capture": str(capture), **record}))
    # Each process's own CPU (os.wait4), to see the critical path: tshark on one core, the driver and this
    # reader on the other.
    for name, proc in (("driver", driver), ("tshark", tshark)):
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        STAGES[name] = round(usage.ru_utime + usage.ru_stime, 2)
        if proc.returncode:
            raise SystemExit(f"prototype failed on {capture}: {name} exited with {proc.returncode}")
    return count


def lupa_child(capture: Path, suites: Path) -> int:
    """Design (a): the driver in THIS process through lupa (Lua 5.4), fed tshark's lines; prints its CPU."""
    lua54: Any = importlib.import_module("lupa.lua54")  # only in the --lupa-python venv
    lua = lua54.LuaRuntime(encoding=None)
    tshark = subprocess.Popen(tshark_argv(capture, False), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert tshark.stdout is not None
    stdout = tshark.stdout
    count = 0

    def next_line() -> bytes | None:
        line = stdout.readline()
        return line[:-1] if line else None

    def take(text: bytes) -> None:
        nonlocal count
        json.loads(text)
        count += 1

    lua.globals().arg = lua.table_from({1: str(PLUGIN_DIR).encode(), 2: str(suites).encode()})
    # OUTSIDE_LINES() returns the iterator, as io.lines() does
    lua.globals().OUTSIDE_LINES = lua.eval(
        "function(next_line) return function() return function() return next_line() end end end")(next_line)
    lua.globals().OUTSIDE_WRITE = take
    lua.execute(DRIVER.read_bytes())
    _, status, usage = os.wait4(tshark.pid, 0)
    tshark.returncode = os.waitstatus_to_exitcode(status)
    own = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"records": count, "tshark": round(usage.ru_utime + usage.ru_stime, 2),
                      "python+lua": round(own.ru_utime + own.ru_stime, 2)}))
    return tshark.returncode


def prototype_lupa(capture: Path, suites: Path, python: str) -> int:
    done = subprocess.run([python, __file__, "--lupa-child", str(capture)], capture_output=True, text=True,
                          check=True)
    stages = json.loads(done.stdout)
    STAGES.update(tshark=stages["tshark"], driver_and_reader=stages["python+lua"])
    return int(stages["records"])


def run_quiet(argv: list[str], env: dict[str, str] | None = None) -> None:
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)


def measure(job: Callable[[], object], runs: int) -> dict[str, object]:
    walls, cpus, loads, stages = [], [], [], []
    for _ in range(runs):
        STAGES.clear()
        loads.append(os.getloadavg()[0])
        before_children, before_self = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(
            resource.RUSAGE_SELF)
        started = time.monotonic()
        job()
        walls.append(time.monotonic() - started)
        after_children, after_self = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(
            resource.RUSAGE_SELF)
        cpus.append(after_children.ru_utime - before_children.ru_utime + after_children.ru_stime
                    - before_children.ru_stime + after_self.ru_utime - before_self.ru_utime + after_self.ru_stime
                    - before_self.ru_stime)
        stages.append(dict(STAGES, reader=round(after_self.ru_utime - before_self.ru_utime + after_self.ru_stime
                                               - before_self.ru_stime, 2)) if STAGES else None)
    result: dict[str, object] = {"wall_s": round(min(walls), 2), "cpu_s": round(min(cpus), 2),
                                 "load_1min": [round(x, 1) for x in loads]}
    best = stages[cpus.index(min(cpus))]
    if best:
        result["cpu_by_process"] = best
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("captures", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/outside-prototype"))
    parser.add_argument("--skip-summarize", action="store_true")
    parser.add_argument("--python", default="/work/main/.venv/bin/python",
                        help="a Python with tsharkpost's dependencies, for summarize (this repository's source)")
    parser.add_argument("--only", default="", help="comma-separated configuration names to run")
    parser.add_argument("--records", action="store_true", help="print the prototype's records (lua5.4) and stop")
    parser.add_argument("--bytes", action="store_true",
                        help="with --records: the hellos' bytes carried by the find script, parsed by the core")
    parser.add_argument("--keylog", default="", help="a TLS key log file for tshark")
    parser.add_argument("--lupa-python", default="/work/proto-venv/bin/python",
                        help="a Python with lupa, for design (a): the driver inside the reading process")
    parser.add_argument("--lupa-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--save-facts", type=Path, metavar="FILE",
                        help="write the first capture's tshark facts (with the hellos' bytes) to FILE, next to the "
                             "cipher suite table in --work, and stop: the driver's input, e.g. for OUTSIDE_PROFILE=1")
    args = parser.parse_args()
    global KEYLOG
    KEYLOG = args.keylog
    args.work.mkdir(parents=True, exist_ok=True)
    suites = suites_table(args.work)
    if args.lupa_child:
        return lupa_child(args.captures[0], suites)
    if args.save_facts:
        with open(args.save_facts, "wb") as facts:
            subprocess.run(tshark_argv(args.captures[0], False, carry=True), stdout=facts, stderr=subprocess.DEVNULL,
                           check=True)
        print(f"{args.save_facts}: the facts; {suites}: the cipher suite table", file=sys.stderr)
        return 0
    if args.records:
        for capture in args.captures:
            prototype(capture, "lua5.4", False, suites, sink=print, carry=args.bytes)
        return 0
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for capture in args.captures:
        configs: dict[str, Callable[[], object]] = {
            "floor": lambda: run_quiet(["tshark", "-n", "-r", str(capture), "-T", "fields", "-e", "tcp.stream"]),
            "by_hand": lambda: run_quiet([sys.executable, str(REPO / "bench" / "by_hand.py"), str(capture)]),
            "tshark_facts_nofind": lambda: run_quiet(tshark_argv(capture, False, find=False)),
            "tshark_facts": lambda: run_quiet(tshark_argv(capture, False)),
            "tshark_facts_every": lambda: run_quiet(tshark_argv(capture, True)),
            "outside_lua54_nofind": lambda: prototype(capture, "lua5.4", False, suites, find=False),
            "outside_lua54": lambda: prototype(capture, "lua5.4", False, suites),
            "tshark_facts_bytes": lambda: run_quiet(tshark_argv(capture, False, carry=True)),
            "tshark_facts_records": lambda: run_quiet(tshark_argv(capture, False, carry=True, records=True)),
            "tshark_facts_records_nocert": lambda: run_quiet(tshark_argv(capture, False, carry=True, records=True,
                                                                         certificates=False)),
            "outside_lua54_bytes": lambda: prototype(capture, "lua5.4", False, suites, carry=True),
            "outside_lua54_every": lambda: prototype(capture, "lua5.4", True, suites),
            "outside_lua52": lambda: prototype(capture, "lua5.2", False, suites),
            "outside_lupa": lambda: prototype_lupa(capture, suites, args.lupa_python),
        }
        if not args.skip_summarize:
            configs["summarize"] = lambda: run_quiet([args.python, "-c", SUMMARIZE, str(capture)], env=env)
        only = set(filter(None, args.only.split(",")))
        report: dict[str, object] = {"capture": str(capture), "megabytes": round(capture.stat().st_size / 1e6, 1)}
        for name, job in configs.items():
            if only and name not in only and name != "floor":
                continue
            report[name] = measure(job, args.runs)
            print(name, report[name], file=sys.stderr, flush=True)
        base = report["floor"]
        assert isinstance(base, dict)
        for name in configs:
            entry = report.get(name)
            if isinstance(entry, dict) and name != "floor":
                entry["wall_x"] = round(float(entry["wall_s"]) / float(base["wall_s"]), 2)
                entry["cpu_x"] = round(float(entry["cpu_s"]) / float(base["cpu_s"]), 2)
        print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
