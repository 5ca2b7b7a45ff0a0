"""stderr's diagnostics show what came from the inputs escaped: a file name or a server name holding an escape
sequence, a bell or a newline neither repaints the analyst's terminal nor forges a diagnostic line.

The diagnostics' values (logging's %-arguments) go through render.text.diagnostic_value, in one formatter
(commands/common.py); the program's own line breaks (a list of candidates, a traceback) are kept.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO
from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode

HOSTILE_SNI = REPO / "tests" / "data" / "wild" / "control-characters-in-sni-alpn.pcapng"
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f]")   # every C0 control but the newline, and DEL


def test_hostile_file_names_are_escaped_in_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given two files that are no captures, one named with a terminal title sequence (ESC ] ... BEL), one with a
    # newline in its name
    folder = tmp_path / "in"
    folder.mkdir()
    titled, split = folder / "bad\x1b]0;title\x07.pcap", folder / "bad\nname.pcap"
    for path in (titled, split):
        path.write_bytes(b"junk")
    # When the folder is summarized
    code = main(["summarize", "-q", "-o", str(tmp_path / "out.txt"), str(folder)])
    err = capsys.readouterr().err
    # Then each gets one error line, its name escaped as Python writes it, and no raw control character is written
    assert code == ExitCode.INPUT_ERROR
    assert RAW_CONTROL.search(err) is None
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert any(line.startswith(f"tsharkpost: ERROR: {folder}/bad\\x1b]0;title\\x07.pcap: not a pcap or pcapng")
               for line in lines), err
    assert any(line.startswith(f"tsharkpost: ERROR: {folder}/bad\\nname.pcap: not a pcap or pcapng")
               for line in lines), err


def test_diff_lists_candidates_with_their_server_names_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a capture whose only connection's SNI holds control characters and a colour escape sequence, and a side
    # naming a stream that is not there
    code = main(["diff", f"{HOSTILE_SNI}#9", str(HOSTILE_SNI)])
    err = capsys.readouterr().err
    # Then the error lists the candidates, one per line, with the name escaped
    assert code == ExitCode.INPUT_ERROR
    assert RAW_CONTROL.search(err) is None
    lines = err.splitlines()
    assert lines[0] == f"tsharkpost: ERROR: GOOD: {HOSTILE_SNI}: no TLS connection matches stream 9"
    assert lines[1].startswith(f"  GOOD {HOSTILE_SNI}#0: ") and "-> a\\x01b\\x1b[31mred\\x7f.example " in lines[1]
    assert len(lines) == 2, err


@pytest.mark.parametrize("argument", ["--\x1b]0;title\x07.pcap", "--x\nforged.pcap", "--s=\x1b[2J"])
def test_a_hostile_name_taken_for_an_option_is_escaped_in_the_usage_error(argument: str,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    # Given a file name that starts like an option and holds a terminal title sequence, a newline or a screen clear,
    # as a shell glob (`tsharkpost summarize *`) hands it to the command line
    with pytest.raises(SystemExit) as stopped:
        main(["summarize", "-q", argument, "ok.pcap"])
    err = capsys.readouterr().err
    # Then argparse's usage error names it escaped, on one line, like every other diagnostic
    assert stopped.value.code == ExitCode.USAGE
    assert RAW_CONTROL.search(err) is None
    lines = err.splitlines()
    assert lines[0].startswith("usage: tsharkpost")
    assert lines[-1].startswith("tsharkpost") and ": error: " in lines[-1], err
    assert argument.encode("unicode_escape").decode() in lines[-1], err
