"""Event log readers on every form: the seed's XML and CSV excerpts, real Schannel events as XML fixtures, the real
System and CAPI2 .evtx logs, evtx_dump JSON lines, damaged and malformed logs."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import CAPTURES
from tsharkpost.events.interpret import meaning
from tsharkpost.events.model import Event, LogResult
from tsharkpost.events.readers import read_log

DATA = Path(__file__).parent / "data"
SEED_XML = CAPTURES / "md2-root-silent-fin.schannel.xml"
SEED_CSV = CAPTURES / "md2-root-silent-fin.schannel.csv"
SEED_36888_TIME = dt.datetime(2026, 11, 27, 17, 53, 55, 911694, tzinfo=dt.timezone.utc).timestamp()


def read(path: Path, tz: ZoneInfo | None = None) -> tuple[list[Event], LogResult]:
    result = LogResult(str(path))
    return list(read_log(path, result, tz)), result


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


def test_tab_separated_export_reads_like_the_csv(tmp_path: Path) -> None:
    text = tmp_path / "system.txt"
    text.write_text("Level\tDate and Time\tSource\tEvent ID\tTask Category\n"
                    "Error\t27.11.2026 18:53:55\tSchannel\t36888\tNone\tA fatal alert was generated...\n",
                    encoding="utf-16")
    events, result = read(text, ZoneInfo("Europe/Berlin"))
    assert result.form == "txt" and [(e.provider, e.event_id, e.time) for e in events] == [
        ("Schannel", 36888, int(SEED_36888_TIME))]


def test_real_schannel_events_as_wevtutil_prints_them(corpus_dir: Path) -> None:
    # Given the real events of schannel_event_examples.jsonl, written as `wevtutil qe /f:xml` prints them
    events, result = read(DATA / "schannel-examples.wevtutil.xml")
    assert result.status == "ok"
    examples = [json.loads(line) for line in (corpus_dir / "evtx" / "schannel_event_examples.jsonl").open()]
    expected = [example for example in examples if example["payload_element"] == "EventData"]
    # Then every field, id, level and time comes out as the source recorded it (9 and 7 fractional digits)
    assert [(e.event_id, e.fields, e.computer) for e in events] == [
        (x["event_id"], x["event_data"], x["computer"]) for x in expected]
    for event, example in zip(events, expected):
        stamp = dt.datetime.fromisoformat(example["time_created"][:26] + "+00:00")
        assert event.time == pytest.approx(stamp.timestamp(), abs=1e-6)


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


def test_real_system_evtx_every_record(corpus_dir: Path) -> None:
    events, result = read(corpus_dir / "evtx" / "system.evtx")
    assert (result.form, result.status, result.events, len(events)) == ("evtx", "ok", 1881, 1881)
    first = events[0]
    assert (first.provider, first.event_id, first.record_id, first.computer) == (
        "EventLog", 6009, 1, "WIN-P4SIAA0SQCO")
    assert first.fields["Data2"] == "15063"  # unnamed Data in order
    assert Counter(event.provider for event in events)["Service Control Manager"] == 100
    assert all(meaning(event).kind == "other" for event in events)  # kept, not interpreted


def test_evtx_dump_json_lines_match_the_evtx(corpus_dir: Path, tmp_path: Path) -> None:
    from evtx import PyEvtxParser

    for name in ("system.evtx", "Microsoft-Windows-CAPI2-Operational.evtx"):
        # Given the JSON lines evtx_dump prints (the same Rust crate renders them)
        lines = tmp_path / f"{name}.jsonl"
        with lines.open("w") as out:
            for record in PyEvtxParser(str(corpus_dir / "evtx" / name)).records_json():
                out.write(json.dumps(json.loads(record["data"])) + "\n")
        from_json, result = read(lines)
        from_evtx, _ = read(corpus_dir / "evtx" / name)
        # Then both forms give the same events, field for field
        assert result.form == "jsonl" and result.status == "ok" and len(from_json) == len(from_evtx)
        for a, b in zip(from_json, from_evtx):
            assert (a.time, a.provider, a.event_id, a.level, a.computer, a.record_id, a.fields) == (
                b.time, b.provider, b.event_id, b.level, b.computer, b.record_id, b.fields)


def test_capi2_chain_events_are_certificate_evidence(corpus_dir: Path) -> None:
    events, result = read(corpus_dir / "evtx" / "Microsoft-Windows-CAPI2-Operational.evtx")
    assert (result.status, len(events)) == ("ok", 340)
    ids = Counter(event.event_id for event in events)
    assert (ids[11], ids[30]) == (42, 42)
    chain = next(event for event in events if event.event_id == 11)
    assert chain.fields["UserData"] == "CertGetCertificateChain"
    assert meaning(chain).kind == "certificate" and "certificate 'Microsoft Corporation'" in meaning(chain).text
    policy = next(event for event in events if event.event_id == 30)
    assert "policy CERT_CHAIN_POLICY_AUTHENTICODE; result OK" in meaning(policy).text
    revocation = [meaning(e).text for e in events if e.event_id == 11 and e.fields.get("ErrorStatus.value") == "40"]
    assert revocation and "CERT_TRUST_REVOCATION_STATUS_UNKNOWN" in revocation[0]


def test_bad_chunk_magic_keeps_every_readable_record(corpus_dir: Path) -> None:
    events, result = read(corpus_dir / "evtx" / "sample_with_a_bad_chunk_magic.evtx")
    assert result.status == "damaged" and len(events) == 270
    assert [problem.split(":")[0] for problem in result.problems] == ["damaged part skipped"] * 2
    assert "chunk number 6" in result.problems[0] and "chunk number 10" in result.problems[1]
    # A record whose template lost its TimeCreated falls back on the record header's time
    assert all(event.time > 1.5e9 for event in events)


def test_chunk_without_crc32_is_read_and_noted(corpus_dir: Path) -> None:
    events, result = read(corpus_dir / "evtx" / "Application_no_crc32.evtx")
    assert (result.status, len(events)) == ("ok", 17)
    assert result.notes == ["1 chunk(s) carry no CRC32 checksums: their records cannot be verified (read as they are)"]


def test_truncated_evtx_keeps_what_came_before_the_cut(corpus_dir: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.evtx"
    cut.write_bytes((corpus_dir / "evtx" / "system.evtx").read_bytes()[:70000])
    events, result = read(cut)
    assert result.status == "damaged" and len(events) == 108
    assert result.problems[0].startswith("truncated: the file ends inside chunk 2")


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
