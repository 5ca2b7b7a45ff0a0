"""tshark as an unreliable dependency: find it, check its version, run it, drain stderr, always reap it."""

from __future__ import annotations

import collections
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tsharkpost.capture import version_cache
from tsharkpost.capture.defaults import UDP_TIMEOUT_SECONDS
from tsharkpost.errors import TsharkError
from tsharkpost.plugin import fields as F
from tsharkpost.plugin.location import plugin_path

MINIMUM_VERSION = (4, 0)  # the plugin's floor (lua/tsharkpost.lua)
STDERR_LINES_KEPT = 50
# tshark's own notice when run as root; it says nothing about the capture.
ROOT_NOTICE = "Running as user"
# Wireshark's log lines start " ** (tshark:4963) 01:36:52.396978 [(none) WARNING] -- ": the process id and the
# time differ on every run, so they are cut (keeping domain and level) for one failure to read alike everywhere.
LOG_PREFIX = re.compile(r"^\s*\*\* \([^()\s]+:\d+\) \d{1,2}:\d{2}:\d{2}(?:\.\d+)? (\[[^\]]*\])(.*?) -- ")

TSHARK_NAME = "tshark.exe" if sys.platform.startswith("win") else "tshark"
# Where Wireshark's installers put tshark when it is not on PATH (searched after PATH, in this order).
INSTALL_LOCATIONS = {
    "win32": [str(Path(os.environ.get(variable) or "C:\\Program Files") / "Wireshark" / TSHARK_NAME)
              for variable in ("ProgramFiles", "ProgramFiles(x86)")],
    "darwin": ["/Applications/Wireshark.app/Contents/MacOS/tshark"],
}
VERSION_TIMEOUT_SECONDS = 60
VERSION_PATTERN = re.compile(r"\b(\d+)\.(\d+)\.(\d+)\b")


@dataclass(frozen=True)
class Tshark:
    path: str
    version: str


def locate(explicit: str | None = None, remember: bool = True) -> Tshark:
    """The tshark to run, asked for its version once (or its version remembered: version_cache.py; with
    remember=False the cache is read but never written, for commands that promise to change no file).

    --tshark is taken as given (a file of any name, or a folder holding tshark); without it, the first tshark
    on PATH, then where Wireshark's installers put it. No configuration file is read: a config.ini in the
    current folder (which pyshark honoured) must not choose the program tsharkpost runs.
    """
    path = _find(explicit)
    return Tshark(path, _version(path, remember))


def _find(explicit: str | None) -> str:
    if explicit:
        given = Path(explicit)
        if not given.exists():
            raise TsharkError(f"tshark not found at {explicit}")
        if given.is_dir():
            given = given / TSHARK_NAME
            if not given.exists():
                raise TsharkError(f"tshark not found at {given}")
        # Absolute, so that a bare name is this file and never a namesake found on PATH.
        return str(given.absolute())
    found = shutil.which("tshark")
    if found:
        return found
    elsewhere = INSTALL_LOCATIONS.get(sys.platform, [])
    for candidate in elsewhere:
        if Path(candidate).is_file():
            return candidate
    searched = f"PATH={os.environ.get('PATH', '')}" + "".join(f", {candidate}" for candidate in elsewhere)
    raise TsharkError(f"tshark not found (searched {searched}); install it (Debian: apt-get install tshark) "
                      "or pass --tshark PATH")


def _version(path: str, remember: bool = True) -> str:
    """`tshark -v`'s version ("4.0.17"), or the one remembered for this very binary (version_cache.py);
    refused when older than MINIMUM_VERSION or when there is none."""
    known = version_cache.known_version(path)
    if known is not None and _recent_enough(known):
        return known
    version = _asked_version(path)
    if remember:
        version_cache.remember_version(path, version)
    return version


def _recent_enough(version: str) -> bool:
    return tuple(int(part) for part in version.split(".")[:2]) >= MINIMUM_VERSION


def _asked_version(path: str) -> str:
    try:
        done = subprocess.run([path, "-v"], stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=VERSION_TIMEOUT_SECONDS, check=False)
    except OSError as error:
        raise TsharkError(f"cannot run {path}: {error.strerror or error}") from None
    except subprocess.TimeoutExpired:
        raise TsharkError(f"{path} -v did not answer within {VERSION_TIMEOUT_SECONDS} s") from None
    lines = [line.strip() for line in done.stdout.decode("utf-8", "replace").splitlines() if line.strip()]
    match = VERSION_PATTERN.search(lines[0]) if lines else None
    if match is None:
        said = (lines or [line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines()
                          if line.strip() and not line.startswith(ROOT_NOTICE)] or [""])[0][:100]
        raise TsharkError(f"{path} -v printed no version (exit {done.returncode}{': ' + said if said else ''}): "
                          "is it tshark?")
    if not _recent_enough(match.group(0)):
        raise TsharkError(f"tshark {match.group(0)} at {path} is too old: tsharkpost needs "
                          f"{'.'.join(map(str, MINIMUM_VERSION))} or later")
    return match.group(0)


# The watchdog (run): a tshark that writes nothing for this long is taken as hung, killed, and its input
# reported as an error. tshark writes a line only for packets that pass the display filter, so a long stretch
# of a capture with nothing to report (a bulk transfer) would be silence too; the heartbeat below keeps a
# healthy tshark talking, one short packet per HEARTBEAT_FRAMES frames. tshark writes to its pipe in blocks of
# 4 KiB, which the heartbeats alone (about 70 bytes each) fill every 15,000 frames: a fraction of a second on
# the bulk capture of bench/, where ten minutes of silence is a tshark that is stuck, not a busy one, even on
# a loaded machine. The heartbeats are also analyze.py's clock (connections
# are handed out at them): frames chosen by number, they are the same in every part of a sliced capture
# (capture/slicing.py). One in 256 frames adds well under 1 % to the output.
DEFAULT_TSHARK_TIMEOUT = 600.0
HEARTBEAT_FRAMES = 256
WATCHDOG_TICK_SECONDS = 1.0
# tshark 4.0 leaves a segment that arrives before the one it follows (or that it takes for a retransmission)
# out of TCP reassembly unless told otherwise: a ServerHello in such a segment is never dissected as TLS, and
# the connection looked unanswered. Captures from the wild hold such segments (Zeek's hrr.pcap, Suricata's
# tls-subjectaltname). The preference is not free: on a bulk capture with a few lost segments it doubled
# tshark's time (README: Speed and memory), so analyze.py asks for it only when a first reading shows a gap.
OUT_OF_ORDER_PREFERENCE = "tcp.reassemble_out_of_order:TRUE"


@dataclass(frozen=True)
class Options:
    """What the user may pass through to tshark, how long it may stay silent (0: forever), and how long a DTLS or
    QUIC client's unanswered wait must last in a capture to be a verdict (defaults.UDP_TIMEOUT_SECONDS)."""

    keylog: str | None = None
    decode_as: tuple[str, ...] = ()
    plugin_prefs: tuple[str, ...] = ()  # tpost.<pref>:<value>
    tshark_timeout: float = DEFAULT_TSHARK_TIMEOUT
    udp_timeout: float = UDP_TIMEOUT_SECONDS
    reassemble_out_of_order: bool = False  # set by analyze.py for a second reading, never by the user


def file_argument(path: Path) -> str:
    """A capture's path for tshark's -r: a file named "-" (which tshark takes for standard input) as "./-"."""
    text = str(path)
    return os.path.join(os.curdir, text) if text == "-" else text


def fields_argv(tshark: Tshark, capture: Path, options: Options, last_frame: int | None = None,
                hidden: str | None = None) -> list[str]:
    """summarize's tshark run over one capture: one line of fields.COLUMNS per frame shown (-T fields).

    With last_frame (the capture's packet count, capfile.count_packets), the display filter also lets
    through that frame and one frame in HEARTBEAT_FRAMES: the last frame shows that tshark read the whole
    capture, the heartbeats that it is still reading. Neither carries the plugin's bridge line unless it has one
    anyway, and analyze.py reads them only as markers. No -l: tshark writes its output in blocks (4 KiB on a
    pipe), where flushing each line cost it about a tenth of its time on a handshake-heavy capture.
    With hidden (a display filter), the frames it matches are left out, markers excepted.
    """
    shown = f"({F.DISPLAY_FILTER}) && !({hidden})" if hidden else F.DISPLAY_FILTER
    if last_frame:
        shown = f"{shown} || frame.number == {last_frame} || {{frame.number % {HEARTBEAT_FRAMES}}} == 0"
    argv = [tshark.path, "-n", "-r", file_argument(capture), "-X", f"lua_script:{plugin_path()}",
            "-X", f"lua_script1:{F.RUN_ARGUMENT}", "-o", F.PLUGIN_BRIDGE_PREF, "-o", F.PLUGIN_WIRE_PREF,
            "-Y", shown, "-T", "fields", "-E", "header=n", "-E", "separator=/t",
            "-E", "quote=n", "-E", "occurrence=a", "-E", f"aggregator={F.AGGREGATOR}"]
    for column in F.COLUMNS:
        argv += ["-e", column]
    if options.reassemble_out_of_order:
        argv += ["-o", OUT_OF_ORDER_PREFERENCE]
    if options.keylog:
        argv += ["-o", f"tls.keylog_file:{options.keylog}"]
    for rule in options.decode_as:
        argv += ["-d", rule]
    for pref in options.plugin_prefs:
        argv += ["-o", pref]
    return argv


def run_environment() -> dict[str, str]:
    """tshark's environment for fields_argv's runs: in it, a copy of the plugin that tshark finds in a plugins folder
    (installed for Wireshark) stands aside for the copy the run loads (fields.RUN_ENVIRONMENT)."""
    return {**os.environ, F.RUN_ENVIRONMENT: "1"}


# A pcap file header and no packets: enough for tshark to apply every option and stop.
EMPTY_PCAP = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")
OPTIONS_CHECK_TIMEOUT_SECONDS = 120


def refused_options(tshark: Tshark, options: Options) -> str | None:
    """What tshark says about the user's --decode-as and --plugin-pref values, asked once on an empty capture
    with the very argv a capture gets; None when it says nothing. Without these checks a bad value failed
    every input alike, as unreadable output."""
    if not options.decode_as and not options.plugin_prefs:
        return None
    with tempfile.TemporaryDirectory(prefix="tsharkpost-options-") as scratch:
        empty = Path(scratch) / "empty.pcap"
        empty.write_bytes(EMPTY_PCAP)
        try:
            done = subprocess.run(fields_argv(tshark, empty, options), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=run_environment(),
                                  timeout=OPTIONS_CHECK_TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"tshark could not be asked ({error})"
    lines = [line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines()
             if line.strip() and not line.startswith(ROOT_NOTICE)]
    # tshark follows a bad -d with the list of everything valid, introduced by a line ending in ":".
    said = [line.removeprefix("tshark:").strip() for line in lines
            if line.startswith("tshark:") and not line.endswith(":")] or lines[:3]
    if said:
        return "; ".join(said)[:500]
    return f"tshark exited with status {done.returncode}" if done.returncode else None


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
        """What tshark said on stderr, without its root notice and without the pid and time of log lines."""
        return [LOG_PREFIX.sub(r"\1\2 ", line) for line in self.stderr_lines
                if line and not line.startswith(ROOT_NOTICE)]

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
                               env=run_environment(), start_new_session=hasattr(os, "killpg"))
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
