"""Issue 11 on Zeek's traces (../shared/corpus/zeek, read in place): plaintext answers, TLS 1.3 drafts."""

from __future__ import annotations

import subprocess
from pathlib import Path

from summarize_support import summarize_json


def test_https_to_http_names_the_plaintext_answer(tmp_path: Path, corpus_dir: Path, tshark: str) -> None:
    # Given Zeek's https-to-http.pcap: a ClientHello to port 80, answered by an HTML error page (plain tshark
    # with TLS decoded on port 80: ClientHello in frame 4, the server's payload in frame 6 is not TLS)
    trace = corpus_dir / "zeek" / "https-to-http.pcap"
    shown = subprocess.run([tshark, "-n", "-r", str(trace), "-d", "tcp.port==80,tls", "-Y", "tcp.len > 0",
                            "-T", "fields", "-e", "frame.number", "-e", "tls.handshake.type", "-e", "tcp.srcport"],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    assert shown[:2] == ["4\t1\t50382", "6\t\t80"]
    # When summarize reads it with the same decode-as
    _, document = summarize_json(tmp_path, "--decode-as", "tcp.port==80,tls", str(trace))
    (conn,) = document["connections"]
    # Then the plaintext answer is named, not a silent server
    assert conn["outcome"] == "server_answered_plaintext"
    assert conn["causes"][0]["summary"] == ("the server answered in plaintext (HTTP) - TLS client pointed at a "
                                            "non-TLS port")
    assert conn["causes"][0]["evidence"] == ["frame 6: '<!DOCTYPE HTML>' from the server, after the ClientHello "
                                             "in frame 4"]

