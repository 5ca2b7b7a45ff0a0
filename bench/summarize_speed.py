#!/usr/bin/env python3
"""Benchmark `tsharkpost summarize` against the floor any tshark-based tool pays, and against pyshark.

Run as root from the repository root (the bulk workload needs a network namespace):

    .venv/bin/python -m pip install '.[bench]'   # pyshark, for the comparison (tsharkpost itself does not use it)
    .venv/bin/python bench/summarize_speed.py [--work bench/work] [--copies 1024] [--pyshark-packets 20000]

Measures, on a handshake-heavy and a bulk-heavy workload of a few hundred MB:
  floor      tshark -n -r FILE -T fields -e tcp.stream
  summarize  tsharkpost summarize FILE --format json --jobs 1 (wall time, and its own peak RSS)
  by hand    bench/by_hand.py FILE: a user's own plain `tshark -T fields` script with the same facts, no diagnosis
  pyshark    a straightforward pyshark loop extracting the same facts, on the first N packets only
             (compared with summarize on the same slice: pyshark on the whole file takes too long)
and the speed-up of --jobs 2 over --jobs 1 on each workload split into 4 files.
Not a test: figures depend on the machine. Record them in the issue's closing note.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

PYSHARK_LOOP = """
import sys, pyshark
facts = {}
capture = pyshark.FileCapture(sys.argv[1], display_filter=
    "tcp.flags.syn == 1 || tcp.flags.fin == 1 || tcp.flags.reset == 1 || tls.handshake || tls.alert_message")
for packet in capture:
    stream = int(packet.tcp.stream)
    conn = facts.setdefault(stream, {"sni": None, "version": None, "alerts": [], "teardown": None, "certs": 0})
    if "TLS" in packet:
        tls = packet.tls
        if getattr(tls, "handshake_extensions_server_name", None):
            conn["sni"] = tls.handshake_extensions_server_name
        if getattr(tls, "handshake_type", None) == "2":
            conn["version"] = tls.handshake_version
        if getattr(tls, "alert_message_desc", None):
            conn["alerts"].append(tls.alert_message_desc)
        for field in tls._get_all_fields_with_alternates():
            if field.name == "tls.handshake.certificate":
                conn["certs"] += 1
    if conn["teardown"] is None and (packet.tcp.flags_fin == "1" or packet.tcp.flags_reset == "1"):
        conn["teardown"] = packet.number
capture.close()
print(len(facts))
"""

# Peak RSS from /proc/self/status (VmHWM, this process's own memory): ru_maxrss would carry over the peak of the
# process that forked it (Linux keeps the larger across exec), here this script after building the workloads.
MEASURE_SUMMARIZE = """
import re, sys
from tsharkpost.cli import main
code = main(["summarize", "--format", "json", "-o", "/dev/null", "--jobs", sys.argv[2], *sys.argv[3:]])
print(re.search(r"VmHWM:\\s*(\\d+)", open("/proc/self/status").read()).group(1), file=sys.stderr)
"""


def timed(argv: list[str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return time.monotonic() - started, done.stderr


def by_hand(capture: Path) -> float:
    return timed([PYTHON, str(REPO / "bench" / "by_hand.py"), str(capture)])[0]


def floor(capture: Path) -> float:
    return timed(["tshark", "-n", "-r", str(capture), "-T", "fields", "-e", "tcp.stream"])[0]


def summarize(*captures: Path, jobs: int = 1) -> tuple[float, int]:
    seconds, err = timed([PYTHON, "-c", MEASURE_SUMMARIZE, "x", str(jobs), *map(str, captures)])
    peak_kib = int(err.strip().splitlines()[-1])
    return seconds, peak_kib


def first_packets(capture: Path, count: int, target: Path) -> Path:
    subprocess.run(["editcap", "-r", str(capture), str(target), f"1-{count}"], check=True)
    return target


def split(capture: Path, parts: int, folder: Path) -> list[Path]:
    total = int(subprocess.run(["capinfos", "-M", "-c", "-T", "-r", str(capture)], capture_output=True, text=True,
                               check=True).stdout.split("\t")[-1])
    subprocess.run(["editcap", "-c", str(total // parts + 1), str(capture), str(folder / "part.pcapng")], check=True)
    return sorted(folder.glob("part_*.pcapng"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "work")
    parser.add_argument("--copies", type=int, default=1024, help="copies of the batch capture (about 250 KB each)")
    parser.add_argument("--pyshark-packets", type=int, default=20000)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    handshake = args.work / "handshake-heavy.pcapng"
    if not handshake.exists():
        workloads.replicate(REPO / "captures" / "batch-mixed.pcapng", handshake, args.copies, spacing_seconds=5.0)
    bulk = args.work / "bulk-heavy.pcapng"
    if not bulk.exists():
        workloads.bulk(bulk)

    report: dict[str, object] = {}
    for name, capture in [("handshake-heavy", handshake), ("bulk-heavy", bulk)]:
        base = floor(capture)
        ours, peak = summarize(capture)
        anchor = by_hand(capture)
        report[name] = {"megabytes": round(capture.stat().st_size / 1e6), "floor_s": round(base, 1),
                        "summarize_s": round(ours, 1), "ratio": round(ours / base, 2), "peak_rss_mib": peak // 1024,
                        "by_hand_s": round(anchor, 1), "by_hand_ratio": round(anchor / base, 2)}
        print(name, report[name], flush=True)

    half = args.work / "handshake-half.pcapng"
    if not half.exists():
        workloads.replicate(REPO / "captures" / "batch-mixed.pcapng", half, args.copies // 2, spacing_seconds=5.0)
    report["memory_vs_size"] = {"half_peak_rss_mib": summarize(half)[1] // 1024,
                                "full_peak_rss_mib": report["handshake-heavy"]["peak_rss_mib"]}  # type: ignore[index]
    print("memory", report["memory_vs_size"], flush=True)

    sliced = first_packets(handshake, args.pyshark_packets, args.work / "slice.pcapng")
    pyshark_s, _ = timed([PYTHON, "-c", PYSHARK_LOOP, str(sliced)])
    ours_s, _ = summarize(sliced)
    report["pyshark_slice"] = {"packets": args.pyshark_packets, "pyshark_s": round(pyshark_s, 1),
                               "summarize_s": round(ours_s, 1), "speedup": round(pyshark_s / ours_s, 1)}
    print("pyshark", report["pyshark_slice"], flush=True)

    # Each job is tshark plus the reader of its output: on handshake-heavy input both are busy, so one job can
    # already fill two cores; on bulk input the parser idles and jobs scale with free cores.
    for name, capture in [("handshake-heavy", handshake), ("bulk-heavy", bulk)]:
        parts_folder = args.work / f"parts-{name}"
        parts_folder.mkdir(exist_ok=True)
        parts = sorted(parts_folder.glob("part_*.pcapng")) or split(capture, 4, parts_folder)
        one, _ = summarize(*parts, jobs=1)
        two, _ = summarize(*parts, jobs=2)
        report[f"jobs_{name}"] = {"files": len(parts), "jobs1_s": round(one, 1), "jobs2_s": round(two, 1),
                                  "speedup": round(one / two, 2)}
        print("jobs", name, report[f"jobs_{name}"], flush=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
