"""tpost.tls from the frame's record bytes (tpost_wire_bytes.lua) is the line read from the fields.

The plugin is run twice on every bundled and wild capture with summarize's own tshark options: once as shipped but
with a marker token after each line read from the records' bytes, once with that reader off (wire.structured given
no reader of record bytes, so every field is placed from tshark's FieldInfos, as before issue 13's sixth step).
Without the markers the two outputs must be the same, byte for byte, and the markers must fall on every frame the
bytes reader can read.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import CAPTURES, REPO
from plugin_support import unexpected_stderr

from tsharkpost.capture import tshark as ts
from tsharkpost.plugin.location import plugin_path

LUA = REPO / "lua"
WILD = REPO / "tests" / "data" / "wild"
MARK = "~bytes"

# The displayed facts: a line is read from bytes once tshark has displayed each code of its hellos before.
DISPLAYED = ["tls.handshake.version", "tls.handshake.ciphersuite", "tls.handshake.extension.type",
             "tls.handshake.extensions_supported_group", "tls.handshake.extensions_ec_point_format",
             "tls.handshake.sig_hash_alg", "tls.handshake.extensions.supported_version",
             "tls.handshake.extensions_key_share_group", "tls.handshake.server_named_curve"]


def _variant(folder: Path, old: str, new: str, module: str) -> Path:
    """A copy of lua/ with one edit; the edit's text must be there (a renamed line fails here, loudly)."""
    shutil.copytree(LUA, folder)
    path = folder / module
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path.name} once"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return folder / "tsharkpost.lua"


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("wire-bytes")
    marked = _variant(folder / "marked", "if ok and line then return line end",
                      f'if ok and line then return line .. " {MARK}" end',
                      "tpost/tpost_wire.lua")
    fields_only = _variant(folder / "fields", "wire.structured(wire_get, line_from_bytes)",
                           "wire.structured(wire_get)", "tsharkpost.lua")
    return marked, fields_only


def _lines(tshark: str, plugin: Path, capture: Path) -> list[str]:
    """summarize's tshark run of the capture, with `plugin` in place of the shipped one."""
    argv = ts.fields_argv(ts.Tshark(tshark, "4.0"), capture, ts.Options())
    shipped = f"lua_script:{plugin_path()}"
    assert argv.count(shipped) == 1
    argv = [f"lua_script:{plugin}" if a == shipped else a for a in argv]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0 and not unexpected_stderr(proc.stderr), proc.stderr
    return proc.stdout.splitlines()


def _first_sight_frames(tshark: str, capture: Path) -> set[int]:
    """Frames holding a displayed code that no earlier frame showed (plain tshark, no plugin)."""
    argv = [tshark, "-n", "-r", str(capture), "-Y", "tls.handshake", "-T", "fields", "-E", "occurrence=a",
            "-E", "aggregator=,", "-e", "frame.number"] + [a for f in DISPLAYED for a in ("-e", f)]
    seen: set[tuple[int, str]] = set()
    first = set()
    for line in subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines():
        number, *values = line.split("\t")
        codes = {(k, code) for k, column in enumerate(values) for code in column.split(",") if code}
        if not codes <= seen:
            first.add(int(number))
        seen |= codes
    return first


def test_lines_from_record_bytes_are_the_lines_from_the_fields(tshark: str, plugins: tuple[Path, Path]) -> None:
    # Given every bundled and wild capture, then the plugin's output with lines read from the records' bytes
    # (markers removed) is the output with every field placed from tshark's FieldInfos, line for line.
    marked, fields_only = plugins
    for capture in sorted(CAPTURES.glob("*.pcapng")) + sorted(WILD.glob("*.pcap*")):
        with_marks = _lines(tshark, marked, capture)
        assert [line.replace(f" {MARK}", "") for line in with_marks] == _lines(tshark, fields_only, capture), \
            capture.name


def test_every_frame_the_bytes_can_say_is_read_from_them(tshark: str, plugins: tuple[Path, Path]) -> None:
    # Given the bundled batch (44 connections: TLS 1.2 and 1.3, alerts, silent teardowns), then every frame with a
    # tpost.tls line is read from its records' bytes but those holding a code tshark displays there for the first
    # time (whose text the line takes from tshark's own display).
    marked, _ = plugins
    capture = CAPTURES / "batch-mixed.pcapng"
    lines = [line.split("\t") for line in _lines(tshark, marked, capture)]
    frames = {int(cols[0]): cols[3].endswith(f" {MARK}") for cols in lines if len(cols) > 3 and cols[3]}
    first = _first_sight_frames(tshark, capture)
    assert len(frames) > 100 and len(first) > 0
    assert {number for number, from_bytes in frames.items() if not from_bytes} == first & set(frames)
