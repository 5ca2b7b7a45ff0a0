"""JA3/JA3S of every connection of captures/ agree with tshark's own, and JA4 with a second computation from fields."""

from __future__ import annotations

from pathlib import Path

from fingerprint_support import disagreements
from summarize_support import summarize_json


def test_fingerprints_agree_with_an_independent_computation(tmp_path: Path, captures_dir: Path, tshark: str) -> None:
    # Given every bundled capture, read by summarize and by plain tshark fields
    captures = sorted(captures_dir.glob("*.pcapng"))
    _, document = summarize_json(tmp_path, *map(str, captures))
    records = {(Path(conn["capture"]).name, conn["client_port"], conn["server_port"]): conn
               for conn in document["connections"]}
    # When each connection's fingerprints are compared, Then none differs
    differ, compared = [], 0
    for capture in captures:
        found, count = disagreements(tshark, capture, records)
        differ += found
        compared += count
    assert differ == []
    assert compared > 30
