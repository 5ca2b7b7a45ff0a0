"""tshark's version is asked once per binary and remembered (capture/version_cache.py); a cache that cannot be
read or written only means tshark is asked again."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tsharkpost.capture import tshark as ts
from tsharkpost.capture import version_cache
from tsharkpost.errors import TsharkError


def _fake_tshark(folder: Path, version: str) -> tuple[Path, Path]:
    """A tshark that prints `version` for -v and notes every call in calls.txt."""
    calls = folder / "calls.txt"
    script = folder / "tshark"
    script.write_text(f'#!/bin/sh\necho "$1" >> "{calls}"\n'
                      f'[ "$1" = "-v" ] && echo "TShark (Wireshark) {version} (Git v{version})"\nexit 0\n')
    script.chmod(0o755)
    return script, calls


def _asked(calls: Path) -> int:
    return calls.read_text().splitlines().count("-v") if calls.exists() else 0


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


def test_the_version_is_asked_once_per_binary(tmp_path: Path, cache_home: Path) -> None:
    script, calls = _fake_tshark(tmp_path, "4.0.17")
    assert ts.locate(str(script)).version == "4.0.17"
    assert ts.locate(str(script)).version == "4.0.17"
    assert _asked(calls) == 1
    stored = json.loads((cache_home / "tsharkpost" / version_cache.CACHE_FILE).read_text())
    assert list(stored.values()) == ["4.0.17"]


def test_a_changed_binary_is_asked_again(tmp_path: Path, cache_home: Path) -> None:
    script, calls = _fake_tshark(tmp_path, "4.0.17")
    assert ts.locate(str(script)).version == "4.0.17"
    # An upgrade in place: the same path, another file.
    _fake_tshark(tmp_path, "4.2.3")
    os.utime(script, ns=(1, 1))
    assert ts.locate(str(script)).version == "4.2.3"
    assert _asked(calls) == 2


def test_a_remembered_version_too_old_is_asked_again(tmp_path: Path, cache_home: Path) -> None:
    # Given a cache that says this binary is 3.6 (edited by hand: tsharkpost never stores a refused version)
    script, calls = _fake_tshark(tmp_path, "3.6.2")
    version_cache.remember_version(str(script), "3.6.2")
    # Then tshark is asked, and refused in its own words
    with pytest.raises(TsharkError, match="tshark 3.6.2 at .* is too old"):
        ts.locate(str(script))
    assert _asked(calls) == 1


@pytest.mark.parametrize("content", [b"not json", b"[1, 2]", b'{"x": 4}', b"{" + b" " * 70000 + b"}",
                                     b'{"key": "4.0.17; rm -rf /"}'])
def test_a_damaged_cache_file_is_ignored_and_replaced(tmp_path: Path, cache_home: Path, content: bytes) -> None:
    (cache_home / "tsharkpost").mkdir(parents=True)
    (cache_home / "tsharkpost" / version_cache.CACHE_FILE).write_bytes(content)
    script, calls = _fake_tshark(tmp_path, "4.0.17")
    assert ts.locate(str(script)).version == "4.0.17"
    assert ts.locate(str(script)).version == "4.0.17"
    assert _asked(calls) == 1


def test_a_cache_folder_that_cannot_be_made_means_asking_every_time(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # tsharkpost/ cannot be made inside a file
    script, calls = _fake_tshark(tmp_path, "4.0.17")
    assert ts.locate(str(script)).version == "4.0.17"
    assert ts.locate(str(script)).version == "4.0.17"
    assert _asked(calls) == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-file", "calls.txt", "tshark"]


def test_the_cache_keeps_its_newest_entries(tmp_path: Path, cache_home: Path) -> None:
    for number in range(version_cache.ENTRIES_KEPT + 3):
        folder = tmp_path / f"t{number}"
        folder.mkdir()
        script, _ = _fake_tshark(folder, f"4.0.{number}")
        ts.locate(str(script))
    stored = json.loads((cache_home / "tsharkpost" / version_cache.CACHE_FILE).read_text())
    assert len(stored) == version_cache.ENTRIES_KEPT
    assert list(stored.values())[-1] == f"4.0.{version_cache.ENTRIES_KEPT + 2}"
    assert "4.0.0" not in stored.values()
    assert not [name for name in os.listdir(cache_home / "tsharkpost") if name.endswith(".tmp")]


def test_locate_without_remember_reads_the_cache_but_never_writes_it(tmp_path: Path, cache_home: Path) -> None:
    script, calls = _fake_tshark(tmp_path, "4.0.17")
    assert ts.locate(str(script), remember=False).version == "4.0.17"
    assert not cache_home.exists()
    ts.locate(str(script))
    assert ts.locate(str(script), remember=False).version == "4.0.17"
    assert _asked(calls) == 2
