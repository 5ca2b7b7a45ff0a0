"""A Certificate message tshark 4.0 leaves undecoded (tests/data/wild/huge-certificate-chain.pcapng, captures/wild.py).

The capture: `openssl s_server -tls1_2` sends a leaf with 4,701 subjectAltName dNSNames and an intermediate with
5,800 nameConstraints subtrees, a Certificate message of 331,941 bytes in 21 records, to capgen's Schannel-like
raw client, which reads the whole flight and closes without a word. tshark 4.0 shows the 21 records as "Encrypted
Handshake Message": it takes a handshake message of 64 KiB or more at a record's start for ciphertext
(packet-tls.c, is_encrypted_handshake_message), and no preference changes that.

Expected values come from an independent reader: the server's bytes as `tshark -z follow,tcp,raw` prints them
(no TLS dissection), cut into records and the Certificate message here, each certificate read by openssl x509.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest
from conftest import DATA
from summarize_support import summarize_json

CAPTURE = DATA / "wild" / "huge-certificate-chain.pcapng"


def server_bytes(tshark: str) -> bytes:
    """What the server sent on stream 0, from tshark's TCP follow (raw hex, server lines indented)."""
    out = subprocess.run([tshark, "-n", "-r", str(CAPTURE), "-q", "-z", "follow,tcp,raw,0"],
                         capture_output=True, text=True, check=True).stdout
    return b"".join(bytes.fromhex(line.strip()) for line in out.splitlines()
                    if line.startswith("\t") and re.fullmatch(r"[0-9a-f]+", line.strip()))


def certificate_message(stream: bytes) -> tuple[bytes, int]:
    """The server's Certificate message (header included) and the number of records it spans."""
    handshake, records, at = b"", [], 0
    while at + 5 <= len(stream):
        content_type, length = stream[at], int.from_bytes(stream[at + 3:at + 5], "big")
        if content_type == 22:
            records.append((len(handshake), len(handshake) + length))
            handshake += stream[at + 5:at + 5 + length]
        at += 5 + length
    start = 0
    while start < len(handshake):
        end = start + 4 + int.from_bytes(handshake[start + 1:start + 4], "big")
        if handshake[start] == 11:
            spanned = sum(1 for first, last in records if first < end and last > start)
            return handshake[start:end], spanned
        start = end
    raise AssertionError("no Certificate message from the server")


def openssl_facts(der: bytes) -> dict[str, str]:
    """What openssl x509 prints of one certificate: fingerprints, subject, issuer, serial, dates."""
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-fingerprint", "-sha256", "-subject",
                          "-issuer", "-serial", "-dates", "-nameopt", "RFC2253"], input=der, capture_output=True,
                         check=True).stdout.decode()
    facts = dict(line.split("=", 1) for line in out.splitlines())
    sha1 = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-fingerprint", "-sha1"], input=der,
                          capture_output=True, check=True).stdout.decode().split("=", 1)[1]
    facts["sha1"] = sha1.strip()
    return facts


@pytest.fixture(scope="module")
def chain_from_bytes(tshark: str) -> tuple[int, int, list[bytes]]:
    message, records = certificate_message(server_bytes(tshark))
    ders, at, last = [], 7, 7 + int.from_bytes(message[4:7], "big")
    while at < last:
        size = int.from_bytes(message[at:at + 3], "big")
        ders.append(message[at + 3:at + 3 + size])
        at += 3 + size
    return len(message), records, ders


def hex_colons(text: str) -> str:
    return text.strip().replace(":", "").lower()


def test_tshark_leaves_the_certificate_message_undecoded(tshark: str, chain_from_bytes: tuple[int, int, list[bytes]]
                                                         ) -> None:
    # Given the capture's Certificate message, read from the raw bytes: over 64 KiB and many records
    size, records, ders = chain_from_bytes
    assert size == 331_941 and records == 21 and len(ders) == 2
    # When plain tshark reads it
    argv = [tshark, "-n", "-r", str(CAPTURE), "-Y", "tls.handshake", "-T", "fields", "-e", "tls.handshake.type",
            "-e", "tls.handshake.certificate_length", "-e", "_ws.col.Info"]
    rows = [line.split("\t") for line in subprocess.run(argv, capture_output=True, text=True, check=True)
            .stdout.splitlines()]
    # Then it names no Certificate message and decodes no certificate: 21 records are "Encrypted Handshake Message"
    assert not any("11" in row[0].split(",") or row[1] for row in rows)
    assert sum(row[2].count("Encrypted Handshake Message") for row in rows) == 21


def test_summarize_reads_the_chain_tshark_left_undecoded(tmp_path: Path,
                                                         chain_from_bytes: tuple[int, int, list[bytes]]) -> None:
    # Given the capture and what openssl x509 reads in the certificates of its Certificate message
    size, records, ders = chain_from_bytes
    expected = [openssl_facts(der) for der in ders]
    # When summarize reads it
    _, document = summarize_json(tmp_path, str(CAPTURE))
    (conn,) = document["connections"]
    # Then the chain is the one openssl reads, certificate by certificate, with the plugin's checks run on it
    certs = conn["certificates"]
    assert [cert["sha256"] for cert in certs] == [hex_colons(facts["sha256 Fingerprint"]) for facts in expected]
    assert [cert["sha1"] for cert in certs] == [hex_colons(facts["sha1"]) for facts in expected]
    assert [cert["subject"] for cert in certs] == [facts["subject"] for facts in expected]
    assert [cert["issuer"] for cert in certs] == [facts["issuer"] for facts in expected]
    assert [cert["serial"] for cert in certs] == [facts["serial"].lower() for facts in expected]
    assert len(certs[0]["san"]) == 4701 and certs[0]["san"][0] == "huge-chain.example.test"
    assert (certs[0]["ca"], certs[1]["ca"], certs[1]["path_len"]) == (False, True, 0)
    assert conn["certificate_frame"] is not None and not conn["chain_encrypted"] and not conn["chain_undecoded"]
    reassembled = [f for f in conn["findings"] if f["check"] == "chain_reassembled"]
    assert [f["message"] for f in reassembled] == [
        f"the server's Certificate message ({size} bytes in {records} records) was reassembled by tsharkpost: "
        "tshark left it undecoded"]
    # Zeek's history letter for the Certificate, in its place before ServerKeyExchange and ServerHelloDone
    assert conn["zeek"]["ssl_history"] == "Csxkn"
    flight = ["server_hello", "certificate", "server_key_exchange", "server_hello_done"]
    assert [m["name"] for m in conn["messages"] if m["side"] == "server"] == flight
    assert [m["name"] for m in conn["milestones"] if m["side"] == "server" and m["name"] in flight] == flight
    assert conn["zeek"]["cert_chain_fps"] == [cert["sha256"] for cert in certs]
    # The client hung up silently right after a chain that was read and checked: nothing wrong was found in it
    assert conn["outcome"] == "client_silent_close_after_certificates"
    assert [cause["kind"] for cause in conn["causes"]] == ["unexplained_refusal"]



def test_a_chain_over_the_reassembly_bound_is_said_unread(tmp_path: Path,
                                                          chain_from_bytes: tuple[int, int, list[bytes]]) -> None:
    # Given the plugin's bound on a reassembled message lowered below the message's size
    size = chain_from_bytes[0]
    # When summarize reads the capture
    _, document = summarize_json(tmp_path, "--plugin-pref", "tpost.max_handshake_kib:100", str(CAPTURE))
    (conn,) = document["connections"]
    # Then no chain, and the record and the cause say it was not read, and why: never "nothing wrong with it"
    assert conn["certificates"] == [] and conn["chain_undecoded"] and not conn["chain_encrypted"]
    (note,) = [f for f in conn["findings"] if f["check"] == "chain_not_decoded"]
    assert f"{size} bytes, over the 100 KiB bound for reassembly" in note["message"]
    (cause,) = conn["causes"]
    assert cause["kind"] == "chain_unread" and note["message"] in cause["summary"]
    assert "nothing wrong" not in cause["summary"]
    assert conn["zeek"]["ssl_history"] == "Cskn"


def plugin_rows(tshark: str, plugin: Path, *options: str) -> list[list[str]]:
    argv = [tshark, "-n", "-r", str(CAPTURE), "-X", f"lua_script:{plugin}", *options, "-Y", "tpost", "-T", "fields",
            "-e", "frame.number", "-e", "tpost.check", "-e", "tpost.cert.sha256", "-e", "tpost.cert.key.alg"]
    return [line.split("\t") for line in subprocess.run(argv, capture_output=True, text=True, check=True)
            .stdout.splitlines()]


def test_the_plugin_reassembles_alike_in_one_pass_and_two(tshark: str, plugin: Path,
                                                          chain_from_bytes: tuple[int, int, list[bytes]]) -> None:
    # Given the capture read by tshark with the plugin alone, in one pass and in two (-2, as the GUI revisits)
    one, two = plugin_rows(tshark, plugin), plugin_rows(tshark, plugin, "-2")
    # Then both show the reassembled chain in the frame of its last record, with the same fingerprints
    assert one == two
    (frame, checks, fingerprints, key_algs) = next(row for row in one if "chain_reassembled" in row[1])
    digests = [hashlib.sha256(der).hexdigest() for der in chain_from_bytes[2]]
    assert fingerprints.split(",") == digests and key_algs == "rsaEncryption,rsaEncryption"
    # And the silent teardown that follows names that frame's chain (it was checked: nothing else to say)
    assert [row[1] for row in one] == ["chain_reassembled", "silent_teardown"] and checks == "chain_reassembled"
    assert int(frame) < int(one[-1][0])
