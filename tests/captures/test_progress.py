"""summarize's progress: on a terminal only, silenced by --quiet, captures counted as they finish, bytes read
within a capture taken from the running tshark's offset in its file (or in the parts of a capture read in parts)."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from conftest import CAPTURES, REPO
from summarize_support import console_script, environment
from tsharkpost.capture import tshark as ts
from tsharkpost.capture.batch import analyze_all
from tsharkpost.capture.offsets import read_offsets
from tsharkpost.capture.result import InputResult, InputStatus
from tsharkpost.capture.slicing import write_parts
from tsharkpost.commands.progress import Progress

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
TWIN = CAPTURES / "known-good-twin.pcapng"
BATCH = CAPTURES / "batch-mixed.pcapng"
sys.path.insert(0, str(REPO / "bench"))
from workloads import replicate  # noqa: E402 - bench/ is no package

BARS = re.compile(r"captures: +\d+%.*read: +\d+%", re.S)


def _on_a_terminal(arguments: list[str], home: Path, out: Path) -> tuple[int, str]:
    """Exit code and everything written to stderr, stderr being a pseudo-terminal (stdout goes to out)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a terminal has a size
    with open(out, "wb") as stdout:
        process = subprocess.Popen([*console_script(), *arguments], stdin=subprocess.DEVNULL, stdout=stdout,
                                   stderr=slave, env=environment(home))
    os.close(slave)
    said = b""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal's last writer has gone (Linux: EIO)
                break
            if not chunk:
                break
            said += chunk
        elif process.poll() is not None:
            break
    os.close(master)
    return process.wait(timeout=60), said.decode("utf-8", "replace")


def test_progress_on_a_terminal(tmp_path: Path, tshark: str) -> None:
    # Given stderr is a terminal, when summarize reads two captures
    code, said = _on_a_terminal(["summarize", "-j", "2", "--format", "json", str(SEED), str(TWIN)],
                                tmp_path / "home", tmp_path / "out.json")
    # Then it draws both bars, reaching both captures and all their bytes, and its output is whole
    assert code == 0
    assert BARS.search(said), said
    assert "2/2" in said and f"{(SEED.stat().st_size + TWIN.stat().st_size) / 1024:.1f}k" in said, said
    assert '"connections"' in (tmp_path / "out.json").read_text()


def test_no_progress_with_quiet_or_without_a_terminal(tmp_path: Path, tshark: str) -> None:
    # Given --quiet on a terminal, then stderr not a terminal
    code, said = _on_a_terminal(["summarize", "--quiet", str(SEED), str(TWIN)], tmp_path / "home",
                                tmp_path / "out.txt")
    piped = subprocess.run([*console_script(), "summarize", str(SEED), str(TWIN)], capture_output=True, text=True,
                           env=environment(tmp_path / "home"), timeout=240, check=False)
    # Then nothing at all is written to stderr either way
    assert (code, said) == (0, "")
    assert (piped.returncode, piped.stderr) == (0, "")
    assert (tmp_path / "out.txt").read_text() == piped.stdout


def test_captures_are_told_as_they_finish(tmp_path: Path, tshark: str) -> None:
    # Given a tshark that takes three seconds longer over the first capture than over the second
    slow = tmp_path / "slow-tshark"
    slow.write_text(f'#!/bin/sh\ncase "$*" in *"{SEED}"*) sleep 3;; esac\nexec {tshark} "$@"\n')
    slow.chmod(0o755)
    told: list[tuple[int, str]] = []
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    # When both are read in parallel
    results = analyze_all([SEED, TWIN], ts.locate(str(slow)), ts.Options(), 2, scratch,
                          lambda number, result: told.append((number, result.path)))
    # Then the second is told first, and the results still come in the order given
    assert told == [(1, str(TWIN)), (0, str(SEED))]
    assert [(result.path, result.status) for result in results] == [(str(SEED), InputStatus.OK),
                                                                    (str(TWIN), InputStatus.OK)]


def test_bytes_read_within_a_capture(tmp_path: Path, tshark: str) -> None:
    # Given tshark part way through a capture: its PDML is not read, so it stops once the pipe is full
    capture = tmp_path / "big.pcapng"
    shutil.copy(BATCH, capture)
    size = capture.stat().st_size
    shown = io.StringIO()
    display = Progress([capture, SEED], shown)
    process = subprocess.Popen([tshark, "-n", "-r", str(capture), "-T", "pdml"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        offsets: dict[str, int] = {}
        for _ in range(100):
            offsets = read_offsets([str(capture), str(SEED)])
            if offsets and display.bytes.n:
                break
            time.sleep(0.1)
        # Then its offset in the file is found (and nothing for the capture no process has open), and the
        # bytes bar shows it before any capture is done
        assert list(offsets) == [str(capture)]
        assert 0 < offsets[str(capture)] < size
        assert 0 < display.bytes.n < size and display.files.n == 0
        display.finished(1, InputResult(str(SEED), InputStatus.OK))
        assert display.files.n == 1 and display.bytes.n >= SEED.stat().st_size
    finally:
        process.kill()
        process.wait()
        display.close()


def test_bytes_read_within_a_capture_read_in_parts(tmp_path: Path, tshark: str) -> None:
    # Given a capture read in two parts (capture/slicing.py), tshark part way through the first (its PDML is
    # not read, so it stops once the pipe is full) and the second not started
    capture = replicate(BATCH, tmp_path / "big.pcapng", 8, 120.0)  # 2 MB: tshark cannot take a part in at once
    size = capture.stat().st_size
    files = [tmp_path / "part-0.cap", tmp_path / "part-1.cap"]
    write_parts(capture, 2, dict(enumerate(files)))
    shown = io.StringIO()
    display = Progress([capture], shown)
    display.sliced(0, files)
    process = subprocess.Popen([tshark, "-n", "-r", str(files[0]), "-T", "pdml"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if display.bytes.n:
                break
            time.sleep(0.1)
        # Then the bytes bar shows the capture half as far as tshark is into its part, at most half of it
        offset = read_offsets([str(files[0])]).get(str(files[0]), 0)
        assert 0 < offset < files[0].stat().st_size
        assert 0 < display.bytes.n <= size // 2 and display.files.n == 0
    finally:
        process.kill()
        process.wait()
        display.close()
