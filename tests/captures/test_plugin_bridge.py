"""The plugin's per-packet bridge (preference tpost.bridge) that tsharkpost summarize reads instead of the TCP tree.

Each expectation is computed here from plain tshark fields, without the plugin.
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import CAPTURES
from plugin_support import parse_pdml, run_tshark

BRIDGED = ["known-good-twin.pcapng", "tls13-no-secrets.pcapng", "smtp-starttls.pcapng", "batch-mixed.pcapng"]


def _plain(tshark: str, capture: Path) -> list[list[str]]:
    fields = ["frame.number", "tcp.stream", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "tcp.flags.syn",
              "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset", "tls.record.content_type",
              "tls.record.opaque_type", "tls.record.length"]
    argv = [tshark, "-n", "-r", str(capture), "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]
    out = subprocess.run(argv + [a for f in fields for a in ("-e", f)], capture_output=True, text=True,
                         check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def _ints(value: str) -> list[int]:
    return [int(v) for v in value.split(",") if v]


def _expected_lines(tshark: str, capture: Path) -> dict[int, tuple[str, bool]]:
    """Frame -> (tpost.pkt line, first application data of its direction), recomputed from tshark fields,
    for the frames that get a line."""
    sent: dict[tuple[int, str], int] = {}
    latest_data: dict[int, int] = {}  # stream -> frame of its latest application data
    lines = {}
    for number, stream, src, sport, dst, dport, syn, ack, fin, rst, types, opaque, lengths in _plain(tshark, capture):
        kinds = _ints(types)
        sizes = _ints(lengths)
        kinds += _ints(opaque)[len(_ints(opaque)) - (len(sizes) - len(kinds)):] if len(kinds) < len(sizes) else []
        data = sum(size for kind, size in zip(kinds, sizes) if kind == 23)
        source, target = f"{src} {sport}", f"{dst} {dport}"
        first = data > 0 and (int(stream), source) not in sent
        if data:
            sent[(int(stream), source)] = sent.get((int(stream), source), 0) + data
            latest_data[int(stream)] = int(number)
        flags = "".join(letter for letter, value in zip("SAFR", (syn, ack, fin, rst)) if value in ("1", "True"))
        latest = latest_data.get(int(stream), 0)
        edge = any(value in ("1", "True") for value in (syn, fin, rst))
        if not (edge or first or any(kind != 23 for kind in kinds) or len(kinds) < len(sizes)):
            continue  # a plain ACK or later application data: counted, but no line
        lines[int(number)] = (f"{stream} {source} {target} {flags or '-'} {sent.get((int(stream), source), 0)} "
                              f"{sent.get((int(stream), target), 0)} {latest}", first)
    return lines


@pytest.mark.parametrize("name", BRIDGED)
def test_bridge_line_on_every_frame_a_record_needs(tshark: str, plugin: Path, name: str) -> None:
    # Given the bridge switched on
    out = run_tshark(tshark, plugin, CAPTURES / name, "-o", "tpost.bridge:TRUE", "-T", "fields",
                     "-e", "frame.number", "-e", "tpost.pkt", "-e", "tpost.pkt.first_data")
    expected = _expected_lines(tshark, CAPTURES / name)
    got = {}
    for line in out.splitlines():
        number, pkt, first = line.split("\t")
        if not pkt:
            continue
        # The time of the latest application data is checked by the summarize tests; compare the rest
        got[int(number)] = (pkt.rsplit(" ", 1)[0], first in ("1", "True"))
    # Then every SYN/FIN/RST frame, every frame with a TLS record other than application data and the first
    # application data of each direction carries stream, endpoints, flags and running byte counts equal to
    # tshark's own fields; plain ACKs and later application data carry none
    assert got == expected


def test_bridge_is_off_by_default(tshark: str, plugin: Path) -> None:
    out = run_tshark(tshark, plugin, CAPTURES / "known-good-twin.pcapng", "-Y", "tpost.pkt", "-T", "fields",
                     "-e", "frame.number")
    assert out == ""


# The letters of tpost.certline and tpost.findline (lua/tpost/tpost_lines.lua) -> the tree fields they repeat.
CERT_LETTERS = {"i": "index", "w": "sender", "s": "subject", "c": "subject_cn", "I": "issuer", "n": "serial",
                "o": "sigalg.oid", "a": "sigalg.name", "t": "key.type", "A": "key.alg", "b": "key.bits",
                "v": "key.curve", "f": "not_before", "F": "not_after", "N": "san", "h": "sha256", "H": "sha1",
                "x": "self_signed", "C": "ca", "L": "path_len", "u": "key_usage"}
FINDING_LETTERS = {"c": "check", "s": "severity", "m": "message", "i": "cert_index"}


def _decoded(line: str, letters: dict[str, str]) -> dict[str, str]:
    pairs = [(letters[token[0]], unquote(token[1:], errors="strict")) for token in line.split(" ")]
    assert len({name for name, _ in pairs}) == len(pairs), line
    return dict(pairs)


def _lines(pdml: str, name: str) -> dict[int, list[str]]:
    """Frame -> the shows of its tpost item `name`, in tree order."""
    found: dict[int, list[str]] = {}
    for packet in ET.fromstring(pdml).iter("packet"):
        frame = int(next(f.get("show", "0") for f in packet.iter("field") if f.get("name") == "num"))
        shows = [f.get("show", "") for f in packet.iter("field") if f.get("name") == name]
        if shows:
            found[frame] = shows
    return found


@pytest.mark.parametrize("name", ["batch-mixed.pcapng", "weak-rsa1024-sha1.pcapng", "md2-root-silent-fin.pcapng"])
def test_each_certificate_and_finding_is_also_one_line_with_the_bridge(tshark: str, plugin: Path, name: str) -> None:
    # Given the plugin's tree with the bridge on (PDML: every tpost item, the lines among them)
    pdml = run_tshark(tshark, plugin, CAPTURES / name, "-o", "tpost.bridge:TRUE", "-Y", "tpost", "-T", "pdml")
    tree = parse_pdml(pdml)
    # When each line is decoded (tokens of a letter and a %XX-escaped value, in a fixed order)
    cert_lines, finding_lines = _lines(pdml, "tpost.certline"), _lines(pdml, "tpost.findline")
    # Then each certificate summary has its line, in the same order, holding exactly the tree's fields
    by_frame: dict[int, list[dict[str, str]]] = {}
    for cert in tree.certs:
        by_frame.setdefault(cert.frame, []).append(cert.values)
    assert {frame: [_decoded(line, CERT_LETTERS) for line in lines] for frame, lines in cert_lines.items()} == by_frame
    # And each finding has its line: check, severity, message and certificate index as the tree shows them
    findings: dict[int, list[dict[str, str]]] = {}
    for f in tree.findings:
        values = {"check": f.check, "severity": str(f.severity), "message": f.message}
        if f.cert_index is not None:
            values["cert_index"] = str(f.cert_index)
        findings.setdefault(f.frame, []).append(values)
    assert {frame: [_decoded(line, FINDING_LETTERS) for line in lines]
            for frame, lines in finding_lines.items()} == findings
    assert by_frame and findings
    # And no line holds a byte the escaping leaves out (tshark's aggregator, a tab, a space inside a value)
    for lines in list(cert_lines.values()) + list(finding_lines.values()):
        assert all(0x20 <= ord(char) <= 0x7e for line in lines for char in line)


def test_no_certificate_or_finding_line_without_the_bridge(tshark: str, plugin: Path) -> None:
    # Given the plugin as the GUI runs it (no bridge): its tree has summaries and findings, and no line of them
    pdml = run_tshark(tshark, plugin, CAPTURES / "weak-rsa1024-sha1.pcapng", "-Y", "tpost", "-T", "pdml")
    assert parse_pdml(pdml).certs and parse_pdml(pdml).findings
    assert "tpost.certline" not in pdml and "tpost.findline" not in pdml
