"""The Python stages without tshark: committed tshark output (tests/data, regenerate.py) and records built in code."""

from __future__ import annotations

import dataclasses
import io

from conftest import DATA

import pytest

from tsharkpost.capture.aggregate import PatternTally
from tsharkpost.capture.classify import classify, find_retry
from tsharkpost.capture.connection import Connection
from tsharkpost.capture.fields_reader import packets
from tsharkpost.capture.packet import Handshake, Packet, Record
from tsharkpost.capture.tracker import HELLO_RETRY_RANDOM, MAX_ALERTS, MAX_MESSAGES, ConnectionTracker
from tsharkpost.errors import FieldsError
from tsharkpost.plugin import fields as F
from tsharkpost.record.jsonform import from_json, to_json, zeek_version
from tsharkpost.plugin.tables import Severity
from tsharkpost.record.model import Certificate, ClientHello, ConnectionRecord, Finding, Outcome, Side


def _connections(packet_list: list[Packet]) -> list[ConnectionRecord]:
    tracker = ConnectionTracker("unit")
    for packet in packet_list:
        tracker.add(packet)
    finished = tracker.finish()
    return [classify(conn, finished).freeze() for conn in finished]


def test_seed_fragment_becomes_a_silent_close_after_the_md2_chain() -> None:
    # Given the lines summarize gets from tshark for the seed capture
    with (DATA / "seed.fields").open("rb") as stream:
        parsed = list(packets(stream))
    # When it goes through the connection table and the classifier
    (conn,) = _connections(parsed)
    # Then
    assert [p.number for p in parsed] == [1, 2, 4, 6, 8, 9]
    assert conn.outcome is Outcome.CLIENT_SILENT_CLOSE
    assert (conn.client, conn.client_port, conn.server, conn.server_port) == ("127.0.0.1", 50101, "127.0.0.11", 443)
    assert conn.history == "Csxkn"
    assert conn.teardown is not None and (conn.teardown.kind, conn.teardown.by, conn.teardown.after) == (
        "FIN", Side.CLIENT, "server_hello_done")
    assert [cert.index for cert in conn.certificates] == [0, 1, 2, 3]
    assert conn.certificates[3].sigalg_oid == "1.2.840.113549.1.1.2" and conn.certificates[3].self_signed
    # basicConstraints and keyUsage as openssl prints them for the chain (leaf: not a CA)
    assert [(cert.ca, cert.key_usage) for cert in conn.certificates[:2]] == [
        (False, ("digitalSignature", "keyEncipherment")), (True, ("keyCertSign", "cRLSign"))]
    assert all(len(cert.sha1) == 40 for cert in conn.certificates)
    assert {f.check for f in conn.certificates[3].findings} == {"weak_signature", "sigalg_not_offered"}
    # The root's md2 self-signature is only a note (clients never check a trust anchor's own signature): the
    # error, and the cause, is that the ClientHello did not offer md2 (RFC 5246 7.4.2).
    assert conn.causes[0].checks == ("sigalg_not_offered",)
    assert conn.client_hello is not None and "rsa_md5" not in conn.client_hello.signature_algorithms
    # tshark's own JA3/JA3S of this hello pair (tls.handshake.ja3 and ja3s)
    assert (conn.fingerprints.ja3, conn.fingerprints.ja3s) == ("c79816fb5436b9f0e0fe4774e52633c1",
                                                               "9099266b09da09a1d9e1839ae9ad5682")
    assert conn.fingerprints.ja3s_full == "771,49192,65281-11"


def test_tls13_fragment_without_keys_is_established_with_an_encrypted_chain() -> None:
    with (DATA / "tls13-no-secrets.fields").open("rb") as stream:
        (conn,) = _connections(list(packets(stream)))
    assert conn.outcome is Outcome.ESTABLISHED and conn.version == "TLS 1.3"
    assert conn.certificates == () and conn.chain_encrypted
    assert [f.check for f in conn.findings] == ["chain_encrypted"]
    assert conn.application_data_bytes.server > conn.application_data_bytes.client > 0


def test_a_record_read_back_from_json_is_the_same_record() -> None:
    # Given the records of both fragments (a chain with findings, a TLS 1.3 handshake without keys)
    records = []
    for name in ("seed.fields", "tls13-no-secrets.fields"):
        with (DATA / name).open("rb") as stream:
            records += _connections(list(packets(stream)))
    for record in records:
        # When a record is written as JSON and read back
        written = to_json(record)
        read = from_json(written)
        # Then it is the same typed record, and writes the same JSON again
        assert to_json(read) == written
        assert read.certificates == record.certificates and read.causes == record.causes
        assert read.fingerprints == record.fingerprints and record.fingerprints.ja4
        assert read.client_hello == record.client_hello and read.history == record.history


def _line(number: int, bridge: str, wire: str = "", *rest: str) -> bytes:
    columns = [str(number), f"{1700000000 + number}.5", bridge, wire] + list(rest)
    return ("\t".join(columns + [""] * (len(F.COLUMNS) - len(columns))) + "\n").encode()


def test_a_line_cut_off_is_reported_after_every_whole_line() -> None:
    # Given a records line holding a control character (escaped, as the plugin escapes it) and a stream cut
    # mid-line
    hello = "R c22 l60 H t1 x0 sbad%01name.example"
    stream = io.BytesIO(_line(1, "0 10.0.0.1 50000 10.0.0.2 443 S 0 0 0 0")
                        + _line(2, "0 10.0.0.1 50000 10.0.0.2 443 A 0 0 0 0", hello)
                        + _line(3, "0 10.0.0.1 50000 10.0.0.2 443 A 0 0 0 0")[:20])
    parsed: list[Packet] = []
    with pytest.raises(FieldsError, match=r"ended early \(line 3 is cut\)"):
        parsed.extend(packets(stream))
    # Then every whole line comes out before the cut is reported
    assert [p.number for p in parsed] == [1, 2]
    # And the escaped character is the byte sent
    handshake = parsed[1].records[0].handshakes[0]
    assert handshake.type == 1 and handshake.first("tls.handshake.extensions_server_name") == "bad\x01name.example"


@pytest.mark.parametrize("text, reason", [
    (b"", "tshark output is empty"),
    (b"this is not tshark output\n", "line 1 ('this is not tshark output'): 1 column instead of 19"),
    (b"x\t" * 18 + b"x\n", "line 1 ('x?x?x?x?x?x?x?x?x?x?x?x?x?x?x?x?x?x?x'): invalid literal for int()"),
])
def test_output_that_is_not_summarizes_fields_is_an_error(text: bytes, reason: str) -> None:
    with pytest.raises(FieldsError) as raised:
        list(packets(io.BytesIO(text)))
    assert reason in str(raised.value)


def test_certificates_and_findings_are_paired_back_from_their_lines() -> None:
    # Given a frame with two certificate lines (the second unparsed) and two findings, joined as tshark joins them
    certs = F.AGGREGATOR.join(["i0 wserver sCN=a%20b,O=X cexample.net b2048 Nexample.net,www.example.net x0 C0 u",
                               "i1 wclient"])
    findings = F.AGGREGATOR.join(["cweak_key s3 mkey%20too%20short i0", "cfatal_alert s2 mgot%09alert"])
    (packet,) = packets(io.BytesIO(_line(5, "0 10.0.0.1 50000 10.0.0.2 443 A 0 0 0 0", "", certs, findings)))
    # Then each keeps its own optional parts
    first, second = packet.certificates
    assert (first.index, first.sender, first.subject, first.subject_cn) == (0, "server", "CN=a b,O=X", "example.net")
    assert (first.key_bits, first.san, first.self_signed, first.ca, first.key_usage) == (
        2048, ("example.net", "www.example.net"), False, False, ())
    assert (second.index, second.sender, second.subject, second.key_bits, second.ca, second.key_usage) == (
        1, "client", "", None, None, None)
    assert [(f.check, f.severity, f.message, f.cert_index, f.frame) for f in packet.findings] == [
        ("weak_key", Severity.of(3), "key too short", 0, 5), ("fatal_alert", Severity.of(2), "got\talert", None, 5)]


def test_a_certificate_line_seen_again_is_the_same_certificate_in_its_own_frame() -> None:
    # Given the same server chain on two connections, as the same certificate line in frames 5 and 9
    # (fields_reader reads each distinct line once)
    cert = "i0 wserver sCN=a%20b,O=X cexample.net b2048 Nexample.net,www.example.net x0 C0 u"
    text = (_line(5, "0 10.0.0.1 50000 10.0.0.2 443 A 0 0 0 0", "", cert, "")
            + _line(9, "1 10.0.0.3 50001 10.0.0.2 443 A 0 0 0 0", "", cert, ""))
    first, second = packets(io.BytesIO(text))
    # Then each frame's certificate is the line's, with that frame's number
    assert [c.frame for c in (*first.certificates, *second.certificates)] == [5, 9]
    assert dataclasses.replace(second.certificates[0], frame=5) == first.certificates[0]
    assert first.certificates[0].subject == "CN=a b,O=X"


def test_a_plaintext_answer_without_the_plugins_line_gets_its_endpoints() -> None:
    # Given an HTTP answer tshark dissected (no tpost.pkt), in IPv4 inside IPv6 (the inner header is IPv6's last)
    columns = ["10.0.0.2", "10.0.0.1", "::2", "::1", "443", "50000", "", "HTTP/1.1", "400", "", "", "", "Bad\tRequest"]
    (packet,) = packets(io.BytesIO(_line(6, "", "", "", "", *columns)))
    assert (packet.src, packet.srcport, packet.dst, packet.dstport) == ("::2", 443, "::1", 50000)
    assert packet.plaintext == "HTTP/1.1 400 Bad?Request"
    # And an HTTP request's first line, even with a tab in its URI (the free texts are the last columns)
    columns = ["10.0.0.2", "10.0.0.1", "", "", "443", "50000", "", "", "", "GET", "HTTP/1.1", "/a\tb", ""]
    (packet,) = packets(io.BytesIO(_line(8, "", "", "", "", *columns)))
    assert packet.plaintext == "GET /a?b HTTP/1.1"
    # And undissected data's first line, its bytes as hex
    columns = ["10.0.0.2", "10.0.0.1", "", "", "443", "50000", b"SSH-2.0-x\r\nmore".hex()]
    (packet,) = packets(io.BytesIO(_line(7, "", "", "", "", *columns)))
    assert (packet.src, packet.plaintext) == ("10.0.0.2", "SSH-2.0-x")


def test_sslv2_format_client_hello_is_a_client_hello() -> None:
    record = "R v2 l85 t1 VTLS%201.0%20(0x0301) P(0x000039) P(0x000004)"
    (packet,) = packets(io.BytesIO(_line(4, "0 10.0.0.1 50000 10.0.0.2 443 A 0 0 0 0", record)))
    (conn,) = _connections([packet])
    assert conn.history == "C" and conn.client_hello is not None
    assert (conn.client_hello.max_version, conn.client_hello.cipher_suite_count) == ("TLS 1.0", 2)


def _pkt(number: int, time: float, src: str, dst: str, flags: str = "A", records: list[Record] | None = None,
         ) -> Packet:
    src_ip, src_port = src.split(":")
    dst_ip, dst_port = dst.split(":")
    return Packet(number, time, 0, src_ip, dst_ip, int(src_port), int(dst_port), syn="S" in flags,
                  ack="A" in flags, fin="F" in flags, rst="R" in flags, records=records or [])


def test_tls13_client_refusing_the_chain_with_an_encrypted_alert() -> None:
    # Given a TLS 1.3 handshake without keys where the client's first encrypted record is alert-sized
    client, server = "10.0.0.1:50000", "10.0.0.2:443"
    hello = Record(22, False, 200, handshakes=[Handshake(1, values={"tls.handshake.version": ["0x0303"]},
                                                         extensions={43: {"tls.handshake.extensions."
                                                                          "supported_version": ["0x0304"]}})])
    server_hello = Record(22, False, 90, handshakes=[Handshake(2, values={"tls.handshake.version": ["0x0303"]},
                                                               extensions={43: {"tls.handshake.extensions."
                                                                                "supported_version": ["0x0304"]}})])
    flight = Record(23, True, 2000, wire_encrypted=True)
    alert = Record(23, True, 19, wire_encrypted=True)
    (conn,) = _connections([
        _pkt(1, 1.0, client, server, "S"), _pkt(2, 1.001, server, client, "SA"),
        _pkt(3, 1.002, client, server, records=[hello]), _pkt(4, 1.01, server, client, records=[server_hello, flight]),
        _pkt(5, 1.02, client, server, records=[alert]), _pkt(6, 1.021, client, server, "AF")])
    # Then it is not "established": it is the TLS 1.3 way of rejecting a certificate
    assert conn.outcome is Outcome.ENCRYPTED_ALERT_IN_HANDSHAKE
    assert conn.causes[0].evidence[0].startswith("client sent an encrypted alert in frame 5")


def test_messages_keep_every_tls_message_in_wire_order_up_to_the_cap() -> None:
    # Given a HelloRetryRequest (a second ClientHello follows), an encrypted Finished, then an alert storm
    client, server = "10.0.0.1:50000", "10.0.0.2:443"
    hello = Record(22, False, 200, handshakes=[Handshake(1, values={"tls.handshake.extensions_server_name":
                                                                    ["shop.example.net"]})])
    retry = Record(22, False, 90, handshakes=[Handshake(2, values={"tls.handshake.random": [HELLO_RETRY_RANDOM]})])
    ccs, finished = Record(20, False, 1), Record(22, False, 40, handshakes=[Handshake(None)])
    storm = [Record(21, False, 2, alert_level=1, alert_code=90) for _ in range(MAX_MESSAGES)]
    (conn,) = _connections([
        _pkt(1, 1.0, client, server, records=[hello]), _pkt(2, 1.01, server, client, records=[retry]),
        _pkt(3, 1.02, client, server, records=[hello]), _pkt(4, 1.03, client, server, records=[ccs, finished]),
        _pkt(5, 1.04, server, client, records=storm)])
    # Then the milestones name the ClientHello once, the messages each time, in wire order
    assert [m.name for m in conn.milestones if m.name == "client_hello"] == ["client_hello"]
    assert [(m.name, m.side.value, m.frame, m.detail) for m in conn.messages[:5]] == [
        ("client_hello", "client", 1, "shop.example.net"), ("hello_retry_request", "server", 2, ""),
        ("client_hello", "client", 3, "shop.example.net"), ("change_cipher_spec", "client", 4, ""),
        ("encrypted_handshake", "client", 4, "")]
    # And past the cap the alerts are counted, not listed, among the messages and in alerts[] (its own cap, past
    # which the latest is kept: Zeek's last_alert)
    assert len(conn.messages) == MAX_MESSAGES and conn.messages[-1].detail == "warning 90 user_canceled"
    assert conn.messages_left_out == 5
    assert len(conn.alerts) == MAX_ALERTS + 1 and conn.alerts_left_out == MAX_MESSAGES - MAX_ALERTS - 1
    again = from_json(to_json(conn))
    assert (again.messages, again.alerts, again.alerts_left_out) == (conn.messages, conn.alerts, conn.alerts_left_out)


def test_fallback_links_only_a_lower_version_retry_within_the_window() -> None:
    def attempt(stream: int, start: float, version: str, outcome: Outcome) -> Connection:
        conn = Connection("unit", stream, "10.0.0.1", 50000 + stream, "10.0.0.2", 443, first_time=start,
                          last_time=start + 0.01, is_tls=True)
        conn.client_hello = ClientHello(frame=1, max_version=version)
        conn.outcome = outcome
        return conn

    failed = attempt(0, 10.0, "TLS 1.2", Outcome.CLIENT_SILENT_CLOSE)
    same = attempt(1, 10.5, "TLS 1.2", Outcome.ESTABLISHED)
    late = attempt(2, 20.0, "TLS 1.0", Outcome.ESTABLISHED)
    retry = attempt(3, 10.9, "TLS 1.0", Outcome.ESTABLISHED)
    assert find_retry(failed, [same, late, retry]) is retry
    assert find_retry(failed, [same, late]) is None


def test_zeek_version_spelling() -> None:
    assert [zeek_version(v) for v in ["TLS 1.2", "TLS 1.0", "SSL 3.0", "TLS 1.3 draft 23", "unknown-32257", None,
                                      "DTLS 1.0", "DTLS 1.2", "DTLS 1.3"]] == [
        "TLSv12", "TLSv10", "SSLv3", "TLSv13-draft23", "unknown-32257", None, "DTLSv10", "DTLSv12", "DTLSv13"]


def test_pattern_tallies_merge_across_inputs() -> None:
    def failed(capture: str, frame: int) -> ConnectionRecord:
        return Connection(capture, 0, "10.0.0.1", 50000, "10.0.0.2", 443, is_tls=True, first_frame=frame,
                          outcome=Outcome.NO_SERVER_RESPONSE).freeze()

    first, second = PatternTally(), PatternTally()
    first.add(failed("b.pcapng", 7))
    second.add(failed("a.pcapng", 3))
    second.add(failed("a.pcapng", 9))
    first.merge(second)
    (row,) = first.rows()
    assert (row.connections, row.captures, row.example, row.server) == (3, 2, "a.pcapng:3", "10.0.0.2:443")


def test_unknown_code_points_print_their_number_never_a_bare_unknown() -> None:
    # Given a ServerHello whose cipher suite and key share group tshark cannot name ("Unknown (0x6399)")
    client, server = "10.0.0.1:50000", "10.0.0.2:443"
    hello = Record(22, False, 200, handshakes=[Handshake(1, values={"tls.handshake.version": ["0x0303"]})])
    server_hello = Record(22, False, 90, handshakes=[Handshake(
        2, values={"tls.handshake.version": ["0x7f0e"], "tls.handshake.ciphersuite": ["0x6399"],
                   "tls.handshake.extensions_key_share_group": ["0x0a0b"]},
        labels={"tls.handshake.ciphersuite": ["Unknown"], "tls.handshake.extensions_key_share_group": ["Unknown"]})])
    (record,) = _connections([_pkt(1, 1.0, client, server, "S"), _pkt(2, 1.001, server, client, "SA"),
                              _pkt(3, 1.002, client, server, records=[hello]),
                              _pkt(4, 1.01, server, client, records=[server_hello])])
    # Then the record names the draft and prints the numbers; the Zeek fields spell them as Zeek does (decimal)
    assert record.version == "TLS 1.3 draft 14"
    assert record.server_hello is not None
    assert (record.server_hello.cipher, record.server_hello.curve) == ("unknown-0x6399", "unknown-0x0a0b")
    zeek = to_json(record)["zeek"]
    assert (zeek["version"], zeek["cipher"], zeek["curve"]) == ("TLSv13-draft14", "unknown-25497", "unknown-2571")


def test_a_servers_encrypted_alert_is_not_the_client_refusing_the_chain() -> None:
    # Given TLS 1.2: the client answers the server's flight (CKE, CCS, encrypted Finished), then the server sends
    # an encrypted alert and closes
    client, server = "10.0.0.1:50000", "10.0.0.2:443"
    hello = Record(22, False, 200, handshakes=[Handshake(1, values={"tls.handshake.version": ["0x0303"]})])
    flight = Record(22, False, 900, handshakes=[Handshake(2, values={"tls.handshake.version": ["0x0303"]}),
                                                Handshake(11), Handshake(14)])
    answer = [Record(22, False, 70, handshakes=[Handshake(16)]), Record(20, False, 1),
              Record(22, False, 40, handshakes=[Handshake(None)])]
    alert = Record(21, False, 26, alert_encrypted=True)
    (record,) = _connections([
        _pkt(1, 1.0, client, server, "S"), _pkt(2, 1.001, server, client, "SA"),
        _pkt(3, 1.002, client, server, records=[hello]), _pkt(4, 1.01, server, client, records=[flight]),
        _pkt(5, 1.02, client, server, records=answer), _pkt(6, 1.03, server, client, records=[alert]),
        _pkt(7, 1.031, server, client, "AF")])
    # Then the cause names the server as the sender and rests on its alert, not on the chain
    assert record.outcome is Outcome.ENCRYPTED_ALERT_IN_HANDSHAKE
    (cause,) = record.causes
    assert cause.kind.value == "alert" and cause.evidence == ("server sent an encrypted alert in frame 6",)
    assert "client" not in cause.summary


def test_an_expired_intermediate_explains_a_silent_refusal_by_the_plugins_finding() -> None:
    # Given TLS 1.2: a two-certificate chain on which the plugin found the intermediate expired (a warning: a
    # client that finds no other path refuses it), then the client hangs up without a word
    client, server = "10.0.0.1:50000", "10.0.0.2:443"
    hello = Record(22, False, 200, handshakes=[Handshake(1, values={"tls.handshake.version": ["0x0303"]})])
    flight = Record(22, False, 900, handshakes=[Handshake(2, values={"tls.handshake.version": ["0x0303"]}),
                                                Handshake(11), Handshake(14)])
    said = ("intermediate certificate #1 (CA) is not valid at capture time (valid 2020-01-01T00:00:00Z to "
            "2021-01-01T00:00:00Z): it has expired")
    chain = _pkt(4, 1.01, server, client, records=[flight])
    chain.certificates = [Certificate(0, "server", subject_cn="leaf", frame=4),
                          Certificate(1, "server", subject_cn="CA", frame=4, not_after="2021-01-01T00:00:00Z")]
    chain.findings = [Finding("expired_certificate", Severity.WARNING, said, 4, 1)]
    (record,) = _connections([
        _pkt(1, 1.0, client, server, "S"), _pkt(2, 1.001, server, client, "SA"),
        _pkt(3, 1.002, client, server, records=[hello]), chain, _pkt(5, 1.012, client, server, "AF")])
    # Then the plugin's sentence is the cause, of the kind expired_certificate; nothing is judged again here
    assert record.outcome is Outcome.CLIENT_SILENT_CLOSE
    top = record.causes[0]
    assert (top.kind.value, top.summary, top.checks) == ("expired_certificate", said, ("expired_certificate",))
    assert [f.check for f in record.certificates[1].findings] == ["expired_certificate"]
    assert record.certificates[0].findings == ()
