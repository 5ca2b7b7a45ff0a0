"""The plugin on third-party captures (../shared/corpus): Zeek's x509 oracle, and never a Lua error."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from plugin_support import (
    findings_by_fields,
    manifest_decode_as,
    plugin_output,
    unexpected_stderr,
)

# Certificates in Zeek's x509.log that tshark cannot see at all, with the reason.
NOT_VISIBLE_TO_TSHARK = {
    # globus-url-copy.pcap: the host certificate travels in GridFTP's GSI-wrapped control channel,
    # which Zeek decodes and tshark does not (its TLS stream carries the other three certificates)
    "5d3015916579d36adff0d813c94ab4354cd9ed3d23646b40e4d137b79c77c860",
}
CERTIFICATE_STRENGTH_CHECKS = {"weak_signature", "weak_rsa_key", "weak_dsa_key", "weak_ec_key"}


def oracle_rows(corpus: Path) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = defaultdict(list)
    for line in (corpus / "zeek" / "expected_x509.jsonl").read_text().splitlines():
        row = json.loads(line)
        rows[row["trace"]].append(row)
    return rows


def expected_verdicts(row: dict) -> set[tuple[str, int]]:
    """What the plugin must say about one oracle certificate at default settings."""
    verdicts = set()
    if row["subject"] == row["issuer"]:
        pass  # self-signed (a root sent in the chain, or a leaf): clients never check its own signature
    elif row["sig_alg"].startswith("md5"):
        verdicts.add(("weak_signature", 3))
    elif row["sig_alg"].startswith("sha1"):
        verdicts.add(("weak_signature", 2))
    if row["key_type"] == "rsa" and row["key_length"] < 2048:
        verdicts.add(("weak_rsa_key", 3 if row["key_length"] < 1024 else 2))
    return verdicts


def test_zeek_x509_oracle(tshark: str, plugin: Path, corpus_dir: Path) -> None:
    # Given every trace for which Zeek logged certificates, when the plugin reads it, then each certificate
    # Zeek saw has the same SHA-256, key size and basicConstraints CA flag, every md5/sha1 signature and sub-2048 RSA key is flagged,
    # and no other certificate-strength finding at warning level or above is raised on them.
    oracle = oracle_rows(corpus_dir)
    assert len(oracle) >= 15
    checked = 0
    flagged = 0
    sha1_checked = 0
    for trace, rows in sorted(oracle.items()):
        out = plugin_output(tshark, plugin, corpus_dir / "zeek" / trace)  # no -d: TLS found by its hello
        verdicts: dict[tuple[int, int], set[tuple[str, int]]] = defaultdict(set)
        for f in out.findings:
            if f.check in CERTIFICATE_STRENGTH_CHECKS and f.severity >= 2:
                verdicts[(f.frame, f.cert_index)].add((f.check, f.severity))
        by_fingerprint: dict[str, list] = defaultdict(list)
        for cert in out.certs:
            by_fingerprint[cert.values["sha256"]].append(cert)
        for row in rows:
            fingerprint = row["fingerprint"]
            if fingerprint in NOT_VISIBLE_TO_TSHARK:
                assert fingerprint not in by_fingerprint
                continue
            assert fingerprint in by_fingerprint, f"{trace}: {row['subject']} not summarised"
            for cert in by_fingerprint[fingerprint]:
                assert int(cert.values["key.bits"]) == row["key_length"], (trace, row["subject"])
                # Zeek's basic_constraints.ca: null without the extension, as tpost.cert.ca is then absent
                ca = row["basic_constraints.ca"]
                assert cert.values.get("ca") == (None if ca is None else "1" if ca else "0"), (trace, row["subject"])
                if cert.data:  # the DER under the summary: its SHA-1 is hashlib's
                    assert cert.values["sha1"] == hashlib.sha1(bytes.fromhex(cert.data)).hexdigest(), trace
                    sha1_checked += 1
                got = verdicts[(cert.frame, int(cert.values["index"]))]
                assert got == expected_verdicts(row), (trace, row["subject"], row["sig_alg"], row["key_length"])
                flagged += bool(got)
            checked += 1
    assert checked == sum(len(rows) for rows in oracle.values()) - len(NOT_VISIBLE_TO_TSHARK)
    assert sha1_checked >= 40
    assert flagged >= 30          # the oracle holds 31 sha1 and 2 md5 signatures, 14 sub-2048 RSA keys


VALIDITY_CHECKS = {"expired_certificate", "not_yet_valid_certificate"}


def _times(tshark: str, capture: Path, *decode_as: str) -> dict[int, dict[int, tuple[int, str]]]:
    """Handshake type (1: ClientHello, 11: Certificate) -> frame -> (tcp.stream, frame.time_epoch as tshark prints
    it) of the frames that carry one, as plain tshark reads them."""
    argv = [tshark, "-n", "-r", str(capture), *decode_as, "-Y", "tls.handshake.type == 1 || tls.handshake.type == 11",
            "-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "frame.time_epoch", "-e",
            "tls.handshake.type"]
    rows = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split("\n")
    found: dict[int, dict[int, tuple[int, str]]] = {1: {}, 11: {}}
    for frame, stream, when, types in (row.split("\t") for row in rows if row):
        for kind in {int(kind) for kind in types.split(",") if kind} & found.keys():
            found[kind][int(frame)] = (int(stream.split(",")[-1]), when)
    return found


def test_validity_is_judged_at_each_frames_time_as_zeek_dates_it(tshark: str, plugin: Path, corpus_dir: Path) -> None:
    # Given Zeek's x509.log dates of every certificate it saw, and plain tshark's time of each frame that carried one:
    # expired (after notAfter) or not yet valid (before notBefore) by the frame's whole second, with the severity of
    # the certificate's role (leaf error, intermediate warning, self-signed root sent in the chain note), and only a
    # note when the chain carries the very time of the ClientHello (a capture whose clock stood still)
    judged = 0
    for trace, rows in sorted(oracle_rows(corpus_dir).items()):
        capture = corpus_dir / "zeek" / trace
        decode_as = manifest_decode_as(corpus_dir, f"zeek/{trace}")
        out = plugin_output(tshark, plugin, capture, *decode_as)
        times = _times(tshark, capture, *decode_as)
        sent = times[11]
        hellos = {stream: when for stream, when in sorted(times[1].values(), reverse=True)}
        dates = {row["fingerprint"]: row for row in rows}
        got = {(f.frame, f.cert_index): (f.check, f.severity) for f in out.findings if f.check in VALIDITY_CHECKS}
        for cert in out.certs:
            row = dates.get(cert.values.get("sha256", ""))
            if row is None or cert.frame not in sent:
                continue
            stream, when = sent[cert.frame]
            second = int(when.split(".")[0])
            index = int(cert.values["index"])
            expected = None
            if second > row["not_valid_after"]:
                expected = "expired_certificate"
            elif second < row["not_valid_before"]:
                expected = "not_yet_valid_certificate"
            severity = 3 if index == 0 else 1 if row["subject"] == row["issuer"] else 2
            if hellos.get(stream) == when:
                severity = 1
            assert got.get((cert.frame, index)) == (expected and (expected, severity)), (trace, cert.frame, index)
            judged += 1
    assert judged >= 50


def corpus_captures(corpus: Path) -> list[tuple[Path, list[str]]]:
    out = []
    for directory in ("zeek", "arkime"):
        for capture in sorted((corpus / directory).glob("*.pcap")):
            out.append((capture, manifest_decode_as(corpus, f"{directory}/{capture.name}")))
    return out


def test_every_capture_runs_without_lua_errors(tshark: str, plugin: Path, corpus_dir: Path,
                                               captures_dir: Path) -> None:
    # Given every trace and bundled capture, when the plugin reads it (the run the label and oracle tests read
    # too: plugin_support.run_tshark makes it once), then tshark says nothing on stderr and no frame has a
    # plugin_error finding (a Lua error the plugin caught)
    captures = corpus_captures(corpus_dir) + [(p, []) for p in sorted(captures_dir.glob("*.pcapng"))]
    assert len(captures) > 80
    with ThreadPoolExecutor(os.cpu_count()) as pool:  # each run is mostly tshark's start-up: one per core
        outputs = pool.map(lambda job: plugin_output(tshark, plugin, job[0], *job[1]), captures)
        for (capture, _), out in zip(captures, outputs, strict=True):
            assert "plugin_error" not in {finding.check for finding in out.findings}, capture.name


@pytest.fixture(scope="module")
def merged_corpus(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path, captures_dir: Path) -> Path:
    """Every corpus and bundled capture in one pcapng (fuzzing one file is much faster than 90)."""
    target = tmp_path_factory.mktemp("fuzz") / "all.pcapng"
    inputs = [str(p) for p, _ in corpus_captures(corpus_dir)] + [str(p) for p in sorted(captures_dir.glob("*.pcapng"))]
    subprocess.run(["mergecap", "-w", str(target), *inputs], check=True, capture_output=True)
    return target


def _tshark_own_warnings(tshark: str, capture: Path, *args: str) -> set[str]:
    """stderr lines plain tshark (no plugin) prints for this file, without pid and time stamp."""
    proc = subprocess.run([tshark, "-n", "-r", str(capture), "-T", "fields", "-e", "frame.number", *args],
                          capture_output=True, text=True, timeout=600, check=False)
    return {_normalise(line) for line in unexpected_stderr(proc.stderr)}


def _tls_bug_in(line: str, frames: set[str]) -> bool:
    """A line of tshark's TLS dissector reporting its own bug on one of these frames."""
    found = re.search(r"Dissector bug, protocol TLS, in packet (\d+):", line)
    return found is not None and found.group(1) in frames


def _normalise(line: str) -> str:
    return re.sub(r"\(tshark:\d+\) [\d:.]+ ", "", line).strip()


@pytest.mark.parametrize(("error_rate", "seed"), [(0.01, 1), (0.05, 2), (0.1, 3), (0.1, 4)])
def test_fuzzed_captures_run_without_lua_errors(tshark: str, plugin: Path, merged_corpus: Path,
                                                error_rate: float, seed: int) -> None:
    # Given every capture with random byte errors, when tshark runs the plugin one-pass and two-pass,
    # then stderr holds nothing beyond what tshark prints without the plugin (Wireshark 4.0's own TLS
    # dissector asserts on some fuzzed records; it does so too on a fuzzed segment the plugin hands to TLS,
    # a frame whose protocols then name tpost_find) and no finding reports an internal error.
    fuzzed = merged_corpus.with_name(f"fuzzed-{error_rate}-{seed}.pcapng")
    subprocess.run(["editcap", "-E", str(error_rate), "--seed", str(seed), str(merged_corpus), str(fuzzed)],
                   check=True, capture_output=True)
    decode_as = ["-d", "tcp.port==6667,tls", "-d", "tcp.port==3389,tls"]
    for mode in ([], ["-2"]):
        baseline = _tshark_own_warnings(tshark, fuzzed, *decode_as, *mode)
        argv = [tshark, "-n", "-X", f"lua_script:{plugin}", "-r", str(fuzzed), "-T", "fields",
                "-e", "tpost.check", "-e", "frame.number", "-e", "frame.protocols", "-e", "_ws.expert.message",
                *decode_as, *mode]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
        rows = [line.split("\t") for line in proc.stdout.splitlines()]
        handed_to_tls = {row[1] for row in rows if ":tpost_find:tls" in row[2]}
        assert [row for row in rows if "Lua Error" in row[3]] == []  # TLS failing on a segment handed to it too
        extra = [line for line in unexpected_stderr(proc.stderr) if _normalise(line) not in baseline
                 and not _tls_bug_in(line, handed_to_tls)]
        assert extra == [], f"{fuzzed.name} {mode}: {extra[:5]}"
        assert "plugin_error" not in proc.stdout


def test_findings_point_into_reassembled_data(tshark: str, plugin: Path, corpus_dir: Path) -> None:
    # Given a chain spread over three TCP segments (tls1.2.pcap, frame 8 "Reassembled TCP"), then each
    # weak_signature finding covers exactly that certificate's signatureAlgorithm, and each summary the DER.
    # The third, AddTrust's self-signed root, is only a note: clients never check a trust anchor's own signature.
    out = plugin_output(tshark, plugin, corpus_dir / "zeek" / "tls1.2.pcap")
    sha1_with_rsa = "300d06092a864886f70d0101050500"
    weak = [f for f in out.findings if f.check == "weak_signature"]
    assert [(f.frame, f.cert_index, f.severity, f.data) for f in weak] == [
        (8, 0, 2, sha1_with_rsa), (8, 1, 2, sha1_with_rsa), (8, 2, 1, sha1_with_rsa)]
    assert [c.values["sha256"] for c in out.certs] == [
        hashlib.sha256(bytes.fromhex(c.data)).hexdigest() for c in out.certs]
    assert [c.values["subject_cn"] for c in out.certs] == [
        "*.taleo.net", "COMODO High-Assurance Secure Server CA", "AddTrust External CA Root"]


@pytest.mark.parametrize("trace", ["zeek/tls1.2.pcap", "zeek/globus-url-copy.pcap", "zeek/dtls1_0.pcap",
                                   "zeek/tls-13-amazon-rds.pcap", "zeek/heartbleed-success.pcap",
                                   "arkime/badcurveball.pcap", "zeek/xmpp-starttls.pcap",
                                   "zeek/irc-starttls.pcap", "zeek/rdp-no-cookie-mstshash.pcap"])
def test_one_pass_and_two_pass_agree_on_corpus(tshark: str, plugin: Path, corpus_dir: Path, trace: str) -> None:
    # without -d: TLS on 6667 and 3389 is found by its hello in tshark -2's first pass too
    path = corpus_dir / trace
    one_pass = findings_by_fields(tshark, plugin, path)
    assert findings_by_fields(tshark, plugin, path, "-2") == one_pass
    pdml = [(f.frame, f.check, f.severity) for f in plugin_output(tshark, plugin, path).findings]
    assert pdml == one_pass


def _protocols_and_experts(tshark: str, capture: Path, plugin: Path | None, *mode: str
                           ) -> list[tuple[str, str, list[str]]]:
    """(frame, frame.protocols, expert messages other than the plugin's own) of every frame, with the plugin or
    without it."""
    with_plugin = ["-X", f"lua_script:{plugin}"] if plugin else []
    argv = [tshark, "-n", "-r", str(capture), *with_plugin, *mode, "-T", "fields", "-E", "aggregator=|",
            "-e", "frame.number", "-e", "frame.protocols", "-e", "_ws.expert.message",
            *(["-e", "tpost.message"] if plugin else [])]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=300).stdout
    rows = []
    for line in out.splitlines():
        frame, protocols, experts, own = (line.split("\t") + ["", ""])[:4]
        mine = set(own.split("|"))
        rows.append((frame, protocols, [e for e in experts.split("|") if e and e not in mine]))
    return rows


@pytest.mark.parametrize("trace", ["arkime/https-connect.pcap", "zeek/connect-with-header.pcap"])
def test_http_connect_tunnel_stays_with_http(tshark: str, plugin: Path, corpus_dir: Path, trace: str) -> None:
    # Given a proxy connection (port 8080; port 80) that opens with an HTTP CONNECT request and carries TLS in its
    # tunnel, then with the plugin every frame has plain tshark's protocols and expert messages (beside the plugin's
    # own), in one pass and when visited again (tshark -2, a click in Wireshark): HTTP's tunnel hands TLS on
    # (http:tls), and the CONNECT request is read once, with no "Unencrypted HTTP protocol detected over encrypted
    # port" warning; the plugin's findings are the same both ways.
    path = corpus_dir / trace
    for mode in ([], ["-2"]):
        plain = _protocols_and_experts(tshark, path, None, *mode)
        assert any(protocols.endswith(":http:tls") for _, protocols, _ in plain)
        assert _protocols_and_experts(tshark, path, plugin, *mode) == plain
    assert findings_by_fields(tshark, plugin, path, "-2") == findings_by_fields(tshark, plugin, path)


# Third-party traces with handshake-level findings: (frame, check, severity, chain index), in tree order.
CORPUS_EXPECTED = {
    # 1024-bit DHE group and an MD5-signed leaf (issued by a private CA) a TLS 1.2 client did not offer
    "zeek/pop3-starttls.pcap": [(13, "weak_dh_group", 2, None), (13, "weak_signature", 3, 0),
                                (13, "sigalg_not_offered", 3, 0)],
    # ... and a sha1-signed self-signed root sent in the chain: a note, its own signature is never checked
    "zeek/tls1.2.pcap": [(5, "weak_cipher_suite", 3, None), (8, "weak_signature", 2, 0),
                         (8, "weak_signature", 2, 1), (8, "weak_signature", 1, 2)],
    "arkime/openssl-ssl3.pcap": [(6, "old_protocol_version", 2, None), (6, "weak_cipher_suite", 3, None),
                                 (9, "weak_signature", 2, 0), (9, "weak_signature", 2, 1),
                                 (9, "weak_signature", 2, 2)],
    # an RSASSA-PSS-signed leaf, while the TLS 1.2 ClientHello offers no rsa_pss_* scheme
    "zeek/CVE-2015-3194.pcap": [(6, "sigalg_not_offered", 3, 0)],
    "arkime/badcurveball.pcap": [(9, "fatal_alert", 3, None)],
    "zeek/tls-13-amazon-rds.pcap": [(14, "chain_encrypted", 1, None)],
    # a sha1-signed self-signed leaf: a note (a self-signed certificate is trusted or refused as a whole, its own
    # signature never checked)
    "zeek/dtls1_0.pcap": [(6, "old_protocol_version", 2, None), (6, "weak_signature", 1, 0)],
    # an SSL 2.0 SERVER-HELLO (RFC 6176 prohibits SSL 2.0): the record has no content type, only a message type
    "zeek/ssl-v2.pcap": [(6, "old_protocol_version", 3, None)],
}


@pytest.mark.parametrize("trace", sorted(CORPUS_EXPECTED))
def test_exact_findings_on_corpus_traces(tshark: str, plugin: Path, corpus_dir: Path, trace: str) -> None:
    # without -d (the plugin finds TLS on any port), and with the -d MANIFEST.tsv gives: the same findings
    out = plugin_output(tshark, plugin, corpus_dir / trace)
    assert out.keys() == CORPUS_EXPECTED[trace]
    decode_as = manifest_decode_as(corpus_dir, trace)
    if decode_as:
        assert plugin_output(tshark, plugin, corpus_dir / trace, *decode_as).keys() == out.keys()
