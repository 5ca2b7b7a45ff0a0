"""Many captures, read in parallel where there are cores: one InputResult per capture, in the order given."""

from __future__ import annotations

from collections.abc import Callable
import traceback
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from tsharkpost.capture import tshark as ts
from tsharkpost.capture.analyze import analyze
from tsharkpost.capture.result import InputResult, InputStatus

# Told after each capture: how many are done, how many in all, the one just finished.
Progress = Callable[[int, int, Path], None]


def analyze_all(paths: list[Path], tshark: ts.Tshark, options: ts.Options, jobs: int, scratch: Path,
                progress: Progress | None = None) -> list[InputResult]:
    """Each capture through analyze(), its records written to a file in scratch."""
    results: dict[Path, InputResult] = {}
    records = {path: scratch / f"{number}.jsonl" for number, path in enumerate(paths)}
    if jobs <= 1 or len(paths) <= 1:
        for number, path in enumerate(paths, start=1):
            results[path] = analyze(path, tshark, options, records[path])
            if progress:
                progress(number, len(paths), path)
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, len(paths))) as pool:
            futures = {path: pool.submit(analyze, path, tshark, options, records[path]) for path in paths}
            for number, (path, future) in enumerate(futures.items(), start=1):
                results[path] = _outcome(path, future)
                if progress:
                    progress(number, len(paths), path)
    return [results[path] for path in paths]


def _outcome(path: Path, future: Future[InputResult]) -> InputResult:
    """The worker's result; a worker that died (killed, out of memory) costs its own input only."""
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - analyze() reports its own failures: this is the pool's
        return InputResult(str(path), InputStatus.BUG, f"internal error, please report it: the worker reading it "
                           f"failed: {type(error).__name__}: {error}"[:300], traceback=traceback.format_exc())
