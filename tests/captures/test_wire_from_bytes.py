"""tpost.tls from the frame's record bytes (tpost_wire_bytes.lua) is the line read from the fields.

The plugin is run twice on every bundled and wild capture with summarize's own tshark options: once as shipped but
with a marker token after each line read from the records' bytes, once with that reader off (wire.structured given
no reader of record bytes, so every field is placed from tshark's FieldInfos, as before issue 13's sixth step).
Without the markers the two outputs must be the same, byte for byte, and the markers must fall on every frame the
bytes reader can read.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CAPTURES, REPO
from wire_bytes_support import first_sight_frames, frames_read_from_bytes, lines, plugin_variants, unmarked

WILD = REPO / "tests" / "data" / "wild"


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return plugin_variants(tmp_path_factory.mktemp("wire-bytes"))


def test_lines_from_record_bytes_are_the_lines_from_the_fields(tshark: str, plugins: tuple[Path, Path]) -> None:
    # Given every bundled and wild capture, then the plugin's output with lines read from the records' bytes
    # (markers removed) is the output with every field placed from tshark's FieldInfos, line for line.
    marked, fields_only = plugins
    for capture in sorted(CAPTURES.glob("*.pcapng")) + sorted(WILD.glob("*.pcap*")):
        assert unmarked(lines(tshark, marked, capture)) == lines(tshark, fields_only, capture), capture.name


def test_every_frame_the_bytes_can_say_is_read_from_them(tshark: str, plugins: tuple[Path, Path]) -> None:
    # Given the bundled batch (44 connections: TLS 1.2 and 1.3, alerts, silent teardowns), then every frame with a
    # tpost.tls line is read from its records' bytes but those holding a code tshark displays there for the first
    # time (whose text the line takes from tshark's own display).
    marked, _ = plugins
    capture = CAPTURES / "batch-mixed.pcapng"
    frames = frames_read_from_bytes(lines(tshark, marked, capture))
    first = first_sight_frames(tshark, capture)
    assert len(frames) > 100 and len(first) > 0
    assert {number for number, from_bytes in frames.items() if not from_bytes} == first & set(frames)
