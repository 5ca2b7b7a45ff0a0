"""The plugin on the bundled captures (captures/, see expected.json): exact findings per frame."""

from __future__ import annotations

import calendar
import hashlib
import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from plugin_support import findings_by_fields, plugin_output, run_tshark

E, W, N = 3, 2, 1   # tpost.severity values: error, warning, note

# capture -> every (frame, check, severity, chain index) the plugin must report, in tree order.
EXPECTED: dict[str, list[tuple[int, str, int, int | None]]] = {
    # The md2 root is a self-signed trust anchor: its own signature is only a note (clients never check it);
    # the error is that TLS 1.2's signature_algorithms did not offer md2 (RFC 5246 7.4.2).
    "md2-root-silent-fin.pcapng": [
        (6, "weak_signature", N, 3), (6, "sigalg_not_offered", E, 3), (8, "silent_teardown", W, None)],
    "md2-root-client-rst.pcapng": [
        (6, "weak_signature", N, 3), (6, "sigalg_not_offered", E, 3), (8, "silent_teardown", W, None)],
    "md5-intermediate-alert.pcapng": [
        (6, "weak_signature", E, 1), (6, "sigalg_not_offered", E, 1), (8, "fatal_alert", E, None)],
    "no-shared-cipher.pcapng": [(6, "fatal_alert", E, None)],
    # the leaf expired the day before the capture: an error where Wireshark shows it, on the frame that sent it
    "expired-leaf.pcapng": [(6, "expired_certificate", E, 0), (8, "fatal_alert", E, None)],
    "name-mismatch.pcapng": [(6, "name_mismatch", E, 0), (8, "fatal_alert", E, None)],
    "version-fallback.pcapng": [
        (6, "weak_signature", N, 3), (6, "sigalg_not_offered", E, 3), (8, "silent_teardown", W, None),
        # the TLS 1.0 retry: same md2 root, but TLS 1.0 has no signature_algorithms to violate, and no client
        # checks the root's own signature: nothing above a note
        (16, "old_protocol_version", W, None), (16, "weak_signature", N, 3)],
    "weak-rsa1024-sha1.pcapng": [(6, "weak_signature", W, 0), (6, "weak_rsa_key", W, 0)],
    "tls13-no-secrets.pcapng": [(8, "chain_encrypted", N, None)],
    "tls13-embedded-secrets.pcapng": [],
    "smtp-starttls.pcapng": [],
    "known-good-twin.pcapng": [],
}

SEED = "md2-root-silent-fin.pcapng"
MD2_ALGORITHM_IDENTIFIER = "300d06092a864886f70d0101020500"   # SEQUENCE { md2WithRSAEncryption, NULL }


def test_every_bundled_capture_has_expectations(captures_dir: Path) -> None:
    # The DTLS and QUIC captures have theirs in test_dtls_plugin.py and test_quic_plugin.py, read from plain
    # tshark (the captures their generators' expected files list)
    udp = {name for ground_truth in ("expected-dtls.json", "expected-quic.json")
           for name in json.loads((captures_dir / ground_truth).read_text())["captures"]}
    assert sorted(p.name for p in captures_dir.glob("*.pcapng") if p.name != "batch-mixed.pcapng"
                  and p.name not in udp) == sorted(EXPECTED)


@pytest.mark.parametrize("capture", sorted(EXPECTED))
def test_exact_findings_per_frame(tshark: str, plugin: Path, captures_dir: Path, capture: str) -> None:
    out = plugin_output(tshark, plugin, captures_dir / capture)
    assert out.keys() == EXPECTED[capture]


def test_batch_repeats_the_single_captures(tshark: str, plugin: Path, captures_dir: Path) -> None:
    # Given the batch capture (40 runs of the scenarios, interleaved on 10 server addresses), then
    # connection state does not leak: silent teardowns and fatal alerts match expected.json one for one.
    connections = json.loads((captures_dir / "expected.json").read_text())["captures"]["batch-mixed.pcapng"][
        "connections"]
    silent = [c for c in connections if c["teardown"]["after"] == "server_hello_done" and not c["first_fatal_alert"]]
    alerts = [c for c in connections if c["first_fatal_alert"]]
    out = plugin_output(tshark, plugin, captures_dir / "batch-mixed.pcapng")
    checks = [f.check for f in out.findings]
    assert checks.count("silent_teardown") == len(silent) == 12
    assert checks.count("fatal_alert") == len(alerts) == 16
    assert checks.count("sigalg_not_offered") == 16      # seed FIN, seed RST, MD5 intermediate, fallback: 4 runs each
    assert checks.count("name_mismatch") == 4
    assert checks.count("expired_certificate") == 4     # the expired leaf: 4 runs, nothing else out of date
    assert all(f.related_frame == f.frame - 2 for f in out.findings if f.check == "silent_teardown")


def test_seed_points_at_the_md2_root(tshark: str, plugin: Path, captures_dir: Path) -> None:
    out = plugin_output(tshark, plugin, captures_dir / SEED)
    weak, not_offered, teardown = out.findings
    # The findings sit on the root's signatureAlgorithm bytes.
    assert weak.data == MD2_ALGORITHM_IDENTIFIER and not_offered.data == MD2_ALGORITHM_IDENTIFIER
    assert weak.message == ("root certificate #3 (Example Legacy Root CA) is self-signed with MD2; its own signature "
                            "is not checked by clients, which trust or refuse the certificate itself")
    assert (weak.severity, not_offered.severity) == (N, E)
    assert not_offered.message == ("root certificate #3 (Example Legacy Root CA) is signed with MD2, not offered by "
                                   "the client (RFC 5246 §7.4.2)")
    assert not_offered.why == (
        "md2WithRSAEncryption (1.2.840.113549.1.1.2) is not in the ClientHello's signature_algorithms: every "
        "certificate sent must use an offered algorithm; strict clients (Schannel) abort")
    assert not_offered.offered == ("rsa_pkcs1_sha256, rsa_pkcs1_sha384, rsa_pkcs1_sha1, ecdsa_secp256r1_sha256, "
                                   "ecdsa_secp384r1_sha384, ecdsa_sha1, dsa_sha256, dsa_sha1")
    assert teardown.related_frame == 6
    assert teardown.message == "client hung up 2 ms after the chain in frame 6 (frame 8), without an alert"
    assert teardown.chain == "frame 6: cert #3 signed MD2, not offered by client"


def test_seed_diagnosis_is_one_phrase_per_frame(tshark: str, plugin: Path, captures_dir: Path) -> None:
    # Given the seed, then the Diagnosis field carries the MD2 root once (the broken hash is the same
    # signature, folded into the more decisive "not offered") and the silent teardown 2 ms later.
    out = run_tshark(tshark, plugin, captures_dir / SEED, "-Y", "tpost.diagnosis", "-T", "fields",
                     "-e", "frame.number", "-e", "tpost.diagnosis")
    assert out.splitlines() == ["6\tcert #3 signed MD2, not offered by client",
                                "8\tclient FIN 2 ms after chain, no alert"]
    out = run_tshark(tshark, plugin, captures_dir / "weak-rsa1024-sha1.pcapng", "-Y", "tpost.diagnosis",
                     "-T", "fields", "-e", "tpost.diagnosis")
    assert out.splitlines() == ["cert #0 signed SHA-1, a weak hash; cert #0 has a 1024-bit RSA key"]


def test_expert_items_name_the_algorithm_and_the_role(tshark: str, plugin: Path, captures_dir: Path) -> None:
    # Given the seed, then each finding's expert field is the one registered for its algorithm and the
    # certificate's role (what Expert Information groups by), and tshark -z expert lists them under the
    # "tsharkpost" protocol with the finding's sentence.
    fields = run_tshark(tshark, plugin, captures_dir / SEED, "-Y", "tpost", "-T", "pdml")
    assert 'name="tpost.expert.weak_signature.note"' in fields  # a root's own signature: a note
    assert 'name="tpost.expert.sigalg_not_offered.error.root.md2"' in fields
    assert 'name="tpost.expert.silent_teardown.warning.client"' in fields
    expert = run_tshark(tshark, plugin, captures_dir / SEED, "-q", "-z", "expert")
    assert ("TSHARKPOST  root certificate #3 (Example Legacy Root CA) is signed with MD2, not offered by the client "
            "(RFC 5246 §7.4.2)") in expert
    registered = subprocess.run([tshark, "-G", "fields", "-X", f"lua_script:{plugin}"], capture_output=True,
                                text=True, check=True).stdout
    summaries = {cols[2]: cols[1] for line in registered.splitlines()
                 if (cols := line.split("\t"))[0] == "F" and cols[2].startswith("tpost.expert.")}
    assert summaries["tpost.expert.sigalg_not_offered.error.root.md2"] == \
        "Root certificate signed with MD2, not offered by the client"
    assert summaries["tpost.expert.fatal_alert.error.client.42"] == "Client sent fatal alert 42 bad_certificate"
    assert summaries["tpost.expert.silent_teardown.warning"] == "Connection closed right after the chain, without an alert"
    assert summaries["tpost.expert.silent_teardown.warning.client"] == "Client hung up right after the chain, without an alert"


def test_seed_certificate_summaries(tshark: str, plugin: Path, captures_dir: Path) -> None:
    out = plugin_output(tshark, plugin, captures_dir / SEED)
    stable = ("index", "sender", "subject", "subject_cn", "issuer", "sigalg.oid", "sigalg.name",
              "key.type", "key.bits", "self_signed")
    rows = [tuple(c.values.get(k) for k in stable) for c in out.certs]
    org = "O=Example Trust Services,C=US"
    assert rows == [
        ("0", "server", "CN=shop.example.net", "shop.example.net", f"CN=Example Issuing CA 2,{org}",
         "1.2.840.113549.1.1.11", "sha256WithRSAEncryption", "rsa", "2048", "0"),
        ("1", "server", f"CN=Example Issuing CA 2,{org}", "Example Issuing CA 2", f"CN=Example Policy CA 1,{org}",
         "1.2.840.113549.1.1.11", "sha256WithRSAEncryption", "rsa", "2048", "0"),
        ("2", "server", f"CN=Example Policy CA 1,{org}", "Example Policy CA 1", f"CN=Example Legacy Root CA,{org}",
         "1.2.840.113549.1.1.11", "sha256WithRSAEncryption", "rsa", "2048", "0"),
        ("3", "server", f"CN=Example Legacy Root CA,{org}", "Example Legacy Root CA",
         f"CN=Example Legacy Root CA,{org}", "1.2.840.113549.1.1.2", "md2WithRSAEncryption", "rsa", "2048", "1"),
    ]
    assert out.certs[0].values["san"] == "shop.example.net"
    for cert in out.certs:
        # tpost.cert spans exactly the DER, and tpost.cert.sha256 is its fingerprint
        assert cert.values["sha256"] == hashlib.sha256(bytes.fromhex(cert.data)).hexdigest()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", cert.values["not_before"])
        assert cert.values["not_before"] < cert.values["not_after"]


@pytest.mark.parametrize(("capture", "leaf", "chain_length"), [
    ("known-good-twin.pcapng", "shop.example.net", 3),
    ("smtp-starttls.pcapng", "mail.example.net", 2),
    ("tls13-embedded-secrets.pcapng", "tls13.example.net", 2),      # decrypted with the embedded secrets
])
def test_benign_certificates_raise_nothing(tshark: str, plugin: Path, captures_dir: Path, capture: str, leaf: str,
                                           chain_length: int) -> None:
    # Given clean SHA-256 chains with 2048-bit keys, then every certificate is summarised and none is judged.
    out = plugin_output(tshark, plugin, captures_dir / capture)
    assert out.findings == []
    assert [c.values["index"] for c in out.certs] == [str(i) for i in range(chain_length)]
    assert out.certs[0].values["subject_cn"] == leaf and out.certs[0].values["key.bits"] == "2048"
    assert all(c.values["sigalg.name"] == "sha256WithRSAEncryption" for c in out.certs)
    # only the plugin's summary items: `tpost` alone selects the certificate frame, nothing else
    assert len({c.frame for c in out.certs}) == 1


def test_fatal_alert_names_sender_code_and_meaning(tshark: str, plugin: Path, captures_dir: Path) -> None:
    out = plugin_output(tshark, plugin, captures_dir / "md5-intermediate-alert.pcapng")
    alert = out.findings[-1]
    assert (alert.frame, alert.check, alert.related_frame) == (8, "fatal_alert", 6)
    assert alert.message == "client sent fatal alert 42 bad_certificate in frame 8"
    assert alert.why == ("the peer rejects a certificate as corrupt, badly signed or unacceptable; OpenSSL sends it "
                         "for any failed chain check, e.g. an MD5 signature or a name mismatch")
    assert alert.chain == "frame 6: cert #1 signed MD5, not offered by client"
    fields = run_tshark(tshark, plugin, captures_dir / "no-shared-cipher.pcapng", "-Y", "tpost.alert.code == 40",
                        "-T", "fields", "-e", "tpost.alert.code", "-e", "tpost.alert.name", "-e", "tpost.alert.sender")
    assert fields.splitlines() == ["40\thandshake_failure\tserver"]


def test_display_filters(tshark: str, plugin: Path, captures_dir: Path) -> None:
    def frames(flt: str) -> list[str]:
        return run_tshark(tshark, plugin, captures_dir / "version-fallback.pcapng", "-Y", flt,
                          "-T", "fields", "-e", "frame.number").split()
    assert frames('tpost.check == "sigalg_not_offered"') == ["6"]
    assert frames("tpost.severity >= 3") == ["6"]   # the retry's md2 root is only a note (a trust anchor)
    assert frames('tpost.cert.sigalg.name == "md2WithRSAEncryption"') == ["6", "16"]
    assert frames("tpost.related_frame == 6") == ["8"]
    assert frames("tpost") == ["6", "8", "16"]
    assert frames("tpost.expert.silent_teardown.warning.client") == ["8"]
    assert frames("tpost.diagnosis contains \"MD2\"") == ["6", "16"]


@pytest.mark.parametrize(("prefs", "capture", "expected"), [
    # stricter RSA policy: the 1024-bit key becomes an error
    (["-o", "tpost.rsa_error_bits:2048"], "weak-rsa1024-sha1.pcapng",
     [(6, "weak_signature", W, 0), (6, "weak_rsa_key", E, 0)]),
    # sha1 tolerated on a legacy network
    (["-o", "tpost.sha1_is_weak:FALSE"], "weak-rsa1024-sha1.pcapng", [(6, "weak_rsa_key", W, 0)]),
    # a 1 ms window: the FIN 2 ms after the flight is no longer "right after"
    (["-o", "tpost.teardown_window_ms:1"], SEED, [(6, "weak_signature", N, 3), (6, "sigalg_not_offered", E, 3)]),
])
def test_preference_override_changes_the_verdict(tshark: str, plugin: Path, captures_dir: Path,
                                                 prefs: list[str], capture: str,
                                                 expected: list[tuple[int, str, int, int | None]]) -> None:
    assert plugin_output(tshark, plugin, captures_dir / capture, *prefs).keys() == expected


@pytest.mark.parametrize("bound", ["1", "0"])
def test_connection_bound_is_recorded(tshark: str, plugin: Path, captures_dir: Path, bound: str) -> None:
    # Given room for one connection (0 keeps one too, and says so), when the batch's second connection starts,
    # then the drop is noted once.
    out = plugin_output(tshark, plugin, captures_dir / "batch-mixed.pcapng", "-o", f"tpost.max_connections:{bound}")
    limits = [f for f in out.findings if f.check == "state_limit"]
    assert len(limits) == 1 and limits[0].severity == N
    assert limits[0].message == ("more than 1 connections at once: the oldest one's state was dropped, and "
                                 "findings on it may be missing")


@pytest.mark.parametrize("capture", sorted(EXPECTED) + ["batch-mixed.pcapng"])
def test_same_findings_in_every_mode(tshark: str, plugin: Path, captures_dir: Path, capture: str) -> None:
    # Given one capture, when tshark runs one-pass, two-pass, with -V, and as plain -T fields without
    # any display filter, then the (frame, check, severity) list is the same.
    path = captures_dir / capture
    one_pass = [(f.frame, f.check, f.severity) for f in plugin_output(tshark, plugin, path).findings]
    two_pass = [(f.frame, f.check, f.severity) for f in plugin_output(tshark, plugin, path, "-2").findings]
    assert two_pass == one_pass
    assert findings_by_fields(tshark, plugin, path) == one_pass
    assert findings_by_fields(tshark, plugin, path, "-2") == one_pass
    verbose = run_tshark(tshark, plugin, path, "-V")
    from_text: list[tuple[int, str, int]] = []
    frame = 0
    for line in verbose.splitlines():
        if m := re.match(r"Frame (\d+): ", line):
            frame = int(m.group(1))
        elif m := re.match(r"        Check: ([a-z_]+)$", line):
            from_text.append((frame, m.group(1), 0))
        elif m := re.match(r"        Severity: [a-z]+ \((\d+)\)$", line):
            from_text[-1] = (*from_text[-1][:2], int(m.group(1)))
    assert from_text == one_pass


def test_malformed_certificate_is_a_note_not_a_crash(tshark: str, plugin: Path, captures_dir: Path,
                                                     tmp_path: Path) -> None:
    # Given the seed with the root's outer signatureAlgorithm tag changed from SEQUENCE to SET,
    # then the root yields one malformed_certificate note and the other certificates are still judged.
    data = (captures_dir / SEED).read_bytes()
    marker = bytes.fromhex(MD2_ALGORITHM_IDENTIFIER)
    second = data.index(marker, data.index(marker) + 1)   # TBS signature first, outer algorithm second
    broken = tmp_path / "broken-root.pcapng"
    broken.write_bytes(data[:second] + b"\x31" + data[second + 1:])
    out = plugin_output(tshark, plugin, broken)
    assert out.keys() == [(6, "malformed_certificate", N, 3), (8, "silent_teardown", W, None)]
    assert out.findings[0].message.startswith("certificate #3 (863 bytes) could not be parsed: signatureAlgorithm:")
    assert [c.values["index"] for c in out.certs] == ["0", "1", "2", "3"]
    assert "subject" not in out.certs[3].values


def test_expired_leaf_is_judged_at_the_frame_time(tshark: str, plugin: Path, captures_dir: Path) -> None:
    # Given the expired leaf's capture, read by plain tshark: the frame's time and the leaf's validity
    capture = captures_dir / "expired-leaf.pcapng"
    (row,) = [line.split("\t") for line in subprocess.run(
        [tshark, "-n", "-r", str(capture), "-Y", "tls.handshake.type == 11", "-T", "fields", "-e", "frame.number",
         "-e", "frame.time_epoch", "-e", "x509af.utcTime"], capture_output=True, text=True, check=True
    ).stdout.splitlines()]
    frame, when, times = int(row[0]), float(row[1]), row[2].split(",")
    # tshark shows UTCTime as "YYYY-MM-DD HH:MM:SS (UTC)"; the leaf's notBefore and notAfter come first
    not_after = calendar.timegm(time.strptime(times[1].split(" (")[0], "%Y-%m-%d %H:%M:%S"))
    assert not_after < when
    # When the plugin reads it, then the expired_certificate error sits on the leaf's validity bytes, in the frame
    # that carried it, and its sentence names the period, its why the frame's time
    out = plugin_output(tshark, plugin, capture)
    expired = next(f for f in out.findings if f.check == "expired_certificate")
    assert (expired.frame, expired.severity, expired.cert_index) == (frame, E, 0)
    assert expired.data.startswith("301e170d") and len(expired.data) == 2 * 32   # SEQUENCE { UTCTime, UTCTime }
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(when)))
    assert expired.message.startswith("leaf certificate #0 (expired.example.net) is not valid at capture time")
    assert expired.message.endswith(f"to {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(not_after))}): it has expired")
    assert expired.why.startswith(f"sent in a frame dated {stamp}: ")
    alert = next(f for f in out.findings if f.check == "fatal_alert")
    assert alert.related_frame == frame
