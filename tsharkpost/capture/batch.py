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
from concurrent.futures import Future, ProcessPoolExecutor, as_completed, wait
from concurrent.futures.process import BrokenProcessPool
from functools import partial
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
# One job of the pool: the input's place, its part (-1: the whole capture) and how tshark reads it.
Job = tuple[int, int, ts.Options]


def analyze_all(paths: list[Path], tshark: ts.Tshark, options: ts.Options, jobs: int, scratch: Path,
                finished: Finished | None = None, slice_mb: float = DEFAULT_SLICE_MB,
                sliced: Sliced | None = None) -> list[InputResult]:
    """Each capture through analyze(), its records written to a file in scratch; the results in the order given.

    A capture larger than slice_mb MB is read in parts (capture/sliced.py), each part a job of the pool as a
    capture is; its parts' results are merged into the capture's once the last is done.
    A path in the list twice is read twice, its own records file each time (commands' expand() lists each path
    spelt alike once)."""
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
    futures: dict[Future[Any], Job] = {}
    second: dict[int, ts.Options] = {}  # sliced captures read again with out-of-order reassembly
    alone: list[Job] | None = None  # once a worker died: the jobs left, each read in a process of its own

    def run(job: Job) -> Callable[[], Any]:
        number, part, reading = job
        if part < 0:
            return partial(_analyze_in_worker, paths[number], tshark, reading, records[number])
        return partial(_read_part_in_worker, paths[number], part, counts[number], tshark, reading,
                       scratch / f"{number}.parts")

    def submit(job: Job) -> None:
        if alone is None:
            futures[pool.submit(run(job))] = job
        else:
            alone.append(job)

    def submit_parts(number: int, reading: ts.Options) -> None:
        parts[number] = [None] * counts[number]
        if sliced:
            sliced(number, [part_file(scratch / f"{number}.parts", part) for part in range(counts[number])])
        for part in range(counts[number]):
            submit((number, part, reading))

    def done(job: Job, future: Future[Any]) -> None:
        number, part, _ = job
        if part < 0:
            results[number] = _outcome(paths[number], future)
        else:
            held = parts[number]
            held[part] = _part_outcome(paths[number], future)
            if any(item is None for item in held):
                return
            reading = second.get(number, options)
            result, again = merge(paths[number], [item for item in held if item], reading, records[number])
            remove([item for item in held if item])
            if again:
                second[number] = dataclasses.replace(options, reassemble_out_of_order=True)
                submit_parts(number, second[number])
                return
            results[number] = result
        if finished:
            finished(number, results[number])  # type: ignore[arg-type]

    try:
        for number in range(len(paths)):
            if counts[number] > 1:
                submit_parts(number, options)
            else:
                submit((number, -1, options))
        while futures and alone is None:  # parts read again (out-of-order reassembly) are submitted on the way
            for future in as_completed(list(futures)):
                job = futures.pop(future)
                if isinstance(future.exception(), BrokenProcessPool):
                    # A worker died (killed, out of memory) and took the pool with it: which job it was reading
                    # cannot be told, so every job not done is read again in a process of its own, and only the
                    # one whose process dies again pays for it.
                    left = list(futures.items())
                    futures.clear()
                    _stop(pool)
                    alone = [job]
                    for item, job_of in left:
                        if item.done() and not item.cancelled() and item.exception() is None:
                            done(job_of, item)
                        else:
                            alone.append(job_of)
                    break
                done(job, future)
        while alone:
            job = alone.pop(0)
            solo = ProcessPoolExecutor(max_workers=1, initializer=_worker_start)
            try:
                future = solo.submit(run(job))
                wait([future])
            except BaseException:
                _stop(solo)
                raise
            solo.shutdown()
            done(job, future)
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
    except BrokenProcessPool:  # its process died, alone (analyze_all): the input's fault or the machine's
        return InputResult(str(path), InputStatus.ERROR, "the process reading it died (killed by a signal, or out "
                           "of memory)")
    except Exception as error:  # noqa: BLE001 - analyze() reports its own failures: this is the pool's
        return InputResult(str(path), InputStatus.BUG, f"internal error, please report it: the worker reading it "
                           f"failed: {type(error).__name__}: {error}"[:300], traceback=traceback.format_exc())
