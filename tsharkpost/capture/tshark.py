"""tshark as an unreliable dependency: find it, check its version, run it, drain stderr, always reap it."""

from __future__ import annotations

import collections
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tsharkpost.errors import TsharkError
from tsharkpost.plugin import fields as F
from tsharkpost.plugin.location import plugin_path

MINIMUM_VERSION = (4, 0)  # the plugin's floor (lua/tsharkpost.lua)
STDERR_LINES_KEPT = 50
# tshark's own notice when run as root; it says nothing about the capture.
ROOT_NOTICE = "Running as user"


@dataclass(frozen=True)
class Tshark:
    path: str
    version: str


def locate(explicit: str | None = None) -> Tshark:
    """Find tshark (an explicit path or folder first, then pyshark's search) and check its version."""
    from pyshark.tshark import tshark as pyshark_tshark  # imported late: pyshark is slow to import

    if explicit and not Path(explicit).exists():
        raise TsharkError(f"tshark not found at {explicit}")
    hint = str(Path(explicit) / "tshark") if explicit and Path(explicit).is_dir() else explicit
    try:
        path = pyshark_tshark.get_process_path(hint)
        version = pyshark_tshark.get_tshark_version(path)
    except pyshark_tshark.TSharkNotFoundException:
        searched = os.environ.get("PATH", "")
        raise TsharkError(f"tshark not found (searched {explicit or 'PATH=' + searched}); "
                          "install it (Debian: apt-get install tshark) or pass --tshark PATH") from None
    except (OSError, subprocess.CalledProcessError, pyshark_tshark.TSharkVersionException) as error:
        raise TsharkError(f"cannot run tshark to read its version: {error}") from None
    if (version.major, version.minor) < MINIMUM_VERSION:
        raise TsharkError(f"tshark {version} at {path} is too old: tsharkpost needs "
                          f"{'.'.join(map(str, MINIMUM_VERSION))} or later")
    return Tshark(path, str(version))


@dataclass(frozen=True)
class Options:
    """What the user may pass through to tshark."""

    keylog: str | None = None
    decode_as: tuple[str, ...] = ()
    plugin_prefs: tuple[str, ...] = ()  # tpost.<pref>:<value>


def pdml_argv(tshark: Tshark, capture: Path, options: Options) -> list[str]:
    argv = [tshark.path, "-n", "-r", str(capture), "-X", f"lua_script:{plugin_path()}", "-o", F.PLUGIN_BRIDGE_PREF,
            "-T", "pdml", "-Y", F.DISPLAY_FILTER, "-j", " ".join(F.PDML_NODES)]
    if options.keylog:
        argv += ["-o", f"tls.keylog_file:{options.keylog}"]
    for rule in options.decode_as:
        argv += ["-d", rule]
    for pref in options.plugin_prefs:
        argv += ["-o", pref]
    return argv


@dataclass
class Run:
    """A running tshark: its stdout to read, and what it said on stderr once it ended."""

    process: subprocess.Popen[bytes]
    stderr_lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=STDERR_LINES_KEPT))

    @property
    def stdout(self) -> IO[bytes]:
        assert self.process.stdout is not None
        return self.process.stdout

    @property
    def messages(self) -> list[str]:
        return [line for line in self.stderr_lines if line and not line.startswith(ROOT_NOTICE)]


@contextmanager
def run(argv: list[str]) -> Iterator[Run]:
    """Start tshark; on exit make sure it is gone (terminate, wait, kill) and stderr is drained."""
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    running = Run(process)

    def drain() -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            running.stderr_lines.append(raw.decode("utf-8", "replace").rstrip())

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout:
            process.stdout.close()
        reader.join(timeout=5)
