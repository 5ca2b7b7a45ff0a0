"""Many captures, read in parallel where there are cores: one InputResult per capture, in the order given, each
told to the caller (progress) as soon as it is done, in the order they finish.

Stopping (Ctrl-C, SIGTERM) stops every worker and the tshark each one runs: the parent, not the workers,
handles SIGINT; it cancels what has not started and sends SIGTERM to the workers, which unwind (tshark is
terminated on the way out, capture/tshark.py run()) and exit without taking another capture.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from types import FrameType
from typing import Any

from tsharkpost.capture import tshark as ts
from tsharkpost.capture.analyze import PartResult, analyze
from tsharkpost.capture.result import InputResult, InputStatus
from tsharkpost.capture.sliced import DEFAULT_SLICE_MB, merge, part_count, part_file, read_part, remove

# Told as each capture finishes, in the order they finish: its place in the list given, and what became of it.
Finished = Callable[[int, InputResult], None]
# Told when a capture is to be read in parts: its place in the list given, and the part files tshark will read.
Sliced = Callable[[int, list[Path]], None]


def analyze_all(paths: list[Path], tshark: ts.Tshark, options: ts.Options, jobs: int, scratch: Path,
                finished: Finished | None = None, slice_mb: float = DEFAULT_SLICE_MB,
                sliced: Sliced | None = None) -> list[InputResult]:
    """Each capture through analyze(), its records written to a file in scratch; the results in the order given.

    A capture larger than slice_mb MB is read in parts (capture/sliced.py), each part a job of the pool as a
    capture is; its parts' results are merged into the capture's once the last is done.
    The same path given twice is read twice (its own records file each time)."""
    results: list[InputResult | None] = [None] * len(paths)
    records = [scratch / f"{number}.jsonl" for number in range(len(paths))]
    counts = [part_count(path, slice_mb, jobs) for path in paths]
    if jobs <= 1 or sum(counts) <= 1:
        for number, path in enumerate(paths):
            results[number] = result = analyze(path, tshark, options, records[number])
            if finished:
                finished(number, result)
        return [result for result in results if result is not None]
    pool = ProcessPoolExecutor(max_workers=min(jobs, sum(counts)), initializer=_worker_start)
    parts: dict[int, list[PartResult | None]] = {}
    futures: dict[Future[Any], tuple[int, int]] = {}  # -> (input, part; -1 for a whole capture)
    second: dict[int, ts.Options] = {}  # sliced captures read again with out-of-order reassembly

    def submit_parts(number: int, reading: ts.Options) -> None:
        parts[number] = [None] * counts[number]
        if sliced:
            sliced(number, [part_file(scratch / f"{number}.parts", part) for part in range(counts[number])])
        for part in range(counts[number]):
            futures[pool.submit(_read_part_in_worker, paths[number], part, counts[number], tshark, reading,
                                scratch / f"{number}.parts")] = (number, part)

    try:
        for number, path in enumerate(paths):
            if counts[number] > 1:
                submit_parts(number, options)
            else:
                futures[pool.submit(_analyze_in_worker, path, tshark, options, records[number])] = (number, -1)
        while futures:  # parts read again (out-of-order reassembly) are submitted on the way: a round each
            for future in as_completed(list(futures)):
                number, part = futures.pop(future)
                if part < 0:
                    results[number] = _outcome(paths[number], future)
                else:
                    done = parts[number]
                    done[part] = _part_outcome(paths[number], future)
                    if any(item is None for item in done):
                        continue
                    reading = second.get(number, options)
                    result, again = merge(paths[number], [item for item in done if item], reading, records[number])
                    remove([item for item in done if item])
                    if again:
                        second[number] = dataclasses.replace(options, reassemble_out_of_order=True)
                        submit_parts(number, second[number])
                        continue
                    results[number] = result
                if finished:
                    finished(number, results[number])  # type: ignore[arg-type]
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


def _read_part_in_worker(path: Path, part: int, count: int, tshark: ts.Tshark, options: ts.Options,
                         folder: Path) -> PartResult:
    try:
        return read_part(path, part, count, tshark, options, folder)
    except _Stopped as stop:
        os._exit(int(stop.code or 1))


def _part_outcome(path: Path, future: Future[PartResult]) -> PartResult:
    """The part's result; a worker that died costs the part (and so its capture) only."""
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - as _outcome
        return PartResult(_outcome(path, future), "", False)  # type: ignore[arg-type]


def _outcome(path: Path, future: Future[InputResult]) -> InputResult:
    """The worker's result; a worker that died (killed, out of memory) costs its own input only."""
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - analyze() reports its own failures: this is the pool's
        return InputResult(str(path), InputStatus.BUG, f"internal error, please report it: the worker reading it "
                           f"failed: {type(error).__name__}: {error}"[:300], traceback=traceback.format_exc())
