"""timeline with the real CAPI2 and damaged .evtx logs of ../shared/corpus/evtx."""

from __future__ import annotations

from pathlib import Path

import pytest
from events_support import BETWEEN, SEED, SEED_XML, events_of, timeline

from tsharkpost.commands.common import ExitCode


def test_capi2_chain_event_is_certificate_evidence(capsys: pytest.CaptureFixture[str], corpus_dir: Path,
                                                   tmp_path: Path, tshark: str) -> None:
    from evtx import PyEvtxParser

    # Given a real CAPI2 chain-policy event, moved onto the seed's handshake
    record = next(r for r in PyEvtxParser(str(corpus_dir / "evtx" / "Microsoft-Windows-CAPI2-Operational.evtx"))
                  .records() if "<EventID>30</EventID>" in r["data"])
    start = record["data"].index('SystemTime="') + len('SystemTime="')
    data = record["data"][:start] + "2026-11-27T17:53:55.911000Z" + record["data"][record["data"].index('"', start):]
    capi2 = tmp_path / "capi2.xml"
    capi2.write_text(data.split("?>", 1)[1])
    code, document, _ = timeline(capsys, str(SEED), "--events", str(capi2))
    assert code == ExitCode.OK
    (event,) = events_of(document)
    assert event["what"].startswith("CAPI2 30 CertVerifyCertificateChainPolicy; certificate 'Microsoft Corporation'")
    assert event["attribution"]["connection"] == "md2-root-silent-fin.pcapng:0"
    assert "the server sent a chain" in event["attribution"]["reasons"]
    # The real log itself is from 2017: far from the capture, counted, not shown
    _, document, _ = timeline(capsys, str(SEED), "--events", str(corpus_dir / "evtx" /
                                                                  "Microsoft-Windows-CAPI2-Operational.evtx"))
    assert document["events_outside"] == 340 and events_of(document) == []
    assert document["logs"][0]["events"] == 340


def test_bad_logs_are_one_line_each_and_the_rest_goes_on(capsys: pytest.CaptureFixture[str], corpus_dir: Path,
                                                          tmp_path: Path, tshark: str) -> None:
    garbage = tmp_path / "notes.xml"
    garbage.write_text("<Event><System>")
    code, document, err = timeline(capsys, str(SEED), "--events", str(tmp_path / "missing.evtx"), str(garbage),
                                   str(corpus_dir / "evtx" / "sample_with_a_bad_chunk_magic.evtx"), str(SEED_XML))
    assert code == ExitCode.INPUT_ERROR and "Traceback" not in err
    lines = err.splitlines()
    assert f"tsharkpost: ERROR: {tmp_path / 'missing.evtx'}: no such file" in lines
    assert any(line.startswith(f"tsharkpost: ERROR: {garbage}: malformed or truncated XML") for line in lines)
    assert sum("damaged part skipped" in line for line in lines) == 7   # 5 zeroed chunks, 2 the parser names
    assert [log["status"] for log in document["logs"]] == ["error", "error", "damaged", "ok"]
    assert events_of(document)[0]["between"] == BETWEEN
