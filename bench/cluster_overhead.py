#!/usr/bin/env python3
"""What `summarize --scheduler` costs against a local run, on many small files, and 1 worker against 2.

    .venv/bin/python -m pip install '.[cluster]'
    .venv/bin/python bench/cluster_overhead.py [--files 100] [--rounds 1] [--work bench/work]

Makes --files captures (the bundled captures/*.pcapng copied round-robin), starts a Dask scheduler and workers
on 127.0.0.1 (`dask scheduler`, `dask worker --nworkers 1 --nthreads 1` with README's two worker settings, or
Dask's defaults with --dask-defaults), and times, with the output to /dev/null:
  local  --jobs 1, --jobs 2
  dask   1 worker, 2 workers (the cluster's start-up is not counted; each worker is ready first)
and checks that every run's JSON output is the same. Beside wall time it counts CPU time (user + system) of
everything each run starts: summarize and its tsharks locally; the client, scheduler, nannies, workers and
their tsharks on the cluster, less what the same cluster burns idle (started, kept as long as the run took,
stopped): the work the cluster path adds, which on a machine whose cores the workers fill shows up as wall time.
Not a test: figures depend on the machine (and on what else runs on it). Record them in README (Running on a
Dask cluster).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DASK = Path(sys.executable).parent / "dask"
SUMMARIZE = [sys.executable, "-c", "import sys; from tsharkpost.cli import main; sys.exit(main())", "summarize",
             "--format", "json", "--quiet"]
ENVIRONMENT = {**os.environ, "PYTHONPATH": str(REPO), "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"}
# The workers as README's worker line starts them (--dask-defaults: as Dask does)
WORKER_SETTINGS = {"DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
                   "DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL": "2s"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def timed(arguments: list[str], out: Path) -> tuple[float, str]:
    """Wall time of summarize with arguments, and the digest of its JSON output."""
    started = time.monotonic()
    done = subprocess.run([*SUMMARIZE, "-o", str(out), *arguments], stdin=subprocess.DEVNULL, env=ENVIRONMENT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode not in (0, 3):
        raise SystemExit(f"summarize {' '.join(arguments[:2])} failed ({done.returncode}): {done.stderr[-500:]}")
    return seconds, hashlib.sha256(out.read_bytes()).hexdigest()


def children_cpu() -> float:
    """CPU seconds of every child process this script has waited for, and of theirs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def start_cluster(workers: int, logs: Path, dask_defaults: bool = False) -> tuple[str, list[subprocess.Popen[bytes]]]:
    address = f"tcp://127.0.0.1:{free_port()}"
    processes = []
    with open(logs / "scheduler.log", "wb") as log:
        processes.append(subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                                           address.rsplit(":", 1)[1], "--no-dashboard"], stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=log, env=ENVIRONMENT))
    for number in range(workers):
        with open(logs / f"worker-{number}.log", "wb") as log:
            processes.append(subprocess.Popen([str(DASK), "worker", address, "--nworkers", "1", "--nthreads", "1",
                                               "--host", "127.0.0.1", "--no-dashboard"], stdin=subprocess.DEVNULL,
                                              stdout=log, stderr=log,
                                              env=ENVIRONMENT if dask_defaults else {**ENVIRONMENT,
                                                                                     **WORKER_SETTINGS}))
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(workers, timeout=120)
    return address, processes


def stop_cluster(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in reversed(processes):
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "work")
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--dask-defaults", action="store_true",
                        help="start the workers as Dask does, not as README's worker line (profiler off)")
    args = parser.parse_args()
    folder = args.work / f"cluster-{args.files}"
    if not folder.is_dir():
        folder.mkdir(parents=True)
        sources = sorted((REPO / "captures").glob("*.pcapng"))
        for number in range(args.files):
            source = sources[number % len(sources)]
            shutil.copy(source, folder / f"{number:04d}-{source.name}")
    files = [str(path) for path in sorted(folder.glob("*.pcapng"))]
    out = args.work / "cluster-out.json"
    times: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    digests: set[str] = set()
    for _ in range(args.rounds):
        for jobs in (1, 2):
            before = children_cpu()
            seconds, digest = timed(["--jobs", str(jobs), *files], out)
            times.setdefault(f"local --jobs {jobs}", []).append(seconds)
            cpu.setdefault(f"local --jobs {jobs}", []).append(children_cpu() - before)
            digests.add(digest)
        for workers in (1, 2):
            name = f"dask, {workers} worker{'s' if workers > 1 else ''}"
            before = children_cpu()
            address, processes = start_cluster(workers, args.work, args.dask_defaults)
            try:
                seconds, digest = timed(["--scheduler", address, *files], out)
            finally:
                stop_cluster(processes)
            busy = children_cpu() - before
            before = children_cpu()
            _, processes = start_cluster(workers, args.work, args.dask_defaults)
            time.sleep(seconds)
            stop_cluster(processes)
            idle = children_cpu() - before
            times.setdefault(name, []).append(seconds)
            cpu.setdefault(name, []).append(busy - idle)
            digests.add(digest)
    size = sum(Path(name).stat().st_size for name in files)
    print(f"{len(files)} files, {size / 1e6:.1f} MB, {args.rounds} round(s) (median), on {os.cpu_count()} cores")
    for name, values in times.items():
        print(f"  {name:18} {statistics.median(values):7.2f} s wall, {statistics.median(cpu[name]):7.2f} s CPU")
    median = {name: statistics.median(values) for name, values in times.items()}
    median_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    for workers, name in ((2, "dask, 2 workers"), (1, "dask, 1 worker")):
        local = f"local --jobs {workers}"
        overhead = 100 * (median[name] / median[local] - 1)
        added = 100 * (median_cpu[name] / median_cpu[local] - 1)
        print(f"  cluster overhead, {name.split(', ')[1]} vs --jobs {workers}: {overhead:+.1f} % wall, "
              f"{added:+.1f} % CPU (idle cluster's own CPU taken out)")
    print(f"  2 workers vs 1: {median['dask, 1 worker'] / median['dask, 2 workers']:.2f}x faster")
    print(f"  outputs identical: {'yes' if len(digests) == 1 else 'NO'}")
    return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
