"""summarize on the bundled captures agrees with their ground truth (captures/expected.json for TCP, and
expected-dtls.json, expected-quic.json for the DTLS and QUIC captures of captures/dtls.py and captures/quic.py).

The expected outcome of each connection is derived here from the ground-truth
facts (alert sender, teardown), not copied from tsharkpost's output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CAPTURES
from summarize_support import by_capture_and_port, summarize_json

from tsharkpost.cli import main
from tsharkpost.record.jsonform import from_json, to_json

EXPECTED = json.loads((CAPTURES / "expected.json").read_text())["captures"]
CASES = [(name, conn) for name, entry in sorted(EXPECTED.items()) for conn in entry["connections"]]
UDP_CASES = [(name, conn) for ground_truth in ("expected-dtls.json", "expected-quic.json")
             for name, entry in sorted(json.loads((CAPTURES / ground_truth).read_text())["captures"].items())
             for conn in entry["connections"]]


def _turns(pairs: list[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """(capture, client port) -> (capture, client port, turn): a client may connect again from its port (a DTLS
    or QUIC flow holding two connections), each a record of its own, in the order they started."""
    seen: dict[tuple[str, int], int] = {}
    keyed = []
    for name, port in pairs:
        keyed.append((name, port, seen.get((name, port), 0)))
        seen[(name, port)] = seen.get((name, port), 0) + 1
    return keyed


UDP_KEYS = _turns([(name, conn["client_port"]) for name, conn in UDP_CASES])


def by_capture_port_and_turn(document: dict) -> dict[tuple[str, int, int], dict]:
    ordered = sorted(document["connections"], key=lambda conn: (Path(conn["capture"]).name, conn["client_port"],
                                                                 conn["first_frame"]))
    return dict(zip(_turns([(Path(conn["capture"]).name, conn["client_port"]) for conn in ordered]), ordered))
WEAKNESS_CHECKS = {"signature": "weak_signature", "key": "weak_rsa_key"}


def expected_outcome(truth: dict) -> str:
    if truth["established"]:
        return "established"
    alert = truth["first_fatal_alert"]
    if alert:
        return f"{alert['sender']}_fatal_alert"
    teardown = truth["teardown"]
    if teardown["by"] == "client" and teardown["after"] == "server_hello_done":
        return "client_silent_close_after_certificates" if teardown["kind"] == "FIN" else \
            "client_reset_after_certificates"
    raise AssertionError(f"no rule for {truth}")


def expected_udp_outcome(truth: dict) -> str:
    """A DTLS or QUIC connection's outcome from its generator's facts (alert, close, cookie, Retry, versions).

    A client that never answers the server's cookie or Retry is silent: the generators' captures end a second
    later, shorter than the UDP timeout (10 s), so the capture ended too early to say (capture_incomplete);
    test_udp_timeout.py and test_quic_outcomes.py show the verdict on the same captures run on past it."""
    if truth["established"]:
        return "established"
    if truth["transport"] == "udp-dtls":
        if truth["first_fatal_alert"]:
            return f"{truth['first_fatal_alert']['sender']}_fatal_alert"
        if truth["hello_verify_request"] and not truth["cookie_answered"]:
            return "capture_incomplete"  # the client's silence after the cookie, shorter than the UDP timeout
        raise AssertionError(f"no rule for {truth}")
    close = truth["close"]
    if not truth["server_answered"]:
        return "no_server_response"  # its client's probes span more than the UDP timeout
    if close and 0x100 <= close["error_code"] <= 0x1FF:
        return f"{close['sender']}_crypto_error"
    if truth["version_negotiation"]:
        return "version_negotiation_failed"
    if truth["retry"] and not close:
        return "capture_incomplete"  # the client's silence after the Retry, shorter than the UDP timeout
    if close:
        return "connection_close_before_handshake"
    raise AssertionError(f"no rule for {truth}")


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory, tshark: str) -> dict:
    code, document = summarize_json(tmp_path_factory.mktemp("summary"), "--jobs", "2", str(CAPTURES))
    assert code == 0
    return document


@pytest.fixture(scope="module")
def records(summary: dict) -> dict[tuple[str, int], dict]:
    return by_capture_and_port(summary)


@pytest.fixture(scope="module")
def turns(summary: dict) -> dict[tuple[str, int, int], dict]:
    return by_capture_port_and_turn(summary)


def test_records_are_copied_as_written(summary: dict, tmp_path: Path) -> None:
    # Given every connection summarize wrote (json and jsonl copy the records files' lines rather than decode
    # and encode each record again), when each is read as a record and written again, then it is the very same
    # object and, in JSON lines, the very same line with its type first: copying loses and changes nothing.
    assert summary["connections"]
    for conn in summary["connections"]:
        assert to_json(from_json(conn)) == conn
    out = tmp_path / "summary.jsonl"
    assert main(["summarize", "--format", "jsonl", "-o", str(out), str(CAPTURES / "batch-mixed.pcapng")]) == 0
    lines = [line for line in out.read_text().splitlines() if line.startswith('{"type": "connection"')]
    assert lines
    for line in lines:
        record = json.loads(line)
        del record["type"]
        assert json.dumps({"type": "connection", **to_json(from_json(record))}) == line


def test_every_connection_is_reported_once(summary: dict) -> None:
    expected = sorted(_turns([(name, conn["client_port"]) for name, conn in CASES + UDP_CASES]))
    assert sorted(by_capture_port_and_turn(summary)) == expected
    assert len(summary["connections"]) == len(expected)


@pytest.mark.parametrize("name, truth", CASES, ids=[f"{n}:{c['client_port']}" for n, c in CASES])
def test_connection_matches_ground_truth(records: dict, name: str, truth: dict) -> None:
    got = records[(name, truth["client_port"])]
    assert (got["server"], got["server_port"]) == (truth["server"], truth["server_port"])
    assert got["server_name"] == truth["sni"]
    assert got["version"] == truth["version"]
    assert got["established"] == truth["established"]
    assert got["outcome"] == expected_outcome(truth)
    alert = truth["first_fatal_alert"]
    fatal = [a for a in got["alerts"] if a["level"] == 2]
    assert ({k: fatal[0][k] for k in ("code", "name", "sender")} if fatal else None) == alert
    teardown = got["teardown"]
    assert {k: teardown[k] for k in ("kind", "by", "after")} == truth["teardown"]
    # Every weak certificate of the ground truth carries the plugin's finding, at its chain position
    for weak in truth["weak_certificates"]:
        cert = got["certificates"][weak["index"]]
        assert cert["subject_cn"] == weak["subject_cn"]
        kind, detail = weak["weakness"].split(":")
        assert WEAKNESS_CHECKS[kind] in {f["check"] for f in cert["findings"]}
        assert (cert["sigalg_name"] if kind == "signature" else f"rsa-{cert['key_bits']}") == detail


@pytest.mark.parametrize("key, truth", [(key, truth) for key, (_, truth) in zip(UDP_KEYS, UDP_CASES)],
                         ids=[f"{name}:{port}" + (f"#{turn}" if turn else "") for name, port, turn in UDP_KEYS])
def test_udp_connection_matches_ground_truth(turns: dict, key: tuple[str, int, int], truth: dict) -> None:
    got = turns[key]
    assert (got["transport"], got["server"], got["server_port"]) == (truth["transport"], truth["server"],
                                                                     truth["server_port"])
    assert (got["server_name"], got["version"], got["established"]) == (truth["sni"], truth["version"],
                                                                        truth["established"])
    assert got["outcome"] == expected_udp_outcome(truth)
    fatal = [{"code": a["code"], "name": a["name"], "sender": a["sender"]} for a in got["alerts"] if a["level"] == 2]
    if truth["transport"] == "udp-dtls":
        assert (fatal[0] if fatal else None) == truth["first_fatal_alert"]
    else:  # QUIC: a CRYPTO_ERROR close is the alert it carries (0x0100 + code), every other close none; after the
        # handshake the close travels in 1-RTT packets, which summarize reads only with the key log (not given here)
        close = truth["close"]
        crypto = close if close and 0x100 <= close["error_code"] <= 0x1FF and not truth["established"] else None
        assert [(a["code"], a["sender"]) for a in fatal] == (
            [(crypto["error_code"] - 0x100, crypto["sender"])] if crypto else [])
        assert ("retry" in {m["name"] for m in got["milestones"]}) == truth["retry"]


def test_seed_cause_names_the_md2_root_the_client_did_not_offer(records: dict) -> None:
    seed = records[("md2-root-silent-fin.pcapng", 50101)]
    top = seed["causes"][0]
    # Then the first cause is the MD2 root, with RFC 5246 and the timing of the hang-up as evidence
    assert top["summary"] == ("root certificate #3 (Example Legacy Root CA) is signed with MD2, not offered by the "
                              "client (RFC 5246 §7.4.2)")
    assert top["checks"][0] == "sigalg_not_offered"
    hung_up = top["evidence"][0]
    assert hung_up == f"client hung up 2 ms after the chain in frame {seed['certificate_frame']} (frame 8), without an alert"
    assert seed["teardown"]["seconds_after"] < 0.1
    assert seed["client_hello"]["signature_algorithms"][:3] == ["rsa_pkcs1_sha256", "rsa_pkcs1_sha384",
                                                                "rsa_pkcs1_sha1"]


def test_version_fallback_links_the_failed_attempt_and_its_retry(records: dict) -> None:
    failed = records[("version-fallback.pcapng", 50801)]
    retry = records[("version-fallback.pcapng", 50802)]
    assert failed["retried_by"] == retry["stream"] and retry["fallback_of"] == failed["stream"]
    assert retry["client_hello"]["max_version"] == "TLS 1.0"
    assert failed["client_hello"]["max_version"] == "TLS 1.2"
    assert "client fell back to TLS 1.0" in failed["causes"][-1]["summary"]


def test_expired_leaf_is_judged_on_capture_time(records: dict) -> None:
    expired = records[("expired-leaf.pcapng", 50601)]
    assert expired["causes"][0]["summary"].startswith(
        "leaf certificate #0 (expired.example.net) is not valid at capture time (valid ")


def test_tls13_chain_visible_only_with_secrets(records: dict) -> None:
    with_secrets = records[("tls13-embedded-secrets.pcapng", 51001)]
    without = records[("tls13-no-secrets.pcapng", 51001)]
    assert [c["subject_cn"] for c in with_secrets["certificates"]] == ["tls13.example.net", "Example Issuing CA G2"]
    assert without["certificates"] == [] and without["chain_encrypted"] is True
    assert with_secrets["zeek"]["ssl_history"] == without["zeek"]["ssl_history"] == "CsiI"


def test_patterns_count_alike_failures_across_captures(summary: dict) -> None:
    seed_like = [p for p in summary["patterns"] if p["outcome"] == "client_silent_close_after_certificates"]
    assert len(seed_like) == 1
    # Given the seed, the fallback capture's first attempt, and both again in each of the batch's 4 rounds
    assert (seed_like[0]["connections"], seed_like[0]["captures"]) == (10, 3)
    assert seed_like[0]["server"] == "shop.example.net"
    # and the expired leaf refused with alert 45 (expired-leaf.pcapng, and in the batch) is one pattern, whatever
    # the time of each frame that carried it: the cause names the certificate's validity, the why its frame's time
    expired = [p for p in summary["patterns"] if p["outcome"] == "client_fatal_alert" and p["alert"]
               and "certificate_expired" in p["alert"]]
    assert [(p["connections"], p["captures"]) for p in expired] == [(5, 2)]


def test_application_data_counted_each_way(records: dict) -> None:
    twin = records[("known-good-twin.pcapng", 50301)]
    assert twin["application_data_bytes"]["client"] > 0
    assert twin["application_data_bytes"]["server"] > twin["application_data_bytes"]["client"]


@pytest.mark.parametrize(("capture", "port"), [("md2-root-silent-fin.pcapng", 50101),
                                               ("md5-intermediate-alert.pcapng", 50401),
                                               ("name-mismatch.pcapng", 50701)])
def test_certificate_causes_say_what_the_plugin_says(records: dict, capture: str, port: int) -> None:
    # Given a chain the client refused, then the probable cause is word for word the sentence the plugin
    # shows for its most decisive finding (both fill the same template of lua/tables/messages.tsv).
    record = records[(capture, port)]
    top = record["causes"][0]
    finding = next(f for cert in record["certificates"] for f in cert["findings"] if f["check"] == top["checks"][0])
    assert top["summary"] == finding["message"]
