"""The real console script in a pipeline: `| head` stops it quietly, Ctrl-C and SIGTERM stop it in one line.

Piping summarize (json, jsonl, csv), explain or wireshark status into `head` printed a BrokenPipeError
traceback, and Ctrl-C a KeyboardInterrupt traceback, leaving tshark running and -o empty.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CAPTURES
from summarize_support import console_script, environment
from tsharkpost.commands.common import ExitCode

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
TWIN = CAPTURES / "known-good-twin.pcapng"
BATCH = CAPTURES / "batch-mixed.pcapng"


@pytest.fixture
def batch_copies(tmp_path: Path) -> Path:
    """Six copies of the batch capture: more CSV or table output than a pipe and head's first read hold."""
    folder = tmp_path / "batch"
    folder.mkdir()
    for number in range(6):
        shutil.copy(BATCH, folder / f"batch-{number}.pcapng")
    return folder


# Each writes well over 64 KiB (a pipe's buffer), so the write after head exits must fail.
COMMANDS = {
    "summarize json": ["summarize", "--format", "json", str(BATCH)],
    "summarize jsonl": ["summarize", "--format", "jsonl", str(BATCH)],
    "summarize csv": ["summarize", "--format", "csv", "{batch}"],
    "summarize table": ["summarize", "--connections", "{batch}"],
    "explain": ["explain", *map(str, range(256))],
}


@pytest.mark.parametrize("name", COMMANDS)
def test_piped_into_head_it_stops_quietly(name: str, batch_copies: Path, tmp_path: Path, tshark: str) -> None:
    arguments = [item.format(batch=batch_copies) for item in COMMANDS[name]]
    done = subprocess.run(["bash", "-o", "pipefail", "-c", '"$@" | head -c 10', "pipeline", *console_script(),
                           *arguments], capture_output=True, text=True, env=environment(tmp_path / "home"),
                          timeout=300, check=False)
    assert len(done.stdout) == 10 and done.stderr == ""
    # The table is one write: when head leaves during it, Python reports the bytes the pipe took as written and
    # no later write is left to fail, so the run ends as if complete. The others write on after that and fail.
    assert done.returncode in ((ExitCode.OK, ExitCode.BROKEN_PIPE) if name == "summarize table"
                               else (ExitCode.BROKEN_PIPE,))


@pytest.mark.parametrize("arguments", [["summarize", "--format", "json", str(SEED)], ["summarize", str(SEED)],
                                       ["diff", str(TWIN), str(SEED)], ["explain", "43"], ["wireshark", "status"],
                                       ["filters"], ["timeline", str(SEED), "--events",
                                                     str(CAPTURES / "md2-root-silent-fin.schannel.xml")]])
def test_a_reader_gone_before_the_first_byte(arguments: list[str], tmp_path: Path, tshark: str) -> None:
    # Given standard output is a pipe nobody reads any more (head -c 0 that has already exited)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([*console_script(), *arguments], stdout=write_end, stderr=subprocess.PIPE, text=True,
                              env=environment(tmp_path / "home"), timeout=300, check=False)
    finally:
        os.close(write_end)
    # Then it stops without a word, with SIGPIPE's exit code
    assert done.stderr == "" and done.returncode == ExitCode.BROKEN_PIPE


ONE_OF_EACH = [["summarize", "--format", "json", str(SEED)], ["summarize", str(SEED)], ["diff", str(TWIN), str(SEED)],
               ["explain", "43"], ["wireshark", "status"], ["filters"],
               ["timeline", str(SEED), "--events", str(CAPTURES / "md2-root-silent-fin.schannel.xml")]]


@pytest.mark.parametrize("arguments", ONE_OF_EACH)
@pytest.mark.parametrize("stdout", ["closed", "/dev/full"])
def test_standard_output_that_cannot_be_written_is_one_line(arguments: list[str], stdout: str, tmp_path: Path,
                                                            tshark: str) -> None:
    # Given standard output closed before tsharkpost starts (>&-), or a device that is always full
    command = [*console_script(), *arguments]
    shell = '"$@" >&-' if stdout == "closed" else '"$@" > /dev/full'
    done = subprocess.run(["bash", "-c", shell, "tsharkpost", *command], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=environment(tmp_path / "home"), timeout=300,
                          check=False)
    # Then it says so in one line, no traceback, with the usage error's exit code
    said = "it is closed" if stdout == "closed" else "No space left on device"
    assert done.stderr == f"tsharkpost: ERROR: standard output cannot be written: {said}\n"
    assert done.returncode == ExitCode.USAGE


def test_a_run_writing_to_its_o_file_ignores_a_closed_standard_output(tmp_path: Path, tshark: str) -> None:
    # Given standard output closed, as under a scheduler, and the report going to -o (the seed fails: --fail-on)
    report = tmp_path / "report.txt"
    done = subprocess.run(["bash", "-c", '"$@" >&-', "tsharkpost", *console_script(), "summarize", "-q", "--fail-on",
                           "failure", "-o", str(report), str(SEED)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=environment(tmp_path / "home"), timeout=300,
                          check=False)
    # Then nothing is said, the report is written, and the exit code is the run's own
    assert done.stderr == "" and done.returncode == ExitCode.FAIL_ON
    assert report.read_text().startswith("Failure patterns")


def _children(pid: int) -> dict[int, str]:
    """Every process below pid (Linux /proc), with its command line."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: dict[int, str] = {}
    wanted = {pid}
    while True:
        more = {child for child, parent in parents.items() if parent in wanted and child not in found}
        if not more:
            return found
        for child in more:
            try:
                found[child] = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                found[child] = ""
        wanted |= more


def _running_tshark(pid: int) -> bool:
    try:
        cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes()
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return b"tshark" in cmdline and state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to find tshark processes")
@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("sent, code, line", [(signal.SIGINT, ExitCode.INTERRUPTED, "interrupted"),
                                              (signal.SIGTERM, ExitCode.TERMINATED, "interrupted (SIGTERM)")])
def test_an_interrupted_summarize_stops_tshark_and_keeps_the_old_output(
        tmp_path: Path, tshark: str, jobs: str, sent: signal.Signals, code: int, line: str) -> None:
    # Given a dozen captures to read and yesterday's report
    folder = tmp_path / "ticket"
    folder.mkdir()
    for number in range(12):
        shutil.copy(BATCH, folder / f"capture-{number:02}.pcapng")
    report = folder / "report.json"
    report.write_text("yesterday\n")
    process = subprocess.Popen([*console_script(), "summarize", "--format", "json", "--jobs", jobs, "-o", str(report),
                                str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=environment(tmp_path / "home"))
    try:
        # When the signal reaches tsharkpost alone (kill, not the terminal) while tshark is reading
        deadline = time.monotonic() + 60
        running: dict[int, str] = {}
        while time.monotonic() < deadline and not running:
            running = {pid: cmd for pid, cmd in _children(process.pid).items() if "tshark" in cmd.split(" ")[0]}
            time.sleep(0.05)
        assert running, "tshark never started"
        os.kill(process.pid, sent)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Then it says so in one line, with the shell's code, and leaves the report as it was
    assert (process.returncode, out, err) == (code, "", f"tsharkpost: ERROR: {line}\n")
    assert report.read_text() == "yesterday\n"
    assert sorted(path.name for path in folder.iterdir() if not path.name.endswith(".pcapng")) == ["report.json"]
    # And no tshark it started is still running
    time.sleep(0.5)
    assert [pid for pid in running if _running_tshark(pid)] == []
