"""The plugin on DTLS captures made by real stacks (captures/dtls-*, captures/dtls.py: OpenSSL over UDP).

DTLS fatal alerts travel in plaintext before the handshake completes, as TLS's do: the plugin names them, their
sender and meaning, and checks the chain they answer. Expected values come from plain tshark (no plugin).
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from conftest import CAPTURES as DTLS
from plugin_support import run_tshark



def _plain(tshark: str, capture: str, display_filter: str, *fields: str) -> list[list[str]]:
    argv = [tshark, "-n", "-r", str(DTLS / capture), "-Y", display_filter, "-T", "fields",
            *(arg for name in fields for arg in ("-e", name))]
    return [line.split("\t") for line in
            subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()]


def _plugin(tshark: str, plugin: Path, capture: str, display_filter: str, *fields: str) -> list[list[str]]:
    out = run_tshark(tshark, plugin, DTLS / capture, "-Y", display_filter, "-T", "fields",
                     *(arg for name in fields for arg in ("-e", name)))
    return [line.split("\t") for line in out.splitlines()]


def test_a_refused_chain_is_a_fatal_alert_from_the_client_pointing_at_the_chain(tshark: str, plugin: Path) -> None:
    # Given plain tshark: the client's port (its ClientHello), the server's Certificate frame and DER, the alert
    capture = "dtls-client-refuses-chain.pcapng"
    client_port = _plain(tshark, capture, "dtls.handshake.type == 1", "udp.srcport")[0][0]
    ((chain_frame, der),) = _plain(tshark, capture, "dtls.handshake.type == 11", "frame.number",
                                   "dtls.handshake.certificate")
    ((alert_frame, port, level, code),) = _plain(tshark, capture, "dtls.alert_message", "frame.number",
                                                 "udp.srcport", "dtls.alert_message.level",
                                                 "dtls.alert_message.desc")
    assert (level, code, port) == ("2", "48", client_port)  # fatal unknown_ca, from the client
    # When the plugin reads it, then the alert is one error finding naming its sender, pointing at the chain
    assert _plugin(tshark, plugin, capture, "tpost.finding", "frame.number", "tpost.check", "tpost.severity",
                   "tpost.alert.code", "tpost.alert.sender", "tpost.related_frame", "tpost.message") == [
        [alert_frame, "fatal_alert", "3", code, "client", chain_frame,
         f"client sent fatal alert 48 unknown_ca in frame {alert_frame}"]]
    # and the chain is summarised on its frame, with the fingerprint of its bytes
    assert _plugin(tshark, plugin, capture, "tpost.cert", "frame.number", "tpost.cert.sha256",
                   "tpost.cert.subject") == [
        [chain_frame, hashlib.sha256(bytes.fromhex(der.replace(":", ""))).hexdigest(), "CN=dtls.example.test"]]


def test_the_good_twin_and_an_unanswered_cookie_have_nothing_to_flag(tshark: str, plugin: Path) -> None:
    # Given the twin that completes (Finished both ways, data, close_notify after the switch to encryption)
    assert _plain(tshark, "dtls-good-twin.pcapng", "dtls.handshake.type == 20 || dtls.record.content_type == 20",
                  "frame.number") != []
    # and a client that never answers the server's HelloVerifyRequest
    assert [row[1] for row in _plain(tshark, "dtls-cookie-never-answered.pcapng", "dtls", "frame.number",
                                     "dtls.handshake.type")] == ["1", "3"]
    # Then the plugin flags nothing on either (close_notify is encrypted; a cookie exchange is no error)
    for capture in ("dtls-good-twin.pcapng", "dtls-cookie-never-answered.pcapng"):
        assert _plugin(tshark, plugin, capture, "tpost.finding", "frame.number", "tpost.check") == []


def test_a_server_refusing_the_version_is_a_fatal_alert_from_the_server(tshark: str, plugin: Path) -> None:
    # Given plain tshark: a DTLS 1.0 ClientHello (0xfeff) answered by the server's fatal alert, no ServerHello
    capture = "dtls-server-refuses-version.pcapng"
    hellos = _plain(tshark, capture, "dtls.handshake.type == 1", "udp.srcport", "dtls.handshake.version")
    assert {version for _, version in hellos} == {"0xfeff"}
    ((alert_frame, port, level, code),) = _plain(tshark, capture, "dtls.alert_message", "frame.number",
                                                 "udp.srcport", "dtls.alert_message.level",
                                                 "dtls.alert_message.desc")
    assert (level, code) == ("2", "70") and port != hellos[0][0]
    # When the plugin reads it, then the alert is one error finding from the server, protocol_version by name
    assert _plugin(tshark, plugin, capture, "tpost.finding", "frame.number", "tpost.check", "tpost.severity",
                   "tpost.alert.code", "tpost.alert.sender", "tpost.message") == [
        [alert_frame, "fatal_alert", "3", code, "server", f"server sent fatal alert 70 protocol_version in frame "
                                                          f"{alert_frame}"]]
