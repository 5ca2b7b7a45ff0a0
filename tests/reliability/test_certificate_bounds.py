"""A certificate too large to fingerprint cheaply gets no SHA-256, and the record says so.

The plugin hashes in pure Lua (about 1.6 s per MB); a hostile capture could stall Wireshark with megabyte
certificates. Certificates above tpost.max_hash_kib are not hashed: their summary carries an empty
fingerprint and a fingerprint_skipped note names the certificate. A bound of 0 KiB applies it to every one.
"""

from __future__ import annotations

from pathlib import Path

from conftest import CAPTURES
from summarize_support import summarize_json
from tsharkpost.commands.common import ExitCode

SEED = CAPTURES / "md2-root-silent-fin.pcapng"


def test_bounded_fingerprint_is_said_in_the_record(tmp_path: Path, tshark: str) -> None:
    # Given the seed capture, and a bound that every certificate of its chain exceeds
    code, document = summarize_json(tmp_path, "--plugin-pref", "tpost.max_hash_kib:0", str(SEED))
    assert code == ExitCode.OK
    (record,) = document["connections"]
    # Then no certificate has a fingerprint, each says why, and the chain's judgements are still made
    assert [cert["sha256"] for cert in record["certificates"]] == ["", "", "", ""]
    assert [cert["sha1"] for cert in record["certificates"]] == ["", "", "", ""]
    for cert in record["certificates"]:
        skipped = [f for f in cert["findings"] if f["check"] == "fingerprint_skipped"]
        assert len(skipped) == 1 and f"certificate #{cert['index']} ({cert['subject_cn']}) is " in skipped[0]["message"]
        assert " bytes, over the 0 KiB bound for hashing: no SHA-256 or SHA-1 fingerprint" in skipped[0]["message"]
    assert {f["check"] for f in record["certificates"][3]["findings"]} >= {"weak_signature", "sigalg_not_offered"}
    assert record["outcome"] == "client_silent_close_after_certificates"


def test_default_bound_fingerprints_real_certificates(tmp_path: Path, tshark: str) -> None:
    code, document = summarize_json(tmp_path, str(SEED))
    assert code == ExitCode.OK
    (record,) = document["connections"]
    assert all(len(cert["sha256"]) == 64 and len(cert["sha1"]) == 40 for cert in record["certificates"])
    assert not any(f["check"] == "fingerprint_skipped" for f in record["findings"])
