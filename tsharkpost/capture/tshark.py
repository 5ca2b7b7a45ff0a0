"""tshark as an unreliable dependency: find it, check its version, run it, drain stderr, always reap it."""

from __future__ import annotations

import collections
import io
import os
import signal
import subprocess
import threading
import time
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


# The watchdog (run): a tshark that writes nothing for this long is taken as hung, killed, and its input
# reported as an error. tshark writes PDML only for packets that pass the display filter, so a long stretch
# of a capture with nothing to report (a bulk transfer) would be silence too; the heartbeat below keeps a
# healthy tshark talking, one short packet per HEARTBEAT_FRAMES frames. At the plugin's slowest measured
# pace (handshake-heavy captures, about 5,000 frames a second) that is one every 13 s: ten minutes of silence
# is a tshark that is stuck, not a busy one, even on a loaded machine.
DEFAULT_TSHARK_TIMEOUT = 600.0
HEARTBEAT_FRAMES = 65536
WATCHDOG_TICK_SECONDS = 1.0


@dataclass(frozen=True)
class Options:
    """What the user may pass through to tshark, and how long it may stay silent (0: forever)."""

    keylog: str | None = None
    decode_as: tuple[str, ...] = ()
    plugin_prefs: tuple[str, ...] = ()  # tpost.<pref>:<value>
    tshark_timeout: float = DEFAULT_TSHARK_TIMEOUT


def pdml_argv(tshark: Tshark, capture: Path, options: Options, last_frame: int | None = None) -> list[str]:
    """tshark's PDML run over one capture.

    With last_frame (the capture's packet count, capfile.count_packets), the display filter also lets
    through that frame and one frame in HEARTBEAT_FRAMES: the last frame shows that tshark read the whole
    capture, the heartbeats that it is still reading (-l flushes each packet as it is written). Neither
    carries the plugin's bridge line unless it has one anyway, and analyze.py reads them only as markers.
    """
    shown = F.DISPLAY_FILTER
    if last_frame:
        shown = f"{F.DISPLAY_FILTER} || frame.number == {last_frame} || {{frame.number % {HEARTBEAT_FRAMES}}} == 0"
    argv = [tshark.path, "-n", "-r", str(capture), "-X", f"lua_script:{plugin_path()}", "-o", F.PLUGIN_BRIDGE_PREF,
            "-T", "pdml", "-Y", shown, "-j", " ".join(F.PDML_NODES)]
    if last_frame:
        argv.append("-l")
    if options.keylog:
        argv += ["-o", f"tls.keylog_file:{options.keylog}"]
    for rule in options.decode_as:
        argv += ["-d", rule]
    for pref in options.plugin_prefs:
        argv += ["-o", pref]
    return argv


class _Watched:
    """tshark's stdout as the parser reads it, noting when output last arrived and whether it has ended."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.last_output = time.monotonic()
        self.ended = False

    def read(self, size: int = -1, /) -> bytes:
        # read1: whatever has arrived, at once; read(size) would wait for size bytes and hide the progress.
        data = self.stream.read1(size) if isinstance(self.stream, io.BufferedReader) else self.stream.read(size)
        if data:
            self.last_output = time.monotonic()
        else:
            self.ended = True
        return data


@dataclass
class Run:
    """A running tshark: its stdout to read, what it said on stderr once it ended, whether the watchdog fired."""

    process: subprocess.Popen[bytes]
    stdout: _Watched
    hung: bool = False
    stderr_lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=STDERR_LINES_KEPT))

    @property
    def ended(self) -> bool:
        """tshark's output reached its end (rather than the reader stopping early)."""
        return self.stdout.ended

    @property
    def messages(self) -> list[str]:
        return [line for line in self.stderr_lines if line and not line.startswith(ROOT_NOTICE)]

    def stop(self) -> None:
        """Kill tshark (and anything it started) now."""
        _end(self.process, kill=True)


def _end(process: subprocess.Popen[bytes], kill: bool) -> None:
    """Terminate or kill tshark's process group (a wrapper script's children too), or tshark alone."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        elif kill:
            process.kill()
        else:
            process.terminate()
    except (ProcessLookupError, PermissionError):  # already gone
        pass


@contextmanager
def run(argv: list[str], timeout: float = 0.0) -> Iterator[Run]:
    """Start tshark; on exit make sure it is gone (terminate, wait, kill) and stderr is drained.

    With a timeout, a watchdog kills tshark once it has written nothing for that many seconds and marks
    the run as hung.
    """
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=hasattr(os, "killpg"))
    assert process.stdout is not None
    running = Run(process, _Watched(process.stdout))
    finished = threading.Event()

    def drain() -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            running.stderr_lines.append(raw.decode("utf-8", "replace").rstrip())

    def watch() -> None:
        while not finished.wait(min(WATCHDOG_TICK_SECONDS, timeout / 4)):
            if time.monotonic() - running.stdout.last_output > timeout and process.poll() is None:
                running.hung = True
                running.stop()
                return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    if timeout > 0:
        threading.Thread(target=watch, daemon=True).start()
    try:
        yield running
    finally:
        finished.set()
        if process.poll() is None:
            _end(process, kill=False)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _end(process, kill=True)
                process.wait()
        if process.stdout:
            process.stdout.close()
        reader.join(timeout=5)
