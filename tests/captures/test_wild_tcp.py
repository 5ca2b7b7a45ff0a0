"""Issue 11's TCP and capture realities on captures made by real stacks (tests/data/wild, captures/wild.py).

Expected values come from plain tshark with the options that read each capture right (the oracle), never
from tsharkpost: what summarize reports must match what an independent reader of the bytes sees.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import DATA
from summarize_support import summarize_json

WILD = DATA / "wild"
OUT_OF_ORDER = "-o", "tcp.reassemble_out_of_order:TRUE"


def plain_tshark(tshark: str, capture: str, display_filter: str, *fields: str, options: tuple[str, ...] = ()) -> list[
        list[str]]:
    """Rows of plain tshark fields (no plugin, no tsharkpost code)."""
    argv = [tshark, "-n", "-r", str(WILD / capture), *options, "-Y", display_filter, "-T", "fields",
            *(arg for name in fields for arg in ("-e", name))]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def connections(tmp_path: Path, capture: str, *arguments: str) -> list[dict]:
    code, document = summarize_json(tmp_path, *arguments, str(WILD / capture))
    assert code in (0, 1)
    return sorted(document["connections"], key=lambda conn: conn["first_frame"])


def test_out_of_order_server_flight_is_reassembled(tmp_path: Path, tshark: str) -> None:
    # Given a TLS 1.2 capture whose server flight was split after the ServerHello, the second part sent first:
    # plain tshark finds the ServerHello only with out-of-order reassembly on
    capture = "out-of-order-server-flight.pcap"
    assert plain_tshark(tshark, capture, "tls.handshake.type == 2", "frame.number") == []
    assert plain_tshark(tshark, capture, "tls.handshake.type == 2", "frame.number", options=OUT_OF_ORDER) == [["7"]]
    # When summarize reads it
    (conn,) = connections(tmp_path, capture)
    # Then the handshake is whole, as tshark with reassembly shows it: established, nothing to explain
    assert conn["outcome"] == "established" and conn["causes"] == []
    assert conn["server_hello"]["frame"] == 7 and conn["version"] == "TLS 1.2"
    assert conn["zeek"]["ssl_history"] == "CsxknGIti"


def test_in_order_captures_are_read_once(tmp_path: Path, tshark: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the tshark runs summarize starts
    from tsharkpost.capture import tshark as ts
    runs: list[bool] = []
    real = ts.fields_argv

    def counting(tshark_: ts.Tshark, capture: Path, options: ts.Options, last_frame: int | None = None,
                 hidden: str | None = None) -> list[str]:
        runs.append(options.reassemble_out_of_order)
        return real(tshark_, capture, options, last_frame, hidden)

    monkeypatch.setattr(ts, "fields_argv", counting)
    # When it reads a capture without a gap, then one with the reordered flight
    connections(tmp_path, "port-reuse.pcapng", "--jobs", "1")
    assert runs == [False]
    runs.clear()
    connections(tmp_path, "out-of-order-server-flight.pcap", "--jobs", "1")
    # Then only the second is read again, with out-of-order reassembly (its cost is paid only where needed)
    assert runs == [False, True]


HELLO_RETRY_RANDOM = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"  # RFC 8446 4.1.3


def test_hello_retry_request_reads_both_hellos(tmp_path: Path, tshark: str) -> None:
    # Given TLS 1.3 with a HelloRetryRequest (client key share X25519, server only P-256): plain tshark shows
    # ClientHello, HRR + CCS, CCS + second ClientHello, then the ServerHello, all in the clear
    capture = "hello-retry-request.pcapng"
    rows = plain_tshark(tshark, capture, "tls.record.content_type == 22 || tls.record.content_type == 20",
                        "frame.number", "tls.record.content_type", "tls.handshake.type", "tls.handshake.random")
    assert [row[:3] for row in rows] == [["4", "22", "1"], ["6", "22,20", "2"], ["8", "20,22", "1"],
                                         ["9", "22", "2"]]
    assert rows[1][3] == HELLO_RETRY_RANDOM and rows[3][3] != HELLO_RETRY_RANDOM
    # When summarize reads it
    (conn,) = connections(tmp_path, capture)
    # Then Zeek's letters in wire order: C, j (HRR), i (server CCS), I (client CCS), C, s; the ServerHello read
    # is the real one (frame 9), and the connection is established
    assert conn["zeek"]["ssl_history"] == "CjiICs"
    assert conn["server_hello"]["frame"] == 9 and conn["version"] == "TLS 1.3"
    assert conn["server_hello"]["curve"] == "secp256r1"
    assert conn["outcome"] == "established" and conn["zeek"]["established"] is True
    assert [message["name"] for message in conn["messages"]][:6] == [
        "client_hello", "hello_retry_request", "change_cipher_spec", "change_cipher_spec", "client_hello",
        "server_hello"]


@pytest.mark.parametrize("capture, streams", [("port-reuse-same-stream.pcap", [0, 0]), ("port-reuse.pcapng", [0, 1])])
def test_reused_client_port_gives_each_connection_its_record(tmp_path: Path, tshark: str, capture: str,
                                                              streams: list[int]) -> None:
    # Given a SYN refused with RST, then 8 s later (past summarize's linger) a new SYN from the same client port
    # and a full TLS 1.2 handshake; plain tshark puts both in one tcp.stream when the new SYN has the refused
    # one's sequence number, in two otherwise
    syns = plain_tshark(tshark, capture, "tcp.flags.syn == 1 && tcp.flags.ack == 0", "frame.number", "tcp.stream")
    assert [int(stream) for _, stream in syns] == streams
    hello = plain_tshark(tshark, capture, "tls.handshake.type == 2", "frame.number")
    assert hello == [["8"]]
    # When summarize reads it
    first, second = connections(tmp_path, capture)
    # Then each connection is its own record: the refused one is no TLS, the second one is established
    assert (first["stream"], second["stream"]) == tuple(streams)
    assert first["client_port"] == second["client_port"] == 40250
    assert first["outcome"] == "not_tls" and first["first_frame"] == 1
    assert second["outcome"] == "established" and second["first_frame"] == 3
    assert second["server_hello"]["frame"] == 8 and second["zeek"]["ssl_history"] == "CsxknGIti"


def test_client_side_only_capture_is_incomplete_not_unanswered(tmp_path: Path, tshark: str) -> None:
    # Given a TLS 1.2 connection of which only the client's frames were kept: plain tshark shows the client
    # acknowledging server bytes and sending ChangeCipherSpec and application data, and no frame from the server
    capture = "client-side-only.pcapng"
    assert plain_tshark(tshark, capture, "tcp.srcport == 3252", "frame.number") == []
    acks = plain_tshark(tshark, capture, "tcp.dstport == 3252", "tcp.ack")
    assert max(int(ack) for (ack,) in acks) > 5000
    assert plain_tshark(tshark, capture, "tls.record.content_type == 23", "frame.number") != []
    # When summarize reads it
    (conn,) = connections(tmp_path, capture)
    # Then it is no failure: the server's side is missing from the capture, and the cause says only that
    assert conn["outcome"] == "capture_incomplete"
    (cause,) = conn["causes"]
    assert cause["kind"] == "capture_gap" and cause["summary"] == "the server's side is not in the capture"
    assert "none from the server" in cause["evidence"][0]


def test_capture_starting_at_close_notify_claims_no_flight(tmp_path: Path, tshark: str) -> None:
    # Given the end of a TLS 1.2 connection only: plain tshark shows two encrypted alerts (close_notify each
    # way), the FINs, and no SYN or handshake message
    capture = "starts-at-close-notify.pcapng"
    assert plain_tshark(tshark, capture, "tcp.flags.syn == 1 || tls.handshake", "frame.number") == []
    assert len(plain_tshark(tshark, capture, "tls.record.content_type == 21", "frame.number")) == 2
    # When summarize reads it
    (conn,) = connections(tmp_path, capture)
    # Then no verdict on a handshake it does not hold, and no cause speaking of a flight
    assert conn["outcome"] == "capture_incomplete"
    assert [cause["kind"] for cause in conn["causes"]] == ["capture_gap"]
    assert all("flight" not in cause["summary"] and "chain" not in cause["summary"] for cause in conn["causes"])


def test_plaintext_http_answer_is_named(tmp_path: Path, tshark: str) -> None:
    # Given openssl s_client pointed at a plain HTTP server: plain tshark shows the ClientHello in frame 4 and
    # the server's HTTP/1.1 400 in frame 6, and no TLS from the server
    capture = "plaintext-http-answer.pcapng"
    assert plain_tshark(tshark, capture, "tls.handshake.type == 1", "frame.number") == [["4"]]
    assert plain_tshark(tshark, capture, "http.response", "frame.number", "http.response.code") == [["6", "400"]]
    assert plain_tshark(tshark, capture, "tls && tcp.srcport == 3251", "frame.number") == []
    # When summarize reads it
    (conn,) = connections(tmp_path, capture)
    # Then it says what happened, with the status line as evidence
    assert conn["outcome"] == "server_answered_plaintext"
    (cause,) = conn["causes"]
    assert cause["kind"] == "plaintext_answer"
    assert cause["summary"] == "the server answered in plaintext (HTTP) - TLS client pointed at a non-TLS port"
    assert cause["evidence"] == ["frame 6: 'HTTP/1.1 400 Bad Request' from the server, after the ClientHello in "
                                 "frame 4"]


def test_tls_on_other_protocols_ports_is_found_without_decode_as(tmp_path: Path, tshark: str) -> None:
    # Given OpenSSL connections on 80 (HTTP's port), 6667 (IRC's) and 4433 (nobody's): plain tshark finds TLS
    # only on 4433 by itself (its heuristic runs on unclaimed ports only); with -d for 80 and 6667, on all three
    capture = "tls-on-other-ports.pcapng"
    hellos = "tls.handshake.type == 1 || tls.handshake.type == 2"
    fields = ("tcp.stream", "tcp.srcport", "tcp.dstport", "tls.handshake.type", "tls.handshake.extensions_server_name",
              "tls.handshake.ciphersuite", "tls.handshake.extensions.supported_version")
    assert {row[0] for row in plain_tshark(tshark, capture, hellos, *fields)} == {"2"}
    decode_as = ("-d", "tcp.port==80,tls", "-d", "tcp.port==6667,tls")
    rows = plain_tshark(tshark, capture, hellos, *fields, options=decode_as)
    oracle = {}
    for stream, src, dst, kinds, sni, suites, versions in rows:
        entry = oracle.setdefault(int(stream), {})
        if kinds.split(",")[0] == "1":
            entry.update(client_port=int(src), server_port=int(dst), sni=sni, offered=len(suites.split(",")))
        else:
            entry.update(suite=int(suites, 16), tls13=versions == "0x0304")
    assert [entry["server_port"] for _, entry in sorted(oracle.items())] == [80, 6667, 4433]
    # When summarize reads it without --decode-as
    found = connections(tmp_path, capture)
    # Then each connection is the one tshark reads with -d: ports, SNI, suites offered, version, suite, established
    names = {"0x1302": "TLS_AES_256_GCM_SHA384", "0xc02c": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}
    assert [(conn["stream"], conn["client_port"], conn["server_port"], conn["server_name"],
             conn["client_hello"]["cipher_suite_count"], conn["version"], conn["server_hello"]["cipher"],
             conn["outcome"]) for conn in found] == [
        (stream, entry["client_port"], entry["server_port"], entry["sni"], entry["offered"],
         "TLS 1.3" if entry["tls13"] else "TLS 1.2", names[f"0x{entry['suite']:04x}"], "established")
        for stream, entry in sorted(oracle.items())]
    # And with that --decode-as, summarize holds the same records
    folder = tmp_path / "decode-as"
    folder.mkdir()
    decoded = connections(folder, capture, "--decode-as", "tcp.port==80,tls", "--decode-as", "tcp.port==6667,tls")
    assert decoded == found


def test_decode_as_still_decides(tmp_path: Path, tshark: str) -> None:
    # Given the same capture, and --decode-as giving 6667 to HTTP (as plain tshark with that -d reads no TLS there)
    capture = "tls-on-other-ports.pcapng"
    assert plain_tshark(tshark, capture, "tls && tcp.port == 6667", "frame.number",
                        options=("-d", "tcp.port==6667,http")) == []
    # When summarize reads it with that option, then the user's choice wins over the hello on 6667,
    # while TLS on 80 and 4433 is still found
    found = connections(tmp_path, capture, "--decode-as", "tcp.port==6667,http")
    assert [(conn["server_port"], conn["outcome"]) for conn in found] == [
        (80, "established"), (6667, "not_tls"), (4433, "established")]
