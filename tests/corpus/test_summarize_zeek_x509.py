"""summarize's certificates agree with Zeek's own x509.log on Zeek's TLS test traces (expected_x509.jsonl).

Every field of every row is compared with the record's certificate of the same trace, SHA-256 fingerprint and
side: a server's certificate in the record's `certificates`, a client's in its `client_certificates` (same
entry shape). The only disagreements allowed are the documented ones below, each with its reason; README.md
("Mapping to Zeek's x509.log") says the same in prose. Zeek's rows carry no connection: a certificate sent on
several connections of a trace is one row per sending, each compared with any record that sent it from that side.

Spellings that differ while the fact is the same are mapped, each for a reason:
- serial: Zeek prints upper-case hex, the record lower-case (as tshark shows bytes).
- subject, issuer: attribute type names are case-insensitive (RFC 4512 §1.4, RFC 4514 §2.3); Zeek writes
  OpenSSL's short names (`street`), the record RFC 4514's (`STREET`). Values are compared exactly.
- key_type: Zeek names an id-ecPublicKey key `ecdsa` where the record says `ec`, and any other algorithm than
  RSA, DSA and EC by OpenSSL's name for it, which is the record's key_alg (`ML-DSA-44`).
- curve: Zeek prints OpenSSL's short curve names, X9.62's `prime256v1` (and `prime192v1`) for the curves the
  record names by SEC 2 (`secp256r1`, `secp192r1`): the same OIDs.
- not_valid_before/after: Zeek's epoch seconds (the oracle adds their ISO form); the record keeps ISO 8601 UTC.
- san.dns: Zeek writes null for no names, the record an empty list.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

FIELDS = ["fingerprint", "subject", "issuer", "sig_alg", "key_type", "key_length", "not_valid_before",
          "not_valid_after", "san.dns", "key_alg", "serial", "curve", "basic_constraints.ca", "host_cert",
          "client_cert"]

# (trace, SHA-256 fingerprint or None for the whole trace) -> why tsharkpost and Zeek differ on those rows.
DOCUMENTED_DIFFERENCES = {
    ("globus-url-copy.pcap", "5d3015916579d36adff0d813c94ab4354cd9ed3d23646b40e4d137b79c77c860"):
        "GridFTP control channel: the server's host certificate travels in GSI-wrapped FTP ADAT commands (base64); "
        "Zeek unwraps them, tshark does not see TLS there",
}

# Zeek's spelling of a record's value, where the two name the same thing differently (see the module's doc).
ZEEK_CURVE_NAMES = {"secp256r1": "prime256v1", "secp192r1": "prime192v1"}


def documented(row: dict) -> str | None:
    return (DOCUMENTED_DIFFERENCES.get((row["trace"], row["fingerprint"]))
            or DOCUMENTED_DIFFERENCES.get((row["trace"], None)))


def dn(text: str | None) -> str | None:
    """A DN with its attribute type names in upper case (they are case-insensitive; values are not)."""
    if text is None:
        return None
    return re.sub(r"(^|,)([A-Za-z][A-Za-z0-9-]*)=", lambda m: m.group(1) + m.group(2).upper() + "=", text)


def zeek_key_type(cert: dict) -> str:
    return {"rsa": "rsa", "dsa": "dsa", "ec": "ecdsa"}.get(cert["key_type"], cert["key_alg"])


def as_zeek(cert: dict, host_cert: bool, client_cert: bool) -> dict:
    """The record's certificate in the fields and spellings of Zeek's x509.log."""
    return {
        "fingerprint": cert["sha256"], "subject": dn(cert["subject"]), "issuer": dn(cert["issuer"]),
        "sig_alg": cert["sigalg_name"], "key_type": zeek_key_type(cert), "key_length": cert["key_bits"],
        "not_valid_before": cert["not_before"], "not_valid_after": cert["not_after"], "san.dns": cert["san"],
        "key_alg": cert["key_alg"], "serial": cert["serial"].upper(),
        "curve": ZEEK_CURVE_NAMES.get(cert["key_curve"], cert["key_curve"]) or None,
        "basic_constraints.ca": cert["ca"], "host_cert": host_cert, "client_cert": client_cert,
    }


def zeek_values(row: dict) -> dict:
    values = {field: row[field] for field in FIELDS}
    values["subject"], values["issuer"] = dn(row["subject"]), dn(row["issuer"])
    values["not_valid_before"], values["not_valid_after"] = row["not_valid_before_iso"], row["not_valid_after_iso"]
    values["san.dns"] = row["san.dns"] or []
    return values


@pytest.fixture(scope="module")
def x509_rows(corpus_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (corpus_dir / "zeek" / "expected_x509.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def chains(zeek_summary: dict) -> dict[tuple[str, str, str], list[dict]]:
    """(trace, fingerprint, sender) -> the certificates of that fingerprint every record of the trace holds, each
    with its position; from the one summarize run of every Zeek trace (no --decode-as: test_summarize_zeek holds
    it to the records --decode-as gives)."""
    found: dict[tuple[str, str, str], list[dict]] = {}
    for conn in zeek_summary["connections"]:
        for chain, sender in ((conn["certificates"], "server"), (conn["client_certificates"], "client")):
            for cert in chain:
                assert cert["sender"] == sender
                found.setdefault((Path(conn["capture"]).name, cert["sha256"], sender), []).append(cert)
    return found


def disagreements(row: dict, chains: dict[tuple[str, str, str], list[dict]]) -> list[tuple[str, object, object]]:
    """The fields on which the row disagrees with the record's certificate (all of them when none has it)."""
    sender = "client" if row["client_cert"] else "server"
    certs = chains.get((row["trace"], row["fingerprint"], sender), [])
    expected = zeek_values(row)
    if not certs:
        return [(field, expected[field], None) for field in FIELDS]
    # host_cert: Zeek's row is one sending of the certificate, first in its chain or not; the record agrees
    # when one of its copies from that side sits where the row says
    positions = {cert["index"] == 0 for cert in certs}
    host = row["host_cert"] if row["host_cert"] in positions else not row["host_cert"]
    ours = as_zeek(certs[0], host, sender == "client")
    return [(field, expected[field], ours[field]) for field in FIELDS if expected[field] != ours[field]]


def test_every_zeek_x509_row_agrees_or_is_documented(x509_rows: list[dict], chains: dict) -> None:
    found = []
    compared = 0
    for row in x509_rows:
        if documented(row):
            continue
        compared += len(FIELDS)
        found += [(row["trace"], row["subject"], *difference) for difference in disagreements(row, chains)]
    assert found == []
    assert compared >= 40 * len(FIELDS)


def test_documented_x509_differences_are_still_differences(x509_rows: list[dict], chains: dict) -> None:
    # A documented difference that no longer differs must be removed from the list above.
    for row in x509_rows:
        reason = documented(row)
        if reason:
            assert disagreements(row, chains), f"{row['trace']} {row['subject']} agrees now: {reason}"


def test_every_x509_field_is_compared_on_tcp_traces(x509_rows: list[dict]) -> None:
    # Every column of Zeek's x509.log in the oracle is one FIELDS compares (or its ISO twin, or bookkeeping)
    columns = {key for row in x509_rows for key in row}
    assert columns - set(FIELDS) == {"trace", "btest", "baseline", "not_valid_before_iso", "not_valid_after_iso"}
