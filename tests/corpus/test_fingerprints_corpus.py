"""Fingerprints on third-party traces: JA3/JA3S against tshark's own and JA4 against a second computation (Zeek's
traces), and JA3, JA3S and JA4 against what Arkime itself reports (Arkime's traces, ../shared/corpus/arkime)."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fingerprint_support import disagreements
from plugin_support import manifest_decode_rules
from summarize_support import summarize_json


def _records(tmp: Path, paths: list[Path], rule: list[str]) -> dict[tuple[str, int, int], dict]:
    arguments = [arg for item in rule for arg in ("--decode-as", item)] + [str(path) for path in paths]
    _, document = summarize_json(tmp, *arguments)
    return {(Path(conn["capture"]).name, conn["client_port"], conn["server_port"]): conn
            for conn in document["connections"]}


def test_zeek_traces_fingerprints_agree_with_tshark(corpus_dir: Path, tshark: str, zeek_summary: dict) -> None:
    rules = manifest_decode_rules(corpus_dir)
    groups: dict[tuple[str, ...], list[Path]] = {}
    for trace in sorted((corpus_dir / "zeek").glob("*.pcap*")):
        groups.setdefault(tuple(rules.get(f"zeek/{trace.name}", [])), []).append(trace)
    differ, compared = [], 0
    # summarize reads every trace without --decode-as (it finds TLS by its hello on any port); the independent
    # reader, plain tshark, gets the -d option MANIFEST.tsv gives
    records = {(Path(conn["capture"]).name, conn["client_port"], conn["server_port"]): conn
               for conn in zeek_summary["connections"]}
    jobs = [(trace, rule) for rule, traces in groups.items() for trace in traces]
    with ThreadPoolExecutor(os.cpu_count()) as pool:  # each plain tshark run is mostly its start-up: one per core
        for found, count in pool.map(lambda job: disagreements(tshark, job[0], records, job[1]), jobs):
            differ += found
            compared += count
    assert differ == []
    assert compared > 50


def test_arkime_traces_fingerprints_agree_with_arkime(corpus_dir: Path, tmp_path: Path) -> None:
    # Given Arkime's own per-session ja3, ja3s and ja4 (a reader that shares nothing with tshark or tsharkpost)
    sessions = [json.loads(line) for line in (corpus_dir / "arkime" / "expected.jsonl").read_text().splitlines()]
    sessions = [session for session in sessions if session.get("tls", {}).get("ja3")]
    records = _records(tmp_path, sorted({corpus_dir / session["pcap"] for session in sessions}), [])
    differ = []
    for session in sessions:
        tls = session["tls"]
        conn = records.get((Path(session["pcap"]).name, session["src_port"], session["dst_port"]))
        assert conn is not None, session["pcap"]
        mine = conn["fingerprints"]
        theirs = {"ja3": tls["ja3"][0], "ja3_full": tls["ja3string"][0], "ja3s": tls.get("ja3s", [None])[0],
                  "ja3s_full": tls.get("ja3sstring", [None])[0], "ja4": tls.get("ja4", [None])[0]}
        for name, value in theirs.items():
            if value is not None and mine[name] != value:
                differ.append((session["pcap"], session["src_port"], name, value, mine[name]))
    assert differ == []
    assert len(sessions) > 10
