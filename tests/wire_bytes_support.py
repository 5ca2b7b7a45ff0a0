"""Helpers for the tests of the plugin's bytes reader (lua/tpost/tpost_wire_bytes.lua): the plugin with the reader's
lines marked, or with the reader off, run as summarize runs tshark."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from conftest import REPO
from plugin_support import unexpected_stderr

from tsharkpost.capture import tshark as ts
from tsharkpost.plugin.location import plugin_path

LUA = REPO / "lua"
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


def plugin_variants(folder: Path) -> tuple[Path, Path]:
    """(the plugin with MARK after each line read from the records' bytes, the plugin with that reader off)."""
    marked = _variant(folder / "marked", "if ok and line then return line end",
                      f'if ok and line then return line .. " {MARK}" end', "tpost/tpost_wire.lua")
    fields_only = _variant(folder / "fields", "wire.structured(wire_get, line_from_bytes)",
                           "wire.structured(wire_get)", "tpost/tpost_ws_wire.lua")
    return marked, fields_only


def lines(tshark: str, plugin: Path, capture: Path, *options: str) -> list[str]:
    """summarize's tshark run of the capture, with `plugin` in place of the shipped one."""
    argv = ts.fields_argv(ts.Tshark(tshark, "4.0"), capture, ts.Options())
    shipped = f"lua_script:{plugin_path()}"
    assert argv.count(shipped) == 1
    argv = [f"lua_script:{plugin}" if a == shipped else a for a in argv]
    argv[1:1] = list(options)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0 and not unexpected_stderr(proc.stderr), proc.stderr
    return proc.stdout.splitlines()


def unmarked(output: list[str]) -> list[str]:
    return [line.replace(f" {MARK}", "") for line in output]


def frames_read_from_bytes(output: list[str]) -> dict[int, bool]:
    """Frame -> whether its tpost.tls line (the fourth column) was read from the records' bytes."""
    columns = [line.split("\t") for line in output]
    return {int(cols[0]): cols[3].endswith(f" {MARK}") for cols in columns if len(cols) > 3 and cols[3]}


def first_sight_frames(tshark: str, capture: Path) -> set[int]:
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
