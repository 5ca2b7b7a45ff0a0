"""A plugin that failed on a frame says so: in the connection's causes, in the input's status, in the exit code.

The plugin catches its own Lua errors per frame and reports them as a `plugin_error` finding; no capture is
known to provoke one, so the test runs a copy of the plugin with a fault injected where its core (tpost_frame.lua)
reads a chain.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import CAPTURES
from tsharkpost.capture import tshark as ts
from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode
from tsharkpost.plugin.location import lua_dir

SEED = CAPTURES / "md2-root-silent-fin.pcapng"  # the client hangs up on the chain in frame 6
FAULT_AT = "    local function on_chain(ctx, conn, kind, ders, sender)\n"


@pytest.fixture
def faulty_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the plugin (and its tables) that raises a Lua error on every Certificate message."""
    copy = tmp_path / "lua"
    shutil.copytree(lua_dir(), copy)
    script = copy / "tsharkpost.lua"
    core = copy / "tpost" / "tpost_frame.lua"
    text = core.read_text(encoding="utf-8")
    assert FAULT_AT in text, "the plugin's core no longer has on_chain: inject the fault somewhere else"
    core.write_text(text.replace(FAULT_AT, FAULT_AT + '        error("injected fault")\n'), encoding="utf-8")
    monkeypatch.setattr(ts, "plugin_path", lambda: script)
    return script


def test_a_plugin_failure_is_the_connections_first_cause(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                         tshark: str, faulty_plugin: Path) -> None:
    # When the seed capture is read with the faulty plugin
    out = tmp_path / "out.json"
    code = main(["summarize", "--jobs", "1", "--format", "json", "-o", str(out), str(SEED)])
    err = capsys.readouterr().err
    document = json.loads(out.read_text())
    (connection,) = [c for c in document["connections"] if c["outcome"] != "not_tls"]
    kinds = [cause["kind"] for cause in connection["causes"]]
    # Then the connection's first cause says the plugin failed on the chain's frame, and no cause claims the
    # plugin found nothing wrong with the chain
    assert kinds == ["plugin_error"]
    top = connection["causes"][0]
    assert top["summary"] == ("the plugin failed on frame 6 of this connection, so its checks are incomplete "
                              "(a bug: please report it)")
    assert top["checks"] == ["plugin_error"]
    assert "injected fault" in top["evidence"][0] and top["evidence"][0].startswith("frame 6: ")
    assert not any("found nothing wrong" in cause["summary"] for cause in connection["causes"])
    # And the input is an error naming the frame and the plugin's message, on one line of stderr; exit code 3
    (entry,) = document["inputs"]
    assert entry["status"] == "error"
    assert entry["reason"].startswith("plugin error on 1 frame (the first in frame 6, stream 0): internal error")
    assert "injected fault" in entry["reason"]
    assert f"tsharkpost: ERROR: {SEED}: {entry['reason']}" in err.splitlines()
    assert code == ExitCode.INPUT_ERROR


def test_a_plugin_failure_shows_in_the_tables(capsys: pytest.CaptureFixture[str], tshark: str,
                                              faulty_plugin: Path) -> None:
    code = main(["summarize", "--jobs", "1", "--connections", str(SEED)])
    out = capsys.readouterr().out
    assert code == ExitCode.INPUT_ERROR
    assert "the plugin failed on frame 6" in out  # patterns and connections
    assert "plugin error on 1 frame" in out  # inputs
