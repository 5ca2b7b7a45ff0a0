"""How far the programs this process started (tshark) have read into given files, for progress within a capture.

Read from Linux's /proc, without touching tshark: each process below this one whose program is not this
Python (the batch's worker processes count packets in a file themselves, seeking to its end), each of its
open file descriptors naming one of the files, and that descriptor's offset (/proc/PID/fdinfo "pos:"). For a
gzip'd capture it is the offset in the compressed file, so it compares with the file's size on disk. Where
/proc is not there (macOS, Windows) nothing is found, and progress moves as whole files finish.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

PROC = Path("/proc")


def descendants(root: int) -> list[int]:
    """Every process below root, found from each process's parent in /proc/PID/stat."""
    parents: dict[int, list[int]] = {}
    try:
        entries = list(os.scandir(PROC))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            with open(f"{entry.path}/stat", "rb") as handle:
                after_name = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):  # gone meanwhile, or not ours to read
            continue
        parents.setdefault(int(after_name[1]), []).append(int(entry.name))
    found: list[int] = []
    waiting = [root]
    while waiting:
        children = parents.get(waiting.pop(), [])
        found += children
        waiting += children
    return found


def read_offsets(files: Iterable[str], root: int | None = None) -> dict[str, int]:
    """For each of files (as given) that a process below root (default: this one) has open: the furthest offset
    any of its descriptors has reached. Processes running this very Python are left out (see the docstring)."""
    wanted: dict[str, str] = {}
    for name in files:
        wanted.setdefault(os.path.realpath(name), name)
    ourselves = os.path.realpath(sys.executable)
    reached: dict[str, int] = {}
    for pid in descendants(os.getpid() if root is None else root):
        folder = PROC / str(pid)
        try:
            if os.path.realpath(folder / "exe") == ourselves:
                continue
            descriptors = list(os.scandir(folder / "fd"))
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                given = wanted.get(os.readlink(descriptor.path))
                if given is None:
                    continue
                with open(folder / "fdinfo" / descriptor.name, encoding="ascii") as handle:
                    position = next((int(line.split()[1]) for line in handle if line.startswith("pos:")), 0)
            except (OSError, ValueError, IndexError):
                continue
            reached[given] = max(reached.get(given, 0), position)
    return reached
