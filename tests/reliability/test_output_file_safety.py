"""The -o file: never one of the inputs, and replaced only when the run has finished.

`summarize -o v.pcapng v.pcapng` truncated the capture before reading it, and a failed or interrupted run
left an existing -o file empty. Now -o naming an input (however spelt) is a usage error before anything
runs, and the output is written to a temporary file beside -o that is renamed over it at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
from pathlib import Path

import pytest

from conftest import CAPTURES, REPO
from tsharkpost.cli import main
from tsharkpost.commands import common, diff, summarize
from tsharkpost.commands.common import ExitCode

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
TWIN = CAPTURES / "known-good-twin.pcapng"
SEED_XML = CAPTURES / "md2-root-silent-fin.schannel.xml"
KEYLOG = REPO / "tests" / "data" / "wild" / "tls12-keylog.keys"
OLD = "yesterday's report\n"


@pytest.fixture
def case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ticket folder, as the current folder, with copies of the seed, its twin and its event log."""
    folder = tmp_path / "ticket"
    folder.mkdir()
    for source in (SEED, TWIN, SEED_XML):
        shutil.copy(source, folder / source.name)
    monkeypatch.chdir(folder)
    return folder


def untouched(folder: Path) -> None:
    for source in (SEED, TWIN, SEED_XML):
        assert (folder / source.name).read_bytes() == source.read_bytes(), source.name
    assert not [path.name for path in folder.iterdir() if path.name.startswith(".")], "a temporary file is left"


@pytest.mark.parametrize("output, inputs", [
    ("v.pcapng", ["v.pcapng"]),
    ("./sub/../v.pcapng", ["v.pcapng"]),
    ("v.pcapng", ["{folder}/v.pcapng", "known-good-twin.pcapng"]),
    ("link.pcapng", ["v.pcapng"]),
    ("hard.pcapng", ["v.pcapng"]),
    ("v.pcapng", ["."]),
    ("md2-root-silent-fin.schannel.xml", ["v.pcapng", "--events", "md2-root-silent-fin.schannel.xml"]),
])
def test_summarize_refuses_an_output_that_is_an_input(case: Path, capsys: pytest.CaptureFixture[str],
                                                      output: str, inputs: list[str]) -> None:
    # Given the seed as v.pcapng, with a symbolic and a hard link to it
    os.rename(case / SEED.name, case / "v.pcapng")
    (case / "link.pcapng").symlink_to("v.pcapng")
    os.link(case / "v.pcapng", case / "hard.pcapng")
    (case / "sub").mkdir()
    # When -o names it, however spelt
    code = main(["summarize", "-o", output, *[item.format(folder=case) for item in inputs]])
    # Then it is a usage error in one line, and nothing was written
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert err.count("\n") == 1 and err.startswith(f"tsharkpost: ERROR: {Path(output)}: -o is also an input (")
    assert err.endswith("): choose another output file\n")
    assert (case / "v.pcapng").read_bytes() == SEED.read_bytes()
    assert (case / SEED_XML.name).read_bytes() == SEED_XML.read_bytes()


def test_an_output_that_is_the_key_log_is_refused(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a key log (TLS secrets, perhaps the only copy), then neither summarize nor diff writes -o over it
    keys = case / "session.keys"
    keys.write_bytes(KEYLOG.read_bytes())
    for command in (["summarize", "-q", "--keylog", keys.name, "-o", "./" + keys.name, SEED.name],
                    ["diff", "--keylog", keys.name, "-o", keys.name, f"{TWIN.name}#0", SEED.name]):
        code = main(command)
        err = capsys.readouterr().err
        assert code == ExitCode.USAGE and err.count("\n") == 1, (command, err)
        assert err.startswith(f"tsharkpost: ERROR: {keys.name}: -o is also an input ({keys.name})"), err
        assert keys.read_bytes() == KEYLOG.read_bytes()
    untouched(case)


@pytest.mark.parametrize("output", [SEED.name, "./" + TWIN.name])
def test_diff_refuses_an_output_that_is_a_side(case: Path, capsys: pytest.CaptureFixture[str], output: str) -> None:
    code = main(["diff", "-o", output, f"{TWIN.name}#0", SEED.name])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE and err.startswith(f"tsharkpost: ERROR: {Path(output)}: -o is also an input (")
    untouched(case)


def test_a_failed_diff_keeps_the_old_output(case: Path, capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    # Given yesterday's report, and a diff that cannot pair (stream 9 does not exist)
    (case / "report.txt").write_text(OLD)
    code = main(["diff", "-o", "report.txt", f"{TWIN.name}#9", SEED.name])
    # Then it fails as before, and the report is as it was
    assert code == ExitCode.INPUT_ERROR
    assert (case / "report.txt").read_text() == OLD
    untouched(case)


@pytest.mark.parametrize("command, module, target", [
    (["summarize", SEED.name], summarize, "analyze_all"),
    (["summarize", SEED.name], summarize, "write_table"),
    (["diff", TWIN.name, SEED.name], diff, "write_diff_table"),
])
def test_an_interrupted_run_keeps_the_old_output(case: Path, monkeypatch: pytest.MonkeyPatch, command: list[str],
                                                 module: object, target: str, tshark: str) -> None:
    # Given yesterday's report, and a run interrupted while reading or half way through writing
    (case / "report.txt").write_text(OLD)

    def interrupted(*args: object, **kwargs: object) -> None:
        for argument in args:
            if hasattr(argument, "write"):
                argument.write("half a rep")
        raise KeyboardInterrupt

    monkeypatch.setattr(module, target, interrupted)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        main([*command[:1], "-o", "report.txt", *command[1:]])
    # Then the report is as it was, and no temporary file is left beside it
    assert (case / "report.txt").read_text() == OLD
    untouched(case)


def test_a_finished_run_replaces_the_output_and_keeps_the_old_one(case: Path, capsys: pytest.CaptureFixture[str],
                                                                    tshark: str) -> None:
    # Given an older report that only its owner may read
    report = case / "report.json"
    report.write_text(OLD)
    report.chmod(0o600)
    # When summarize writes it again
    code = main(["summarize", "--format", "json", "-o", "report.json", SEED.name])
    # Then it holds the new document and keeps its permissions; the old one is kept beside it, and said so
    assert code == ExitCode.OK and json.loads(report.read_text())["inputs"][0]["status"] == "ok"
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    (kept,) = case.glob("report.json.tsharkpost-backup-*")
    assert kept.read_text() == OLD and re.fullmatch(r"report\.json\.tsharkpost-backup-\d{8}T\d{6}Z", kept.name)
    assert capsys.readouterr().err == f"tsharkpost: INFO: report.json: the file it replaced is kept as {kept.name}\n"
    untouched(case)
    # And a run that writes the very same bytes again keeps no second copy
    document = report.read_bytes()
    assert main(["summarize", "--format", "json", "-o", "report.json", SEED.name]) == ExitCode.OK
    assert report.read_bytes() == document and list(case.glob("report.json.tsharkpost-backup-*")) == [kept]
    assert capsys.readouterr().err == ""


def test_a_new_output_gets_the_usual_permissions(case: Path, tshark: str) -> None:
    mask = os.umask(0o022)
    try:
        assert main(["summarize", "-o", "new.txt", SEED.name]) == ExitCode.OK
    finally:
        os.umask(mask)
    assert stat.S_IMODE((case / "new.txt").stat().st_mode) == 0o644


def test_an_output_through_a_symbolic_link_keeps_the_link(case: Path, capsys: pytest.CaptureFixture[str],
                                                          tshark: str) -> None:
    (case / "reports").mkdir()
    (case / "reports" / "latest.txt").write_text(OLD)
    (case / "latest.txt").symlink_to("reports/latest.txt")
    assert main(["summarize", "-o", "latest.txt", SEED.name]) == ExitCode.OK
    assert (case / "latest.txt").is_symlink()
    assert (case / "reports" / "latest.txt").read_text().startswith("Failure patterns")
    # And the old report is kept beside the file the link leads to, and said where
    (kept,) = (case / "reports").glob("latest.txt.tsharkpost-backup-*")
    assert kept.read_text() == OLD
    assert capsys.readouterr().err == (f"tsharkpost: INFO: latest.txt: the file it replaced is kept as "
                                       f"{os.path.realpath(kept)}\n")


def test_an_old_output_that_cannot_be_read_is_kept_and_replaced(case: Path, monkeypatch: pytest.MonkeyPatch,
                                                                tshark: str) -> None:
    # Given an old report that cannot be read to compare it (write-only for a user without root's rights)
    (case / "report.txt").write_text(OLD)

    def unreadable(*args: object, **kwargs: object) -> bool:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(common.filecmp, "cmp", unreadable)
    # Then the run replaces it all the same, and keeps it
    assert main(["summarize", "-o", "report.txt", SEED.name]) == ExitCode.OK
    assert (case / "report.txt").read_text().startswith("Failure patterns")
    (kept,) = case.glob("report.txt.tsharkpost-backup-*")
    assert kept.read_text() == OLD


def test_a_read_only_output_is_refused(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write any file")
    (case / "report.txt").write_text(OLD)
    (case / "report.txt").chmod(0o444)
    assert main(["summarize", "-o", "report.txt", SEED.name]) == ExitCode.USAGE
    assert capsys.readouterr().err == "tsharkpost: ERROR: report.txt: cannot write the output there: " \
                                      "Permission denied\n"


def test_a_device_is_written_in_place(case: Path, tshark: str) -> None:
    assert main(["summarize", "-o", os.devnull, SEED.name]) == ExitCode.OK
    untouched(case)
