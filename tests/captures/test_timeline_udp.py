"""Schannel events on QUIC connections (MsQuic runs its TLS in Schannel too, so 36888 and 36887 exist for them):
attributed, anchored and shown as for TCP, a QUIC flow named by its transport and udp.stream, never mixed up with
the TCP connection of the same stream number. Event logs are built from the seed's real export, as
tests/captures/test_timeline.py builds its own; times come from plain tshark.
"""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import pytest
from events_support import SEED, SEED_XML, events_of, timeline
from summarize_support import summarize_json
from udp_support import QUIC, QUIC_REFUSED, plain

from tsharkpost.commands.common import ExitCode

CLOSED = QUIC / "quic-largest-close-code.pcapng"  # established, then the client's transport CONNECTION_CLOSE
CLOSED_KEYS = QUIC / "quic-largest-close-code.keys"


def _xml_time(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def _generated(epoch: float, alert: int, target: str) -> str:
    """One 36888 (fatal alert generated) as the seed's System log export has it, at another time and alert."""
    line = SEED_XML.read_text().splitlines()[1]
    assert "<EventID>36888</EventID>" in line
    return (line.replace("2026-11-27T17:53:55.9116940Z", _xml_time(epoch))
            .replace("<Data Name='AlertDesc'>43</Data>", f"<Data Name='AlertDesc'>{alert}</Data>")
            .replace(">shop.example.net<", f">{target}<"))


def _frame_times(tshark: str, capture: Path, keys: Path | None = None) -> dict[int, float]:
    return {int(number): float(time) for number, time in plain(tshark, capture, "frame", "frame.number",
                                                                "frame.time_epoch", keys=keys)}


def test_a_quic_clients_36888_sits_before_its_crypto_error_close(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path, tshark: str) -> None:
    # Given plain tshark: the frame of the client's CONNECTION_CLOSE carrying alert 42, and the frame before it
    ((close_frame, alert),) = {tuple(row) for row in plain(tshark, QUIC_REFUSED, "quic.cc.error_code.tls_alert",
                                                           "frame.number", "quic.cc.error_code.tls_alert")}
    times = _frame_times(tshark, QUIC_REFUSED)
    close = int(close_frame)
    # and a 36888 for that alert logged 2 ms before the close, as Schannel logs it when MsQuic's client refuses
    log = tmp_path / "system.xml"
    log.write_text(_generated(times[close] - 0.002, int(alert), "quic.example.test") + "\n")
    code, document, _ = timeline(capsys, str(QUIC_REFUSED), "--events", str(log))
    # Then it belongs to the QUIC flow, named as summarize --connections names it, between the server's flight
    # and the close, the alert on the wire deciding
    assert code == ExitCode.OK
    (event,) = events_of(document)
    attribution = event["attribution"]
    assert attribution["connection"] == "quic-client-refuses-chain.pcapng:quic/0"
    assert (attribution["transport"], attribution["stream"]) == ("quic", 0)
    assert attribution["confidence"] == "high" and f"alert {alert} is on the wire" in attribution["reasons"]
    assert event["between"].startswith(f"between frame {close - 1} (")
    assert f"frame {close} (Alert fatal {alert} bad_certificate, quic-client-refuses-chain.pcapng:quic/0)" \
        in event["between"]
    assert {entry["where"] for entry in document["entries"] if entry["kind"] == "milestone"} == {
        "quic-client-refuses-chain.pcapng:quic/0"}


def test_a_generated_alert_without_one_on_the_wire_is_anchored_at_quics_connection_close(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, tshark: str) -> None:
    # Given plain tshark with the key log: the server's certificate and the client's CONNECTION_CLOSE (no alert)
    ((certificate,),) = plain(tshark, CLOSED, "tls.handshake.type == 11", "frame.number", keys=CLOSED_KEYS)
    ((close, error_code),) = plain(tshark, CLOSED, "quic.cc.error_code", "frame.number", "quic.cc.error_code",
                                   keys=CLOSED_KEYS)
    times = _frame_times(tshark, CLOSED)
    # and a 36888 for internal_error (80) logged between them, which never reached the wire
    log = tmp_path / "system.xml"
    log.write_text(_generated((times[int(certificate)] + times[int(close)]) / 2, 80, "quic.example.test") + "\n")
    code, document, _ = timeline(capsys, "--keylog", str(CLOSED_KEYS), str(CLOSED), "--events", str(log))
    # Then it is anchored between the server's flight and the client's CONNECTION_CLOSE, as a TCP one at a FIN
    assert code == ExitCode.OK
    (event,) = events_of(document)
    assert event["attribution"]["connection"] == "quic-largest-close-code.pcapng:quic/0"
    assert event["attribution"]["anchor"]["where"] == (
        f"between the server flight (frame {certificate}, certificate) and the client's CONNECTION_CLOSE in frame "
        f"{close}, no alert on the wire")
    milestones = [entry["what"] for entry in document["entries"] if entry["kind"] == "milestone"]
    assert milestones[-1] == f"CONNECTION_CLOSE 0x{int(error_code):04x}" and "HANDSHAKE_DONE" in milestones


def test_tcp_stream_0_and_quic_udp_stream_0_of_one_capture_keep_their_own_events(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, tshark: str) -> None:
    # Given the seed (TCP stream 0, its real 36888) and the refused QUIC chain (udp.stream 0) merged into one
    # capture, and a log with the seed's event and a 36888 for the QUIC client's alert
    mixed = tmp_path / "mix.pcapng"
    subprocess.run(["mergecap", "-w", str(mixed), str(SEED), str(QUIC_REFUSED)], check=True, capture_output=True)
    ((tcp_stream,),) = {tuple(row) for row in plain(tshark, mixed, "tcp && tls.handshake.type == 1", "tcp.stream")}
    ((udp_stream,),) = {tuple(row) for row in plain(tshark, mixed, "quic && tls.handshake.type == 1", "udp.stream")}
    assert tcp_stream == udp_stream == "0"  # the case: one number, two connections
    ((close_frame,),) = {tuple(row) for row in plain(tshark, mixed, "quic.cc.error_code.tls_alert", "frame.number")}
    times = _frame_times(tshark, mixed)
    log = tmp_path / "system.xml"
    seed_event = SEED_XML.read_text().splitlines()[1]
    log.write_text(seed_event + "\n" + _generated(times[int(close_frame)] - 0.002, 42, "quic.example.test") + "\n")
    # When summarize attaches the events to the records
    (tmp_path / "summary").mkdir()
    _, document = summarize_json(tmp_path / "summary", str(mixed), "--events", str(log))
    by_id = {(conn["transport"], conn["stream"]): conn for conn in document["connections"]}
    # Then each record has its own event only, though both are stream 0
    assert set(by_id) == {("tcp", 0), ("quic", 0)}
    assert [note["fields"]["TargetName"] for note in by_id[("tcp", 0)]["events"]] == ["shop.example.net"]
    assert [note["fields"]["TargetName"] for note in by_id[("quic", 0)]["events"]] == ["quic.example.test"]
    # And the timeline names the two connections apart
    _, timeline_document, _ = timeline(capsys, str(mixed), "--events", str(log))
    assert sorted(event["attribution"]["connection"] for event in events_of(timeline_document)) == [
        "mix.pcapng:0", "mix.pcapng:quic/0"]


def test_quics_retry_and_version_negotiation_are_named_on_the_timeline(capsys: pytest.CaptureFixture[str],
                                                                        tshark: str) -> None:
    retry, negotiation = QUIC / "quic-retry.pcapng", QUIC / "quic-version-negotiation-failed.pcapng"
    # Given plain tshark: the server's Retry (long header type 3) and Version Negotiation (version 0) and its list
    ((retry_frame,),) = plain(tshark, retry, "quic.long.packet_type == 3", "frame.number")
    ((vn_frame, offered),) = plain(tshark, negotiation, "quic.version == 0", "frame.number", "quic.supported_version")
    # When timeline reads both captures, then their entries name the packets as RFC 9000 does
    _, document, _ = timeline(capsys, str(retry), str(negotiation), "--events", str(SEED_XML))
    whats = {(entry["where"].split(":")[0], entry["frame"]): entry["what"] for entry in document["entries"]
             if entry["kind"] == "milestone"}
    assert whats[(retry.name, int(retry_frame))] == "Retry"
    assert whats[(negotiation.name, int(vn_frame))] == f"Version Negotiation 0x{int(offered, 16):08x}"
