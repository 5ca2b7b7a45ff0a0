"""The plugin's per-packet bridge (preference tpost.bridge) that tsharkpost summarize reads instead of the TCP tree.

Each expectation is computed here from plain tshark fields, without the plugin.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import CAPTURES
from plugin_support import run_tshark

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
