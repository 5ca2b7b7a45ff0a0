"""The diff stages without tshark: side specs, pairing, chain alignment, and the ClientHello lists read from tshark's
fields."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from fragment_support import seed_record

from tsharkpost.capture.fields_reader import packets
from tsharkpost.plugin import fields as F
from tsharkpost.capture.tracker import ConnectionTracker
from tsharkpost.diff import compare
from tsharkpost.diff.compare import align_chain
from tsharkpost.diff.verdict import verdict
from tsharkpost.diff.sides import (
    Candidate,
    ServerSpec,
    SideSpec,
    matches,
    pair,
    parse_server,
    parse_side,
)
from tsharkpost.errors import PairingError
from tsharkpost.record.model import Certificate, ConnectionRecord, Outcome


def test_side_specs(tmp_path: Path) -> None:
    assert parse_side("a.pcapng") == SideSpec(Path("a.pcapng"))
    assert parse_side("dir/a.pcapng#12") == SideSpec(Path("dir/a.pcapng"), 12)
    hashed = tmp_path / "odd#name.pcapng"
    hashed.write_bytes(b"")
    assert parse_side(str(hashed)) == SideSpec(hashed)  # an existing file name wins
    with pytest.raises(ValueError, match="tcp.stream number"):
        parse_side("a.pcapng#first")
    # a DTLS or QUIC flow as summarize --connections names it: its transport, then its udp.stream
    assert parse_side("a.pcapng#quic/0") == SideSpec(Path("a.pcapng"), 0, "quic")
    assert parse_side("a.pcapng#udp-dtls/3") == SideSpec(Path("a.pcapng"), 3, "udp-dtls")
    assert parse_side("a.pcapng#3").transport == "tcp"
    for bad in ("a.pcapng#tcp/3", "a.pcapng#dtls/3", "a.pcapng#quic/", "a.pcapng#quic/x", "a.pcapng#/3",
                "a.pcapng#quic/\u0663"):
        with pytest.raises(ValueError, match="quic/N"):
            parse_side(bad)


def test_a_tcp_stream_and_a_udp_stream_of_one_number_are_two_connections() -> None:
    tcp, quic = _conn(0, "established"), _conn(0, "client_crypto_error", transport="quic")
    assert tcp != quic and (tcp.name, quic.name) == ("c.pcapng#0", "c.pcapng#quic/0")
    assert pair([tcp], [quic]) == (tcp, quic)  # not "the same connection"
    assert matches(quic, SideSpec(Path("c.pcapng"), 0, "quic"), None, None)
    assert not matches(tcp, SideSpec(Path("c.pcapng"), 0, "quic"), None, None)
    assert not matches(quic, SideSpec(Path("c.pcapng"), 0), None, None)


def test_server_specs() -> None:
    assert parse_server("127.0.0.11:443") == ServerSpec("127.0.0.11", 443)
    assert parse_server("127.0.0.11") == ServerSpec("127.0.0.11", None)
    assert parse_server("[2001:db8::1]:8443") == ServerSpec("2001:db8::1", 8443)
    assert parse_server("2001:db8::1") == ServerSpec("2001:db8::1", None)
    for bad in ("host:port", ":443", "[::1]:x"):
        with pytest.raises(ValueError):
            parse_server(bad)


def _conn(stream: int, outcome: str, sni: str | None = "shop.example.net", server: str = "10.0.0.1",
          capture: str = "c.pcapng", transport: str = "tcp") -> Candidate:
    return Candidate(capture, stream, "10.0.0.9", 50000 + stream, server, 443, sni, Outcome(outcome), transport)


def test_pairing_prefers_good_successes_and_bad_failures_to_the_same_server() -> None:
    both = [_conn(0, "client_silent_close_after_certificates"), _conn(1, "established"),
            _conn(2, "established", sni="other.example.net", server="10.0.0.2")]
    assert pair(both, both) == (both[1], both[0])


def test_pairing_falls_back_to_the_server_name_then_the_address() -> None:
    good = [_conn(0, "established", server="10.0.0.1", capture="good"), _conn(1, "established", sni="x", capture="good")]
    bad = [_conn(0, "server_fatal_alert", server="192.0.2.1", capture="bad"),
           _conn(1, "server_fatal_alert", sni="y", server="192.0.2.2", capture="bad")]
    assert pair(good, bad) == (good[0], bad[0])  # same name, other address (another site of the service)
    no_sni = [_conn(0, "established", sni=None, server="192.0.2.2", capture="good"), good[1]]
    assert pair(no_sni, bad) == (no_sni[0], bad[1])  # same address


def test_server_names_pair_and_compare_without_regard_to_case() -> None:
    # Given GOOD's client asking for Shop.Example.NET and BAD's for shop.example.net, at other addresses
    good = [_conn(0, "established", sni="Shop.Example.NET", capture="good"), _conn(1, "established", sni="x",
                                                                                capture="good")]
    bad = [_conn(0, "server_fatal_alert", server="192.0.2.1", capture="bad"),
           _conn(1, "server_fatal_alert", sni="y", server="192.0.2.2", capture="bad")]
    # Then they pair by that name: DNS names ignore ASCII case (RFC 4343)
    assert pair(good, bad) == (good[0], bad[0])
    # And the verdict names no server name difference, while it does for another name
    seed = seed_record()
    hello = seed.client_hello
    assert hello is not None and seed.server_name

    def asking_for(name: str) -> ConnectionRecord:
        return dataclasses.replace(seed, client_hello=dataclasses.replace(hello, server_name=name))

    def said(good: ConnectionRecord) -> list[str]:
        return [item.summary for item in verdict(good, seed, compare.sections(good, seed))]

    assert not any("server name" in text for text in said(asking_for(seed.server_name.upper())))
    assert any("server name" in text for text in said(asking_for("other.example.net")))


def test_pairing_errors_list_the_candidates() -> None:
    good = [_conn(0, "established"), _conn(1, "established")]
    bad = [_conn(2, "client_fatal_alert"), _conn(3, "established")]
    with pytest.raises(PairingError, match="ambiguous pairing: 2 pairs") as ambiguous:
        pair(good, bad)
    assert [line.split(":")[0] for line in ambiguous.value.lines] == [
        "  GOOD c.pcapng#0", "  GOOD c.pcapng#1", "  BAD  c.pcapng#2"]
    with pytest.raises(PairingError, match="no connection of GOOD pairs") as unpaired:
        pair(good, [_conn(5, "client_fatal_alert", sni="z", server="10.9.9.9"), _conn(6, "established", sni="z")])
    assert len(unpaired.value.lines) == 4
    lone = [_conn(0, "established")]
    with pytest.raises(PairingError, match="same connection"):
        pair(lone, lone)


def _cert(index: int, subject: str, sha: str, sigalg: str = "sha256WithRSAEncryption", bits: int = 2048,
          not_after: str = "") -> Certificate:
    return Certificate(index, "server", subject=subject, subject_cn=subject[3:], issuer="CN=CA", serial="1",
                       sigalg_name=sigalg, key_type="rsa", key_bits=bits, not_after=not_after, sha256=sha)


def test_chain_alignment_shows_extra_moved_and_reissued_certificates() -> None:
    # Given GOOD: leaf, intermediate A, intermediate B; BAD: leaf, B, A reissued with SHA-1 and 1024 bits, a root
    good = [_cert(0, "CN=leaf", "00"), _cert(1, "CN=A", "aa"), _cert(2, "CN=B", "bb")]
    bad = [_cert(0, "CN=leaf", "00"), _cert(1, "CN=B", "bb"), _cert(2, "CN=A", "a2", "sha1WithRSAEncryption", 1024),
           _cert(3, "CN=root", "rr")]
    rows = align_chain(good, bad)
    assert [(r.good_index, r.bad_index, r.relation) for r in rows] == [
        (0, 0, "same"), (2, 1, "moved"), (1, 2, "changed"), (None, 3, "only_bad")]
    assert rows[2].differences == ["sigalg_name: sha256WithRSAEncryption -> sha1WithRSAEncryption",
                                   "key: rsa 2048 -> rsa 1024"]
    assert [(r.good_index, r.relation) for r in align_chain(bad[:1], good)][-1] == (None, "only_bad")
    assert [r.relation for r in align_chain(good, good[:1])] == ["same", "only_good", "only_good"]


def test_two_different_leaves_are_compared_with_each_other() -> None:
    # Given another server's chain: a leaf for another name, expired, under another intermediate
    good = [_cert(0, "CN=shop", "00"), _cert(1, "CN=A", "aa")]
    other = _cert(0, "CN=expired", "e0", not_after="2026-11-26T17:53:52Z")
    rows = align_chain(good, [other, _cert(1, "CN=G2", "g2")])
    assert [(r.good_index, r.bad_index, r.relation) for r in rows] == [
        (0, 0, "changed"), (None, 1, "only_bad"), (1, None, "only_good")]
    assert rows[0].differences == ["subject: CN=shop -> CN=expired", "not_after:  -> 2026-11-26T17:53:52Z"]


# The plugin's records line for that hello (lua/tpost/tpost_wire.lua), values as Wireshark displays them.
HELLO_LINE = ("R c22 l80 H t1 VTLS%201.2%20(0x0303) CReserved%20(GREASE)%20(0x3a3a) CTLS_AES_128_GCM_SHA256%20(0x1301) "
              "CUnknown%20(0xfefe) xReserved%20(GREASE)%20(2570) xserver_name%20(0) sshop.example.net "
              "xsupported_groups%20(10) GReserved%20(GREASE)%20(0x2a2a) Gx25519%20(0x001d) "
              "xUnknown%20type%2017513%20(17513)")
LINE = "\t".join(["4", "1700000004.5", "0 10.0.0.9 50000 10.0.0.1 443 A 0 0 0 0", HELLO_LINE]
                 + [""] * (len(F.COLUMNS) - 4)).encode() + b"\n"


def test_client_hello_lists_leave_grease_out_and_name_unknown_codes() -> None:
    # Given a ClientHello with GREASE in suites, extensions and groups, an unknown suite and an unknown extension
    tracker = ConnectionTracker("unit")
    for packet in packets(io.BytesIO(LINE)):
        tracker.add(packet)
    (conn,) = tracker.finish()
    hello = conn.client_hello
    assert hello is not None
    assert hello.cipher_suites == ("TLS_AES_128_GCM_SHA256", "unknown-0xfefe")
    assert hello.extensions == ("server_name", "supported_groups", "unknown-0x4469")
    assert hello.supported_groups == ("x25519",)
    assert hello.server_name == "shop.example.net"
