"""summarize's progress on stderr (tqdm): captures done, and bytes read across all of them, within a capture too.

Shown only when stderr is a terminal and --quiet is not given; otherwise nothing is drawn and nothing polled.
Captures count as they finish, in the order they finish. Bytes read are the finished captures' sizes plus how
far each running tshark has read into its capture (capture/offsets.py, polled twice a second by a thread of
its own), or into the parts of a capture read in parts (capture/sliced.py); a capture read a second time
(analyze.py's out-of-order reading) does not move the bar back.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tsharkpost.capture.offsets import read_offsets
from tsharkpost.capture.result import InputResult
from tsharkpost.render.text import printable

POLL_SECONDS = 0.5
NAME_LENGTH = 40


class Progress:
    """Two bars: captures done (with the last one's name), and bytes read out of the captures' total size."""

    def __init__(self, paths: list[Path], stream: IO[str], poll: bool = True) -> None:
        self.paths = [str(path) for path in paths]
        self.sizes = [_size(path) for path in paths]
        self.done = [False] * len(paths)
        self.reached: dict[str, int] = {}  # furthest offset seen per running capture
        self.parts: dict[int, list[str]] = {}  # captures read in parts (capture/sliced.py): their part files
        self.lock = threading.Lock()
        from tqdm import tqdm  # here, not at the top: a run without a terminal never shows bars (render/html.py)

        self.files = tqdm(total=len(paths), desc="captures", unit="file", file=stream, position=0, leave=False,
                          dynamic_ncols=True)
        self.bytes = tqdm(total=sum(self.sizes), desc="read", unit="B", unit_scale=True, unit_divisor=1024,
                          file=stream, position=1, leave=False, dynamic_ncols=True)
        self.stopped = threading.Event()
        self.poller = threading.Thread(target=self._poll, name="tsharkpost-progress", daemon=True) if poll else None
        if self.poller:
            self.poller.start()

    def finished(self, number: int, result: InputResult) -> None:
        """One capture is done (batch.Finished)."""
        with self.lock:
            self.done[number] = True
            self.files.set_postfix_str(printable(Path(result.path).name, NAME_LENGTH), refresh=False)
            self.files.n += 1
            self.files.refresh()
            self._show_bytes()

    def sliced(self, number: int, files: list[Path]) -> None:
        """A capture is read in parts, by tsharks reading these files (batch.Sliced)."""
        with self.lock:
            self.parts[number] = [str(path) for path in files]

    def close(self) -> None:
        self.stopped.set()
        if self.poller:
            self.poller.join()
        with self.lock:
            self.bytes.close()
            self.files.close()

    def _poll(self) -> None:
        while not self.stopped.wait(POLL_SECONDS):
            with self.lock:
                running = {path for path, done in zip(self.paths, self.done) if not done}
                parts = {number: files for number, files in self.parts.items() if not self.done[number]}
            offsets = read_offsets(running | {name for files in parts.values() for name in files})
            # A capture read in parts is as far as its parts are on average, each part by its own size.
            read = {self.paths[number]: int(self.sizes[number] * sum(_share(name, offsets) for name in files)
                                            / len(files)) for number, files in parts.items() if files}
            with self.lock:
                for path, offset in [*offsets.items(), *read.items()]:
                    if path in running:
                        self.reached[path] = max(self.reached.get(path, 0), offset)
                self._show_bytes()

    def _show_bytes(self) -> None:
        total = 0
        for path, size, done in zip(self.paths, self.sizes, self.done):
            total += size if done else min(self.reached.get(path, 0), size)
        self.bytes.n = total
        self.bytes.refresh()


def _share(name: str, offsets: dict[str, int]) -> float:
    """How much of a part file its tshark has read (0 to 1)."""
    size = _size(Path(name))
    return min(offsets.get(name, 0) / size, 1.0) if size else 0.0


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size if path.is_file() else 0
    except OSError:  # missing or unreadable: the capture stage reports it
        return 0


@contextmanager
def progress(paths: list[Path], quiet: bool, within_captures: bool = True) -> Iterator[Progress | None]:
    """The progress display for paths when stderr is a terminal and not quiet, else None. Without
    within_captures (the captures are read elsewhere: a cluster) bytes move as whole captures finish."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    shown = Progress(paths, sys.stderr, poll=within_captures)
    try:
        yield shown
    finally:
        shown.close()
