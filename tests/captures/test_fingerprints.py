"""Fingerprints and certificate facts of captures/ against independent readers: JA3/JA3S against tshark's own,
JA4 against a second computation from fields, each certificate's SHA-1 against hashlib and its CA flag, path length
and key usage against openssl."""

from __future__ import annotations

import hashlib
import re
import subprocess
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


KEY_USAGE_OPENSSL = {"Digital Signature": "digitalSignature", "Non Repudiation": "nonRepudiation",
                     "Key Encipherment": "keyEncipherment", "Data Encipherment": "dataEncipherment",
                     "Key Agreement": "keyAgreement", "Certificate Sign": "keyCertSign", "CRL Sign": "cRLSign",
                     "Encipher Only": "encipherOnly", "Decipher Only": "decipherOnly"}


def _openssl_facts(der: bytes) -> dict:
    """CA flag, path length and key usage as `openssl x509 -text` prints them (None where absent)."""
    text = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-text"], input=der, capture_output=True,
                          check=True).stdout.decode("utf-8", "replace").splitlines()
    facts: dict = {"ca": None, "path_len": None, "key_usage": None}
    for heading, following in zip(text, text[1:]):
        if heading.strip().startswith("X509v3 Basic Constraints"):
            facts["ca"] = "CA:TRUE" in following
            found = re.search(r"pathlen:(\d+)", following)
            facts["path_len"] = int(found.group(1)) if found else None
        elif heading.strip().startswith("X509v3 Key Usage"):
            facts["key_usage"] = [KEY_USAGE_OPENSSL[word.strip()] for word in following.split(",") if word.strip()]
    return facts


def test_certificate_facts_agree_with_hashlib_and_openssl(tmp_path: Path, captures_dir: Path, tshark: str) -> None:
    # Given every certificate tshark finds in the bundled captures (its DER from tls.handshake.certificate, or
    # dtls.handshake.certificate: DTLS 1.2 sends its chain in the clear; QUIC's is encrypted without the key log)
    captures = sorted(captures_dir.glob("*.pcapng"))
    ders: dict[str, bytes] = {}
    for capture in captures:
        out = subprocess.run([tshark, "-n", "-r", str(capture), "-Y",
                              "tls.handshake.certificate || dtls.handshake.certificate", "-T", "fields",
                              "-e", "tls.handshake.certificate", "-e", "dtls.handshake.certificate"],
                             capture_output=True, text=True, check=True).stdout.replace("\t", ",")
        for value in out.replace("\n", ",").split(","):
            if value:
                der = bytes.fromhex(value.replace(":", ""))
                ders[hashlib.sha256(der).hexdigest()] = der
    # When summarize records them
    _, document = summarize_json(tmp_path, *map(str, captures))
    certs = {cert["sha256"]: cert for conn in document["connections"] for cert in conn["certificates"]}
    # Then each SHA-1 is hashlib's, and the CA flag, path length and key usage are what openssl reads
    assert set(certs) == set(ders)
    for fingerprint, cert in certs.items():
        der = ders[fingerprint]
        assert cert["sha1"] == hashlib.sha1(der).hexdigest()
        facts = _openssl_facts(der)
        assert (cert["ca"], cert["path_len"], cert["key_usage"]) == (facts["ca"], facts["path_len"],
                                                                     facts["key_usage"]), cert["subject"]
    assert any(cert["ca"] for cert in certs.values()) and any(cert["ca"] is False for cert in certs.values())
