"""The ClientHello offer in every record (cipher suites, extensions, supported groups) against tshark's own text.

The yardstick is `tshark -V` without the plugin, read with regular expressions: another output path than the
plugin's lines that tsharkpost reads (-T fields), and none of its code.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import CAPTURES
from summarize_support import summarize_json

CAPTURES_WITH_OFFERS = ["known-good-twin.pcapng", "md2-root-silent-fin.pcapng", "version-fallback.pcapng",
                        "tls13-embedded-secrets.pcapng"]
LINE = re.compile(r"^\s*(Cipher Suite|Type|Supported Group): (.+) \((?:0x)?[0-9a-f]+\)$")
KINDS = {"Cipher Suite": "cipher_suites", "Type": "extensions", "Supported Group": "supported_groups"}


def tshark_offers(tshark: str, name: str) -> dict[int, dict[str, list[str]]]:
    """tcp.stream -> what its ClientHello offered, as tshark -V prints it."""
    text = subprocess.run([tshark, "-n", "-r", str(CAPTURES / name), "-V", "-Y", "tls.handshake.type == 1"],
                          capture_output=True, text=True, check=True).stdout
    offers: dict[int, dict[str, list[str]]] = {}
    for frame in text.split("\nFrame "):
        stream = re.search(r"\[Stream index: (\d+)\]", frame)
        assert stream, frame[:200]
        hello = frame.split("Handshake Type: Client Hello (1)", 1)[1]
        found: dict[str, list[str]] = {kind: [] for kind in KINDS.values()}
        for line in hello.splitlines():
            match = LINE.match(line)
            if match:
                found[KINDS[match.group(1)]].append(match.group(2))
        offers[int(stream.group(1))] = found
    return offers


@pytest.mark.parametrize("name", CAPTURES_WITH_OFFERS)
def test_client_hello_offers_are_tsharks(tmp_path: Path, tshark: str, name: str) -> None:
    _, document = summarize_json(tmp_path, str(CAPTURES / name))
    expected = tshark_offers(tshark, name)
    got = {conn["stream"]: conn["client_hello"] for conn in document["connections"] if conn["client_hello"]}
    assert sorted(got) == sorted(expected)
    for stream, offer in expected.items():
        for kind, names in offer.items():
            assert got[stream][kind] == names, (name, stream, kind)
        assert got[stream]["cipher_suite_count"] == len(offer["cipher_suites"])


def test_server_hello_extensions(tmp_path: Path, tshark: str) -> None:
    # Given the twin's ServerHello (renegotiation_info, ec_point_formats, session_ticket, extended_master_secret)
    text = subprocess.run([tshark, "-n", "-r", str(CAPTURES / "known-good-twin.pcapng"), "-V", "-Y",
                           "tls.handshake.type == 2"], capture_output=True, text=True, check=True).stdout
    hello = text.split("Handshake Type: Server Hello (2)", 1)[1].split("Handshake Type:", 1)[0]
    expected = [m.group(2) for m in map(LINE.match, hello.splitlines()) if m and m.group(1) == "Type"]
    _, document = summarize_json(tmp_path, str(CAPTURES / "known-good-twin.pcapng"))
    assert document["connections"][0]["server_hello"]["extensions"] == expected
    assert expected == ["renegotiation_info", "ec_point_formats", "session_ticket", "extended_master_secret"]
