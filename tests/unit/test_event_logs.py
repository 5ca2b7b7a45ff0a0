"""Event log readers on every form: the seed's XML and CSV excerpts, real Schannel events as XML fixtures, the real
System and CAPI2 .evtx logs, evtx_dump JSON lines, damaged and malformed logs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import DATA
from events_support import SEED_CSV, SEED_XML, read

from tsharkpost.events.interpret import meaning

SEED_36888_TIME = dt.datetime(2026, 11, 27, 17, 53, 55, 911694, tzinfo=dt.timezone.utc).timestamp()


def test_seed_xml_gives_the_36888_fields_not_the_message() -> None:
    events, result = read(SEED_XML)
    assert (result.form, result.status, result.events) == ("xml", "ok", 2)
    scm, schannel = events
    assert (scm.provider, scm.event_id, scm.level) == ("Service Control Manager", 7036, "information")
    assert (schannel.provider, schannel.event_id, schannel.level) == ("Schannel", 36888, "error")
    assert schannel.fields == {"AlertDesc": "43", "ErrorState": "252", "TargetName": "shop.example.net"}
    assert schannel.time == pytest.approx(SEED_36888_TIME, abs=1e-6)
    assert schannel.computer == "WS-0142.corp.example.net" and schannel.record_id == 48212
    assert schannel.raw.startswith("<Event") and "AlertDesc" in schannel.raw


def test_seed_csv_needs_the_viewers_zone() -> None:
    # Given Event Viewer's CSV export, written in Europe/Berlin local time without an offset
    events, result = read(SEED_CSV, ZoneInfo("Europe/Berlin"))
    schannel = next(event for event in events if event.event_id == 36888)
    # Then 6:53:55 PM Berlin is 17:53:55 UTC, to the second, and no field is taken from the message text
    assert schannel.time == int(SEED_36888_TIME) and schannel.resolution == 1.0
    assert schannel.fields == {} and "fatal alert code is 43" in schannel.raw
    assert result.status == "ok" and not result.notes
    # Without a zone the times are taken as UTC, and the reader says so
    events, result = read(SEED_CSV)
    assert next(e for e in events if e.event_id == 36888).time == int(SEED_36888_TIME) + 3600
    assert result.status == "ok" and "assumed UTC" in result.notes[0]


def test_csv_times_the_zone_lives_twice_or_skips_are_named(tmp_path: Path) -> None:
    # Given an Event Viewer CSV export viewed in Europe/Berlin: 2:30 AM on 25 October 2026 happened twice (CEST, then
    # CET after the clocks went back at 3:00), 2:30 AM on 29 March 2026 never (clocks went from 2:00 to 3:00)
    export = tmp_path / "system.csv"
    export.write_text("Level,Date and Time,Source,Event ID,Task Category\n"
                      "Error,10/25/2026 2:30:00 AM,Schannel,36888,None,A fatal alert was generated.\n"
                      "Error,10/25/2026 2:45:10 AM,Schannel,36888,None,A fatal alert was generated.\n"
                      "Error,3/29/2026 2:30:00 AM,Schannel,36888,None,A fatal alert was generated.\n"
                      "Error,10/25/2026 3:30:00 AM,Schannel,36888,None,A fatal alert was generated.\n")
    events, result = read(export, ZoneInfo("Europe/Berlin"))
    utc = [dt.datetime.fromtimestamp(event.time, dt.timezone.utc).strftime("%m-%d %H:%M:%S") for event in events]
    # Then each is read (the repeated hour as its first pass, CEST), and the notes say which rows are unclear
    assert utc == ["10-25 00:30:00", "10-25 00:45:10", "03-29 01:30:00", "10-25 02:30:00"]
    assert result.status == "ok" and len(result.notes) == 2, result.notes
    repeated, skipped = result.notes
    assert repeated.startswith("2 rows, the first (row 2, 10/25/2026 2:30:00 AM, read as UTC+02:00) are in the hour "
                               "Europe/Berlin lives twice when its clocks go back")
    assert skipped.startswith("1 row (row 4, 3/29/2026 2:30:00 AM, read as UTC+01:00) is at a local time "
                              "Europe/Berlin skips")
    # A zone without the change that day says nothing
    assert not read(export, ZoneInfo("Asia/Tokyo"))[1].notes


def test_tab_separated_export_reads_like_the_csv(tmp_path: Path) -> None:
    text = tmp_path / "system.txt"
    text.write_text("Level\tDate and Time\tSource\tEvent ID\tTask Category\n"
                    "Error\t27.11.2026 18:53:55\tSchannel\t36888\tNone\tA fatal alert was generated...\n",
                    encoding="utf-16")
    events, result = read(text, ZoneInfo("Europe/Berlin"))
    assert result.form == "txt" and [(e.provider, e.event_id, e.time) for e in events] == [
        ("Schannel", 36888, int(SEED_36888_TIME))]


def test_event_viewer_xml_utf16_with_userdata_and_rendering_info() -> None:
    events, result = read(DATA / "schannel-examples.eventviewer.xml")
    assert (result.form, result.status) == ("xml", "ok")
    handshake, alert = events
    assert handshake.event_id == 36880 and handshake.fields == {
        "UserData": "EventXML", "Type": "server", "Protocol": "TLS 1.2", "CipherSuite": "0xc030",
        "ExchangeStrength": "384", "ContextHandle": "0x0", "TargetName": "", "LocalCertSubjectName":
        "CN=acme-dc1v.example.com", "RemoteCertSubjectName": ""}
    # The rendered message is there, but fields come from EventData only
    assert alert.fields == {"AlertDesc": "40", "ErrorState": "1205"} and "RenderingInfo" in alert.raw
    assert "alert 40 handshake_failure" in meaning(alert).text and "error state 1205" in meaning(alert).text


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file"),
    (b"hello\n", "not an event log this tool reads"),
    (b"ElfFile\x00" + bytes(5000), "no readable record: damaged file header"),
])
def test_unreadable_logs_say_why(tmp_path: Path, content: bytes, reason: str) -> None:
    bad = tmp_path / "bad.log"
    bad.write_bytes(content)
    events, result = read(bad)
    assert events == [] and result.status == "error" and result.reason.startswith(reason)


def test_truncated_xml_keeps_the_events_before_the_cut(tmp_path: Path) -> None:
    cut = tmp_path / "cut.xml"
    cut.write_bytes(SEED_XML.read_bytes()[:1500])
    events, result = read(cut)
    assert [event.event_id for event in events] == [7036]
    assert result.status == "error" and result.reason.startswith("malformed or truncated XML at line 2 after 1 events")


def test_bad_rows_and_lines_are_skipped_and_named(tmp_path: Path) -> None:
    lines = tmp_path / "dump.jsonl"
    good = json.dumps({"Event": {"System": {"Provider": {"#attributes": {"Name": "Schannel"}}, "EventID": 36887,
                                            "Level": 2, "TimeCreated": {"#attributes": {
                                                "SystemTime": "2015-06-01T10:00:09.390968Z"}}},
                                 "EventData": {"AlertDesc": 20}}})
    lines.write_text(good + "\nnot json\n" + json.dumps({"Event": {"System": {}}}) + "\n")
    events, result = read(lines)
    assert [(e.event_id, e.fields) for e in events] == [(36887, {"AlertDesc": "20"})]
    assert result.status == "damaged" and result.problems == [
        "line 2: not a JSON record (Expecting value), skipped",
        "dump.jsonl#3: a JSON record without Provider, EventID or TimeCreated"]
    table = tmp_path / "export.csv"
    table.write_text("Level,Date and Time,Source,Event ID,Task Category\n"
                     "Error,11/27/2026 6:53:55 PM,Schannel,36888,None,text\n"
                     "Error,5/6/2026 18:00:00,Schannel,36888,None,text\n")
    events, result = read(table, ZoneInfo("UTC"))
    assert len(events) == 1 and result.problems == [
        "row 3: date '5/6/2026 18:00:00' could be day/month or month/day, skipped"]


def test_copy_details_as_text_reads_the_embedded_xml(tmp_path: Path) -> None:
    # Given Event Viewer's "Copy details as text" of the seed's 36888 (local Date line, rendered text, Event Xml),
    # followed by a paste without its XML
    xml = SEED_XML.read_text().splitlines()[1]
    pasted = tmp_path / "forum-paste.txt"
    pasted.write_text(
        "Log Name:      System\nSource:        Schannel\nDate:          27.11.2026 18:53:55\nEvent ID:      36888\n"
        "Level:         Error\nDescription:\nA fatal alert was generated and sent to the remote endpoint. The TLS "
        "protocol defined fatal alert code is 99.\nEvent Xml:\n" + xml.replace("><", ">\n  <") + "\n"
        "Log Name:      System\nSource:        Schannel\nEvent ID:      36887\nDescription:\nA fatal alert was "
        "received.\n")
    events, result = read(pasted)
    # Then the fields and the UTC time come from the XML, never from the Date line or the description
    assert result.form == "details" and [(e.event_id, e.fields["AlertDesc"]) for e in events] == [(36888, "43")]
    assert events[0].time == pytest.approx(SEED_36888_TIME, abs=1e-6)
    assert result.problems == ["event 2: no Event Xml section (only rendered text), skipped"]
