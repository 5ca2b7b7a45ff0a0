"""Finding tshark in a folder full of other people's files: nothing runs that the user did not name.

pyshark read a config.ini from the current directory (its [tshark] tshark_path was run, any other
config.ini crashed every command); --tshark was ignored unless the file was named tshark; a fake
tshark that printed nothing on -v raised IndexError.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CAPTURES
from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
TWIN = CAPTURES / "known-good-twin.pcapng"
SEED_XML = CAPTURES / "md2-root-silent-fin.schannel.xml"
REPO = Path(__file__).resolve().parents[2]


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def _tsharkpost(folder: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """tsharkpost run from folder in a fresh interpreter (pyshark read the config.ini of the folder it was imported
    in)."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(folder / "home"),
                   "XDG_CONFIG_HOME": str(folder / "home" / ".config")}
    return subprocess.run([sys.executable, "-c", "import sys; from tsharkpost.cli import main; sys.exit(main())",
                           *arguments], cwd=folder, env=environment, capture_output=True, text=True, check=False)


def test_a_config_ini_in_the_current_folder_is_never_run(tmp_path: Path, tshark: str) -> None:
    # Given a folder with a config.ini naming a program that leaves a mark when run
    _script(tmp_path / "evil.sh", f'touch "{tmp_path}/ran"\nexec {tshark} "$@"\n')
    (tmp_path / "config.ini").write_text("[tshark]\ntshark_path = ./evil.sh\n")
    # When summarize runs in that folder
    done = _tsharkpost(tmp_path, "summarize", "--format", "json", str(SEED))
    # Then that program did not run, and the tshark on PATH did
    assert done.returncode == ExitCode.OK, done.stderr
    assert not (tmp_path / "ran").exists()
    assert json.loads(done.stdout)["tshark"]["path"] == tshark


@pytest.mark.parametrize("content", ["[paths]\nhome = /tmp\n", "[tshark]\n"])
@pytest.mark.parametrize("command", [["summarize", str(SEED)], ["diff", str(TWIN), str(SEED)],
                                     ["timeline", str(SEED), "--events", str(SEED_XML)], ["wireshark", "status"]])
def test_any_other_config_ini_is_ignored(tmp_path: Path, tshark: str, content: str, command: list[str]) -> None:
    (tmp_path / "config.ini").write_text(content)
    done = _tsharkpost(tmp_path, *command)
    # (wireshark status exits 1: nothing is installed in this HOME)
    assert done.returncode in (ExitCode.OK, ExitCode.FAIL_ON), done.stderr
    assert "Traceback" not in done.stderr


def test_tshark_of_any_name_is_the_one_that_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 tshark: str) -> None:
    # Given a wrapper named tshark-4.0 that records every call, then runs the real tshark
    calls = tmp_path / "calls.txt"
    wrapper = _script(tmp_path / "tshark-4.0", f'printf "%s\\n" "$1" >> "{calls}"\nexec {tshark} "$@"\n')
    # When summarize reads three captures in parallel with it
    code = main(["summarize", "--format", "json", "--jobs", "2", "--tshark", str(wrapper),
                 str(SEED), str(TWIN), str(CAPTURES / "version-fallback.pcapng")])
    document = json.loads(capsys.readouterr().out)
    # Then the wrapper ran (not the tshark on PATH), the JSON names it, and it was asked its version once
    assert code == ExitCode.OK and document["tshark"]["path"] == str(wrapper)
    lines = calls.read_text().splitlines()
    assert lines.count("-v") == 1 and len(lines) == 4


def test_a_folder_given_as_tshark_means_the_tshark_inside(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          tshark: str) -> None:
    folder = tmp_path / "wireshark-bin"
    folder.mkdir()
    _script(folder / "tshark", f'exec {tshark} "$@"\n')
    code = main(["summarize", "--format", "json", "--tshark", str(folder), str(SEED)])
    assert code == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["tshark"]["path"] == str(folder / "tshark")


def test_a_folder_without_tshark_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["summarize", "--tshark", str(tmp_path), str(SEED)])
    assert code == ExitCode.NO_TSHARK
    assert capsys.readouterr().err == f"tsharkpost: ERROR: tshark not found at {tmp_path / 'tshark'}\n"


@pytest.mark.parametrize("body, reason", [
    ("exit 0\n", "printed no version (exit 0): is it tshark?"),
    ("echo 'hello' ; exit 3\n", "printed no version (exit 3: hello): is it tshark?"),
    ("echo 'usage: frobnicate' >&2; exit 2\n", "printed no version (exit 2: usage: frobnicate): is it tshark?"),
])
def test_a_program_that_gives_no_version_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     body: str, reason: str) -> None:
    fake = _script(tmp_path / "not-tshark", body)
    for command in (["summarize", str(SEED)], ["wireshark", "status"]):
        code = main([*command, "--tshark", str(fake)])
        assert code == ExitCode.NO_TSHARK
        assert capsys.readouterr().err == f"tsharkpost: ERROR: {fake} -v {reason}\n"


def test_a_file_that_cannot_be_run_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "tshark"
    fake.write_text("not executable\n")
    code = main(["summarize", "--tshark", str(fake), str(SEED)])
    assert code == ExitCode.NO_TSHARK
    assert capsys.readouterr().err == f"tsharkpost: ERROR: cannot run {fake}: Permission denied\n"


def test_tshark_missing_from_path_says_where_it_looked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    code = main(["summarize", str(SEED)])
    err = capsys.readouterr().err
    assert code == ExitCode.NO_TSHARK and err.count("\n") == 1
    assert err.startswith(f"tsharkpost: ERROR: tshark not found (searched PATH={tmp_path}")


def test_pyshark_is_not_imported() -> None:
    # pyshark reads config.ini from the current folder as it is imported; tsharkpost must not load it at all
    probe = ("import sys; from tsharkpost.capture import tshark; tshark.locate(); "
             "from tsharkpost.commands import summarize, wireshark, diff, timeline; "
             "print('pyshark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=REPO).stdout
    assert out.strip() == "False"
