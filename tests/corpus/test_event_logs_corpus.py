"""Event log readers on real third-party logs (../shared/corpus/evtx): System, CAPI2, damaged files, Schannel examples."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import DATA
from events_support import read

from tsharkpost.events.interpret import meaning


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
    assert [problem.split(":")[0] for problem in result.problems] == ["damaged part skipped"] * 7
    # Chunks 1-5 are zero bytes throughout before chunks in use (the parser skips those without a word), and the
    # parser's own complaints name chunks 6 and 10 (zero headers, data after them); the zero chunks after the last
    # one in use (11-15) are the file's unused space
    assert [f"chunk number {n} is zero bytes throughout" in problem
            for n, problem in zip(range(1, 6), result.problems)] == [True] * 5
    assert "chunk number 6" in result.problems[5] and "chunk number 10" in result.problems[6]
    # A record whose template lost its TimeCreated falls back on the record header's time
    assert all(event.time > 1.5e9 for event in events)


def test_a_zeroed_chunk_among_used_ones_is_damage_not_silence(corpus_dir: Path, tmp_path: Path) -> None:
    # Given a real log with its third chunk (number 2) overwritten with zero bytes: the parser skips it silently
    whole = (corpus_dir / "evtx" / "system.evtx").read_bytes()
    zeroed = bytearray(whole)
    start = 4096 + 65536 * 2
    zeroed[start:start + 65536] = bytes(65536)
    damaged = tmp_path / "zeroed.evtx"
    damaged.write_bytes(zeroed)
    all_events, _ = read(corpus_dir / "evtx" / "system.evtx")
    events, result = read(damaged)
    # Then the events of the other chunks are read, and the lost chunk is said
    assert 0 < len(events) < len(all_events)
    assert result.status == "damaged"
    assert result.problems == ["damaged part skipped: chunk number 2 is zero bytes throughout, though a later chunk "
                               "is in use: nothing in it could be read"]


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
