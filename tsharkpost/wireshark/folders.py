"""Wireshark's personal folders, as tshark itself reports them (`tshark -G folders`).

Asking tshark rather than guessing keeps Linux, macOS and Windows layouts, XDG
variables and portable installs right: they are where Wireshark will look.
"""

from __future__ import annotations

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


def parse(text: str) -> dict[str, str]:
    """`-G folders` lines are "Label:<spaces><tab>path"; a path may hold a colon (C:\\...)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        label, tab, path = line.partition("\t")
        if tab and path.strip():
            found.setdefault(label.strip().rstrip(":").strip(), path.strip())
    return found


def discover(tshark: Tshark) -> Folders:
    argv = [tshark.path, "-G", "folders"]
    try:
        process = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise TsharkError(f"cannot run {' '.join(argv)}: {error}") from None
    folders = parse(process.stdout)
    missing = [label for label in (PERSONAL_CONFIGURATION, PERSONAL_LUA_PLUGINS) if label not in folders]
    if process.returncode != 0 or missing:
        said = "; ".join(line for line in process.stderr.splitlines() if line and not line.startswith(ROOT_NOTICE))
        raise TsharkError(f"{' '.join(argv)} did not report {', '.join(missing) or 'its folders'} "
                          f"(exit {process.returncode}{': ' + said if said else ''})")
    return Folders(Path(folders[PERSONAL_CONFIGURATION]), Path(folders[PERSONAL_LUA_PLUGINS]))
