"""Wireshark's personal folders, as tshark itself reports them (`tshark -G folders`).

Asking tshark rather than guessing keeps Linux, macOS and Windows layouts, XDG
variables and portable installs right: they are where Wireshark will look.
"""

from __future__ import annotations

import locale
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tsharkpost.capture.tshark import ROOT_NOTICE, Tshark
from tsharkpost.errors import TsharkError

PERSONAL_CONFIGURATION = "Personal configuration"
PERSONAL_LUA_PLUGINS = "Personal Lua Plugins"


@dataclass(frozen=True)
class Folders:
    """Attributes:
        configuration: the personal configuration folder; profiles live in its profiles/ subfolder.
        lua_plugins: the personal Lua plugins folder, searched (with subfolders) for *.lua at start-up.
    """

    configuration: Path
    lua_plugins: Path


def decoded(output: bytes) -> str:
    """tshark's output naming files, as Python names them: on POSIX os.fsdecode, which keeps any byte of a path
    (a HOME that is not UTF-8) so that the path reaches the very folder; elsewhere the locale's encoding."""
    if os.name == "posix":
        return os.fsdecode(output)
    return output.decode(locale.getpreferredencoding(False), "replace")


def parse(text: str) -> dict[str, str | None]:
    """`-G folders` lines are "Label:<spaces><tab>path"; a path may hold a colon (C:\\...) and end in spaces, so it
    is kept exactly. A line without a tab after a path means that path held a line break: it maps to None, since
    where it ends cannot be told (the first part alone is another folder)."""
    found: dict[str, str | None] = {}
    last: str | None = None  # the label of the line above, when that line gave it its path
    for line in text.splitlines():
        label, tab, path = line.partition("\t")
        if tab:
            name = label.strip().rstrip(":").strip()
            last = name if name not in found and path.strip() else None
            if last is not None:
                found[last] = path
        elif last is not None:
            found[last] = None
    return found


def discover(tshark: Tshark) -> Folders:
    argv = [tshark.path, "-G", "folders"]
    try:
        process = subprocess.run(argv, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise TsharkError(f"cannot run {' '.join(argv)}: {error}") from None
    folders = parse(decoded(process.stdout))
    missing = [label for label in (PERSONAL_CONFIGURATION, PERSONAL_LUA_PLUGINS) if label not in folders]
    if process.returncode != 0 or missing:
        stderr = process.stderr.decode("utf-8", "replace")
        said = "; ".join(line for line in stderr.splitlines() if line and not line.startswith(ROOT_NOTICE))
        raise TsharkError(f"{' '.join(argv)} did not report {', '.join(missing) or 'its folders'} "
                          f"(exit {process.returncode}{': ' + said if said else ''})")
    paths = {}
    for label in (PERSONAL_CONFIGURATION, PERSONAL_LUA_PLUGINS):
        path = folders[label]
        # Writing to a guess would put files where Wireshark never looks, or in someone else's folder.
        if path is None:
            raise TsharkError(f"{' '.join(argv)} reports its {label} folder on several lines (a line break in "
                              "HOME, XDG_CONFIG_HOME or WIRESHARK_CONFIG_DIR?): tsharkpost cannot tell which folder")
        if not Path(path).is_absolute():
            raise TsharkError(f"{' '.join(argv)} reports a relative {label} folder, {path!r} (a relative HOME, "
                              "XDG_CONFIG_HOME or WIRESHARK_CONFIG_DIR?): it would depend on the current folder")
        paths[label] = Path(path)
    return Folders(paths[PERSONAL_CONFIGURATION], paths[PERSONAL_LUA_PLUGINS])
