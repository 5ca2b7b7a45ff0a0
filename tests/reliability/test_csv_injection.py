"""Capture strings and file names in output: no live spreadsheet formula in CSV, no terminal control in tables.

A ClientHello's SNI is whatever the client sent: `=HYPERLINK(...)` written verbatim to CSV becomes a formula
when the file is opened in a spreadsheet. OWASP's guidance for CSV injection: a cell that starts with
= + - @ TAB or CR gets a leading single quote. Control characters are written escaped, as tables show them (a TAB
or CR among them). File names are the user's, but may come from a ticket too.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from conftest import CAPTURES, DATA
from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode
from tsharkpost.render.text import FORMULA_STARTS, UNPRINTABLE, printable, printable_lines, spreadsheet_safe

TWIN = CAPTURES / "known-good-twin.pcapng"
SNI_ENTRY = b"\x00\x00\x10shop.example.net"  # server_name list entry: host_name (0), length 16, the name
FORMULA_SNI = '=HYPERLINK("ab")'


def with_sni(tmp_path: Path, name: str, sni: str) -> Path:
    """known-good-twin.pcapng with its ClientHello's SNI rewritten in place (same length: TLS lengths stay valid)."""
    data = TWIN.read_bytes()
    assert data.count(SNI_ENTRY) == 1 and len(sni.encode()) == 16
    copy = tmp_path / name
    copy.write_bytes(data.replace(SNI_ENTRY, b"\x00\x00\x10" + sni.encode()))
    return copy


def csv_rows(capsys: pytest.CaptureFixture[str], *arguments: str) -> list[dict[str, str]]:
    code = main(["summarize", "--format", "csv", *arguments])
    assert code == ExitCode.OK
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out, newline="")))


def test_a_formula_sni_is_text_in_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    # Given a capture whose client asked for the server name =HYPERLINK("ab")
    capture = with_sni(tmp_path, "formula-sni.pcapng", FORMULA_SNI)
    code = main(["summarize", "--format", "json", str(capture)])
    assert code == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["connections"][0]["server_name"] == FORMULA_SNI  # JSON keeps it
    # When it is summarized as CSV
    (row,) = csv_rows(capsys, str(capture))
    # Then the cell is the name behind a single quote, and the numbers are still numbers
    assert row["server_name"] == "'" + FORMULA_SNI
    assert (row["stream"], row["client_port"], row["server_port"], row["seconds_after"]) == ("0", "50301", "443",
                                                                                             "0.0001")
    assert row["established"] == "True" and row["outcome"] == "established"


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r"])
def test_a_file_name_that_starts_like_a_formula_is_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str], tshark: str,
                                                        first: str) -> None:
    name = f"{first}1+1.pcapng"
    (tmp_path / name).write_bytes(TWIN.read_bytes())
    monkeypatch.chdir(tmp_path)
    (row,) = csv_rows(capsys, "--", name)
    # A TAB or CR is written escaped, as tables show it ("\t1+1.pcapng"), which no spreadsheet takes for a formula
    assert row["input"] == ("'" + name if first in "=+-@" else printable(name))
    assert not row["input"].startswith(FORMULA_STARTS)


def test_control_characters_in_csv_cells_are_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      tshark: str) -> None:
    # Given a capture whose SNI holds \x01, an escape sequence and DEL, under a file name that holds another and a
    # line break
    capture = tmp_path / "ticket\x1b[2J\n=x.pcapng"
    capture.write_bytes((DATA / "wild" / "control-characters-in-sni-alpn.pcapng").read_bytes())
    # When it is summarized as CSV to the terminal
    (row,) = csv_rows(capsys, str(capture))
    # Then each control character is written as tables show it: nothing reaches the terminal, and the row stays
    # one row
    assert row["server_name"] == "a\\x01b\\x1b[31mred\\x7f.example"
    assert row["input"] == str(tmp_path) + "/ticket\\x1b[2J\\n=x.pcapng"
    code = main(["summarize", "--format", "csv", str(capture)])
    out = capsys.readouterr().out
    assert code == ExitCode.OK and UNPRINTABLE.search(out.replace("\n", "")) is None and len(out.splitlines()) == 2


def test_every_string_cell_is_checked() -> None:
    assert [spreadsheet_safe(value) for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "shop", "", "'=x")] \
        == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "shop", "", "'=x"]
    assert [spreadsheet_safe(value) for value in (-1, 0.5, True, None)] == [-1, 0.5, True, None]


def test_control_characters_never_reach_the_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     tshark: str) -> None:
    # Given a capture whose file name clears the screen and turns the text red
    capture = tmp_path / "ticket\x1b[2J\x1b[31m.pcapng"
    capture.write_bytes(TWIN.read_bytes())
    # When it is summarized as tables, connections included
    code = main(["summarize", "--connections", str(capture)])
    out = capsys.readouterr().out
    # Then the escape is shown, not sent
    assert code == ExitCode.OK and "\x1b" not in out
    assert "ticket\\x1b[2J\\x1b[31m.pcapng" in out


def test_printable_escapes_controls_and_bidi_overrides() -> None:
    assert printable("a\x1b[0mb\x07c\x9bd\u202eevil") == "a\\x1b[0mb\\x07c\\x9bd\\u202eevil"
    assert printable("shop.example.net, Zürich") == "shop.example.net, Zürich"


def test_diff_and_timeline_tables_escape_controls_too(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      tshark: str) -> None:
    good = tmp_path / "good\x1b]0;owned\x07.pcapng"
    good.write_bytes(TWIN.read_bytes())
    main(["diff", str(good), str(CAPTURES / "md2-root-silent-fin.pcapng")])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "good\\x1b]0;owned\\x07.pcapng#0" in out
    main(["timeline", str(good), "--events", str(CAPTURES / "md2-root-silent-fin.schannel.xml")])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "good\\x1b]0;owned\\x07.pcapng" in out


def test_printable_lines_keeps_line_breaks() -> None:
    assert printable_lines("a\x1b\nb\r\n") == "a\\x1b\nb\\r\n"
