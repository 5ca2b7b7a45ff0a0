"""The plugin on QUIC captures made by real stacks (captures/quic-*, captures/quic.py: aioquic on loopback).

A CONNECTION_CLOSE with CRYPTO_ERROR (0x0100 + a TLS alert) is QUIC's fatal alert; the plugin names it, its
sender and what it means, as an expert item of its own. Expected values come from plain tshark (no plugin).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from conftest import CAPTURES as QUIC
from plugin_support import run_tshark

CAPTURES = ["quic-client-refuses-chain.pcapng", "quic-server-refuses-alpn.pcapng", "quic-good-twin.pcapng"]
# Every QUIC capture captures/quic.py makes (its expected file lists them) but the unassigned alert's, which has a
# test of its own (tshark shows no alert field for it): closes of other kinds, Retry and Version Negotiation
# must not be taken for CRYPTO_ERROR.
ALL_CAPTURES = sorted(name for name in json.loads((QUIC / "expected-quic.json").read_text())["captures"]
                      if name != "quic-unassigned-alert-close.pcapng")


def _keys(capture: str, with_keys: bool) -> tuple[str, ...]:
    keys = QUIC / capture.replace(".pcapng", ".keys")
    return ("-o", f"tls.keylog_file:{keys}") if with_keys and keys.exists() else ()


def _plain(tshark: str, capture: str, *options: str) -> list[list[str]]:
    argv = [tshark, "-n", "-r", str(QUIC / capture), *options, "-Y",
            "tls.handshake.type == 1 || quic.cc.error_code.tls_alert", "-T", "fields", "-E", "occurrence=f",
            "-e", "frame.number", "-e", "udp.srcport", "-e", "tls.handshake.type", "-e", "quic.cc.error_code",
            "-e", "quic.cc.error_code.tls_alert"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


@pytest.mark.parametrize("with_keys", [False, True], ids=["no-keys", "key-log"])
@pytest.mark.parametrize("capture", ALL_CAPTURES)
def test_crypto_error_closes_are_named_with_their_sender(tshark: str, plugin: Path, capture: str,
                                                         with_keys: bool) -> None:
    # Given plain tshark's reading: the port that sent the ClientHello, and each CRYPTO_ERROR close
    rows = _plain(tshark, capture, *_keys(capture, with_keys))
    client_port = next(port for _, port, kind, _, _ in rows if kind == "1")
    expected = [(int(frame), "quic_crypto_error", "3", alert, "client" if port == client_port else "server",
                 f"0x{int(code):04x}") for frame, port, _, code, alert in rows if alert]
    # When the plugin reads the capture
    out = run_tshark(tshark, plugin, QUIC / capture, *_keys(capture, with_keys), "-Y", "tpost.finding", "-T",
                     "fields", "-e", "frame.number", "-e", "tpost.check", "-e", "tpost.severity", "-e",
                     "tpost.alert.code", "-e", "tpost.alert.sender", "-e", "tpost.message")
    found = [line.split("\t") for line in out.splitlines()]
    # Then each close is one error finding naming the alert, its sender and the CRYPTO_ERROR code
    assert [(int(frame), check, severity, code, sender) for frame, check, severity, code, sender, _ in found] == [
        row[:5] for row in expected]
    for (_, _, _, code, sender, message), row in zip(found, expected, strict=True):
        assert message.startswith(f"{sender} closed the QUIC connection with CRYPTO_ERROR {row[5]}: TLS alert {code}")


def test_the_refusals_are_the_ones_the_stacks_made(tshark: str) -> None:
    # The captures hold what captures/quic.py asked for: the client refusing the chain (bad_certificate), the
    # server refusing the ALPN list (no_application_protocol), and a twin without a close of that kind
    assert {row[4] for row in _plain(tshark, CAPTURES[0]) if row[4]} == {"42"}
    assert {row[4] for row in _plain(tshark, CAPTURES[1]) if row[4]} == {"120"}
    assert not [row for row in _plain(tshark, CAPTURES[2], *_keys(CAPTURES[2], True)) if row[4]]


def test_the_close_is_an_error_in_expert_information(tshark: str, plugin: Path) -> None:
    # Given the client's refusal, then Expert Information lists it under Errors, in the Response group
    out = run_tshark(tshark, plugin, QUIC / CAPTURES[0], "-q", "-z", "expert,error")
    errors = out.split("Errors", 1)[1]
    assert "Response" in errors and "TSHARKPOST" in errors
    assert "client closed the QUIC connection with CRYPTO_ERROR 0x012a: TLS alert 42 bad_certificate" in errors


def test_with_the_key_log_the_quic_chain_is_summarised_and_checked(tshark: str, plugin: Path) -> None:
    # Given plain tshark with the key log: the frame of the server's Certificate message and its DER
    capture, keys = CAPTURES[0], _keys(CAPTURES[0], True)
    argv = [tshark, "-n", "-r", str(QUIC / capture), *keys, "-Y", "tls.handshake.type == 11", "-T", "fields",
            "-e", "frame.number", "-e", "tls.handshake.certificate"]
    ((frame, der),) = [line.split("\t") for line in
                       subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()]
    # When the plugin reads the capture with the key log
    out = run_tshark(tshark, plugin, QUIC / capture, *keys, "-Y", "tpost.cert || tpost.finding", "-T", "fields",
                     "-e", "frame.number", "-e", "tpost.cert.sha256", "-e", "tpost.cert.subject", "-e",
                     "tpost.related_frame", "-e", "tpost.chain")
    rows = [line.split("\t") for line in out.splitlines()]
    # Then the certificate is summarised on its frame, with the fingerprint of its bytes
    assert [row[:3] for row in rows if row[1]] == [
        [frame, hashlib.sha256(bytes.fromhex(der.replace(":", ""))).hexdigest(), "CN=quic.example.test"]]
    # and the client's bad_certificate close points at that chain, whose checks found nothing wrong
    assert [row[3:] for row in rows if row[3]] == [[frame, f"frame {frame}: nothing wrong found in the chain"]]
    # and without the key log there is no certificate to read
    assert "tpost.cert" not in run_tshark(tshark, plugin, QUIC / capture, "-Y", "tpost.cert", "-T", "pdml")


def test_a_crypto_error_with_an_unassigned_alert_is_named_from_its_code(tshark: str, plugin: Path) -> None:
    # Given plain tshark with the key log: CRYPTO_ERROR 0x01ff, whose alert (255) tshark 4.0 shows no field for
    capture = "quic-unassigned-alert-close.pcapng"
    argv = [tshark, "-n", "-r", str(QUIC / capture), *_keys(capture, True), "-Y", "quic.cc.error_code", "-T",
            "fields", "-e", "frame.number", "-e", "quic.cc.error_code", "-e", "quic.cc.error_code.tls_alert"]
    ((frame, code, alert),) = [line.split("\t") for line in
                               subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()]
    assert (code, alert) == ("511", "")
    # When the plugin reads it, then the close is still a finding, its alert read from the error code
    out = run_tshark(tshark, plugin, QUIC / capture, *_keys(capture, True), "-Y", "tpost.finding", "-T", "fields",
                     "-e", "frame.number", "-e", "tpost.check", "-e", "tpost.alert.code", "-e", "tpost.why")
    assert [line.split("\t") for line in out.splitlines()] == [
        [frame, "quic_crypto_error", "255", "an alert code outside the IANA registry"]]
