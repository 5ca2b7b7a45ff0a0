"""summarize on DTLS and QUIC captures made by real stacks (captures/dtls-*: OpenSSL; captures/quic-*: aioquic).

Each flow is one record keyed by udp.stream, its transport named; hellos, chains (DTLS in the clear, QUIC with
the key log), alerts and outcomes as for TCP. Expected values come from plain tshark (no plugin), never from
tsharkpost itself.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import subprocess
from pathlib import Path

import jsonschema
import pytest
from conftest import CAPTURES, REPO
from plugin_support import run_tshark
from summarize_support import summarize_json

from tsharkpost.capture import tshark as ts
from tsharkpost.capture.analyze import LINGER_SECONDS
from tsharkpost.capture.fields_reader import packets
from tsharkpost.capture.tracker import ConnectionTracker
from tsharkpost.plugin import messages

SCHEMA = json.loads((REPO / "tsharkpost" / "schema" / "summary.schema.json").read_text())
QUIC = DTLS = CAPTURES


def _plain(tshark: str, capture: Path, display_filter: str, *fields: str, keys: Path | None = None) -> list[list[str]]:
    argv = [tshark, "-n", "-r", str(capture), *(("-o", f"tls.keylog_file:{keys}") if keys else ()),
            "-Y", display_filter, "-T", "fields", *(arg for name in fields for arg in ("-e", name))]
    return [line.split("\t") for line in
            subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()]


def _only(tmp_path: Path, *arguments: str) -> dict:
    _, document = summarize_json(tmp_path, *arguments)
    jsonschema.validate(document, SCHEMA)
    (conn,) = document["connections"]
    return conn


def _sha256(der: str) -> str:
    return hashlib.sha256(bytes.fromhex(der.replace(":", ""))).hexdigest()


@pytest.mark.parametrize("with_keys", [False, True], ids=["no-keys", "key-log"])
def test_a_quic_client_refusing_the_chain_is_a_client_crypto_error(tshark: str, tmp_path: Path,
                                                                    with_keys: bool) -> None:
    capture, keys = QUIC / "quic-client-refuses-chain.pcapng", QUIC / "quic-client-refuses-chain.keys"
    # Given plain tshark: the ClientHello's stream and port, the close's frame, error code and alert
    ((stream, port, hello_frame),) = _plain(tshark, capture, "tls.handshake.type == 1", "udp.stream",
                                            "udp.srcport", "frame.number")
    ((close_frame, sender_port, alert),) = {tuple(row) for row in _plain(
        tshark, capture, "quic.cc.error_code.tls_alert", "frame.number", "udp.srcport",
        "quic.cc.error_code.tls_alert")}
    ders = _plain(tshark, capture, "tls.handshake.type == 11", "tls.handshake.certificate", keys=keys)
    assert sender_port == port and alert.split(",")[0] == "42"  # the client sent bad_certificate
    # and whether the server's Handshake packets (long header type 2) stay undecrypted (quic.remaining_payload)
    sealed = _plain(tshark, capture, f"udp.srcport != {port} && quic.long.packet_type == 2 && quic.remaining_payload",
                    "frame.number", keys=keys if with_keys else None)
    assert bool(sealed) is not with_keys
    # When summarize reads it (the chain is in Handshake packets: only the key log opens them)
    conn = _only(tmp_path, *(("--keylog", str(keys)) if with_keys else ()), str(capture))
    # Then one QUIC record, keyed by udp.stream, ends in the client's CRYPTO_ERROR, named from the alert
    assert (conn["transport"], conn["stream"], conn["client_port"]) == ("quic", int(stream), int(port))
    assert conn["client_hello"]["frame"] == int(hello_frame)
    assert (conn["outcome"], conn["established"]) == ("client_crypto_error", False)
    assert [(a["sender"], a["code"], a["name"], a["frame"]) for a in conn["alerts"]] == [
        ("client", 42, "bad_certificate", int(close_frame))]
    assert (conn["teardown"]["kind"], conn["teardown"]["by"], conn["teardown"]["frame"]) == (
        "CONNECTION_CLOSE", "client", int(close_frame))
    said = messages.say("quic_crypto_error.text", side="client", error="0x012a", code=42, name="bad_certificate",
                        frame=int(close_frame))
    assert said in [evidence for cause in conn["causes"] for evidence in cause["evidence"]]
    # and the chain is read with the key log only, certificate by certificate as tshark decrypts it
    expected = [_sha256(der) for der in ders[0][0].split(",")] if with_keys else []
    assert [cert["sha256"] for cert in conn["certificates"]] == expected
    # and without it the chain is said to be encrypted (give a key log), not missing
    assert conn["chain_encrypted"] is not with_keys
    assert ders and len(ders[0][0].split(",")) >= 1


def test_a_quic_server_refusing_alpn_is_a_server_crypto_error(tshark: str, tmp_path: Path) -> None:
    capture = QUIC / "quic-server-refuses-alpn.pcapng"
    ((frame, alert),) = _plain(tshark, capture, "quic.cc.error_code.tls_alert", "frame.number",
                               "quic.cc.error_code.tls_alert")
    ((server_port,),) = _plain(tshark, capture, "quic.cc.error_code.tls_alert", "udp.srcport")
    conn = _only(tmp_path, str(capture))
    assert (conn["transport"], conn["outcome"], conn["server_port"]) == ("quic", "server_crypto_error",
                                                                        int(server_port))
    assert [(a["sender"], a["code"], a["frame"]) for a in conn["alerts"]] == [("server", int(alert), int(frame))]
    assert conn["causes"][0]["summary"].startswith("no_application_protocol: ")


def test_the_quic_good_twin_is_established_by_its_1rtt_packets(tshark: str, tmp_path: Path) -> None:
    capture = QUIC / "quic-good-twin.pcapng"
    # Given plain tshark: the first short-header (1-RTT) packet of each port
    first: dict[str, int] = {}
    for frame, port in _plain(tshark, capture, "quic.header_form == 0", "frame.number", "udp.srcport"):
        first.setdefault(port, int(frame))
    assert len(first) == 2
    # Then without keys the record is established (HANDSHAKE_DONE is encrypted; 1-RTT both ways is not)
    conn = _only(tmp_path, str(capture))
    assert (conn["transport"], conn["outcome"], conn["established"], conn["version"]) == (
        "quic", "established", True, "TLS 1.3")
    assert (conn["first_application_data_frame"]["client"], conn["first_application_data_frame"]["server"]) == (
        first[str(conn["client_port"])], first[str(conn["server_port"])])


def test_a_dtls_client_refusing_the_chain_is_a_client_fatal_alert(tshark: str, tmp_path: Path) -> None:
    capture = DTLS / "dtls-client-refuses-chain.pcapng"
    ((alert_frame, port, code),) = _plain(tshark, capture, "dtls.alert_message", "frame.number", "udp.srcport",
                                          "dtls.alert_message.desc")
    ((der,),) = _plain(tshark, capture, "dtls.handshake.type == 11", "dtls.handshake.certificate")
    ((version,),) = _plain(tshark, capture, "dtls.handshake.type == 2", "dtls.handshake.version")
    conn = _only(tmp_path, str(capture))
    assert (conn["transport"], conn["client_port"], conn["outcome"]) == ("udp-dtls", int(port), "client_fatal_alert")
    assert version == "0xfefd" and conn["version"] == "DTLS 1.2"
    assert [(a["sender"], a["code"], a["frame"]) for a in conn["alerts"]] == [("client", int(code), int(alert_frame))]
    assert [cert["sha256"] for cert in conn["certificates"]] == [_sha256(der)]
    assert conn["zeek"]["version"] == "DTLSv12"


def test_a_dtls_cookie_never_answered_and_a_silent_server(tshark: str, tmp_path: Path) -> None:
    capture = DTLS / "dtls-cookie-never-answered.pcapng"
    ((verify_frame, verify_time),) = _plain(tshark, capture, "dtls.handshake.type == 3", "frame.number",
                                            "frame.time_epoch")
    last_time = _plain(tshark, capture, "frame", "frame.time_epoch")[-1][0]
    # (--udp-timeout 0: judged at the capture's end; tests/captures/test_udp_timeout.py holds the timeout)
    conn = _only(tmp_path, "--udp-timeout", "0", str(capture))
    assert (conn["transport"], conn["outcome"], conn["teardown"]) == ("udp-dtls", "hello_verify_unanswered", None)
    # The seconds from the HelloVerifyRequest (the flow's last frame) to the capture's last frame are evidence
    seconds = f"{float(last_time) - float(verify_time):.3f}".rstrip("0").rstrip(".")
    assert conn["causes"][0]["summary"] == messages.template("cause.hello_verify_unanswered")
    assert conn["causes"][0]["evidence"] == [messages.say("evidence.hello_verify_unanswered",
                                                          frame=int(verify_frame), seconds=seconds)]
    # Given the same capture cut after the client's first datagram (editcap, plain Wireshark tooling)
    cut = tmp_path / "client-only.pcapng"
    subprocess.run(["editcap", "-r", str(capture), str(cut), "1"], check=True, capture_output=True)
    (tmp_path / "cut").mkdir()
    conn = _only(tmp_path / "cut", "--udp-timeout", "0", str(cut))
    # Then no server answer at all: UDP has no FIN, so the capture's end is the only limit named
    assert (conn["outcome"], conn["causes"][0]["summary"]) == (
        "no_server_response", messages.template("cause.no_server_response_udp_capture"))
    assert conn["causes"][0]["evidence"] == [messages.say("evidence.no_server_response_udp", frame=1, seconds="0",
                                                          count=1)]


def test_the_dtls_good_twin_is_established_and_counts_its_data(tshark: str, tmp_path: Path) -> None:
    capture = DTLS / "dtls-good-twin.pcapng"
    sent: dict[str, int] = {}
    for port, types, lengths in _plain(tshark, capture, "dtls.record.content_type == 23", "udp.srcport",
                                       "dtls.record.content_type", "dtls.record.length"):
        for kind, length in zip(types.split(","), lengths.split(",")):
            if kind == "23":
                sent[port] = sent.get(port, 0) + int(length)
    conn = _only(tmp_path, str(capture))
    assert (conn["transport"], conn["outcome"], conn["established"]) == ("udp-dtls", "established", True)
    assert conn["application_data_bytes"] == {"client": sent.get(str(conn["client_port"]), 0),
                                              "server": sent.get(str(conn["server_port"]), 0)}
    assert sent  # the twin sends data


def test_tcp_records_say_tcp(tmp_path: Path) -> None:
    _, document = summarize_json(tmp_path, str(CAPTURES / "known-good-twin.pcapng"))
    jsonschema.validate(document, SCHEMA)
    assert {conn["transport"] for conn in document["connections"]} == {"tcp"}


def test_other_udp_traffic_gets_no_bridge_line(tshark: str, plugin: Path, corpus_dir: Path) -> None:
    # Given Zeek's WebRTC trace: STUN datagrams on the same ports as DTLS (plain tshark tells them apart)
    capture = corpus_dir / "zeek" / "webrtc-stun.pcap"
    stun = {row[0] for row in _plain(tshark, capture, "stun", "frame.number")}
    assert stun
    # Then the plugin writes its packet line on none of them
    lines = run_tshark(tshark, plugin, capture, "-o", "tpost.bridge:TRUE", "-Y", "tpost.pkt", "-T", "fields",
                       "-e", "frame.number", "-e", "tpost.pkt").splitlines()
    framed = {line.split("\t")[0] for line in lines}
    assert framed and not (framed & stun)
    assert all(line.split("\t")[1].startswith("d") for line in lines)


def test_a_closed_quic_flow_leaves_the_tracker_an_open_dtls_flow_stays(tshark: str, tmp_path: Path) -> None:
    # Given the QUIC refusal and, 20 minutes after its last datagram, the DTLS twin (established, never closed: UDP
    # has no FIN), moved in time (editcap -t) and merged in time order (mergecap: plain Wireshark tooling), and
    # plain tshark's stream of each
    quic = QUIC / "quic-client-refuses-chain.pcapng"
    twin, later, merged = DTLS / "dtls-good-twin.pcapng", tmp_path / "later.pcapng", tmp_path / "merged.pcapng"
    ((quic_end,),) = _plain(tshark, quic, "quic", "frame.time_epoch")[-1:]
    ((twin_start,),) = _plain(tshark, twin, "dtls", "frame.time_epoch")[:1]
    shift = float(quic_end) - float(twin_start) + 1200
    subprocess.run(["editcap", "-t", f"{shift:.6f}", str(twin), str(later)], check=True)
    subprocess.run(["mergecap", "-w", str(merged), str(quic), str(later)], check=True)
    ((quic_stream, quic_last),) = {(row[0], row[1]) for row in _plain(tshark, merged, "quic", "udp.stream",
                                                                      "frame.time_epoch")[-1:]}
    dtls = _plain(tshark, merged, "dtls", "udp.stream", "frame.time_epoch")
    assert {row[0] for row in dtls} != {quic_stream} and float(dtls[0][1]) - float(quic_last) > LINGER_SECONDS
    # When its packets go through the tracker, swept as analyze sweeps them
    argv = ts.fields_argv(ts.locate(tshark), merged, ts.Options())
    out = subprocess.run(argv, capture_output=True, check=True).stdout
    tracker = ConnectionTracker(str(merged))
    swept: list[tuple[str, int, float]] = []
    for packet in packets(io.BytesIO(out)):
        tracker.add(packet)
        swept += [(conn.transport, conn.stream, packet.time) for conn in tracker.sweep(packet.time, LINGER_SECONDS)]
    # Then the QUIC flow, closed with CRYPTO_ERROR, left at the first later datagram; the DTLS flow stayed
    assert swept == [("quic", int(quic_stream), float(dtls[0][1]))]
    assert [conn.key for conn in tracker.finish()] == [("udp-dtls", int(dtls[0][0]))]


def test_the_bridge_line_of_quic_frames_holds_what_plain_tshark_reads(tshark: str, plugin: Path) -> None:
    capture, keys = QUIC / "quic-good-twin.pcapng", QUIC / "quic-good-twin.keys"
    # Given plain tshark (with the key log): each frame's stream, ports, short headers, HANDSHAKE_DONE and closes
    plain = {row[0]: row[1:] for row in _plain(tshark, capture, "quic", "frame.number", "udp.stream", "udp.srcport",
                                                "udp.dstport", "quic.header_form", "quic.frame_type", keys=keys)}
    # When the plugin writes its lines
    lines = run_tshark(tshark, plugin, capture, "-o", f"tls.keylog_file:{keys}", "-o", "tpost.bridge:TRUE",
                       "-Y", "tpost.pkt", "-T", "fields", "-e", "frame.number", "-e", "tpost.pkt").splitlines()
    assert len(lines) >= 3
    for line in lines:
        frame, pkt = line.split("\t")
        stream, src, srcport, dst, dstport, flags = pkt.split()[:6]
        udp_stream, sport, dport, forms, types = plain[frame]
        # Then the stream is udp.stream after QUIC's letter, the ports are UDP's, and the flags are its packets'
        assert (stream, srcport, dstport) == ("q" + udp_stream, sport, dport)
        assert ("o" in flags) == ("0" in forms.split(","))
        assert ("h" in flags) == ("30" in types.split(","))
        assert ("x" in flags) == bool({"28", "29"} & set(types.split(",")))


def test_a_quic_capture_holding_only_the_servers_datagram_is_incomplete(tshark: str, tmp_path: Path) -> None:
    # Given the ALPN refusal cut to its second frame (editcap): the server's Initial, which plain tshark reads as
    # QUIC from the server's port, though without the client's Initial it cannot open it
    cut = tmp_path / "server-only.pcapng"
    subprocess.run(["editcap", "-r", str(QUIC / "quic-server-refuses-alpn.pcapng"), str(cut), "2"], check=True,
                   capture_output=True)
    ((port, alert),) = _plain(tshark, cut, "quic", "udp.srcport", "quic.cc.error_code.tls_alert")
    assert alert == ""
    # Then the record is QUIC, TLS, and says the client's side is missing (not "not TLS")
    conn = _only(tmp_path, str(cut))
    assert (conn["transport"], conn["server_port"], conn["outcome"]) == ("quic", int(port), "capture_incomplete")
    assert conn["causes"][0]["summary"] == messages.say("cause.capture_gap.side", side="client")


def test_a_close_with_the_largest_error_code_is_read(tshark: str, tmp_path: Path) -> None:
    # Given plain tshark with the key log: the client's transport close carrying error code 2^62-1 (a code a Lua
    # number prints as 4.6116860184274e+18, which failed the whole capture)
    capture, keys = QUIC / "quic-largest-close-code.pcapng", QUIC / "quic-largest-close-code.keys"
    ((frame, code),) = _plain(tshark, capture, "quic.cc.error_code", "frame.number", "quic.cc.error_code",
                              keys=keys)
    assert code == str(2**62 - 1)
    # When summarize reads it with the key log, then the input is read and the close is the record's teardown
    conn = _only(tmp_path, "--keylog", str(keys), str(capture))
    assert (conn["outcome"], conn["teardown"]["kind"], conn["teardown"]["frame"]) == (
        "established", "CONNECTION_CLOSE", int(frame))


def test_a_udp_flows_silence_lasts_to_the_captures_last_frame_whole_or_in_parts(tshark: str, tmp_path: Path) -> None:
    # Given the unanswered cookie exchange and, 1000 s after it, one datagram between two other hosts (no TLS, no
    # line from the plugin)
    capture = tmp_path / "cookie-then-later-datagram.pcapng"
    later = tmp_path / "later.pcap"
    last = float(_plain(tshark, DTLS / "dtls-cookie-never-answered.pcapng", "frame", "frame.time_epoch")[-1][0])
    udp = struct.pack("!HHHH", 40000, 9, 8 + 4, 0) + b"ping"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([10, 9, 9, 1]),
                     bytes([10, 9, 9, 2]))
    frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + udp
    seconds = int(last) + 1000
    later.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
                      + struct.pack("<IIII", seconds, 0, len(frame), len(frame)) + frame)
    subprocess.run(["mergecap", "-w", str(capture), str(DTLS / "dtls-cookie-never-answered.pcapng"), str(later)],
                   check=True, capture_output=True)
    # When summarize reads it whole and in parts
    whole = _only(tmp_path, str(capture))
    (tmp_path / "parts").mkdir()
    sliced = _only(tmp_path / "parts", "--jobs", "2", "--slice-mb", "0.001", str(capture))
    # Then the silence is measured to the capture's last frame, the same both ways
    assert whole["outcome"] == "hello_verify_unanswered"
    assert whole["causes"][0]["evidence"][0].endswith(
        f"no ClientHello with the cookie followed in the {seconds - last:.3f}".rstrip("0").rstrip(".")
        + " s to the capture's end")
    assert sliced == whole


def test_a_dtls_cookie_exchange_names_the_hello_verify_request(tshark: str, tmp_path: Path) -> None:
    from lxml import html as lxml_html

    from tsharkpost.cli import main

    capture = DTLS / "dtls-client-refuses-chain.pcapng"
    # Given plain tshark: the server's HelloVerifyRequest (DTLS handshake type 3, RFC 6347 §4.2.1) and its frame
    ((frame, port),) = _plain(tshark, capture, "dtls.handshake.type == 3", "frame.number", "udp.srcport")
    # When summarize reads it, then the record's messages name it as RFC 6347 does, sent by the server
    conn = _only(tmp_path, str(capture))
    assert conn["server_port"] == int(port)
    assert [(m["name"], m["side"]) for m in conn["messages"] if m["frame"] == int(frame)] == [
        ("hello_verify_request", "server")]
    # and the HTML report's ladder draws it as HelloVerifyRequest (not as an unnamed "handshake 3")
    out = tmp_path / "report.html"
    assert main(["summarize", "--format", "html", "-o", str(out), str(capture)]) == 0
    (arrow,) = lxml_html.fromstring(out.read_bytes()).xpath(f'.//svg//g[@data-kind="arrow"][@data-frame="{frame}"]')
    assert arrow.get("data-names") == "hello_verify_request"
    assert "HelloVerifyRequest" in ["".join(label.xpath("./text()")) for label in arrow.xpath("./text")]


def test_a_dtls_client_connecting_again_from_the_same_port_gets_a_record_per_handshake(
        tshark: str, tmp_path: Path) -> None:
    capture = DTLS / "dtls-reconnect-same-port.pcapng"
    # Given plain tshark: one UDP flow, two ClientHello randoms (each sent again with the cookie), the client's
    # fatal alert after the first handshake's server flight, the second handshake's ChangeCipherSpec both ways
    rows = _plain(tshark, capture, "dtls", "frame.number", "udp.stream", "udp.srcport", "dtls.handshake.type",
                  "dtls.handshake.random", "dtls.alert_message.desc", "dtls.record.content_type")
    assert {row[1] for row in rows} == {"0"}
    hellos = [(int(row[0]), row[4]) for row in rows if "1" in row[3].split(",")]
    randoms = list(dict.fromkeys(random for _, random in hellos))
    assert len(randoms) == 2 and len(hellos) == 4
    second = next(frame for frame, random in hellos if random == randoms[1])
    ((alert_frame, alert_port),) = [(int(row[0]), row[2]) for row in rows if row[5] == "48"]
    assert alert_frame < second
    ccs = {row[2] for row in rows if int(row[0]) > second and "20" in row[6].split(",")}
    assert len(ccs) == 2
    # When summarize reads it, then each handshake is a record of its own on the same udp.stream: the refusal
    # (not hidden in an "established" record) and the handshake that completes
    _, document = summarize_json(tmp_path, str(capture))
    jsonschema.validate(document, SCHEMA)
    records = [(c["transport"], c["stream"], c["client_port"], c["client_hello"]["frame"], c["outcome"],
                [(a["sender"], a["code"]) for a in c["alerts"] if not a["encrypted"]]) for c in document["connections"]]
    assert records == [("udp-dtls", 0, int(alert_port), hellos[0][0], "client_fatal_alert", [("client", 48)]),
                       ("udp-dtls", 0, int(alert_port), second, "established", [])]
    # and when the first record was handed out already, before the second ClientHello: in a busy capture
    # analyze sweeps at a clock frame of other traffic, here one within the flow's silence, past the linger
    out = subprocess.run(ts.fields_argv(ts.locate(tshark), capture, ts.Options()), capture_output=True,
                         check=True).stdout
    tracker = ConnectionTracker(str(capture))
    swept = []
    for packet in packets(io.BytesIO(out)):
        if packet.number == second:
            times = [float(row[0]) for row in _plain(tshark, capture, f"frame.number == {alert_frame}",
                                                     "frame.time_epoch")]
            assert packet.time - times[0] > LINGER_SECONDS + 0.5
            swept += tracker.sweep(times[0] + LINGER_SECONDS + 0.5, LINGER_SECONDS)
            assert [conn.first_frame for conn in swept] == [hellos[0][0]]
        tracker.add(packet)
    swept += tracker.finish()
    assert [(conn.first_frame, conn.established, conn.first_fatal_alert is not None) for conn in swept] == [
        (hellos[0][0], False, True), (second, True, False)]


@pytest.mark.parametrize("with_keys", [False, True], ids=["no-keys", "key-log"])
def test_a_quic_client_connecting_again_from_the_same_port_gets_a_record_per_connection(
        tshark: str, tmp_path: Path, with_keys: bool) -> None:
    capture, keys = QUIC / "quic-reconnect-same-port.pcapng", QUIC / "quic-reconnect-same-port.keys"
    # Given plain tshark: one UDP flow, two ClientHellos with their own randoms, the client's CRYPTO_ERROR
    # (bad_certificate) between them, then 1-RTT packets both ways
    rows = _plain(tshark, capture, "quic", "frame.number", "udp.stream", "udp.srcport", "tls.handshake.type",
                  "tls.handshake.random", "quic.cc.error_code.tls_alert", "quic.header_form")
    assert {row[1] for row in rows} == {"0"}
    hellos = [(int(row[0]), row[4]) for row in rows if row[3].split(",")[:1] == ["1"]]
    assert len(hellos) == 2 and hellos[0][1] != hellos[1][1]
    ((close_frame, port),) = {(int(row[0]), row[2]) for row in rows if row[5].split(",")[0] == "42"}
    assert hellos[0][0] < close_frame < hellos[1][0]
    assert len({row[2] for row in rows if int(row[0]) > hellos[1][0] and "0" in row[6].split(",")}) == 2
    # When summarize reads it, then each connection is a record of its own on the same udp.stream: the refusal
    # (not hidden in an "established" record) and the connection that completes
    _, document = summarize_json(tmp_path, *(("--keylog", str(keys)) if with_keys else ()), str(capture))
    jsonschema.validate(document, SCHEMA)
    records = [(c["transport"], c["stream"], c["client_port"], c["client_hello"]["frame"], c["outcome"],
                [(a["sender"], a["code"]) for a in c["alerts"]]) for c in document["connections"]]
    assert records == [("quic", 0, int(port), hellos[0][0], "client_crypto_error", [("client", 42)]),
                       ("quic", 0, int(port), hellos[1][0], "established", [])]


def test_the_ladder_of_quic_records_names_its_packets_and_codes(tshark: str, tmp_path: Path) -> None:
    from lxml import html as lxml_html

    from tsharkpost.cli import main

    good, negotiation, token = (QUIC / "quic-good-twin.pcapng", QUIC / "quic-version-negotiation-failed.pcapng",
                                QUIC / "quic-server-invalid-token.pcapng")
    # Given plain tshark: the good twin's first 1-RTT packet of each side, the Version Negotiation's versions and
    # frame, and the server's INVALID_TOKEN close and its frame
    first_1rtt = sorted({int(row[0]) for row in _plain(tshark, good, "quic.header_form == 0", "frame.number")})
    ((vn_frame, offered),) = _plain(tshark, negotiation, "quic.version == 0", "frame.number", "quic.supported_version")
    ((close_frame, code),) = _plain(tshark, token, "quic.cc.error_code", "frame.number", "quic.cc.error_code")
    # When summarize draws them (--connections: the established one too)
    out = tmp_path / "report.html"
    main(["summarize", "--format", "html", "--connections", "-o", str(out), str(good), str(negotiation), str(token)])
    page = lxml_html.fromstring(out.read_bytes())

    def labels(names: str, frame: int) -> list[str]:
        arrows = page.xpath(f'.//svg//g[@data-kind="arrow"][@data-names="{names}"][@data-frame="{frame}"]')
        return ["".join(text.xpath("./text()")) for arrow in arrows for text in arrow.xpath("./text")]

    # Then QUIC's first 1-RTT packets say their bytes are not counted (not "0 B this way in all": QUIC's streams
    # are encrypted), the Version Negotiation shows the versions offered, the close its error code
    quic_data = messages.template("ladder.quic_application_data")
    for frame in first_1rtt[:2]:
        assert quic_data in labels("first_application_data", frame)
    assert not [text for text in page.xpath("//text()") if "0 B this way" in text]
    versions = ",".join(f"0x{int(version, 16):08x}" for version in offered.split(","))
    assert f"Version Negotiation {versions}" in labels("version_negotiation", int(vn_frame))
    assert f"CONNECTION_CLOSE 0x{int(code):04x}" in labels("connection_close", int(close_frame))
