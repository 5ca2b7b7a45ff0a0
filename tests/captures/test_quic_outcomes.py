"""QUIC's failures before any handshake, and DTLS's version refusal, on captures made by real stacks (captures/quic.py:
aioquic; captures/dtls.py: OpenSSL): version negotiation without a common version, a Retry followed and one never
answered, a CONNECTION_CLOSE that is no CRYPTO_ERROR. Expected values come from plain tshark (no plugin).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
from conftest import CAPTURES, REPO
from summarize_support import summarize_json
from udp_support import with_later_datagram

from tsharkpost.capture.defaults import UDP_TIMEOUT_SECONDS
from tsharkpost.plugin import messages, tables

SCHEMA = json.loads((REPO / "tsharkpost" / "schema" / "summary.schema.json").read_text())


def _plain(tshark: str, capture: str, display_filter: str, *fields: str, keys: bool = False) -> list[list[str]]:
    options = ("-o", f"tls.keylog_file:{CAPTURES / capture.replace('.pcapng', '.keys')}") if keys else ()
    argv = [tshark, "-n", "-r", str(CAPTURES / capture), *options, "-Y", display_filter, "-T", "fields",
            "-E", "occurrence=a", "-E", "aggregator=,", *(arg for name in fields for arg in ("-e", name))]
    return [line.split("\t") for line in
            subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()]


def _only(tmp_path: Path, capture: str) -> dict:
    _, document = summarize_json(tmp_path, str(CAPTURES / capture))  # an absolute capture path stays itself
    jsonschema.validate(document, SCHEMA)
    (conn,) = document["connections"]
    return conn


def _milestones(conn: dict, name: str) -> list[tuple[str, int, str]]:
    return [(m["side"], m["frame"], m["detail"]) for m in conn["milestones"] if m["name"] == name]


def _wireshark_names(tshark: str, field: str) -> dict[int, str]:
    out = subprocess.run([tshark, "-G", "values"], capture_output=True, text=True, check=True).stdout
    names = {}
    for line in out.splitlines():
        parts = line.split("\t")  # V field value name, or R field low high name (a range: one value here)
        if len(parts) == 4 and parts[:2] == ["V", field]:
            names[int(parts[2], 0)] = parts[3]
        elif len(parts) == 5 and parts[:2] == ["R", field] and parts[2] == parts[3]:
            names[int(parts[2], 0)] = parts[4]
    return names


def test_version_negotiation_without_a_common_version(tshark: str, tmp_path: Path) -> None:
    capture = "quic-version-negotiation-failed.pcapng"
    # Given plain tshark: the client's Initial and its version, the server's Version Negotiation and its list
    ((asked, client_port),) = _plain(tshark, capture, "quic.version != 0", "quic.version", "udp.srcport")
    ((frame, offered),) = _plain(tshark, capture, "quic.version == 0", "frame.number", "quic.supported_version")
    asked_versions, offered_versions = [int(asked, 16)], [int(v, 16) for v in offered.split(",")]
    assert not set(asked_versions) & set(offered_versions)
    # When summarize reads it, then the outcome says so, with the versions and the frame in the evidence
    conn = _only(tmp_path, capture)
    assert (conn["transport"], conn["client_port"], conn["outcome"]) == (
        "quic", int(client_port), "version_negotiation_failed")
    assert _milestones(conn, "version_negotiation") == [
        ("server", int(frame), ",".join(f"0x{v:08x}" for v in offered_versions))]
    (cause,) = conn["causes"]
    assert cause["kind"] == "no_common_parameters"
    (evidence,) = cause["evidence"]
    assert f"0x{asked_versions[0]:08x} (QUIC v2)" in evidence and f"frame {frame}" in evidence
    assert f"offers 0x{offered_versions[0]:08x} (QUIC v1)" in evidence


def test_a_retry_followed_is_established_with_the_retry_noted(tshark: str, tmp_path: Path) -> None:
    capture = "quic-retry.pcapng"
    # Given plain tshark: the server's Retry, then the client's Initial carrying its token
    ((retry_frame, server_port),) = _plain(tshark, capture, "quic.long.packet_type == 3", "frame.number",
                                           "udp.srcport")
    tokens = _plain(tshark, capture, f"quic.token_length > 0 && frame.number > {retry_frame}", "frame.number")
    assert tokens, "the client comes back with the Retry's token"
    # Then the record is established, and the Retry a milestone of the server's at that frame
    conn = _only(tmp_path, capture)
    assert (conn["outcome"], conn["established"], conn["server_port"]) == ("established", True, int(server_port))
    assert _milestones(conn, "retry") == [("server", int(retry_frame), "")]
    assert [m["name"] for m in conn["messages"]][:2] == ["client_hello", "retry"]


@pytest.mark.parametrize("later", [None, 8.0, 12.0], ids=["as-made", "8s-later", "12s-later"])
def test_a_retry_never_answered(tshark: str, tmp_path: Path, later: float | None) -> None:
    made = CAPTURES / "quic-retry-unanswered.pcapng"
    rows = _plain(tshark, made.name, "quic", "frame.number", "udp.srcport", "quic.long.packet_type")
    # Given plain tshark: the client's Initial, the server's Retry, nothing after; and the capture running on
    # 8 or 12 s after the Retry (one unrelated datagram then), about the UDP timeout (10 s)
    assert [row[2] for row in rows] == ["0", "3"]
    capture = made if later is None else with_later_datagram(made, later, tmp_path / "retry-later.pcapng")
    conn = _only(tmp_path, str(capture))
    assert conn["client_port"] == int(rows[0][1])
    (cause,) = conn["causes"]
    if later is not None and later > UDP_TIMEOUT_SECONDS:
        # Then the client's silence lasted the timeout: it never came back
        assert conn["outcome"] == "retry_unanswered"
        assert cause["evidence"] == [messages.say("evidence.retry_unanswered", frame=int(rows[1][0]),
                                                  seconds=f"{later:g}")]
    else:
        # Then the capture ended too early to say, and the evidence says how long it held against the timeout
        assert conn["outcome"] == "capture_incomplete"
        assert cause["evidence"][0].startswith(f"Retry in frame {rows[1][0]}, no Initial with its token in the ")
        assert cause["evidence"][0].endswith("shorter than the UDP timeout (10 s), too early to say the client "
                                             "never comes back")


def test_the_transport_error_names_are_wiresharks(tshark: str) -> None:
    # Given Wireshark's names of QUIC transport error codes, then the table names each code as it does, except
    # 0x04, which tshark 4.0 still calls by the drafts' name (STREAM_ID_ERROR; RFC 9000 §20.1: STREAM_LIMIT_ERROR)
    names = _wireshark_names(tshark, "quic.cc.error_code")
    ours = {code: fact.name for code, fact in tables.quic_transport_errors().items()}
    assert set(ours) == set(range(0x00, 0x12))
    assert {code: (ours[code], names[code]) for code in ours if ours[code] != names[code]} == {
        0x04: ("STREAM_LIMIT_ERROR", "STREAM_ID_ERROR")}


def test_a_server_closing_with_invalid_token_before_the_handshake(tshark: str, tmp_path: Path) -> None:
    capture = "quic-server-invalid-token.pcapng"
    # Given plain tshark: the close's frame, sender and code (an Initial packet: readable without keys)
    ((frame, port, code, frame_type),) = _plain(tshark, capture, "quic.cc.error_code", "frame.number", "udp.srcport",
                                                "quic.cc.error_code", "quic.frame_type")
    assert int(frame_type) == 0x1C  # a transport close
    conn = _only(tmp_path, capture)
    assert (conn["outcome"], conn["server_port"], conn["version"]) == (
        "connection_close_before_handshake", int(port), None)
    name = _wireshark_names(tshark, "quic.cc.error_code")[int(code)]
    (cause,) = conn["causes"]
    assert cause["summary"].startswith(f"the server closed the connection before the handshake was done: {name} "
                                       f"(0x{int(code):02x}), ")
    assert cause["evidence"] == [f"CONNECTION_CLOSE {name} (0x{int(code):02x}) from the server in frame {frame}, "
                                 "after client_hello"]


def test_a_client_cancelling_before_the_handshake_closes_with_application_error(tshark: str, tmp_path: Path) -> None:
    capture = "quic-client-cancels-handshake.pcapng"
    # Given plain tshark with the key log: the client's close in its Initial and Handshake packets, no HANDSHAKE_DONE
    rows = _plain(tshark, capture, "quic.cc.error_code", "frame.number", "udp.srcport", "quic.cc.error_code",
                  keys=True)
    assert _plain(tshark, capture, "quic.frame_type == 0x1e", "frame.number", keys=True) == []
    frame, port, codes = rows[0]
    assert len(set(codes.split(","))) == 1
    code = int(codes.split(",")[0])
    conn = _only(tmp_path, capture)
    assert (conn["outcome"], conn["client_port"], conn["established"]) == (
        "connection_close_before_handshake", int(port), False)
    name = _wireshark_names(tshark, "quic.cc.error_code")[code]
    assert name == "APPLICATION_ERROR"
    (cause,) = conn["causes"]
    assert f"the client closed the connection before the handshake was done: {name} (0x{code:02x})" in cause["summary"]
    assert cause["evidence"] == [f"CONNECTION_CLOSE {name} (0x{code:02x}) from the client in frame {frame}, "
                                 "after server_hello"]


def test_a_dtls_server_refusing_the_clients_version(tshark: str, tmp_path: Path) -> None:
    capture = "dtls-server-refuses-version.pcapng"
    # Given plain tshark: the client's hello versions (DTLS 1.0 = 0xfeff), the server's fatal alert, no ServerHello
    hellos = _plain(tshark, capture, "dtls.handshake.type == 1", "dtls.handshake.version")
    assert {row[0] for row in hellos} == {"0xfeff"}
    ((frame, port, level, code),) = _plain(tshark, capture, "dtls.alert_message", "frame.number", "udp.srcport",
                                           "dtls.alert_message.level", "dtls.alert_message.desc")
    assert _plain(tshark, capture, "dtls.handshake.type == 2", "frame.number") == []
    conn = _only(tmp_path, capture)
    assert (conn["transport"], conn["outcome"], conn["server_port"], conn["version"]) == (
        "udp-dtls", "server_fatal_alert", int(port), None)
    assert [(a["frame"], a["sender"], a["level"], a["code"], a["name"]) for a in conn["alerts"]] == [
        (int(frame), "server", int(level), int(code), "protocol_version")]
    kinds = [cause["kind"] for cause in conn["causes"]]
    assert kinds == ["no_common_parameters", "alert"]
    assert conn["causes"][0]["evidence"][1].endswith("up to DTLS 1.0")


def test_a_client_nothing_answers_is_no_server_response(tshark: str, tmp_path: Path) -> None:
    # Given plain tshark: every datagram is the client's Initial (its probes, RFC 9002), the last one more than the
    # UDP timeout after the first, and none from the server's port
    rows = _plain(tshark, "quic-no-server.pcapng", "udp", "frame.number", "frame.time_relative", "udp.srcport",
                  "quic.long.packet_type")
    assert {row[2] for row in rows} == {"53411"} and {row[3] for row in rows} == {"0"}
    span = float(rows[-1][1]) - float(rows[0][1])
    assert span > UDP_TIMEOUT_SECONDS
    # When summarize reads it, then the client got no server response, with every one of its datagrams counted
    conn = _only(tmp_path, "quic-no-server.pcapng")
    assert (conn["outcome"], conn["transport"], conn["client_port"]) == ("no_server_response", "quic", 53411)
    (cause,) = conn["causes"]
    assert cause["summary"] == messages.say("cause.no_server_response_udp", timeout=f"{UDP_TIMEOUT_SECONDS:g}")
    assert cause["evidence"][0].startswith(f"the client's hello in frame 1 (datagrams from the client: {len(rows)}), "
                                           f"no datagram from the server in the {span:.3f}".rstrip("0"))


def test_a_quic_v2_handshake_is_read_as_v1s(tshark: str, tmp_path: Path) -> None:
    # Given plain tshark: every long header carries QUIC v2 (RFC 9369, 0x6b3343cf), its Initial packets hold the
    # ClientHello and the ServerHello, and both sides send 1-RTT packets
    rows = _plain(tshark, "quic-v2-good-twin.pcapng", "quic", "udp.srcport", "quic.version", "tls.handshake.type",
                  "quic.header_form")
    versions = {version for row in rows for version in row[1].split(",") if version}
    assert versions == {"0x6b3343cf"}
    assert {"1", "2"} <= {kind for row in rows for kind in row[2].split(",") if kind}
    assert {row[0] for row in rows if "0" in row[3].split(",")} == {"53412", "4433"}
    # When summarize reads it, then it is one established QUIC record with its hellos, as a v1 handshake is
    conn = _only(tmp_path, "quic-v2-good-twin.pcapng")
    assert (conn["transport"], conn["outcome"], conn["established"]) == ("quic", "established", True)
    assert (conn["server_name"], conn["version"], conn["client_port"]) == ("quic.example.test", "TLS 1.3", 53412)


@pytest.mark.parametrize(("capture", "field", "handshake_type"), [
    ("quic-good-twin.pcapng", "quic.long.packet_type", 2),  # RFC 9000 §17.2: a Handshake packet is type 2 in v1
    ("quic-v2-good-twin.pcapng", "quic.long.packet_type_v2", 3),  # RFC 9369 §3.2: and type 3 in v2
], ids=["v1", "v2"])
def test_without_keys_the_servers_handshake_packets_make_the_chain_encrypted_in_v1_and_v2(
        tshark: str, tmp_path: Path, capture: str, field: str, handshake_type: int) -> None:
    # Given plain tshark without a key log: the first frame with a server Handshake packet it could not decrypt
    # (tshark 4.0 shows a v2 long header's type in a field of its own, numbered anew)
    sealed = _plain(tshark, capture, f"udp.srcport == 4433 && {field} == {handshake_type} && quic.remaining_payload",
                    "frame.number")
    assert sealed
    # When summarize reads it without the key log, then the chain is said to be encrypted (give a key log), not
    # absent, and the ladder shows the server's encrypted flight where tshark found it
    conn = _only(tmp_path, capture)
    assert (conn["chain_encrypted"], conn["certificates"]) == (True, [])
    assert [(m["side"], m["frame"]) for m in conn["messages"] if m["name"] == "encrypted_handshake"] == [
        ("server", int(sealed[0][0]))]


@pytest.mark.parametrize("capture", ["quic-good-twin.pcapng", "quic-v2-good-twin.pcapng"])
def test_an_application_close_read_with_the_key_log_carries_its_error_code(tshark: str, tmp_path: Path,
                                                                           capture: str) -> None:
    # Given plain tshark with the key log: the client's application CONNECTION_CLOSE (frame type 0x1d), whose code
    # tshark shows in quic.cc.error_code.app (a transport close's is quic.cc.error_code)
    ((frame, port, code),) = _plain(tshark, capture, "quic.frame_type == 0x1d", "frame.number", "udp.srcport",
                                    "quic.cc.error_code.app", keys=True)
    # When summarize reads it with the key log, then the close is the teardown and its milestone names the code
    _, document = summarize_json(tmp_path, "--keylog", str(CAPTURES / capture.replace(".pcapng", ".keys")),
                                 str(CAPTURES / capture))
    jsonschema.validate(document, SCHEMA)
    (conn,) = document["connections"]
    assert str(conn["client_port"]) == port
    assert (conn["teardown"]["kind"], conn["teardown"]["by"], conn["teardown"]["frame"]) == (
        "CONNECTION_CLOSE", "client", int(frame))
    assert _milestones(conn, "connection_close") == [("client", int(frame), f"0x{int(code):04x}")]
