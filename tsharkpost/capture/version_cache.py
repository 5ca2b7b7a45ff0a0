"""tshark's version, remembered per tshark binary, so that a run need not ask `tshark -v` (0.2 s) every time.

A binary is known by its real path and its file's identity (device, inode, size, modification time): an upgrade
or a rebuilt file at the same path is asked again. The entries live in one small JSON file in the user's cache
folder ($XDG_CACHE_HOME/tsharkpost, else ~/.cache/tsharkpost), written to a temporary file and renamed over the
old one, so that runs at once never see half a file. Anything wrong with the cache (no home, a folder that
cannot be written, a damaged or foreign file) only means tshark is asked again: it never fails a run.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

CACHE_FILE = "tshark-versions.json"
ENTRIES_KEPT = 32  # tsharks a user switches between; past this the oldest are dropped
CACHE_BYTES = 64 * 1024  # a bigger file is not ours
VERSION_TEXT = re.compile(r"\d+\.\d+\.\d+")


def cache_folder() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME")
    if base and os.path.isabs(base):
        return Path(base) / "tsharkpost"
    try:
        return Path.home() / ".cache" / "tsharkpost"
    except RuntimeError:  # no home directory to be found
        return None


def _identity(path: str) -> str | None:
    try:
        real = os.path.realpath(path)
        info = os.stat(real)
    except OSError:
        return None
    return f"{real}|{info.st_dev}|{info.st_ino}|{info.st_size}|{info.st_mtime_ns}"


def _entries(file: Path) -> dict[str, str]:
    try:
        with open(file, "rb") as handle:
            data = handle.read(CACHE_BYTES + 1)
        found = json.loads(data) if len(data) <= CACHE_BYTES else None
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {key: value for key, value in found.items()
            if isinstance(key, str) and isinstance(value, str) and VERSION_TEXT.fullmatch(value)}


def known_version(path: str) -> str | None:
    """The version remembered for this very binary, or None."""
    folder, identity = cache_folder(), _identity(path)
    if folder is None or identity is None:
        return None
    return _entries(folder / CACHE_FILE).get(identity)


def remember_version(path: str, version: str) -> None:
    """Remember the binary's version; silently nothing when the cache cannot be written."""
    folder, identity = cache_folder(), _identity(path)
    if folder is None or identity is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        entries = _entries(folder / CACHE_FILE)
        entries.pop(identity, None)
        entries[identity] = version  # the newest last: the oldest go first
        kept = dict(list(entries.items())[-ENTRIES_KEPT:])
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tshark-versions-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(kept, out)
            os.replace(temporary, folder / CACHE_FILE)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        return
