"""tshark's output is believed only when it is whole: fake tsharks that stop early, print garbage or hang.

Each fake answers `-v` like tshark 4.0 and then misbehaves on the capture run; the input is reported as an
error with a one-line reason, the exit code is 3, and nothing hangs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CAPTURES, REPO
from tsharkpost.capture import tshark as ts
from tsharkpost.capture.capfile import count_packets
from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode

BATCH = CAPTURES / "batch-mixed.pcapng"  # 560 packets, 44 connections
VERSION = 'if [ "$1" = "-v" ]; then echo "TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u1)"; ' \
          'exit 0; fi\n'


def fake_tshark(folder: Path, script: str) -> Path:
    """A tshark that answers -v like the real one, then runs script (sh) instead of reading the capture."""
    folder.mkdir()
    fake = folder / "tshark"
    fake.write_text("#!/bin/sh\n" + VERSION + script)
    fake.chmod(0o755)
    return fake


@pytest.fixture(scope="module")
def real_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the real tshark prints for batch-mixed.pcapng in summarize's run (-T fields, one line per frame)."""
    tshark = shutil.which("tshark")
    assert tshark
    argv = ts.fields_argv(ts.Tshark(tshark, "4.0"), BATCH, ts.Options(), count_packets(BATCH))
    output = tmp_path_factory.mktemp("fields") / "batch-mixed.fields"
    output.write_bytes(subprocess.run(argv, capture_output=True, check=True).stdout)
    return output


def summarize_with(tmp_path: Path, fake: Path, *options: str) -> tuple[int, list[tuple[str, str | None]]]:
    out = tmp_path / "out.json"
    code = main(["summarize", "--tshark", str(fake), "--format", "json", "-o", str(out), *options, str(BATCH)])
    document = json.loads(out.read_text())
    return code, [(i["status"], i["reason"]) for i in document["inputs"]]


def test_real_output_ends_with_the_last_frame_and_a_newline(real_output: Path) -> None:
    text = real_output.read_text()
    assert text.endswith("\n")
    assert text.splitlines()[-1].split("\t")[0] == "560"


def test_output_cut_mid_line_is_an_error(tmp_path: Path, real_output: Path) -> None:
    # Given a tshark whose output stops in the middle of its 40th line (no newline after it), exit status 0
    size = sum(len(line) for line in real_output.read_bytes().splitlines(keepends=True)[:39]) + 20
    fake = fake_tshark(tmp_path / "cut", f"head -c {size} {real_output}\nexit 0\n")
    # Then the input is an error, not "ok" with the few connections that came
    code, found = summarize_with(tmp_path, fake)
    assert code == ExitCode.INPUT_ERROR
    assert found == [("error", "tshark output ended early (line 40 is cut)")]


def test_whole_lines_that_stop_before_the_last_frame_are_an_error(tmp_path: Path, real_output: Path) -> None:
    # Given a tshark that prints its first 30 lines, each whole, and exits 0
    fake = fake_tshark(tmp_path / "early", f"head -n 30 {real_output}\nexit 0\n")
    code, found = summarize_with(tmp_path, fake)
    # Then the input is an error naming how far tshark got
    assert code == ExitCode.INPUT_ERROR
    assert len(found) == 1 and found[0][0] == "error"
    assert found[0][1] is not None and found[0][1].startswith(
        "tshark output ended early: the capture holds 560 packets, tshark's output stops at frame ")


@pytest.mark.parametrize("output, reason", [
    ("echo 'this is not tshark output'",
     "tshark output is not summarize's fields: line 1 ('this is not tshark output'): 1 column instead of 19"),
    ("printf '\\001\\002\\003<<<>>>\\n'",
     "tshark output is not summarize's fields: line 1 ('???<<<>>>'): 1 column instead of 19"),
    ("echo '<?xml version=\"1.0\"?><pdml><packet/></pdml>'",
     "tshark output is not summarize's fields: line 1 ('<?xml version=\"1.0\"?><pdml><packet/></pd'): 1 column "
     "instead of 19"),
    ("printf '1\\t2\\t3'", "tshark output ended early (line 1 is cut)"),
    ("true", "tshark output is empty"),
])
def test_output_that_is_not_summarizes_fields_is_an_error(tmp_path: Path, output: str, reason: str) -> None:
    fake = fake_tshark(tmp_path / "garbage", f"{output}\nexit 0\n")
    code, found = summarize_with(tmp_path, fake)
    assert code == ExitCode.INPUT_ERROR
    assert found == [("error", reason)]


def test_tshark_failing_says_why_even_when_its_output_is_cut(tmp_path: Path, real_output: Path) -> None:
    fake = fake_tshark(tmp_path / "failing", f"head -c 3000 {real_output}\necho 'tshark: out of memory' >&2\nexit 2\n")
    code, found = summarize_with(tmp_path, fake)
    assert code == ExitCode.INPUT_ERROR
    assert found == [("error", "tshark: tshark: out of memory")]


SUMMARIZE = "import sys; from tsharkpost.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.parametrize("before", ["", "head -n 30 {output}\n"], ids=["silent", "after-some-output"])
def test_a_hung_tshark_is_stopped_by_the_watchdog(tmp_path: Path, real_output: Path, before: str) -> None:
    # Given a tshark that hangs (before any output, or half-way), in a child of its own that sleeps too
    fake = fake_tshark(tmp_path / "hung", before.format(output=real_output) + "sleep 120\n")
    out = tmp_path / "out.json"
    # When summarize runs with a 2-second watchdog (in a subprocess: a hang must fail this test, not stop it)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", SUMMARIZE, "summarize", "--tshark", str(fake), "--tshark-timeout",
                           "2", "--format", "json", "-o", str(out), str(BATCH), str(CAPTURES / "expired-leaf.pcapng")],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    elapsed = time.monotonic() - started
    # Then each input is an error saying tshark hung, within a few seconds, in one line each
    assert done.returncode == ExitCode.INPUT_ERROR, done.stderr
    document = json.loads(out.read_text())
    assert [(i["status"], i["reason"]) for i in document["inputs"]] == [
        ("error", "tshark hung: no output for 2 s")] * 2
    assert f"tsharkpost: ERROR: {BATCH}: tshark hung: no output for 2 s" in done.stderr.splitlines()
    assert "Traceback" not in done.stderr
    assert elapsed < 30


@pytest.mark.parametrize("value", ["-1", "soon", "nan", "inf"])
def test_tshark_timeout_must_be_seconds(capsys: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["summarize", "--tshark-timeout", value, str(BATCH)])
    assert stopped.value.code == ExitCode.USAGE
    said = capsys.readouterr().err
    assert said == f"tsharkpost: ERROR: --tshark-timeout {value}: not a number of seconds (0 or more)\n"


def test_marker_frames_never_change_the_records(tmp_path: Path, tshark: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the same capture read as it is, and with a heartbeat every 7 frames (80 markers instead of 2)
    def document(heartbeat: int) -> dict:
        monkeypatch.setattr(ts, "HEARTBEAT_FRAMES", heartbeat)
        out = tmp_path / f"{heartbeat}.json"
        assert main(["summarize", "--jobs", "1", "--format", "json", "-o", str(out), str(BATCH)]) == ExitCode.OK
        return json.loads(out.read_text())

    usual, dense = document(ts.HEARTBEAT_FRAMES), document(7)
    # Then the inputs (with their packet counts) and the connections are the same
    assert usual["inputs"] == dense["inputs"]
    assert usual["connections"] == dense["connections"]


def test_a_worker_that_dies_costs_its_own_input_only(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     tshark: str) -> None:
    # Given a tshark that kills the worker process running it (SIGKILL, as the out-of-memory killer would) when it
    # reads one capture of four, and the real tshark for the others, read by two workers
    fake = fake_tshark(tmp_path / "killer", f'case "$*" in *poison*) kill -9 $PPID; sleep 5; exit 1;; esac\n'
                                            f'exec {tshark} "$@"\n')
    poison = tmp_path / "poison.pcapng"
    shutil.copy(CAPTURES / "md2-root-silent-fin.pcapng", poison)
    others = [CAPTURES / name for name in ("expired-leaf.pcapng", "name-mismatch.pcapng", "known-good-twin.pcapng")]
    out = tmp_path / "out.json"
    code = main(["summarize", "--tshark", str(fake), "--jobs", "2", "--format", "json", "-o", str(out),
                 str(others[0]), str(poison), *map(str, others[1:])])
    # Then that capture alone is an error, in one line and without a traceback, and the others are read
    inputs = [(i["path"], i["status"], i["reason"]) for i in json.loads(out.read_text())["inputs"]]
    died = "the process reading it died (killed by a signal, or out of memory)"
    assert inputs == [(str(others[0]), "ok", None), (str(poison), "error", died), (str(others[1]), "ok", None),
                      (str(others[2]), "ok", None)]
    assert code == ExitCode.INPUT_ERROR
    assert capsys.readouterr().err == f"tsharkpost: ERROR: {poison}: {died}\n"
