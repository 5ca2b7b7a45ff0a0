"""A peer that sends alerts without end cannot grow a record without bound.

Each alert record is seven bytes, and the plugin finds something in every fatal one: a 154 KB capture of 20,000
fatal alerts made a 5.9 MB record (20,000 alerts, 20,000 findings, a 20,002-letter ssl_history), and a capture a
hundred times that size would have held every one of them in memory. A connection now keeps its first alerts and
findings and counts the rest; its ssl_history stops where Zeek's does.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
from conftest import REPO
from handshake_support import client_hello, record, server_hello, tcp_frame, write_pcap
from summarize_support import summarize_json

from tsharkpost.capture.tracker import MAX_ALERTS, MAX_FINDINGS, MAX_HISTORY
from tsharkpost.commands.common import ExitCode

SCHEMA = json.loads((REPO / "tsharkpost" / "schema" / "summary.schema.json").read_text())
CLIENT, SERVER = ("10.0.0.1", 50000), ("10.0.0.2", 443)
ALERTS_PER_FRAME = 100


def alert_storm(path: Path, alerts: int, level: int = 2, last: bytes = b"") -> Path:
    """A ClientHello, a ServerHello, then `alerts` bad_certificate alerts of `level` from the server, 100 a frame,
    and `last` (records) in a frame of its own."""
    hello = record(22, client_hello(b"storm.example.net", [0x0401]))
    frames = [tcp_frame(CLIENT, SERVER, 1, 1, hello)]
    sent = record(22, server_hello())
    frames.append(tcp_frame(SERVER, CLIENT, 1, 1 + len(hello), sent))
    seq = 1 + len(sent)
    burst = record(21, bytes([level, 42])) * ALERTS_PER_FRAME
    for _ in range(alerts // ALERTS_PER_FRAME):
        frames.append(tcp_frame(SERVER, CLIENT, seq, 1 + len(hello), burst))
        seq += len(burst)
    if last:
        frames.append(tcp_frame(SERVER, CLIENT, seq, 1 + len(hello), last))
    return write_pcap(path, frames)


def test_an_alert_storm_is_counted_past_the_caps(tmp_path: Path, tshark: str) -> None:
    # Given 5,000 fatal alerts from the server, as plain tshark reads them
    capture = alert_storm(tmp_path / "storm.pcap", 5000)
    read = subprocess.run([tshark, "-n", "-r", str(capture), "-T", "fields", "-E", "occurrence=a", "-E",
                           "aggregator=,", "-e", "tls.alert_message.desc"], capture_output=True, text=True,
                          check=True).stdout.split()
    descriptions = [code for line in read for code in line.split(",")]
    assert len(descriptions) == 5000 and set(descriptions) == {"42"}
    # When summarize reads it
    code, document = summarize_json(tmp_path, str(capture))
    jsonschema.validate(document, SCHEMA)
    (conn,) = document["connections"]
    # Then the first alerts (and the latest, Zeek's last_alert) and the first findings are kept, the rest counted,
    # every one accounted for
    assert code == ExitCode.OK
    assert len(conn["alerts"]) == MAX_ALERTS + 1 and conn["alerts_left_out"] == 5000 - MAX_ALERTS - 1
    assert conn["alerts"][-1]["frame"] == 2 + 5000 // ALERTS_PER_FRAME
    assert conn["alerts"][0]["name"] == "bad_certificate" and conn["alerts"][0]["frame"] == 3
    assert len(conn["findings"]) + conn["findings_left_out"] == 5000 and len(conn["findings"]) == MAX_FINDINGS
    # And the verdict still rests on the first fatal alert, while ssl_history stops at Zeek's length
    assert conn["outcome"] == "server_fatal_alert"
    assert len(conn["zeek"]["ssl_history"]) == MAX_HISTORY
    assert conn["zeek"]["ssl_history"].startswith("Cs" + "l" * 10)


def test_the_alert_an_outcome_rests_on_is_kept_past_the_cap(tmp_path: Path, tshark: str) -> None:
    # Given 200 warning alerts from the server, then its fatal handshake_failure in a frame of its own
    capture = alert_storm(tmp_path / "warnings.pcap", 200, level=1, last=record(21, bytes([2, 40])))
    # When summarize reads it
    code, document = summarize_json(tmp_path, str(capture))
    (conn,) = document["connections"]
    # Then the fatal alert is kept beside the first warnings, and the outcome and cause rest on it
    assert code == ExitCode.OK
    assert len(conn["alerts"]) == MAX_ALERTS + 1 and conn["alerts_left_out"] == 200 - MAX_ALERTS
    assert conn["alerts"][-1]["name"] == "handshake_failure" and conn["alerts"][-1]["level"] == 2
    assert conn["outcome"] == "server_fatal_alert" and conn["zeek"]["last_alert"] == "handshake_failure"


def test_the_latest_plaintext_alert_stays_the_last_alert(tmp_path: Path, tshark: str) -> None:
    # Given 100 fatal alerts from the server, then 100 warning close_notify alerts (level 1, code 0)
    capture = alert_storm(tmp_path / "fatal-then-warnings.pcap", 100,
                          last=record(21, bytes([1, 0])) * ALERTS_PER_FRAME)
    # When summarize reads it
    code, document = summarize_json(tmp_path, str(capture))
    (conn,) = document["connections"]
    # Then the record keeps the first alerts and the latest, which stays Zeek's last_alert, and counts the rest
    assert code == ExitCode.OK
    assert len(conn["alerts"]) == MAX_ALERTS + 1 and conn["alerts_left_out"] == 200 - MAX_ALERTS - 1
    assert [alert["name"] for alert in conn["alerts"]] == ["bad_certificate"] * MAX_ALERTS + ["close_notify"]
    assert conn["alerts"][-1]["frame"] == conn["alerts"][-2]["frame"] + 1
    assert conn["zeek"]["last_alert"] == "close_notify" and conn["outcome"] == "server_fatal_alert"
