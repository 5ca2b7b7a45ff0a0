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


DRAFTS = {"tls13draft16-chrome55.0.2879.0-canary.pcap": "TLSv13-draft14", "tls13draft16-ff52.a01.pcap":
          "TLSv13-draft16", "tls-13draft19-early-data.pcap": "TLSv13-draft19",
          "tls13draft23-chrome67.0.3368.0-canary.pcap": "TLSv13-draft23"}


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def test_tls13_drafts_are_named_and_nothing_is_a_bare_unknown(tmp_path: Path, corpus_dir: Path, tshark: str) -> None:
    # Given Zeek's pre-standard TLS 1.3 traces (ServerHello versions 0x7f0e .. 0x7f17)
    traces = [str(corpus_dir / "zeek" / name) for name in DRAFTS]
    # When summarize reads them
    _, document = summarize_json(tmp_path, *traces)
    # Then each TLS connection names its draft as Zeek does (the version Zeek's ssl.log has for the trace), the
    # record spells it "TLS 1.3 draft N", and no field anywhere is a bare "Unknown"
    tls = [conn for conn in document["connections"] if conn["server_hello"]]
    assert len(tls) >= 6
    for conn in tls:
        expected = DRAFTS[Path(conn["capture"]).name]
        assert conn["zeek"]["version"] == expected
        assert conn["version"] == f"TLS 1.3 draft {expected.rsplit('draft', 1)[1]}"
    assert not [text for text in _strings(document["connections"]) if text.strip().lower() == "unknown"]


def test_out_of_order_server_hello_in_the_corpus_is_read(tmp_path: Path, corpus_dir: Path, tshark: str) -> None:
    # Given Zeek's psql-aws-ssl-preferred.pcap: plain tshark finds its ServerHello (frame 10) only with
    # out-of-order reassembly
    trace = corpus_dir / "zeek" / "psql-aws-ssl-preferred.pcap"

    def server_hellos(reassemble: str) -> str:
        return subprocess.run([tshark, "-n", "-r", str(trace), "-o", f"tcp.reassemble_out_of_order:{reassemble}",
                               "-Y", "tls.handshake.type == 2", "-T", "fields", "-e", "frame.number"],
                              capture_output=True, text=True, check=True).stdout.split()

    assert (server_hellos("FALSE"), server_hellos("TRUE")) == ([], ["10"])
    # When summarize reads it
    _, document = summarize_json(tmp_path, str(trace))
    (conn,) = document["connections"]
    # Then the handshake is read whole (it was an "encrypted alert in the handshake" without the ServerHello)
    assert conn["server_hello"]["frame"] == 10
    assert conn["outcome"] == "established" and conn["zeek"]["ssl_history"] == "CsxkrnXGIi"


def test_a_lost_segment_after_starttls_keeps_the_servers_tls_in_wireshark(corpus_dir: Path, tshark: str,
                                                                          plugin: Path) -> None:
    # Given the same trace read as an analyst reads it (one pass, no out-of-order reassembly): PostgreSQL hands the
    # connection to TLS, and the server's first TLS segment (frame 9) follows a lost one, so it starts mid-record
    trace = corpus_dir / "zeek" / "psql-aws-ssl-preferred.pcap"

    def tls_frames(*plugin_args: str) -> list[str]:
        return subprocess.run([tshark, "-n", "-r", str(trace), *plugin_args, "-Y", "tls", "-T", "fields",
                               "-e", "frame.number"], capture_output=True, text=True, check=True).stdout.split()

    plain = tls_frames()
    assert "9" in plain and "16" in plain   # plain tshark: continuation data, then the server's CCS and Finished
    # When the plugin is loaded
    with_plugin = tls_frames("-X", f"lua_script:{plugin}")
    notes = subprocess.run([tshark, "-n", "-r", str(trace), "-X", f"lua_script:{plugin}", "-Y", "tpost.check",
                            "-T", "fields", "-e", "frame.number", "-e", "tpost.check"],
                           capture_output=True, text=True, check=True).stdout.split()
    # Then the server's side stays TLS, frame for frame as without it (TLS found by content used to decline frame 9,
    # and PostgreSQL's dissector then waited for the rest of a message of its own: no TLS from the server after
    # it), and the client's closing alert is not taken for a failed handshake
    assert with_plugin == plain
    assert notes == []
