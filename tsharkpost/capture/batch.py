"""Many captures, read in parallel where there are cores: one InputResult per capture, in the order given, each
told to the caller (progress) as soon as it is done, in the order they finish.

Stopping (Ctrl-C, SIGTERM) stops every worker and the tshark each one runs: the parent, not the workers,
handles SIGINT; it cancels what has not started and sends SIGTERM to the workers, which unwind (tshark is
terminated on the way out, capture/tshark.py run()) and exit without taking another capture.
"""

from __future__ import annotations

import os
import signal
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from types import FrameType

from tsharkpost.capture import tshark as ts
from tsharkpost.capture.analyze import analyze
from tsharkpost.capture.result import InputResult, InputStatus

# Told as each capture finishes, in the order they finish: its place in the list given, and what became of it.
Finished = Callable[[int, InputResult], None]


def analyze_all(paths: list[Path], tshark: ts.Tshark, options: ts.Options, jobs: int, scratch: Path,
                finished: Finished | None = None) -> list[InputResult]:
    """Each capture through analyze(), its records written to a file in scratch; the results in the order given.

    The same path given twice is read twice (its own records file each time)."""
    results: list[InputResult | None] = [None] * len(paths)
    records = [scratch / f"{number}.jsonl" for number in range(len(paths))]
    if jobs <= 1 or len(paths) <= 1:
        for number, path in enumerate(paths):
            results[number] = result = analyze(path, tshark, options, records[number])
            if finished:
                finished(number, result)
        return [result for result in results if result is not None]
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(paths)), initializer=_worker_start)
    try:
        futures = {pool.submit(_analyze_in_worker, path, tshark, options, records[number]): number
                   for number, path in enumerate(paths)}
        for future in as_completed(futures):
            number = futures[future]
            results[number] = result = _outcome(paths[number], future)
            if finished:
                finished(number, result)
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown()
    return [result for result in results if result is not None]


class _Stopped(SystemExit):
    """A worker told to stop (SIGTERM). A SystemExit, so that a worker waiting for work exits quietly."""


def _worker_start() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    signal.signal(signal.SIGTERM, _stopped)


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise _Stopped(128 + signum)


def _analyze_in_worker(path: Path, tshark: ts.Tshark, options: ts.Options, records: Path) -> InputResult:
    try:
        return analyze(path, tshark, options, records)
    except _Stopped as stop:
        os._exit(int(stop.code or 1))  # tshark was reaped on the way here; take no further capture


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started, stop the workers (and so their tshark), wait for them to be gone."""
    # The executor keeps its workers in _processes (Python 3.14 adds terminate_workers() for this).
    workers = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    for worker in workers:
        worker.join(timeout=10)
        if worker.is_alive():
            worker.kill()
            worker.join()


def _outcome(path: Path, future: Future[InputResult]) -> InputResult:
    """The worker's result; a worker that died (killed, out of memory) costs its own input only."""
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - analyze() reports its own failures: this is the pool's
        return InputResult(str(path), InputStatus.BUG, f"internal error, please report it: the worker reading it "
                           f"failed: {type(error).__name__}: {error}"[:300], traceback=traceback.format_exc())
