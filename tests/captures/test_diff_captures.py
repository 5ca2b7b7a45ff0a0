"""tsharkpost diff on the bundled captures: the verdicts the issue asks for, the sections, the JSON shape.

Expected facts come from captures/expected.json (the generator's ground truth), not from tsharkpost's output.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
from conftest import CAPTURES
from diff_support import SCHEMA, diff_json, diff_text, field, section
from tshark_oracle import offered_suite_counts, read_chains

from tsharkpost.commands.common import ExitCode
from tsharkpost.diff.model import ChainRow
from tsharkpost.record.model import Outcome

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
TWIN = CAPTURES / "known-good-twin.pcapng"
FALLBACK = CAPTURES / "version-fallback.pcapng"
RST = CAPTURES / "md2-root-client-rst.pcapng"
EXPECTED = json.loads((CAPTURES / "expected.json").read_text())["captures"]


def _truth(capture: Path, index: int = 0) -> dict:
    return EXPECTED[capture.name]["connections"][index]


@pytest.fixture(scope="module")
def seed_vs_twin(tmp_path_factory: pytest.TempPathFactory, tshark: str) -> tuple[int, dict]:
    return diff_json(tmp_path_factory.mktemp("diff"), str(TWIN), str(SEED))


@pytest.fixture(scope="module")
def fallback(tmp_path_factory: pytest.TempPathFactory, tshark: str) -> tuple[int, dict]:
    return diff_json(tmp_path_factory.mktemp("diff"), f"{FALLBACK}#1", f"{FALLBACK}#0")


def test_seed_against_twin_ranks_the_md2_root_the_client_did_not_offer_first(seed_vs_twin: tuple[int, dict],
                                                                            tshark: str) -> None:
    code, document = seed_vs_twin
    good_chain = read_chains(tshark, TWIN)[0]  # subject CNs as plain tshark reads them
    weak = _truth(SEED)["weak_certificates"][0]
    assert weak["weakness"] == "signature:md2WithRSAEncryption"  # the ground truth this test rests on
    # Then the exit code says a relevant difference was found, and the top item is the MD2 root
    assert code == ExitCode.FAIL_ON and document["relevant"]
    top = document["verdict"][0]
    assert top["rank"] == 1
    # The root's md2 self-signature is only a note (clients never check a trust anchor's own signature): the
    # error behind the verdict is the pair the ClientHello did not offer.
    assert top["checks"] == ["sigalg_not_offered"]
    assert f"root certificate #{weak['index']} ({weak['subject_cn']})" in top["summary"]
    assert "is signed with MD2, not offered by the client (RFC 5246 §7.4.2)" in top["summary"]
    # ... contrasted with GOOD's chain, which stops before it
    assert (f"GOOD's chain does not carry it: GOOD's chain ends at #{len(good_chain) - 1} 'CN={good_chain[-1]},"
            in top["summary"])
    assert f"root certificate #{weak['index']} ({weak['subject_cn']}) is signed with MD2, not offered by the client" \
        " (RFC 5246 §7.4.2)" in top["evidence"]
    assert set(top["sections"]) >= {"chain", "client_hello"}


def test_seed_against_twin_aligns_the_chains_by_identity(seed_vs_twin: tuple[int, dict], tshark: str) -> None:
    _, document = seed_vs_twin
    good_chain, bad_chain = read_chains(tshark, TWIN)[0], read_chains(tshark, SEED)[0]
    assert bad_chain[:-1] == good_chain  # the ground truth this test rests on: BAD = GOOD's chain + one more
    chain = section(document, "chain")
    assert [(r["good_index"], r["bad_index"], r["relation"]) for r in chain["rows"]] == [
        (0, 0, "same"), (1, 1, "same"), (2, 2, "same"), (None, 3, "only_bad")]
    extra = chain["rows"][3]
    assert extra["sigalg_bad"] == "md2WithRSAEncryption" and extra["sigalg_good"] is None
    assert extra["findings_bad"] == ["weak_signature", "sigalg_not_offered"] and not extra["equal"]
    assert field(document, "chain", "certificates")["good"] == len(good_chain)
    assert field(document, "chain", "certificates")["bad"] == len(bad_chain)


def test_seed_against_twin_compares_the_client_hellos_as_sets(seed_vs_twin: tuple[int, dict], tshark: str) -> None:
    _, document = seed_vs_twin
    suites = field(document, "client_hello", "cipher_suites")
    # Given the Python ssl client (GOOD) offers AES-GCM with ECDHE-RSA and the Schannel-like client (BAD) does not
    assert "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" in suites["only_good"]
    assert "TLS_RSA_WITH_3DES_EDE_CBC_SHA" in suites["only_bad"]
    assert len(suites["good"]) == offered_suite_counts(tshark, TWIN)[0] and not suites["equal"]
    assert len(suites["bad"]) == offered_suite_counts(tshark, SEED)[0]
    sigalgs = field(document, "client_hello", "signature_algorithms")
    assert "rsa_pkcs1_sha1" in sigalgs["only_bad"] and "ed25519" in sigalgs["only_good"]
    assert field(document, "client_hello", "server_name")["equal"]
    assert field(document, "outcome", "outcome")["bad"] == Outcome.CLIENT_SILENT_CLOSE.value


def test_fallback_names_the_version_difference(fallback: tuple[int, dict]) -> None:
    code, document = fallback
    good, bad = _truth(FALLBACK, 1), _truth(FALLBACK, 0)
    assert (good["version"], bad["version"]) == ("TLS 1.0", "TLS 1.2")
    assert code == ExitCode.FAIL_ON
    assert (document["good"]["stream"], document["bad"]["stream"]) == (1, 0)
    summaries = [item["summary"] for item in document["verdict"]]
    version = next(item for item in document["verdict"] if "fallback" in item["summary"])
    assert f"offered {good['version']} instead of {bad['version']}" in version["summary"]
    assert "BAD's ClientHello carries signature_algorithms; GOOD's has none" in version["evidence"]
    # The chain is the same on both sides: what differs is that only BAD's client restricted its signatures
    assert document["verdict"][0]["checks"] == ["sigalg_not_offered"], summaries
    assert "GOOD received the same certificate (#3) without sigalg_not_offered" in summaries[0]
    assert all(row["relation"] == "same" for row in section(document, "chain")["rows"])
    assert field(document, "server_hello", "version")["good"] == "TLS 1.0"


def test_fallback_does_not_say_bad_left_out_a_version_below_its_highest(fallback: tuple[int, dict],
                                                                         tshark: str) -> None:
    # Given BAD's ClientHello as tshark reads it: client_version TLS 1.2 and no supported_versions extension, so
    # it offers every version up to TLS 1.2 and the server may answer with a lower one (RFC 5246 Appendix E.1)
    argv = [tshark, "-n", "-r", str(FALLBACK), "-Y", "tls.handshake.type == 1 && tcp.stream == 0", "-T", "fields",
            "-e", "tls.handshake.version", "-e", "tls.handshake.extensions.supported_version"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[0].split("\t") == ["0x0303", ""]
    # Then the verdict does not claim BAD's client left out TLS 1.0, which GOOD negotiated
    _, document = fallback
    version = next(item for item in document["verdict"] if "fallback" in item["summary"])
    assert "BAD's client did not offer TLS 1.0" not in version["evidence"], version["evidence"]
    assert "BAD negotiated TLS 1.2, its client offering up to TLS 1.2 (frame 4)" in version["evidence"]


def test_one_capture_pairs_its_failure_with_its_success_by_default(tmp_path: Path, fallback: tuple[int, dict],
                                                                   tshark: str) -> None:
    code, document = diff_json(tmp_path, str(FALLBACK), str(FALLBACK))
    assert code == ExitCode.FAIL_ON
    assert (document["good"]["stream"], document["bad"]["stream"]) == (1, 0)
    assert document["verdict"] == fallback[1]["verdict"]


def test_json_has_the_committed_shape(seed_vs_twin: tuple[int, dict], fallback: tuple[int, dict]) -> None:
    for _, document in (seed_vs_twin, fallback):
        jsonschema.validate(document, SCHEMA)
        assert list(document) == ["schema", "schema_version", "tool", "tshark", "good", "bad", "relevant", "verdict",
                                  "sections"]
        assert [s["name"] for s in document["sections"]] == ["client_hello", "server_hello", "chain", "alerts",
                                                             "teardown", "outcome"]
        assert [item["rank"] for item in document["verdict"]] == list(range(1, len(document["verdict"]) + 1))


def test_schema_enums_are_the_code_values() -> None:
    assert SCHEMA["$defs"]["outcome"]["enum"] == [outcome.value for outcome in Outcome]
    relations = SCHEMA["$defs"]["chain_row"]["properties"]["relation"]["enum"]
    assert set(relations) == {"same", "moved", "changed", "only_good", "only_bad"}
    assert set(SCHEMA["$defs"]["chain_row"]["required"]) == set(ChainRow.__dataclass_fields__) | {"equal"}


def test_table_puts_the_verdict_first_and_collapses_identical_sections(capsys: pytest.CaptureFixture[str],
                                                                      tshark: str) -> None:
    # Given the same client and server, ended once by FIN (GOOD) and once by RST (BAD)
    code, out, err = diff_text(capsys, str(SEED), str(RST))
    # Then nothing in the handshake tells them apart: exit 0, identical sections on one line each
    assert code == ExitCode.OK
    assert "failed too" in err
    assert "Verdict: no difference found that would explain why BAD failed." in out
    for title in ("ClientHello", "ServerHello", "Certificate chain", "Alerts"):
        assert f"\n{title}: identical\n" in out
    assert "Teardown: differs" in out and "RST by client after server_hello_done" in out
    assert out.index("Verdict") < out.index("ClientHello")


def test_table_shows_the_ranked_verdict_with_evidence(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    code, out, _ = diff_text(capsys, str(TWIN), str(SEED))
    assert code == ExitCode.FAIL_ON
    verdict = out.split("\nVerdict: ")[1].split("\nClientHello")[0]
    assert verdict.startswith("1 difference may explain why BAD failed and GOOD did not")
    assert " 1. BAD: root certificate #3 (Example Legacy Root CA) is signed with MD2" in verdict
    assert "    - client hung up 2 ms after the chain in frame 6 (frame 8), without an alert" in verdict
    assert str(SEED) + "#0" in out and str(TWIN) + "#0" in out  # paths whole, ready to paste


def test_a_side_that_did_not_fail_has_nothing_to_explain(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         tshark: str) -> None:
    # Given the sides swapped by mistake
    code, out, err = diff_text(capsys, str(SEED), str(TWIN))
    assert code == ExitCode.OK
    assert "are GOOD and BAD swapped?" in err
    assert "Verdict: BAD did not fail (established): nothing to explain." in out


def test_server_refusal_names_the_suite_the_bad_client_did_not_offer(tmp_path: Path, tshark: str) -> None:
    code, document = diff_json(tmp_path, str(TWIN), str(CAPTURES / "no-shared-cipher.pcapng"))
    assert code == ExitCode.FAIL_ON
    summaries = [item["summary"] for item in document["verdict"]]
    assert summaries[0].startswith("BAD: server found no protocol version or cipher suite in common")
    assert "BAD's client did not offer TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, the suite GOOD's server chose" \
        in summaries
    assert not any(summary.startswith("protocol version") for summary in summaries)  # both offered up to TLS 1.2


def test_two_failures_are_told_apart(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    # Given the seed (silent close) as GOOD and the name mismatch (alert 42) as BAD
    code, out, err = diff_text(capsys, str(SEED), str(CAPTURES / "name-mismatch.pcapng"))
    assert code == ExitCode.FAIL_ON and "failed too" in err
    assert "Verdict: GOOD failed too (client_silent_close_after_certificates); " in out
    assert " 1. BAD: leaf certificate #0 (portal.example.org) does not name 'shop.example.net'" in out
