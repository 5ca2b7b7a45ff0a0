"""`tsharkpost wireshark install|uninstall|status` in a throw-away HOME, checked with the real tshark.

tshark reports its personal folders from HOME and XDG_CONFIG_HOME, so pointing
them at a temporary folder gives each test a Wireshark user of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import CAPTURES
from plugin_support import unexpected_stderr
from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode
from tsharkpost.plugin.location import PLUGIN_FILE, lua_dir, tables_dir
from tsharkpost.wireshark import profile
from tsharkpost.wireshark.installer import MANIFEST
from tsharkpost.wireshark.presets import preset

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
PROFILE = profile.PROFILE_NAME
Snapshot = dict[str, tuple[bytes, int] | None]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    (folder / ".config" / "unrelated").mkdir(parents=True)       # something of the user's, to be left alone
    (folder / ".config" / "unrelated" / "settings").write_text("mine\n")
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / ".config"))
    return folder


def plugin_folder(home: Path) -> Path:
    return home / ".local" / "lib" / "wireshark" / "plugins" / "tsharkpost"


def profile_folder(home: Path) -> Path:
    return home / ".config" / "wireshark" / "profiles" / PROFILE


def snapshot(folder: Path) -> Snapshot:
    """Every path under folder: files with their bytes and modification time, folders as None."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["wireshark", *arguments])
    out, err = capsys.readouterr()
    return code, out, err


def tshark_run(tshark: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tshark, *arguments], capture_output=True, text=True, check=False)


def test_install_makes_tshark_load_the_plugin_and_accept_the_profile(
        home: Path, tshark: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given an empty Wireshark user
    assert str(plugin_folder(home) / PLUGIN_FILE) not in tshark_run(tshark, "-G", "plugins").stdout
    # When tsharkpost installs
    code, out, _ = run(capsys, "install")
    assert code == ExitCode.OK and "create" in out
    # Then tshark lists the plugin from the personal Lua plugins folder, its tables and modules beside it
    listed = tshark_run(tshark, "-G", "plugins")
    assert str(plugin_folder(home) / PLUGIN_FILE) in listed.stdout
    assert sorted(p.name for p in (plugin_folder(home) / "tables").iterdir()) == sorted(
        p.name for p in tables_dir().glob("*.tsv"))
    modules = sorted(p.name for p in (lua_dir() / "tpost").glob("*.lua"))
    assert modules and sorted(p.name for p in (plugin_folder(home) / "tpost").iterdir()) == modules
    # And Wireshark, which runs every .lua under its plugins folder, ran the modules too, harmlessly
    assert all(str(plugin_folder(home) / "tpost" / name) in listed.stdout for name in modules)
    assert not unexpected_stderr(listed.stderr), listed.stderr
    # And tshark accepts the profile; the installed plugin (no -X) finds its tables and fills its columns
    proc = tshark_run(tshark, "-n", "-C", PROFILE, "-r", str(SEED))
    assert proc.returncode == 0 and not unexpected_stderr(proc.stderr), proc.stderr
    rows = {int(line.split()[0]): line for line in proc.stdout.splitlines()}
    assert "shop.example.net" in rows[4]                                        # SNI column
    # Diagnosis, then Info, then the highest severity and the check ids
    assert "TLSv1.2 cert #3 signed MD2, not offered by client   Server Hello" in rows[6]
    assert rows[6].endswith("Server Hello Done error weak_signature,sigalg_not_offered")
    assert "client FIN 2 ms after chain, no alert" in rows[8] and rows[8].endswith(" warning silent_teardown")
    # And a profile that does not exist is refused (so the check above means something)
    assert tshark_run(tshark, "-C", "No Such Profile", "-r", str(SEED)).returncode != 0


def summarized(capsys: pytest.CaptureFixture[str], folder: Path) -> tuple[int, dict[str, object], list[str]]:
    """summarize of the seed capture: exit code, the input's entry and the connection's checks."""
    report = folder / "report.json"
    code = main(["summarize", "--format", "json", "-o", str(report), str(SEED)])
    capsys.readouterr()
    data = json.loads(report.read_text(encoding="utf-8"))
    return code, data["inputs"][0], [f["check"] for c in data["connections"] for f in c["findings"]]


def test_summarize_loads_its_own_copy_beside_an_installed_one(
        home: Path, tshark: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the plugin installed for Wireshark: tshark loads it from the personal plugins folder, and summarize's
    # tshark run loads the package's copy with -X lua_script as well
    assert run(capsys, "install")[0] == ExitCode.OK
    # Then summarize's run is not failed by tpost registered twice: the seed's diagnosis, as without the install
    code, entry, checks = summarized(capsys, tmp_path)
    assert code == ExitCode.OK and entry["status"] == "ok" and entry["reason"] is None
    assert checks == ["weak_signature", "sigalg_not_offered", "silent_teardown"]
    # And given an installed copy that fails if it does anything past its first section (as another version could),
    # which plain tshark does load, summarize's run still works: that copy stands aside, the package's does the work
    installed = plugin_folder(home) / PLUGIN_FILE
    marker = 'if os.getenv("TSHARKPOST_RUN") and ... ~= "tsharkpost-run" then return end\n'
    text = installed.read_text(encoding="utf-8")
    assert text.count(marker) == 1
    installed.write_text(text.replace(marker, marker + 'error("the installed copy ran")\n'), encoding="utf-8")
    assert "the installed copy ran" in tshark_run(tshark, "-n", "-r", str(SEED)).stderr
    assert summarized(capsys, tmp_path) == (ExitCode.OK, entry, checks)


def test_a_plugin_failing_to_load_is_named_with_its_error(home: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    # Given another Lua plugin in the personal plugins folder that fails as tshark loads it (tshark says so on two
    # lines: "Lua: Error during loading:", then the script's error), then summarize fails the input with both lines'
    # words: the script and its error, not only that loading failed
    plugins = plugin_folder(home).parent
    plugins.mkdir(parents=True)
    (plugins / "broken.lua").write_text('error("boom from a broken plugin")\n', encoding="utf-8")
    code, entry, _ = summarized(capsys, tmp_path)
    assert code == ExitCode.INPUT_ERROR and entry["status"] == "error"
    reason = str(entry["reason"])
    assert reason.startswith("plugin error: tshark: Lua: Error during loading:")
    assert "broken.lua:1: boom from a broken plugin" in reason


def test_install_is_idempotent(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "install")[0] == ExitCode.OK
    before = snapshot(home)
    code, out, _ = run(capsys, "install")
    assert code == ExitCode.OK and out.count("up to date") == 2
    assert snapshot(home) == before


def test_dry_run_changes_nothing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(home)
    code, out, _ = run(capsys, "install", "--dry-run")
    assert code == ExitCode.OK and "would create    tsharkpost.lua" in out and "dry run: nothing was changed" in out
    assert snapshot(home) == before
    run(capsys, "install")
    installed = snapshot(home)
    code, out, _ = run(capsys, "uninstall", "--dry-run")
    assert code == ExitCode.OK and "would remove    preferences" in out
    assert snapshot(home) == installed


def test_uninstall_leaves_nothing_behind(home: Path, tshark: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(home)
    run(capsys, "install")
    # Given Wireshark has used the profile (it keeps its window layout there)
    (profile_folder(home) / "recent").write_text("# Recent settings file for Wireshark 4.0.17.\n")
    # When tsharkpost uninstalls
    code, out, _ = run(capsys, "uninstall")
    assert code == ExitCode.OK and "remove          tsharkpost.lua" in out
    # Then the home folder is as it was, and tshark knows neither plugin nor profile
    assert snapshot(home) == before
    assert "tsharkpost.lua" not in tshark_run(tshark, "-G", "plugins").stdout
    assert tshark_run(tshark, "-C", PROFILE, "-r", str(SEED)).returncode != 0


def test_a_file_the_user_changed_is_kept_unless_forced(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "install")
    preferences = profile_folder(home) / "preferences"
    edited = preferences.read_text() + "gui.column.number: 11\n"
    preferences.write_text(edited)
    # Install keeps it and says so
    code, out, err = run(capsys, "install")
    assert code == ExitCode.FAIL_ON and preferences.read_text() == edited
    assert f"tsharkpost: WARNING: {preferences}: kept: changed since tsharkpost wrote it; --force replaces it" in err
    # --force replaces it, keeping the user's version beside it
    code, out, _ = run(capsys, "install", "--force")
    assert code == ExitCode.OK and "overwrite" in out and preferences.read_text() == profile.preferences()
    (backup,) = profile_folder(home).glob("preferences.tsharkpost-backup-*")
    # Uninstall keeps a changed file too, and everything else goes
    preferences.write_text(edited)
    code, _, err = run(capsys, "uninstall")
    assert code == ExitCode.FAIL_ON and f"{preferences}: kept" in err
    assert sorted(p.name for p in profile_folder(home).iterdir()) == [MANIFEST, "preferences", backup.name]
    assert not plugin_folder(home).exists()
    # --force moves it aside instead of removing it
    code, _, _ = run(capsys, "uninstall", "--force")
    assert code == ExitCode.OK and not preferences.exists() and len(list(profile_folder(home).iterdir())) == 2


def test_a_file_an_earlier_install_wrote_is_updated(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a colorfilters file exactly as an earlier tsharkpost wrote it (its manifest says so)
    run(capsys, "install")
    colorfilters = profile_folder(home) / "colorfilters"
    colorfilters.write_text("@old rule@tls@[0,0,0][65535,65535,65535]\n")
    manifest_path = profile_folder(home) / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["colorfilters"] = hashlib.sha256(colorfilters.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    # When tsharkpost installs again, it updates the file without --force
    code, out, _ = run(capsys, "install")
    assert code == ExitCode.OK and "update          colorfilters" in out
    assert colorfilters.read_text() == profile.colorfilters()


def test_a_profile_file_the_user_made_before_is_never_taken(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile_folder(home).mkdir(parents=True)
    mine = profile_folder(home) / "dfilters"
    mine.write_text('"my filter" tcp.port == 8443\n')
    code, out, err = run(capsys, "install")
    assert code == ExitCode.FAIL_ON and f"{mine}: kept" in err and mine.read_text() == '"my filter" tcp.port == 8443\n'
    # The reason says what is true of a file tsharkpost never wrote: not "changed since tsharkpost wrote it"
    assert f"{mine}: kept: tsharkpost did not write it (it was there before); --force replaces it" in err, err
    assert "changed since" not in out + err
    assert (profile_folder(home) / "colorfilters").read_text() == profile.colorfilters()
    code, _, _ = run(capsys, "uninstall")
    assert code == ExitCode.FAIL_ON and sorted(p.name for p in profile_folder(home).iterdir()) == ["dfilters"]


def test_status(home: Path, tshark: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "status")
    assert code == ExitCode.FAIL_ON and out.count("not installed") == 2 and "tshark loads the plugin: no" in out
    run(capsys, "install")
    code, out, _ = run(capsys, "status")
    # the script, every fact table and every module beside it
    shipped = 1 + len(list(tables_dir().glob("*.tsv"))) + len(list((lua_dir() / "tpost").glob("*.lua")))
    assert code == ExitCode.OK and f"plugin: {plugin_folder(home)}: installed, current ({shipped} files)" in out
    assert f"profile: {profile_folder(home)}: installed, current (5 files)" in out
    assert "tshark loads the plugin: yes" in out
    (plugin_folder(home) / "tables" / "checks.tsv").write_text("check\n")
    code, out, _ = run(capsys, "status")
    assert code == ExitCode.FAIL_ON and f"{shipped - 1} current, 1 changed" in out and "changed   tables/checks.tsv" in out


def test_another_copy_of_the_plugin_is_reported(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stray = home / ".local" / "lib" / "wireshark" / "plugins" / PLUGIN_FILE
    stray.parent.mkdir(parents=True)
    stray.write_text("-- an old hand-made copy\n")
    code, _, err = run(capsys, "install")
    assert code == ExitCode.OK and f"{stray}: another copy of the plugin; Wireshark would load both" in err
    run(capsys, "uninstall")
    assert stray.read_text() == "-- an old hand-made copy\n"


def test_missing_tshark_is_a_clear_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(home)
    for action in ("install", "uninstall", "status"):
        code, out, err = run(capsys, action, "--tshark", str(home / "no" / "tshark"))
        assert code == ExitCode.NO_TSHARK and out == ""
        assert err == f"tsharkpost: ERROR: tshark not found at {home / 'no' / 'tshark'}\n"
    assert snapshot(home) == before


def test_the_profile_works_without_the_plugin(home: Path, tshark: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the profile installed, but not the plugin
    run(capsys, "install")
    for path in sorted(plugin_folder(home).rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    # Then tshark reads with the profile: plain columns filled, the plugin's empty
    proc = tshark_run(tshark, "-n", "-C", PROFILE, "-r", str(SEED))
    assert proc.returncode == 0 and not unexpected_stderr(proc.stderr), proc.stderr
    assert "shop.example.net" in proc.stdout and "weak_signature" not in proc.stdout
    # And the colour rules that need the plugin are disabled with a warning naming each; the others apply
    proc = tshark_run(tshark, "-n", "-C", PROFILE, "-r", str(SEED), "--color")
    assert proc.returncode == 0
    for rule in profile.COLOUR_RULES:
        needs_plugin = preset(rule.preset).needs_plugin
        assert (f'Could not compile "{rule.name}"' in proc.stderr) == needs_plugin, rule.name


def test_a_folder_that_cannot_be_made_is_a_clear_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a file where the plugin's folder should go
    blocker = plugin_folder(home)
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a folder\n")
    # Then install names it, says why, and exits 3
    code, _, err = run(capsys, "install")
    assert code == ExitCode.INPUT_ERROR
    assert err.startswith(f"tsharkpost: ERROR: {blocker}: cannot install: ") and err.count("\n") == 1
    assert blocker.read_text() == "not a folder\n"


def test_status_when_tshark_cannot_list_its_plugins(home: Path, tshark: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # Given a tshark that is gone by the time status asks for its plugins (after it named its folders)
    fake = tmp_path / "tshark"
    fake.write_text(f'#!/bin/sh\nif [ "$1 $2" = "-G folders" ]; then rm -f "$0"; fi\nexec {tshark} "$@"\n')
    fake.chmod(0o755)
    code, out, err = run(capsys, "status", "--tshark", str(fake))
    # Then status says it cannot tell, in one warning line, without a traceback
    assert code == ExitCode.FAIL_ON and "tshark loads the plugin: unknown" in out
    assert [line for line in err.splitlines() if "-G plugins failed" in line] == [
        f"tsharkpost: WARNING: {fake} -G plugins failed: [Errno 2] No such file or directory: '{fake}'"]


def test_recent_is_written_only_when_absent(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a fresh install, then the profile's recent holds the column widths and the first window's size,
    # and the manifest records it like the other files
    code, out, _ = run(capsys, "install")
    recent = profile_folder(home) / "recent"
    assert code == ExitCode.OK and "create          recent  (Wireshark's own file, written once" in out
    assert recent.read_text() == profile.recent()
    manifest = json.loads((profile_folder(home) / MANIFEST).read_text())
    assert manifest["files"]["recent"] == hashlib.sha256(recent.read_bytes()).hexdigest()
    # When Wireshark has rewritten it (it does as it exits, with the user's widths)
    wireshark_own = "# Recent settings file for Wireshark 4.0.17.\ncolumn.width:\n\t%m, 80\n"
    recent.write_text(wireshark_own)
    # Then neither install nor install --force touches it, nor calls it changed, and the manifest drops it
    for arguments in (("install",), ("install", "--force")):
        code, out, err = run(capsys, *arguments)
        assert code == ExitCode.OK and err == "" and recent.read_text() == wireshark_own
        assert "  recent" not in out
    assert "recent" not in json.loads((profile_folder(home) / MANIFEST).read_text())["files"]
    assert not list(profile_folder(home).glob("recent.tsharkpost-backup-*"))
    code, out, _ = run(capsys, "status")
    assert code == ExitCode.OK and f"profile: {profile_folder(home)}: installed, current (5 files)" in out
    # And uninstall leaves the home as it was: Wireshark's state goes with the folder install created
    code, _, _ = run(capsys, "uninstall")
    assert code == ExitCode.OK and not profile_folder(home).exists()


def test_a_users_own_recent_is_never_taken(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a profile folder of that name the user already opened in Wireshark (its recent, nothing else)
    profile_folder(home).mkdir(parents=True)
    mine = profile_folder(home) / "recent"
    mine.write_text("# Recent settings file for Wireshark 4.0.17.\ngui.geometry_main_upper_pane: 300\n")
    before = mine.read_bytes()
    # When tsharkpost installs and uninstalls, then their recent is left alone, unrecorded, without a warning
    code, _, err = run(capsys, "install")
    assert code == ExitCode.OK and err == "" and mine.read_bytes() == before
    assert "recent" not in json.loads((profile_folder(home) / MANIFEST).read_text())["files"]
    code, _, err = run(capsys, "uninstall", "--force")
    assert code == ExitCode.OK and err == "" and mine.read_bytes() == before
    assert sorted(p.name for p in profile_folder(home).iterdir()) == ["recent"]


def test_an_untouched_recent_is_updated_and_removed_like_the_other_files(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a recent exactly as an earlier tsharkpost wrote it (its manifest says so)
    run(capsys, "install")
    recent = profile_folder(home) / "recent"
    recent.write_text("column.width:\n\t%m, 40\n")
    manifest_path = profile_folder(home) / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["recent"] = hashlib.sha256(recent.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    # Then install updates it, and uninstall removes it
    code, out, _ = run(capsys, "install")
    assert code == ExitCode.OK and "update          recent" in out and recent.read_text() == profile.recent()
    code, out, _ = run(capsys, "uninstall")
    assert code == ExitCode.OK and "remove          recent" in out and not profile_folder(home).exists()


@pytest.mark.parametrize("action", ["install", "uninstall", "status"])
def test_a_folder_that_cannot_be_read_is_one_line_and_changes_nothing(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        action: str) -> None:
    # Given a configuration folder the system refuses to even look at (a name longer than the file system allows;
    # an unreadable folder does the same for a user who is not root)
    config = home / ("c" * 300)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    before = snapshot(home)
    # Then the command names it and the reason in one line, exits 3, and nothing was written, not even the plugin
    code, _, err = run(capsys, action)
    assert code == ExitCode.INPUT_ERROR, err
    assert err.startswith(f"tsharkpost: ERROR: {config}") and err.endswith(": cannot read: File name too long\n")
    assert err.count("\n") == 1 and snapshot(home) == before


def test_a_folder_where_a_file_goes_is_named_not_a_temporary_file(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a folder of the user's where the profile's dfilters file should go
    blocker = profile_folder(home) / "dfilters"
    (blocker / "mine").mkdir(parents=True)
    # Then install names that path (not the temporary file it wrote beside it), says why, exits 3, leaves it be
    code, _, err = run(capsys, "install")
    assert code == ExitCode.INPUT_ERROR
    assert err == f"tsharkpost: ERROR: {blocker}: cannot install: Is a directory\n"
    assert (blocker / "mine").is_dir() and not [p for p in profile_folder(home).iterdir() if p.name.startswith(".d")]


@pytest.mark.parametrize("variable, value", [("HOME", "home\nother"), ("XDG_CONFIG_HOME", "config\n"),
                                             ("WIRESHARK_CONFIG_DIR", "wireshark\nconfig")])
def test_a_folder_with_a_line_break_is_refused_not_cut(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        variable: str, value: str) -> None:
    # Given a folder name holding a line break, which `tshark -G folders` prints across two lines
    monkeypatch.setenv(variable, str(tmp_path / value))
    if variable == "HOME":
        monkeypatch.delenv("XDG_CONFIG_HOME")
    before = snapshot(tmp_path)
    # Then install writes nowhere (its first line alone, tmp_path/home, is another folder) and says why
    code, _, err = run(capsys, "install")
    assert code == ExitCode.NO_TSHARK and snapshot(tmp_path) == before
    assert err.count("\n") == 1 and "on several lines (a line break in HOME, XDG_CONFIG_HOME or " in err


def test_a_folder_is_taken_exactly_as_tshark_reports_it(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a configuration folder whose name ends in a space, beside a namesake without it
    config = tmp_path / "config "
    monkeypatch.setenv("WIRESHARK_CONFIG_DIR", str(config))
    (tmp_path / "config").mkdir()
    # Then the profile goes into that very folder, where tshark finds it
    assert run(capsys, "install")[0] == ExitCode.OK
    assert (config / "profiles" / PROFILE / "preferences").is_file()
    assert list((tmp_path / "config").iterdir()) == []


def test_a_relative_folder_is_refused(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    # Given a relative WIRESHARK_CONFIG_DIR, which means a different folder wherever Wireshark starts
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WIRESHARK_CONFIG_DIR", "config")
    # Then install writes nothing into the current folder and says why
    code, _, err = run(capsys, "install")
    assert code == ExitCode.NO_TSHARK and not (tmp_path / "config").exists()
    assert err.count("\n") == 1 and "reports a relative Personal configuration folder, 'config'" in err


def test_a_folder_name_with_control_characters_is_shown_escaped(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a configuration folder whose name holds an escape sequence (it would recolour the terminal)
    config = tmp_path / "config\x1b[31m"
    monkeypatch.setenv("WIRESHARK_CONFIG_DIR", str(config))
    # Then install and status write there, and show its name escaped, as they do on stderr
    for action in ("install", "status"):
        code, out, _ = run(capsys, action)
        assert code == ExitCode.OK and "\x1b" not in out
        assert f"profile: {tmp_path}/config\\x1b[31m/profiles/{PROFILE}" in out
    assert (config / "profiles" / PROFILE / "preferences").is_file()


def test_a_home_that_is_not_utf8_is_installed_into_and_shown_escaped(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a HOME whose name holds a byte that is not UTF-8 (tshark prints it as it is)
    other = tmp_path / os.fsdecode(b"home\xff")
    other.mkdir()
    monkeypatch.setenv("HOME", str(other))
    monkeypatch.delenv("XDG_CONFIG_HOME")
    # Then install, status and uninstall work in that very folder, and show the byte escaped (a strict UTF-8
    # terminal refuses it raw)
    code, out, _ = run(capsys, "install")
    assert code == ExitCode.OK and (other / ".config" / "wireshark" / "profiles" / PROFILE / "preferences").is_file()
    assert "\udcff" not in out and f"profile: {tmp_path}/home\\udcff/.config/wireshark/profiles/{PROFILE}" in out
    code, out, _ = run(capsys, "status")
    assert code == ExitCode.OK and "tshark loads the plugin: yes" in out and "\udcff" not in out
    code, out, _ = run(capsys, "uninstall")
    assert code == ExitCode.OK and "\udcff" not in out and list(other.iterdir()) == []
