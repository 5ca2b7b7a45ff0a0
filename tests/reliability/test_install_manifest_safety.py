"""`tsharkpost wireshark install|uninstall` facing planted manifests, symbolic links and hand-made profiles.

Install and uninstall may only ever write or remove the files install itself writes (names from the
package, never from a manifest), inside the two folders tsharkpost owns; a file the user changed is
moved aside to NAME.tsharkpost-backup-<time>, never deleted or overwritten.
"""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from pathlib import Path

import pytest

from tsharkpost.capture import tshark as ts
from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode
from tsharkpost.plugin.location import tables_dir
from tsharkpost.wireshark import installer, profile
from tsharkpost.wireshark.folders import discover
from tsharkpost.wireshark.installer import MANIFEST

BACKUP = ".tsharkpost-backup-"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / ".config"))
    return folder


def plugin_folder(home: Path) -> Path:
    return home / ".local" / "lib" / "wireshark" / "plugins" / "tsharkpost"


def profile_folder(home: Path) -> Path:
    return home / ".config" / "wireshark" / "profiles" / profile.PROFILE_NAME


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["wireshark", *arguments])
    out, err = capsys.readouterr()
    return code, out, err


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plant(folder: Path, files: dict[str, str], created: list[str] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).write_text(json.dumps({"tool": "tsharkpost", "files": files, "created": created or []}))


def backups(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f"{name}{BACKUP}*"))


@pytest.mark.parametrize("action", [["install"], ["uninstall"], ["uninstall", "--force"]])
def test_a_planted_manifest_cannot_reach_outside(home: Path, capsys: pytest.CaptureFixture[str],
                                                 action: list[str]) -> None:
    # Given a victim file, and a planted manifest that claims it (by a relative and an absolute path, with its
    # SHA-256) and claims an empty folder of the user's as created by install
    victim = home / "victim.txt"
    victim.write_text("the user's thesis\n")
    elsewhere = home / "elsewhere.txt"
    elsewhere.write_text("another file\n")
    empty = home / "empty-but-mine"
    empty.mkdir()
    plant(plugin_folder(home), {"../../../../../victim.txt": sha256(victim), str(elsewhere): sha256(elsewhere)},
          [str(empty)])
    # When install or uninstall runs
    code, _, err = run(capsys, *action)
    # Then nothing outside the plugin's folder was touched, and the entries were refused with a warning
    assert victim.read_text() == "the user's thesis\n" and elsewhere.read_text() == "another file\n"
    assert empty.is_dir()
    manifest = plugin_folder(home) / MANIFEST
    assert f"tsharkpost: WARNING: {manifest}: ignored ../../../../../victim.txt: not a file tsharkpost installs" in err
    assert f"tsharkpost: WARNING: {manifest}: ignored {elsewhere}: not a file tsharkpost installs" in err
    assert (f"tsharkpost: WARNING: {manifest}: ignored created folder {empty}: not a parent of "
            f"{plugin_folder(home)}") in err
    assert code == ExitCode.OK and "Traceback" not in err


def test_a_manifest_may_name_only_files_install_writes(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given an installed profile, and a file of the user's that a tampered manifest lists with its SHA-256
    assert run(capsys, "install")[0] == ExitCode.OK
    mine = profile_folder(home) / "my-notes.txt"
    mine.write_text("notes\n")
    manifest_path = profile_folder(home) / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["my-notes.txt"] = sha256(mine)
    manifest_path.write_text(json.dumps(manifest))
    # When tsharkpost uninstalls, with --force
    code, _, err = run(capsys, "uninstall", "--force")
    # Then the file stays, the rest of the profile is gone, and the entry is named
    assert mine.read_text() == "notes\n"
    assert sorted(p.name for p in profile_folder(home).iterdir()) == ["my-notes.txt"]
    assert f"{manifest_path}: ignored my-notes.txt: not a file tsharkpost installs" in err
    assert code == ExitCode.OK


def test_uninstall_removes_only_parent_folders_install_created(home: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    # Given an install into a fresh home (it creates ~/.local/lib/wireshark/plugins and ~/.config/wireshark/...)
    before = sorted(str(p) for p in home.rglob("*"))
    run(capsys, "install")
    # When tsharkpost uninstalls
    code, _, err = run(capsys, "uninstall")
    # Then those folders are gone again, without a warning
    assert code == ExitCode.OK and err == ""
    assert sorted(str(p) for p in home.rglob("*")) == before


def test_a_symbolic_link_out_of_the_plugin_folder_is_never_followed(home: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # Given the plugin's tables/ folder is a link to a folder of the user's holding a checks.tsv exactly as
    # tsharkpost ships it, and the user's own preferences linked into the profile
    outside = home / "projects" / "tables"
    outside.mkdir(parents=True)
    (outside / "checks.tsv").write_bytes((tables_dir() / "checks.tsv").read_bytes())
    plugin_folder(home).mkdir(parents=True)
    (plugin_folder(home) / "tables").symlink_to(outside)
    dotfile = home / "dotfiles" / "wireshark-preferences"
    dotfile.parent.mkdir()
    dotfile.write_text(profile.preferences())
    profile_folder(home).mkdir(parents=True)
    (profile_folder(home) / "preferences").symlink_to(dotfile)
    # When install --force and uninstall --force run
    code, _, err = run(capsys, "install", "--force")
    assert code == ExitCode.FAIL_ON
    assert f"{plugin_folder(home) / 'tables' / 'checks.tsv'}: kept: leads outside {plugin_folder(home)}" in err
    code, _, err = run(capsys, "uninstall", "--force")
    # Then nothing behind the links was written, moved or removed
    assert sorted(p.name for p in outside.iterdir()) == ["checks.tsv"]
    assert (outside / "checks.tsv").read_bytes() == (tables_dir() / "checks.tsv").read_bytes()
    assert dotfile.read_text() == profile.preferences()
    assert (profile_folder(home) / "preferences").is_symlink()
    assert code == ExitCode.FAIL_ON


@pytest.mark.parametrize("install_first", [False, True])
def test_uninstall_force_never_removes_a_hand_made_profile(home: Path, capsys: pytest.CaptureFixture[str],
                                                          install_first: bool) -> None:
    # Given a profile of that name the user made in Wireshark: their preferences, Wireshark's recent
    folder = profile_folder(home)
    folder.mkdir(parents=True)
    (folder / "preferences").write_text("gui.column.format: \"No.\", \"%m\"\n")
    (folder / "recent").write_text("# Recent settings file for Wireshark 4.0.17.\n")
    if install_first:
        assert run(capsys, "install")[0] == ExitCode.FAIL_ON  # keeps their preferences
    # When tsharkpost uninstalls with --force
    code, _, err = run(capsys, "uninstall", "--force")
    # Then both of the user's files are still there, unchanged
    assert (folder / "preferences").read_text() == "gui.column.format: \"No.\", \"%m\"\n"
    assert (folder / "recent").read_text() == "# Recent settings file for Wireshark 4.0.17.\n"
    assert sorted(p.name for p in folder.iterdir()) == ["preferences", "recent"]
    assert f"{folder / 'preferences'}: kept: tsharkpost did not write it" in err
    assert code == ExitCode.FAIL_ON


def test_install_force_backs_up_the_users_file(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given an installed profile whose preferences the user changed
    run(capsys, "install")
    preferences = profile_folder(home) / "preferences"
    edited = preferences.read_text() + "gui.column.number: 11\n"
    preferences.write_text(edited)
    # When install --dry-run --force, then install --force run
    before = sorted(profile_folder(home).iterdir())
    code, out, _ = run(capsys, "install", "--dry-run", "--force")
    assert code == ExitCode.OK and f"would overwrite preferences  (changed since tsharkpost wrote it; " \
                                   f"the changed one is kept as preferences{BACKUP}" in out
    assert sorted(profile_folder(home).iterdir()) == before and preferences.read_text() == edited
    code, out, _ = run(capsys, "install", "--force")
    # Then the file is tsharkpost's again, and the user's version is beside it, byte for byte
    assert code == ExitCode.OK and preferences.read_text() == profile.preferences()
    (backup,) = backups(profile_folder(home), "preferences")
    assert backup.read_text() == edited and backup.name in out
    # And a second forced install of an unchanged file makes no backup
    run(capsys, "install", "--force")
    assert len(backups(profile_folder(home), "preferences")) == 1


def test_install_force_backs_up_a_file_it_never_wrote(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = profile_folder(home)
    folder.mkdir(parents=True)
    (folder / "dfilters").write_text('"mine" tcp.port == 8443\n')
    code, out, _ = run(capsys, "install", "--force")
    assert code == ExitCode.OK and (folder / "dfilters").read_text() == profile.dfilters()
    (backup,) = backups(folder, "dfilters")
    assert f"tsharkpost did not write it (it was there before); yours is kept as {backup.name}" in out, out
    assert backup.read_text() == '"mine" tcp.port == 8443\n'
    # Uninstall then removes what install wrote and leaves the backup
    code, _, _ = run(capsys, "uninstall")
    assert code == ExitCode.OK and sorted(p.name for p in folder.iterdir()) == [backup.name]


def test_uninstall_force_moves_a_changed_file_aside(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "install")
    checks = plugin_folder(home) / "tables" / "checks.tsv"
    checks.write_text("check\tmine\n")
    code, out, _ = run(capsys, "uninstall", "--dry-run", "--force")
    assert code == ExitCode.OK and f"would back up   tables/checks.tsv  (changed since tsharkpost wrote it; " \
                                   f"moved to checks.tsv{BACKUP}" in out
    assert checks.read_text() == "check\tmine\n"
    code, out, _ = run(capsys, "uninstall", "--force")
    assert code == ExitCode.OK and not checks.exists()
    (backup,) = backups(checks.parent, "checks.tsv")
    assert backup.read_text() == "check\tmine\n"
    # Only the backup is left of the plugin; Wireshark does not load it (its name does not end in .lua or .tsv)
    assert sorted(p.relative_to(plugin_folder(home)).as_posix() for p in plugin_folder(home).rglob("*")) == [
        "tables", f"tables/{backup.name}"]


@pytest.mark.parametrize("planted", [b"\xff\xfe not UTF-8", b"\x00" * 5000, b"{}"])
def test_a_manifest_of_any_bytes_is_only_replaced(home: Path, capsys: pytest.CaptureFixture[str],
                                                   planted: bytes) -> None:
    # Given an installed profile whose manifest was replaced by bytes that are no manifest at all
    assert run(capsys, "install")[0] == ExitCode.OK
    (profile_folder(home) / MANIFEST).write_bytes(planted)
    # Then install judges the files by content (all current) and writes a manifest again, without a traceback
    code, out, err = run(capsys, "install")
    assert (code, err) == (ExitCode.OK, "")
    assert f"record {MANIFEST}" in out
    assert set(json.loads((profile_folder(home) / MANIFEST).read_text())["files"]) == set(profile.files()) | {"recent"}


@pytest.mark.parametrize("kind", ["file", "dangling link", "link loop", "file above"])
def test_a_profile_folder_that_is_no_folder_stops_install_before_it_writes(
        home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    # Given, where the profile's folder (or a folder above it) goes, a file or a symbolic link leading to no folder
    folder = profile_folder(home)
    folder.parent.mkdir(parents=True)
    blocker = folder.parent.parent if kind == "file above" else folder
    if kind == "file above":  # ~/.config/wireshark itself a file
        (blocker / "profiles").rmdir()
        blocker.rmdir()
    if kind in ("file", "file above"):
        blocker.write_text("mine\n")
    else:
        folder.symlink_to(tmp_path / "gone" if kind == "dangling link" else folder.name)
    before = {str(p): p.is_symlink() or p.read_bytes() for p in home.rglob("*") if not p.is_dir()}
    # Then install names it and why in one line, exits 3, and wrote nothing, not even the plugin
    code, _, err = run(capsys, "install")
    assert code == ExitCode.INPUT_ERROR
    assert err.startswith(f"tsharkpost: ERROR: {blocker}: cannot install: ") and err.count("\n") == 1
    assert {str(p): p.is_symlink() or p.read_bytes() for p in home.rglob("*") if not p.is_dir()} == before
    assert not plugin_folder(home).exists() and not (tmp_path / "gone").exists()


@pytest.mark.parametrize("component", ["plugin", "profile"])
def test_a_folder_that_is_a_symbolic_link_is_neither_claimed_nor_emptied(
        home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], component: str) -> None:
    # Given the plugin's folder linked to a checkout of lua/ (or the profile's to a dotfiles folder) holding the very
    # files tsharkpost ships, which install would otherwise call current and record as its own
    elsewhere = tmp_path / "checkout"
    if component == "plugin":
        folder = plugin_folder(home)
        (elsewhere / "tables").mkdir(parents=True)
        for table in tables_dir().glob("*.tsv"):
            (elsewhere / "tables" / table.name).write_bytes(table.read_bytes())
    else:
        folder = profile_folder(home)
        elsewhere.mkdir()
        for name, text in profile.files().items():
            (elsewhere / name).write_text(text, encoding="utf-8")
    folder.parent.mkdir(parents=True)
    folder.symlink_to(elsewhere)
    before = {str(p): p.read_bytes() for p in elsewhere.rglob("*") if p.is_file()}
    # When the user installs, then uninstalls with --force
    for action in (["install"], ["uninstall", "--force"]):
        code, _, err = run(capsys, *action)
        # Then both say they left the link alone, and exit 1; the linked folder is exactly as it was
        assert code == ExitCode.FAIL_ON
        assert f"{folder}: kept: a symbolic link to {elsewhere}: tsharkpost writes and removes nothing" in err
        assert {str(p): p.read_bytes() for p in elsewhere.rglob("*") if p.is_file()} == before
    assert folder.is_symlink()


@pytest.mark.parametrize("action", ["install", "uninstall"])
def test_a_backup_name_taken_meanwhile_is_never_overwritten(home: Path, capsys: pytest.CaptureFixture[str],
                                                             action: str) -> None:
    # Given an installed profile whose preferences the user changed, and a forced install (uninstall) planned
    assert run(capsys, "install")[0] == ExitCode.OK
    preferences = profile_folder(home) / "preferences"
    preferences.write_text("# mine\n")
    component = installer.components(discover(ts.locate(None, remember=False)))[1]
    plan = (installer.plan_install if action == "install" else installer.plan_uninstall)(component, True)
    (step,) = [step for step in plan.steps if step.backup is not None]
    # When another run (started in the same second) gives its own backup that very name before this one applies
    assert step.backup is not None
    step.backup.write_text("the other run's backup\n")
    installer.apply(plan)
    # Then that backup is intact, and the user's file is kept under the next free name
    assert step.backup.read_text() == "the other run's backup\n"
    assert sorted(p.read_text() for p in backups(profile_folder(home), "preferences")) == [
        "# mine\n", "the other run's backup\n"]


def test_a_file_blocking_both_folders_is_named_once(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # Given a HOME that is a file: both the plugin's and the profile's folders would go under it
    blocker = tmp_path / "not-a-home"
    blocker.write_text("mine\n")
    monkeypatch.setenv("HOME", str(blocker))
    monkeypatch.delenv("XDG_CONFIG_HOME")
    code, _, err = run(capsys, "install")
    assert (code, err) == (ExitCode.INPUT_ERROR, f"tsharkpost: ERROR: {blocker}: cannot install: not a folder\n")


def test_a_huge_file_in_the_profile_is_judged_without_being_held(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a 64 MiB file where the profile's preferences go (sparse: it takes no room on disk)
    folder = profile_folder(home)
    folder.mkdir(parents=True)
    with (folder / "preferences").open("wb") as huge:
        huge.truncate(64 << 20)
    # When install and uninstall judge it (kept: tsharkpost did not write it)
    tracemalloc.start()
    try:
        codes = [run(capsys, "install")[0], run(capsys, "uninstall")[0]]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Then they read it a block at a time: never the whole file in memory
    assert codes == [ExitCode.FAIL_ON, ExitCode.FAIL_ON] and (folder / "preferences").stat().st_size == 64 << 20
    assert peak < 16 << 20, peak
