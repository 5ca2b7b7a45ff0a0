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


def alert_storm(path: Path, alerts: int) -> Path:
    """A ClientHello, a ServerHello, then `alerts` fatal bad_certificate alerts from the server, 100 a frame."""
    hello = record(22, client_hello(b"storm.example.net", [0x0401]))
    frames = [tcp_frame(CLIENT, SERVER, 1, 1, hello)]
    sent = record(22, server_hello())
    frames.append(tcp_frame(SERVER, CLIENT, 1, 1 + len(hello), sent))
    seq = 1 + len(sent)
    burst = record(21, bytes([2, 42])) * ALERTS_PER_FRAME
    for _ in range(alerts // ALERTS_PER_FRAME):
        frames.append(tcp_frame(SERVER, CLIENT, seq, 1 + len(hello), burst))
        seq += len(burst)
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
    # Then the first alerts and findings are kept and the rest counted, every one accounted for
    assert code == ExitCode.OK
    assert len(conn["alerts"]) == MAX_ALERTS and conn["alerts_left_out"] == 5000 - MAX_ALERTS
    assert conn["alerts"][0]["name"] == "bad_certificate" and conn["alerts"][0]["frame"] == 3
    assert len(conn["findings"]) + conn["findings_left_out"] == 5000 and len(conn["findings"]) == MAX_FINDINGS
    # And the verdict still rests on the first fatal alert, while ssl_history stops at Zeek's length
    assert conn["outcome"] == "server_fatal_alert"
    assert len(conn["zeek"]["ssl_history"]) == MAX_HISTORY
    assert conn["zeek"]["ssl_history"].startswith("Cs" + "l" * 10)
