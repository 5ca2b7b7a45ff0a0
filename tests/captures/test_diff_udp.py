"""tsharkpost diff on DTLS and QUIC: each side's good twin against the capture whose client refused the chain, and
the connection ids of a capture that holds TCP, DTLS and QUIC at once (FILE#N, FILE#quic/N, FILE#udp-dtls/N).

Expected values come from plain tshark (no plugin), never from tsharkpost itself.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import jsonschema
import pytest
from diff_support import SCHEMA, diff_json, diff_text, field, section
from udp_support import (DTLS_GOOD, DTLS_REFUSED, QUIC, QUIC_GOOD, QUIC_GOOD_KEYS, QUIC_REFUSED, QUIC_REFUSED_KEYS,
                         TCP_GOOD, plain)

from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode


def _sha256(der: str) -> str:
    return hashlib.sha256(bytes.fromhex(der.replace(":", ""))).hexdigest()


def _udp_stream(tshark: str, capture: Path, protocol: str) -> str:
    """The udp.stream of the capture's one DTLS (protocol "dtls") or QUIC ("quic") ClientHello."""
    hello = "dtls.handshake.type == 1" if protocol == "dtls" else "quic && tls.handshake.type == 1"
    ((stream,),) = {tuple(row) for row in plain(tshark, capture, hello, "udp.stream")}
    return stream


def test_dtls_good_twin_against_the_refused_chain(tshark: str, tmp_path: Path) -> None:
    # Given plain tshark: the refusing client's fatal alert (its code and frame) and both flows' udp.stream
    ((alert_frame, code),) = plain(tshark, DTLS_REFUSED, "dtls.alert_message.level == 2", "frame.number",
                                   "dtls.alert_message.desc")
    good_stream, bad_stream = _udp_stream(tshark, DTLS_GOOD, "dtls"), _udp_stream(tshark, DTLS_REFUSED, "dtls")
    # When diff compares the two captures
    code_, document = diff_json(tmp_path, str(DTLS_GOOD), str(DTLS_REFUSED))
    jsonschema.validate(document, SCHEMA)
    # Then each side is the DTLS flow, named as summarize --connections names it, and BAD's alert leads the verdict
    assert code_ == ExitCode.FAIL_ON
    assert (document["good"]["transport"], document["bad"]["transport"]) == ("udp-dtls", "udp-dtls")
    assert document["good"]["connection"] == f"{DTLS_GOOD}#udp-dtls/{good_stream}"
    assert document["bad"]["connection"] == f"{DTLS_REFUSED}#udp-dtls/{bad_stream}"
    assert (document["good"]["outcome"], document["bad"]["outcome"]) == ("established", "client_fatal_alert")
    assert document["verdict"][0]["summary"].startswith("BAD: ")
    assert field(document, "alerts", "alerts")["bad"] == [f"client: fatal {code} unknown_ca"]
    assert str(alert_frame) in document["verdict"][0]["evidence"][0]
    # And DTLS has no FIN or RST: the teardown row is the first close, none on either side
    assert field(document, "teardown", "first_close") == {"name": "first_close", "good": None, "bad": None,
                                                          "equal": True, "only_good": None, "only_bad": None}
    assert field(document, "outcome", "transport")["equal"]
    assert not any("TCP" in item["summary"] or "transport" in item["summary"] for item in document["verdict"])
    # And the HTML page names the transport and opens the flow in Wireshark by its udp.stream
    page = tmp_path / "diff.html"
    assert main(["diff", "--format", "html", "-o", str(page), str(DTLS_GOOD), str(DTLS_REFUSED)]) == ExitCode.FAIL_ON
    html = page.read_text()
    assert "<td>udp-dtls</td>" in html and f"udp.stream == {bad_stream}" in html
    assert f"dtls-client-refuses-chain.pcapng:udp-dtls/{bad_stream}" in html


def test_a_refused_version_ranks_the_version_before_the_suites(tshark: str, tmp_path: Path) -> None:
    # Given plain tshark: BAD's client offered up to DTLS 1.0 (0xfeff) and its server answered fatal alert 70
    # protocol_version (RFC 6347 §4.1: the server refuses a version it will not speak)
    refused = DTLS_GOOD.parent / "dtls-server-refuses-version.pcapng"
    hello_versions = {row[0] for row in plain(tshark, refused, "dtls.handshake.type == 1", "dtls.handshake.version")}
    ((alert_frame, code),) = plain(tshark, refused, "dtls.alert_message.level == 2", "frame.number",
                                   "dtls.alert_message.desc")
    assert (hello_versions, code) == ({"0xfeff"}, "70")  # both ClientHellos (before and after the cookie)
    # When diff compares it with the twin that negotiated DTLS 1.2
    _, document = diff_json(tmp_path, str(DTLS_GOOD), str(refused))
    summaries = [item["summary"] for item in document["verdict"]]
    version = next(i for i, summary in enumerate(summaries) if summary.startswith("protocol version: "))
    suite = next(i for i, summary in enumerate(summaries) if summary.startswith("BAD's client did not offer TLS_"))
    # Then the version BAD's client left out comes before the suite it left out (which needs DTLS 1.2 anyway)
    assert version < suite, summaries
    assert "BAD's client did not offer DTLS 1.2" in document["verdict"][version]["evidence"]
    assert f"server sent fatal alert {code} protocol_version in frame {alert_frame}" in \
        document["verdict"][0]["evidence"]


@pytest.mark.parametrize("keys", ["both", "good-only"])
def test_quic_good_twin_against_the_refused_chain_with_each_captures_key_log(
        tshark: str, tmp_path: Path, keys: str) -> None:
    # Given plain tshark with each capture's own key log: the server's leaf in each, and the refusing close
    good_der = plain(tshark, QUIC_GOOD, "tls.handshake.certificate", "tls.handshake.certificate", keys=QUIC_GOOD_KEYS)
    bad_der = plain(tshark, QUIC_REFUSED, "tls.handshake.certificate", "tls.handshake.certificate",
                    keys=QUIC_REFUSED_KEYS)
    ((close_frame, alert),) = {tuple(row) for row in plain(tshark, QUIC_REFUSED, "quic.cc.error_code.tls_alert",
                                                           "frame.number", "quic.cc.error_code.tls_alert")}
    assert len(good_der) == len(bad_der) == 1 and alert == "42"
    # When diff reads them with both key logs (--keylog twice), or with GOOD's alone
    logs = ["--keylog", str(QUIC_GOOD_KEYS)] + (["--keylog", str(QUIC_REFUSED_KEYS)] if keys == "both" else [])
    code, document = diff_json(tmp_path, *logs, str(QUIC_GOOD), str(QUIC_REFUSED))
    jsonschema.validate(document, SCHEMA)
    assert code == ExitCode.FAIL_ON
    assert (document["good"]["transport"], document["bad"]["outcome"]) == ("quic", "client_crypto_error")
    first = document["verdict"][0]
    assert first["summary"].startswith("BAD: bad_certificate") and f"in frame {close_frame}" in first["evidence"][0]
    chain = section(document, "chain")
    good_leaf = _sha256(good_der[0][0].split(",")[0])
    if keys == "both":
        # Then both chains are read, each with its own capture's keys: the two leaves differ (another certificate)
        assert field(document, "chain", "certificates")["good"] == field(document, "chain", "certificates")["bad"] == 1
        assert [row["relation"] for row in chain["rows"]] == ["changed"]
        assert _sha256(bad_der[0][0].split(",")[0]) != good_leaf
    else:
        # Then GOOD's key log does not open BAD's chain: BAD received nothing readable
        assert field(document, "chain", "certificates")["bad"] == 0
        assert [row["relation"] for row in chain["rows"]] == ["only_good"]
    # And QUIC's teardown is its CONNECTION_CLOSE, in a row named for it (not first_fin_or_rst)
    teardown = field(document, "teardown", "first_close")
    assert teardown["bad"].startswith("CONNECTION_CLOSE by client after ")


def test_an_alpn_refusal_names_what_each_client_offered(tshark: str, tmp_path: Path) -> None:
    # Given plain tshark: each client's ALPN offer, and the server's close with alert 120 in the refused capture
    refused = QUIC / "quic-server-refuses-alpn.pcapng"
    ((good_alpn,),) = {tuple(row) for row in plain(tshark, QUIC_GOOD, "quic && tls.handshake.type == 1",
                                                   "tls.handshake.extensions_alpn_str")}
    ((bad_alpn,),) = {tuple(row) for row in plain(tshark, refused, "quic && tls.handshake.type == 1",
                                                  "tls.handshake.extensions_alpn_str")}
    ((alert,),) = {tuple(row) for row in plain(tshark, refused, "quic.cc.error_code.tls_alert",
                                               "quic.cc.error_code.tls_alert")}
    assert alert == "120" and good_alpn != bad_alpn
    # When diff compares the good twin with it
    code, document = diff_json(tmp_path, str(QUIC_GOOD), str(refused))
    # Then the refusal's item says what each client offered, and points at the ClientHello
    assert code == ExitCode.FAIL_ON
    (first,) = document["verdict"]
    assert first["summary"].startswith("BAD: no_application_protocol")
    assert first["evidence"][-1] == f"ALPN offered: BAD {bad_alpn}; GOOD {good_alpn}"
    assert first["sections"][0] == "client_hello"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, tshark: str) -> Path:
    """TCP's good twin, the refused QUIC chain and the refused DTLS chain in one capture, in that order (mergecap -a:
    the QUIC flow is the first UDP one whenever each capture was made, so its udp.stream is 0, as TCP's stream)."""
    capture = tmp_path_factory.mktemp("mixed") / "mix.pcapng"
    subprocess.run(["mergecap", "-a", "-w", str(capture), str(TCP_GOOD), str(QUIC_REFUSED), str(DTLS_REFUSED)],
                   check=True, capture_output=True)
    return capture


def test_a_mixed_capture_names_each_connection_by_its_transport(tshark: str, tmp_path: Path, mixed: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    # Given plain tshark: the TCP connection's tcp.stream, and the DTLS and QUIC flows' udp.stream
    ((tcp_stream,),) = {tuple(row) for row in plain(tshark, mixed, "tls.handshake.type == 1 && tcp",
                                                      "tcp.stream")}
    dtls_stream, quic_stream = _udp_stream(tshark, mixed, "dtls"), _udp_stream(tshark, mixed, "quic")
    assert tcp_stream == quic_stream  # the case: one number, two connections
    # When diff is given FILE#N, FILE#quic/N and FILE#udp-dtls/N
    code, against_quic = diff_json(tmp_path, f"{mixed}#{tcp_stream}", f"{mixed}#quic/{quic_stream}")
    jsonschema.validate(against_quic, SCHEMA)
    _, against_dtls = diff_json(tmp_path, f"{mixed}#{tcp_stream}", f"{mixed}#udp-dtls/{dtls_stream}")
    # Then a plain number is the TCP connection, the others their flows
    assert (against_quic["good"]["transport"], against_quic["good"]["stream"]) == ("tcp", int(tcp_stream))
    assert (against_quic["bad"]["transport"], against_quic["bad"]["stream"]) == ("quic", int(quic_stream))
    assert (against_dtls["bad"]["transport"], against_dtls["bad"]["stream"]) == ("udp-dtls", int(dtls_stream))
    assert against_quic["bad"]["outcome"] == "client_crypto_error"
    assert against_dtls["bad"]["outcome"] == "client_fatal_alert"
    # And TCP against QUIC says so in the verdict, and names the teardown row for both
    assert any(item["summary"].startswith("BAD ran over QUIC, GOOD over TCP") for item in against_quic["verdict"])
    assert field(against_quic, "teardown", "first_close")["good"].startswith("FIN by client")
    # And the table's header shows the ids and transports, a diff reads back
    code, out, _ = diff_text(capsys, f"{mixed}#{tcp_stream}", f"{mixed}#quic/{quic_stream}")
    assert f"{mixed}#quic/{quic_stream}  quic" in out and f"{mixed}#{tcp_stream}" in out
    # And a stream no connection has lists every candidate by the id that selects it
    code, _, err = diff_text(capsys, f"{mixed}#99", str(mixed))
    assert code == ExitCode.INPUT_ERROR
    assert "no TLS connection matches stream 99" in err
    for name in (f"{mixed}#{tcp_stream}:", f"{mixed}#quic/{quic_stream}:", f"{mixed}#udp-dtls/{dtls_stream}:"):
        assert name in err
    code, _, err = diff_text(capsys, f"{mixed}#udp-dtls/{quic_stream}", str(mixed))
    assert code == ExitCode.INPUT_ERROR and f"no TLS connection matches stream udp-dtls/{quic_stream}" in err


@pytest.mark.parametrize(("name", "protocol", "alert_field", "bad_outcome"), [
    ("dtls-reconnect-same-port.pcapng", "dtls", "dtls.alert_message.desc", "client_fatal_alert"),
    ("quic-reconnect-same-port.pcapng", "quic", "quic.cc.error_code.tls_alert", "client_crypto_error"),
], ids=["dtls", "quic"])
def test_one_flow_holding_a_refused_connection_and_the_next_one_that_completes(
        tshark: str, tmp_path: Path, name: str, protocol: str, alert_field: str, bad_outcome: str) -> None:
    capture = DTLS_GOOD.parent / name
    # Given plain tshark: one udp.stream, two ClientHellos with their own randoms (each handshake's first frame),
    # and the client's alert 48 (DTLS, unknown_ca) or 42 (QUIC's CRYPTO_ERROR, bad_certificate) between them
    prefix = "dtls" if protocol == "dtls" else "tls"
    rows = plain(tshark, capture, f"{prefix}.handshake.type == 1", "frame.number", "udp.stream",
                 f"{prefix}.handshake.random")
    firsts = list({random: int(frame) for frame, _, random in reversed(rows)}.values())[::-1]
    assert {stream for _, stream, _ in rows} == {"0"} and len(firsts) == 2
    ((alert_frame,),) = {(row[0],) for row in plain(tshark, capture, f"{alert_field} == 48 || {alert_field} == 42",
                                                     "frame.number")}
    assert firsts[0] < int(alert_frame) < firsts[1]
    # When diff reads the capture as GOOD and as BAD (no FILE#STREAM: both connections are udp.stream 0)
    code, document = diff_json(tmp_path, str(capture), str(capture))
    jsonschema.validate(document, SCHEMA)
    # Then GOOD is the connection that completed and BAD the refused one, each its own record: the table and the
    # sections are read from the record paired, not from the first record of the stream
    assert code == ExitCode.FAIL_ON
    assert (document["good"]["outcome"], document["bad"]["outcome"]) == ("established", bad_outcome)
    assert document["verdict"][0]["summary"].startswith("BAD: ")
    assert field(document, "outcome", "established")["good"] is True
    assert str(alert_frame) in document["verdict"][0]["evidence"][0]
