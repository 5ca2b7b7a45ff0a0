"""Hostile and broken event logs (issue 12): every reader names the damage, skips only what is damaged and reads
on; nothing raises, and the CLI says it in one line per problem and exits 3."""

from __future__ import annotations

import csv
import io
import json
import random
import re
from pathlib import Path

import pytest

from conftest import CAPTURES
from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode
from tsharkpost.events.model import Event, LogResult
from tsharkpost.events.readers import read_log
from tsharkpost.events.table_export import _quoted_at_end

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
SEED_XML = CAPTURES / "md2-root-silent-fin.schannel.xml"
SCM_EVENT, SCHANNEL_EVENT = SEED_XML.read_text().splitlines()[:2]
HEADER = "Level,Date and Time,Source,Event ID,Task Category\r\n"
ROW = "Error,11/27/2026 6:53:55 PM,Schannel,36888,None,\"A fatal alert was generated.\n\n   Target name: x\"\r\n"
SCM_ROW = ("Information,11/27/2026 6:53:51 PM,Service Control Manager,7036,None,"
           "The service entered the running state.\r\n")
JSON_RECORD = json.dumps({"Event": {"System": {
    "Provider": {"#attributes": {"Name": "Schannel"}}, "EventID": 36887, "Level": 2,
    "TimeCreated": {"#attributes": {"SystemTime": "2015-06-01T10:00:09.390968Z"}}}, "EventData": {"AlertDesc": 20}}})


def read(path: Path) -> tuple[list[Event], LogResult]:
    result = LogResult(str(path))
    return list(read_log(path, result)), result


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# -- CSV/TXT ---------------------------------------------------------------------------------------------------------

def test_csv_field_over_128_kib_is_one_problem_and_the_rows_after_it_are_read(tmp_path: Path) -> None:
    # Given a CSV export whose second row carries a 200,000-character message (the csv module's limit is 131,072)
    huge = ROW.replace("A fatal alert was generated.", "x" * 200_000)
    events, result = read(write(tmp_path, "big.csv", HEADER + ROW + huge + SCM_ROW))
    # Then that row is named, its event kept from its first fields with the text cut, and the next row read
    assert [event.event_id for event in events] == [36888, 36888, 7036]
    assert result.status == "damaged" and result.problems == [
        "row 3 (line 5): 200,071 characters, over the 131,072 a row may have: read from its first part"]
    assert re.search(r"x \[cut: 131,0\d\d characters\]$", events[1].raw) and len(events[1].raw) < 17_000


def test_stray_quote_does_not_swallow_the_rows_after_it(tmp_path: Path) -> None:
    # Given a hand-edited export: row 3's message opens a quote it never closes, and five rows follow
    stray = "Error,11/27/2026 6:53:55 PM,Schannel,36888,None,\"oops, a quote\r\n"
    events, result = read(write(tmp_path, "stray.csv", HEADER + ROW + stray + SCM_ROW * 2 + ROW + SCM_ROW * 2))
    # Then every row is read, and the damaged one is named: before, csv swallowed them into one field (status ok)
    assert [event.event_id for event in events] == [36888, 36888, 7036, 7036, 36888, 7036, 7036]
    assert result.status == "damaged" and result.problems == [
        "row 3 (line 5): a stray quote opens a field that runs into the next row: this row is read as ending at its "
        "line, the next rows as they are"]


def test_quote_never_closed_before_the_end_of_the_file(tmp_path: Path) -> None:
    events, result = read(write(tmp_path, "open.csv", HEADER + ROW + ROW.replace('x"', "x")))
    assert len(events) == 2 and result.problems == [
        "row 3 (line 5): a quote opens a field that is never closed: this row runs to the end of the file"]


def test_rows_with_too_few_or_too_many_fields_are_named(tmp_path: Path) -> None:
    short = "Error,11/27/2026 6:53:55 PM\r\n"
    wide = "Error,11/27/2026 6:53:55 PM,Schannel,36888,None,one,two,three\r\n"
    events, result = read(write(tmp_path, "fields.csv", HEADER + short + wide + SCM_ROW))
    assert [event.event_id for event in events] == [36888, 7036]
    assert result.problems == ["row 2: 2 fields where the header has 5, skipped",
                               "row 3: 8 fields where the header has 5 and the message: read by its first four"]


def test_multi_line_messages_read_as_before(tmp_path: Path) -> None:
    # Event Viewer's own export: quoted messages with line breaks and doubled quotes are one row each
    quoted = ROW.replace("generated.", 'generated, "quoted"').replace('"quoted"', '""quoted""')
    events, result = read(write(tmp_path, "ok.csv", HEADER + ROW + quoted + SCM_ROW))
    assert result.status == "ok" and len(events) == 3 and '"quoted"' in events[1].raw
    assert [event.source for event in events] == ["ok.csv#2", "ok.csv#3", "ok.csv#4"]


@pytest.mark.parametrize("seed", range(20))
def test_row_assembly_follows_the_csv_module(seed: int) -> None:
    # Given random lines of quotes, delimiters and text (no line shaped like a row, so no stray-quote cut)
    chance = random.Random(seed)
    lines = ["".join(chance.choice(['"', '"', ",", "a", " ", '""']) for _ in range(chance.randrange(12))) + "\n"
             for _ in range(30)]
    # Then where the csv module ends each row is where the assembly says a quote is still open or not
    reader = csv.reader(io.StringIO("".join(lines), newline=""))
    ends = []
    for _ in reader:
        ends.append(reader.line_num)
    quoted, ours = False, []
    for number, line in enumerate(lines, start=1):
        quoted = _quoted_at_end(line, quoted, ",")
        if not quoted:
            ours.append(number)
    if quoted:
        ours.append(len(lines))
    assert ours == ends


def test_bom_less_utf16_csv_and_txt_are_read(tmp_path: Path) -> None:
    # Given exports written as UTF-16 without a byte order mark (PowerShell Out-File, some editors), both orders
    for name, encoding in (("le.csv", "utf-16-le"), ("be.csv", "utf-16-be")):
        events, result = read(write(tmp_path, name, HEADER + ROW + SCM_ROW, encoding))
        assert (result.form, result.status, [e.event_id for e in events]) == ("csv", "ok", [36888, 7036])
    tab = (HEADER + SCM_ROW).replace(",", "\t")
    events, result = read(write(tmp_path, "export.txt", tab, "utf-16-le"))
    assert (result.form, [e.provider for e in events]) == ("txt", ["Service Control Manager"])


def test_invalid_utf8_in_a_row_is_named_and_the_row_read(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + SCM_ROW.replace("service", "servic\xe9")).encode("latin-1") + SCM_ROW.encode())
    events, result = read(path)
    assert len(events) == 2 and result.problems == [
        "line 2: not valid UTF-8 (the bad bytes were read as U+FFFD)"]


# -- JSON lines ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, problem", [
    ("[" * 100_000 + "]" * 100_000, "line 2: JSON nested too deeply to read, skipped"),
    ('{"Event": ' * 900 + "{}" + "}" * 900, "line 2: nested deeper than 64 levels, skipped"),
    ('{"Event": {"System": {"EventID": ' + "9" * 5000 + "}}}",
     "line 2: a number of 5,000 digits (Python converts at most 4,300), skipped"),
    (JSON_RECORD.replace('"Level": 2', '"EventRecordID": "' + "9" * 5000 + '", "Level": 2'), None),
    (JSON_RECORD.replace('"EventID": 36887', '"EventID": "' + "9" * 5000 + '"'),
     "Exceeds the limit (4300 digits) for integer string conversion"),
    (JSON_RECORD.replace('{"AlertDesc": 20}', '{"Foo_attributes": 5, "AlertDesc": 20}'), None),
    (JSON_RECORD.replace('"EventData": {"AlertDesc": 20}',
                         '"UserData": {"Op": {"#attributes": [1], "X_attributes": 3, "Y": {}}}'), None),
])
def test_hostile_json_lines_are_one_problem_each(tmp_path: Path, line: str, problem: str | None) -> None:
    # Given a good record, a hostile one, and a good one
    events, result = read(write(tmp_path, "dump.jsonl", f"{JSON_RECORD}\n{line}\n{JSON_RECORD}\r\n"))
    # Then the hostile line is one problem (or read, when it is only odd), and both good records are read
    if problem is None:
        assert result.status == "ok" and len(events) == 3
    else:
        assert len(events) == 2 and len(result.problems) == 1 and problem in result.problems[0]
    assert events[-1].raw == JSON_RECORD


def test_json_line_over_the_record_limit_is_skipped_as_it_streams(tmp_path: Path) -> None:
    long = JSON_RECORD.replace('"AlertDesc": 20', '"AlertDesc": 20, "Pad": "' + "p" * 2_000_000 + '"')
    events, result = read(write(tmp_path, "dump.jsonl", f"{JSON_RECORD}\n{long}\n{JSON_RECORD}\n"))
    assert len(events) == 2 and result.problems == [
        f"line 2: {len(long) + 1:,} characters, over the 1,048,576 one record may have: skipped"]


def test_bom_less_utf16_json_lines(tmp_path: Path) -> None:
    events, result = read(write(tmp_path, "dump.jsonl", JSON_RECORD + "\r\n" + JSON_RECORD + "\r\n", "utf-16-le"))
    assert (result.form, result.status, len(events)) == ("jsonl", "ok", 2)


# -- XML -------------------------------------------------------------------------------------------------------------

def test_a_bad_event_in_the_middle_is_skipped_and_the_rest_read(tmp_path: Path) -> None:
    # Given four events, the second malformed (a tag never closed) and the third without its System header
    broken = SCHANNEL_EVENT.replace("<Level>2</Level>", "<Level>2")
    headless = SCHANNEL_EVENT.replace("<EventID>36888</EventID>", "")
    log = write(tmp_path, "system.xml", "\n".join([SCM_EVENT, broken, headless, SCHANNEL_EVENT]) + "\n")
    events, result = read(log)
    # Then the two good ones are read, the others named by number and line; before, reading stopped at event 2
    assert [event.source for event in events] == ["system.xml#1", "system.xml#4"]
    assert result.status == "damaged" and len(result.problems) == 2
    assert result.problems[0] == ("event 2 (line 2): malformed XML at line 2 (Opening and ending tag mismatch: "
                                  "Level line 1 and System), skipped")
    assert result.problems[1] == "system.xml#3: an Event without Provider, EventID or TimeCreated"


def test_events_root_and_declaration_as_event_viewer_saves_them(tmp_path: Path) -> None:
    text = (f'<?xml version="1.0" encoding="UTF-16"?>\n<Events>\n<!-- <Event> in a comment -->\n{SCM_EVENT}\n'
            f"<![CDATA[ </Event> ]]>{SCHANNEL_EVENT}</Events>\n")
    events, result = read(write(tmp_path, "saved.xml", text, "utf-16"))
    assert result.status == "ok" and [event.event_id for event in events] == [7036, 36888]


def test_bom_less_utf16_xml_is_read(tmp_path: Path) -> None:
    for encoding in ("utf-16-le", "utf-16-be"):
        events, result = read(write(tmp_path, f"{encoding}.xml", SCM_EVENT + "\n" + SCHANNEL_EVENT, encoding))
        assert (result.form, result.status, [e.event_id for e in events]) == ("xml", "ok", [7036, 36888])


def test_huge_attribute_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    # Given an event whose attribute is 5 MB (the was 944 MB), between two good ones
    huge = SCHANNEL_EVENT.replace("<Data Name='AlertDesc'>", "<Data Name='" + "A" * 5_000_000 + "'>")
    events, result = read(write(tmp_path, "huge.xml", "\n".join([SCM_EVENT, huge, SCHANNEL_EVENT])))
    # Then it is named and skipped, never parsed; the events around it are read
    assert [event.source for event in events] == ["huge.xml#1", "huge.xml#3"]
    assert result.problems == [
        f"event 2 (line 2): {len(huge):,} bytes, over the 1,048,576 one event may have: skipped"]


def test_long_field_is_cut_and_marked(tmp_path: Path) -> None:
    long = SCHANNEL_EVENT.replace(">shop.example.net<", ">" + "n" * 10_000 + "<")
    events, result = read(write(tmp_path, "long.xml", long))
    (event,) = events
    assert event.fields["TargetName"] == "n" * 4096 + " [cut: 10,000 characters]"
    assert result.status == "ok" and result.notes == [
        "1 event(s) carry more text than an event keeps (a value over 4,096 characters, over 256 fields or a "
        "record over 16,384 characters): cut where the cap was hit and marked [cut: N characters]"]


def test_entities_are_never_expanded(tmp_path: Path) -> None:
    # Given a log that declares an external entity and uses it in an event (XXE)
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    log = write(tmp_path, "xxe.xml", f'<!DOCTYPE Events [<!ENTITY x SYSTEM "file://{secret}">]>\n<Events>'
                + SCHANNEL_EVENT.replace(">shop.example.net<", ">&x;<") + "</Events>")
    events, result = read(log)
    # Then the event is refused, and the file's content appears nowhere
    assert events == [] and "root:x" not in repr(result.as_dict())
    assert result.problems[0].startswith("event 1 (line 2): malformed XML at line 2 (Entity 'x' not defined")


def test_many_broken_events_list_a_hundred_and_count_the_rest(tmp_path: Path) -> None:
    broken = SCHANNEL_EVENT.replace("<EventID>36888</EventID>", "")
    events, result = read(write(tmp_path, "broken.xml", "\n".join([broken] * 250 + [SCM_EVENT])))
    assert len(events) == 1 and len(result.problems) == 101
    assert result.problems[-1] == "150 more problems, not listed"


def test_truncated_xml_still_says_where(tmp_path: Path) -> None:
    events, result = read(write(tmp_path, "cut.xml", SCM_EVENT + "\n" + SCHANNEL_EVENT[:300]))
    assert len(events) == 1 and result.status == "error" and result.reason == (
        "malformed or truncated XML at line 2 after 1 events (the file ends inside the <Event> that starts on "
        "line 2)")


# -- Copy details as text --------------------------------------------------------------------------------------------

def test_details_with_a_runaway_event_xml_is_named(tmp_path: Path) -> None:
    block = "Log Name:      System\nSource:        Schannel\nEvent Xml:\n"
    runaway = block + "<Event>\n" + ("x" * 1000 + "\n") * 1100
    text = block + SCHANNEL_EVENT + "\n" + runaway + block + SCHANNEL_EVENT + "\n"
    events, result = read(write(tmp_path, "paste.txt", text, "utf-16-le"))
    assert [event.source for event in events] == ["paste.txt#1", "paste.txt#3"]
    assert result.problems == [
        "event 2 (line 1056): its Event Xml is longer than 1,048,576 characters, skipped"]


# -- through the CLI -------------------------------------------------------------------------------------------------

def test_cli_names_each_damaged_log_in_one_line_and_exits_3(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                           tshark: str) -> None:
    deep = write(tmp_path, "deep.jsonl", f"{JSON_RECORD}\n{'[' * 100_000}\n")
    big = write(tmp_path, "big.csv", HEADER + ROW.replace("generated.", "g" * 200_000))
    bad = write(tmp_path, "bad.xml", SCHANNEL_EVENT.replace("<Level>2</Level>", "<Level>2") + "\n" + SCHANNEL_EVENT)
    for command in (["timeline"], ["summarize"]):
        code = main([*command, str(SEED), "--events", str(deep), str(big), str(bad)])
        out, err = capsys.readouterr()
        # Then no traceback, exit 3 (not 1, which --fail-on owns), one line per problem naming the log
        assert code == ExitCode.INPUT_ERROR and "Traceback" not in err
        problems = [line for line in err.splitlines() if line.startswith("tsharkpost: ERROR:")]
        assert [line.split(": ")[2] for line in problems] == [str(deep), str(big), str(bad)]
        assert "line 2: JSON nested too deeply to read, skipped" in problems[0]
        assert "EVENT Schannel 36888" in out or "Event logs" in out
