"""diff's and timeline's tables escape each cell before the table is laid out.

Escaping the finished text kept a newline in a server name (it forged table lines), and the table's layout took
an escape sequence for a colour code: it added a reset (ESC [0m) to the cell, changing the value shown, and
measured the column wrong. Each cell is now escaped first (render.text.printable).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import CAPTURES, REPO
from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode

HOSTILE = REPO / "tests" / "data" / "wild" / "control-characters-in-sni-alpn.pcapng"
TWIN = CAPTURES / "known-good-twin.pcapng"
SEED_XML = CAPTURES / "md2-root-silent-fin.schannel.xml"
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f]")   # every C0 control but the newline, and DEL


@pytest.fixture
def newline_sni(tmp_path: Path) -> Path:
    """The hostile capture with its SNI's \\x01 made a real newline: 'a\\nb\\x1b[31mred\\x7f.example'."""
    data = HOSTILE.read_bytes()
    assert data.count(b"a\x01b\x1b[31m") == 1
    crafted = tmp_path / "newline-sni.pcapng"
    crafted.write_bytes(data.replace(b"a\x01b\x1b[31m", b"a\nb\x1b[31m"))
    return crafted


def test_diff_table_keeps_a_hostile_server_name_in_its_cell(newline_sni: Path, capsys: pytest.CaptureFixture[str],
                                                            tshark: str) -> None:
    code = main(["diff", str(TWIN), str(newline_sni)])
    out = capsys.readouterr().out
    assert code == ExitCode.OK and RAW_CONTROL.search(out) is None
    lines = out.splitlines()
    # The connections' table: a header, its rule, GOOD and BAD, each one line; BAD's server cell escaped whole
    assert lines[2].startswith("GOOD ") and lines[3].startswith("BAD ") and lines[4] == ""
    assert " a\\nb\\x1b[31mred\\x7f.example 127.0.0.1:" in lines[3]
    # And the server_name row of the hello section is one line with both values
    rows = [line for line in lines if line.startswith("server_name ")]
    assert len(rows) == 1 and "a\\nb\\x1b[31mred\\x7f.example" in rows[0]


def test_timeline_table_shows_a_hostile_server_name_as_it_is(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    code = main(["timeline", str(HOSTILE), "--events", str(SEED_XML)])
    out = capsys.readouterr().out
    assert code == ExitCode.OK and RAW_CONTROL.search(out) is None
    (row,) = [line for line in out.splitlines() if "ClientHello SNI" in line]
    # Escaped as read, with no reset sequence added after it by the table's layout
    assert row.endswith("ClientHello SNI a\\x01b\\x1b[31mred\\x7f.example")
