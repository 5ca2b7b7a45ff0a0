"""summarize agrees with Zeek's own ssl.log on Zeek's TLS test traces (../shared/corpus/zeek/expected.jsonl).

Every Zeek row is compared field by field; the only disagreements allowed are
the documented ones below, each with its reason. README.md ("Mapping to Zeek")
says the same in prose.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from plugin_support import manifest_decode_rules
from summarize_support import summarize_json
from tshark_oracle import read_sent_chains

FIELDS = ["version", "cipher", "curve", "server_name", "resumed", "last_alert", "established", "ssl_history",
          "cert_chain_fps", "sni_matches_cert"]

# (trace, client port) -> why tsharkpost and Zeek differ on that row; None as port: the whole trace.
DOCUMENTED_DIFFERENCES = {
    ("globus-url-copy.pcap", 60108): "GridFTP control channel: the TLS handshake travels base64-encoded inside "
                                     "FTP ADAT commands (GSI); Zeek unwraps it, tshark does not see TLS there",
    ("psql-aws-ssl-require-15432.pcap", 36934): "Zeek's baseline has no established/ssl_history/resumed columns "
                                                "for this row (null in the oracle); nothing to compare",
    ("wstunnel-https.pcap", None): "the oracle row has no ports (TLS inside a WebSocket tunnel); no connection "
                                   "to pair it with",
    ("dtls1_0.pcap", None): "DTLS over UDP: tsharkpost reports TCP connections only",
    ("dtls1_2.pcap", None): "DTLS over UDP: tsharkpost reports TCP connections only",
    ("dtls13-wolfssl.pcap", None): "DTLS over UDP: tsharkpost reports TCP connections only",
    ("webrtc-stun.pcap", None): "DTLS over UDP: tsharkpost reports TCP connections only",
}


def _documented(row: dict) -> str | None:
    return DOCUMENTED_DIFFERENCES.get((row["trace"], row["orig_p"])) or DOCUMENTED_DIFFERENCES.get((row["trace"], None))


@pytest.fixture(scope="module")
def zeek_rows(corpus_dir: Path) -> list[dict]:
    rows, seen = [], set()
    for line in (corpus_dir / "zeek" / "expected.jsonl").read_text().splitlines():
        row = json.loads(line)
        key = (row["trace"], row["orig_p"], row["resp_p"])
        if key not in seen:  # rows repeat when several of Zeek's tests read the same trace
            seen.add(key)
            rows.append(row)
    return rows


@pytest.fixture(scope="module")
def ours(corpus_dir: Path, zeek_rows: list[dict], tmp_path_factory: pytest.TempPathFactory, tshark: str) -> dict:
    """Our records keyed by (trace, client port, server port), one summarize run per decode-as group."""
    rules = manifest_decode_rules(corpus_dir)
    traces = sorted({row["trace"] for row in zeek_rows})
    groups: dict[tuple[str, ...], list[str]] = {}
    for trace in traces:
        groups.setdefault(tuple(rules.get(f"zeek/{trace}", [])), []).append(str(corpus_dir / "zeek" / trace))
    found = {}
    for rule, paths in groups.items():
        arguments = [arg for item in rule for arg in ("--decode-as", item)] + paths
        _, document = summarize_json(tmp_path_factory.mktemp("zeek"), *arguments)
        for conn in document["connections"]:
            found[(Path(conn["capture"]).name, conn["client_port"], conn["server_port"])] = conn
    return found


def _same(field: str, zeek: object, mine: object) -> bool:
    if field == "cert_chain_fps":
        return (zeek or []) == mine  # Zeek writes "-" (null) for an empty chain
    return zeek == mine


def test_every_zeek_row_agrees_or_is_documented(zeek_rows: list[dict], ours: dict) -> None:
    disagreements = []
    compared = 0
    for row in zeek_rows:
        conn = ours.get((row["trace"], row["orig_p"], row["resp_p"]))
        if _documented(row):
            continue
        assert conn is not None, f"no connection for Zeek row {row['trace']} {row['orig_p']}->{row['resp_p']}"
        for field in FIELDS:
            if field == "sni_matches_cert" and row[field] is None:
                continue  # Zeek logs it only with its x509 validation scripts loaded
            compared += 1
            if not _same(field, row[field], conn["zeek"][field]):
                disagreements.append((row["trace"], row["orig_p"], field, row[field], conn["zeek"][field]))
    assert disagreements == []
    assert compared > 300


def test_documented_differences_are_still_differences(zeek_rows: list[dict], ours: dict) -> None:
    # A documented difference that no longer differs must be removed from the list above.
    for row in zeek_rows:
        reason = _documented(row)
        if not reason:
            continue
        conn = ours.get((row["trace"], row["orig_p"], row["resp_p"]))
        same = conn is not None and all(_same(field, row[field], conn["zeek"][field]) for field in FIELDS
                                        if not (field == "sni_matches_cert" and row[field] is None))
        assert not same, f"{row['trace']}:{row['orig_p']} agrees now: {reason}"


def test_client_chains_agree_with_zeek(zeek_rows: list[dict], ours: dict) -> None:
    # Zeek logs the client's chain (mutual TLS) as client_cert_chain_fps in its "extra" columns: every row that
    # has it agrees, so no connection gets a client chain it did not have, nor loses one (Zeek's "-" is empty).
    compared = 0
    for row in zeek_rows:
        extra = row.get("extra") or {}
        if "client_cert_chain_fps" not in extra or _documented(row):
            continue
        conn = ours[(row["trace"], row["orig_p"], row["resp_p"])]
        compared += 1
        assert (extra["client_cert_chain_fps"] or []) == conn["zeek"]["client_cert_chain_fps"], row["trace"]
        assert [cert["sha256"] for cert in conn["client_certificates"]] == conn["zeek"]["client_cert_chain_fps"]
    assert compared >= 35   # 39 distinct rows carry the column


def test_client_certificate_trace_as_plain_tshark_reads_it(corpus_dir: Path, tmp_path: Path, tshark: str) -> None:
    # Zeek's client-certificate.pcap (no ssl.log row in the oracle): a TLS 1.2 client sends two certificates after
    # the server's three. Plain tshark's bytes are the independent reader of both chains.
    capture = corpus_dir / "zeek" / "client-certificate.pcap"
    sent = read_sent_chains(tshark, capture)
    (server,) = [chain for chain in sent if chain.source_port == 443]
    (client,) = [chain for chain in sent if chain.source_port != 443]
    _, document = summarize_json(tmp_path, str(capture))
    (conn,) = document["connections"]
    assert [cert["sha256"] for cert in conn["certificates"]] == [hashlib.sha256(d).hexdigest() for d in server.ders]
    assert [cert["sha256"] for cert in conn["client_certificates"]] == [
        hashlib.sha256(d).hexdigest() for d in client.ders]
    assert [cert["subject_cn"] for cert in conn["client_certificates"]] == list(client.subject_cns)
    assert {cert["sender"] for cert in conn["client_certificates"]} == {"client"}
    assert {cert["frame"] for cert in conn["client_certificates"]} == {client.frame}
    assert conn["zeek"]["client_cert_chain_fps"] == [cert["sha256"] for cert in conn["client_certificates"]]


def test_ssl_history_agreement_is_total_outside_documented_rows(zeek_rows: list[dict], ours: dict) -> None:
    rows = [row for row in zeek_rows if not _documented(row)]
    agree = sum(ours[(r["trace"], r["orig_p"], r["resp_p"])]["zeek"]["ssl_history"] == r["ssl_history"] for r in rows)
    assert (agree, len(rows)) == (len(rows), len(rows))
