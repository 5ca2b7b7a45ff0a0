"""summarize agrees with Zeek's own ssl.log on Zeek's TLS test traces (../shared/corpus/zeek/expected.jsonl).

Every Zeek row is compared field by field; the only disagreements allowed are
the documented ones below, each with its reason. README.md ("Mapping to Zeek")
says the same in prose.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
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
}


def _key(row: dict) -> tuple[str, int, int]:
    """Our record's key for a Zeek row: (trace, client port, server port). A row whose history starts with "^" is
    flipped: Zeek's originator (the UDP flow's first sender, e.g. a WebRTC peer's STUN) is the TLS server."""
    if (row["ssl_history"] or "").startswith("^"):
        return row["trace"], row["resp_p"], row["orig_p"]
    return row["trace"], row["orig_p"], row["resp_p"]


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


def _records(tmp: Path, *arguments: str) -> dict:
    _, document = summarize_json(tmp, *arguments)
    return {(Path(conn["capture"]).name, conn["client_port"], conn["server_port"]): conn
            for conn in document["connections"]}


@pytest.fixture(scope="module")
def ours(zeek_summary: dict) -> dict:
    """Our records keyed by (trace, client port, server port): one summarize run of every Zeek trace, no
    --decode-as (TLS on 6667 after IRC's STARTTLS and on 3389 after RDP's negotiation is found by its hello)."""
    return {(Path(conn["capture"]).name, conn["client_port"], conn["server_port"]): conn
            for conn in zeek_summary["connections"]}


def test_no_flag_finds_what_decode_as_finds(corpus_dir: Path, ours: dict, tmp_path: Path) -> None:
    # Given the traces MANIFEST.tsv says need tshark -d (TLS on a port tshark gives to another protocol),
    # when summarize reads each with that --decode-as, then it holds exactly the records the run without it holds.
    rules = manifest_decode_rules(corpus_dir)
    compared = 0
    for trace, rule in sorted(rules.items()):
        if not rule or not trace.startswith("zeek/"):
            continue
        arguments = [arg for item in rule for arg in ("--decode-as", item)]
        folder = tmp_path / Path(trace).stem
        folder.mkdir()
        decoded = _records(folder, *arguments, str(corpus_dir / trace))
        without = {key: conn for key, conn in ours.items() if key[0] == Path(trace).name}
        assert without == decoded, trace
        compared += sum(conn["outcome"] != "not_tls" for conn in decoded.values())
    # irc-starttls (6667), rdp-no-cookie-mstshash (3389), and four DTLS traces (their rules name TCP ports,
    # which change nothing: tshark finds DTLS on UDP by itself)
    assert compared == 6


def _same(field: str, zeek: object, mine: object) -> bool:
    if field == "cert_chain_fps":
        return (zeek or []) == mine  # Zeek writes "-" (null) for an empty chain
    return zeek == mine


def test_every_zeek_row_agrees_or_is_documented(zeek_rows: list[dict], ours: dict) -> None:
    disagreements = []
    compared = 0
    for row in zeek_rows:
        conn = ours.get(_key(row))
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
        conn = ours.get(_key(row))
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
        conn = ours[_key(row)]
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
    agree = sum(ours[_key(r)]["zeek"]["ssl_history"] == r["ssl_history"] for r in rows)
    assert (agree, len(rows)) == (len(rows), len(rows))


def test_ssl2_session_is_named_and_flagged(corpus_dir: Path, tshark: str, tmp_path: Path) -> None:
    # Given Zeek's ssl-v2.pcap, a whole SSL 2.0 session (no ssl.log row for it in Zeek's baselines), as plain
    # tshark reads it: one SSL 2.0 SERVER-HELLO (record version 0x0002, message type 4) naming version 0x0002
    trace = corpus_dir / "zeek" / "ssl-v2.pcap"
    server_hello = "tls.record.version == 0x0002 && tls.handshake.type == 4"
    fields = subprocess.run([tshark, "-n", "-r", str(trace), "-Y", server_hello,
                             "-T", "fields", "-e", "frame.number", "-e", "tls.handshake.version"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert fields == ["6", "0x0002"]
    # When summarize reads it, then the version is SSL 2.0 (Zeek spells it SSLv2), the session is established
    # (ciphertext both ways; SSL 2.0 has no ChangeCipherSpec) and the prohibited version is a cause
    _, document = summarize_json(tmp_path, str(trace))
    (conn,) = document["connections"]
    assert (conn["version"], conn["zeek"]["version"], conn["server_hello"]["frame"]) == ("SSL 2.0", "SSLv2", 6)
    assert (conn["outcome"], conn["established"]) == ("established", True)
    assert [(f["check"], f["severity"], f["frame"]) for f in conn["findings"]] == [("old_protocol_version", 3, 6)]
    assert conn["causes"][0]["summary"] == "the server chose SSL 2.0, a prohibited protocol version"


def _unified_record_bytes(payload: bytes) -> int | None:
    """Bytes after the headers of the DTLS 1.3 ciphertext records (unified header, RFC 9147 4: first byte 001CSLEE)
    a datagram holds; None when it does not start with one. With a connection ID (C) the rest counts whole."""
    if not payload or payload[0] >> 5 != 1:
        return None
    total, at = 0, 0
    while at < len(payload) and payload[at] >> 5 == 1:
        first = payload[at]
        if first & 0x10:
            return total + len(payload) - at - 1
        header = 1 + (2 if first & 0x08 else 1) + (2 if first & 0x04 else 0)
        if at + header > len(payload):
            break
        length = int.from_bytes(payload[at + header - 2:at + header], "big") if first & 0x04 else len(payload) - at - header
        total += min(length, len(payload) - at - header)
        at += header + length
    return total


def test_dtls13_ciphertext_is_read_from_the_datagrams(corpus_dir: Path, ours: dict, tshark: str) -> None:
    # Given Zeek's wolfSSL DTLS 1.3 trace as plain tshark reads it: after the hellos, datagrams it leaves as data,
    # each starting with a unified header, from both sides
    trace = corpus_dir / "zeek" / "dtls13-wolfssl.pcap"
    rows = subprocess.run([tshark, "-n", "-r", str(trace), "-Y", "udp && data", "-T", "fields", "-e", "udp.srcport",
                           "-e", "data.data"], capture_output=True, text=True, check=True).stdout.splitlines()
    sent: dict[int, int] = {}
    for row in rows:
        port, payload = row.split("\t")
        counted = _unified_record_bytes(bytes.fromhex(payload))
        assert counted is not None, row
        sent[int(port)] = sent.get(int(port), 0) + counted
    conn = ours[("dtls13-wolfssl.pcap", 33714, 11111)]
    # Then the record counts their bytes per side and is established, as Zeek's row says
    assert len(sent) == 2 and all(sent.values())
    assert conn["application_data_bytes"] == {"client": sent[33714], "server": sent[11111]}
    assert (conn["version"], conn["established"], conn["chain_encrypted"]) == ("DTLS 1.3", True, True)
