"""Hostile strings in events (issue 12): control characters, line breaks and bidirectional overrides in provider,
computer and field values never forge a table row, drive the terminal or break a diagnostic line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import CAPTURES
from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode
from tsharkpost.render.text import printable

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
COMPUTER = "WS-0142\n2026-11-27 17:53:55.911694  forged.pcapng:0  1  client  FIN\x1b[2J"
PROVIDER = "Service\r\nControl\tManager\u202egnp.exe"
# Raw control characters, DEL, C1 controls, bidirectional and zero-width characters, line separators.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def record(provider: str, event_id: int | str, when: str, computer: str, data: dict[str, object]) -> str:
    """One record as evtx_dump -o jsonl prints it: JSON carries any control character, XML 1.0 cannot."""
    return json.dumps({"Event": {"System": {
        "Provider": {"#attributes": {"Name": provider}}, "EventID": event_id, "Level": 2, "Computer": computer,
        "TimeCreated": {"#attributes": {"SystemTime": when}}}, "EventData": data}})


def hostile_log(tmp_path: Path) -> Path:
    # The seed's 36888 logged by a computer whose name holds a line break, a forged row and an escape sequence; a
    # Service Control Manager event whose provider holds CR LF, a tab and a right-to-left override; and a 36888
    # for another server whose TargetName does the same (unattributed, listed with its text)
    log = tmp_path / "system.jsonl"
    log.write_text("\n".join([
        record(PROVIDER, 7036, "2026-11-27T17:53:51.5991940Z", "WS-0142", {"param1": "x"}),
        record("Schannel", 36888, "2026-11-27T17:53:55.9116940Z", COMPUTER,
               {"AlertDesc": 43, "ErrorState": 252, "TargetName": "shop.example.net"}),
        record("Schannel", 36888, "2026-11-27T17:53:55.9116940Z", "WS-0142",
               {"AlertDesc": 43, "TargetName": "evil.example\n\u2028- forged line\x07"})]) + "\n")
    return log


def test_printable_escapes_what_a_terminal_would_obey() -> None:
    assert printable("a\nb\r\tc\x1b[2J\x00\x7f\x85\u202e\u200b\ufeffd") == \
        "a\\nb\\r\\tc\\x1b[2J\\x00\\x7f\\x85\\u202e\\u200b\\ufeffd"
    assert printable("plain text, ü and 中文") == "plain text, ü and 中文"
    assert printable("x" * 300, limit=256) == "x" * 256 + "... [300 characters]"


def test_timeline_table_escapes_event_strings(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              tshark: str) -> None:
    code = main(["timeline", str(SEED), "--events", str(hostile_log(tmp_path))])
    out, err = capsys.readouterr()
    assert code == ExitCode.OK and err == ""
    # Then no control or invisible format character reaches the terminal, and each string shows escaped
    assert not UNSAFE.search(out), UNSAFE.findall(out)
    assert "WS-0142\\n2026-11-27 17:53:55.911694  forged.pcapng:0  1  client  FIN\\x1b[2J" in out
    assert "Service\\r\\nControl\\tManager\\u202egnp.exe 7036 (not interpreted)" in out
    assert "target evil.example\\n\\u2028- forged line\\x07" in out
    # and no forged row: every row of the timeline starts with a time or continues a wrapped cell
    rows = out.split("Timeline (UTC)\n", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    assert all(re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}| {28})", row) for row in rows)
    assert not any("forged.pcapng:0" in row[:70] for row in rows)


def test_timeline_json_keeps_the_strings_as_read(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 tshark: str) -> None:
    main(["timeline", "--format", "json", str(SEED), "--events", str(hostile_log(tmp_path))])
    document = json.loads(capsys.readouterr().out)
    attributed = next(entry for entry in document["entries"] if entry.get("attribution", {}).get("connection"))
    assert attributed["event"]["computer"] == COMPUTER


def test_summarize_tables_escape_event_strings(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               tshark: str) -> None:
    code = main(["summarize", "--connections", str(SEED), "--events", str(hostile_log(tmp_path))])
    out, _ = capsys.readouterr()
    assert code == ExitCode.OK and not UNSAFE.search(out)
    # The decisive event leads the connection's cause, with the computer escaped
    assert "Schannel 36888 on WS-0142\\n2026-11-27" in out


def test_log_names_and_problems_stay_one_line_on_stderr(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                        tshark: str) -> None:
    # Given a damaged log whose file name holds a line break, and an event whose EventID holds an escape sequence
    log = tmp_path / "evil\nname.jsonl"
    log.write_text(record("Schannel", "36888\x1b[31m", "2026-11-27T17:53:55.9116940Z", "WS", {}) + "\n")
    for command in ("timeline", "summarize"):
        code = main([command, str(SEED), "--events", str(log)])
        out, err = capsys.readouterr()
        # Then each problem is one line naming the log, escaped
        assert code == ExitCode.INPUT_ERROR and not UNSAFE.search(err) and not UNSAFE.search(out)
        lines = err.splitlines()
        assert all(line.startswith("tsharkpost: ") for line in lines)
        assert lines == [f"tsharkpost: ERROR: {tmp_path}/evil\\nname.jsonl: evil\\nname.jsonl#1: invalid literal "
                         "for int() with base 10: '36888\\x1b[31m'"]
