"""The UDP timeout (--udp-timeout): a DTLS or QUIC client that got no answer, or never answered a
HelloVerifyRequest, is a failure only when the capture runs on that long after its wait began; before, the capture
ended too early to say. Both sides of the threshold, on real captures cut and extended with editcap and mergecap.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CAPTURES
from summarize_support import summarize_json
from udp_support import DTLS_COOKIE, QUIC_REFUSED, first_frames, plain, with_later_datagram

from tsharkpost.capture.defaults import UDP_TIMEOUT_SECONDS
from tsharkpost.plugin import messages


def _only(tmp_path: Path, *arguments: str) -> dict:
    folder = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
    folder.mkdir()
    _, document = summarize_json(folder, *arguments)
    (conn,) = [conn for conn in document["connections"] if conn["transport"] != "tcp" and conn["outcome"] != "not_tls"]
    return conn


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def test_the_default_timeout_is_ten_seconds() -> None:
    assert UDP_TIMEOUT_SECONDS == 10.0  # README and --help say so


@pytest.mark.parametrize("later", [8.0, 12.0])
def test_an_unanswered_cookie_is_a_verdict_only_after_the_timeout(tshark: str, tmp_path: Path, later: float) -> None:
    # Given the cookie exchange OpenSSL's client never finished, and a datagram of other hosts 8 s or 12 s after it
    ((frame, verify_time),) = plain(tshark, DTLS_COOKIE, "dtls.handshake.type == 3", "frame.number",
                                    "frame.time_epoch")
    capture = with_later_datagram(DTLS_COOKIE, later, tmp_path / "cookie-later.pcapng")
    end = float(plain(tshark, capture, "frame", "frame.time_epoch")[-1][0])
    seconds = _seconds(end - float(verify_time))
    # When summarize reads it with the default timeout (10 s)
    conn = _only(tmp_path, str(capture))
    # Then 12 s of silence after the HelloVerifyRequest is the client's failure, 8 s too early to say
    if later > UDP_TIMEOUT_SECONDS:
        assert conn["outcome"] == "hello_verify_unanswered"
        assert conn["causes"][0]["evidence"] == [messages.say("evidence.hello_verify_unanswered", frame=int(frame),
                                                              seconds=seconds)]
    else:
        assert conn["outcome"] == "capture_incomplete"
        assert conn["causes"][0]["summary"] == messages.template("cause.capture_gap.early_end")
        assert conn["causes"][0]["evidence"] == [messages.say("evidence.capture_gap.early_end_hello_verify",
                                                              frame=int(frame), seconds=seconds, timeout="10")]
    # And a timeout between 8 and 12 s is a threshold the user moves: 7 s makes both a verdict, 13 s neither
    assert _only(tmp_path, "--udp-timeout", "7", str(capture))["outcome"] == "hello_verify_unanswered"
    assert _only(tmp_path, "--udp-timeout", "13", str(capture))["outcome"] == "capture_incomplete"


@pytest.mark.parametrize("later", [8.0, 12.0])
def test_a_quic_client_without_an_answer_is_no_server_response_only_after_the_timeout(
        tshark: str, tmp_path: Path, later: float) -> None:
    # Given the aioquic client's first Initial alone (editcap), and a datagram of other hosts 8 s or 12 s after it
    ((hello_frame, hello_time, port),) = plain(tshark, QUIC_REFUSED, "tls.handshake.type == 1", "frame.number",
                                               "frame.time_epoch", "udp.srcport")
    assert hello_frame == "1"
    capture = with_later_datagram(first_frames(QUIC_REFUSED, 1, tmp_path / "client-only.pcapng"), later,
                                  tmp_path / "client-only-later.pcapng")
    end = float(plain(tshark, capture, "frame", "frame.time_epoch")[-1][0])
    seconds = _seconds(end - float(hello_time))
    # When summarize reads it with the default timeout
    conn = _only(tmp_path, str(capture))
    assert (conn["transport"], conn["client_port"]) == ("quic", int(port))
    if later > UDP_TIMEOUT_SECONDS:
        # Then 12 s without a datagram from the server is no server response "in 10 s"
        assert conn["outcome"] == "no_server_response"
        assert conn["causes"][0]["summary"] == messages.say("cause.no_server_response_udp", timeout="10")
        assert conn["causes"][0]["evidence"] == [messages.say("evidence.no_server_response_udp", frame=1,
                                                              seconds=seconds, count=1)]
    else:
        # Then 8 s is too early to say the server never answers
        assert conn["outcome"] == "capture_incomplete"
        assert conn["causes"][0]["evidence"] == [messages.say("evidence.capture_gap.early_end_no_answer", frame=1,
                                                              seconds=seconds, timeout="10")]
    # And --udp-timeout 0 judges at the capture's end, as a capture that ends at the client's datagram
    alone = first_frames(QUIC_REFUSED, 1, tmp_path / "alone.pcapng")
    assert _only(tmp_path, str(alone))["outcome"] == "capture_incomplete"
    assert _only(tmp_path, "--udp-timeout", "0", str(alone))["outcome"] == "no_server_response"


def test_a_bad_udp_timeout_is_one_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tsharkpost.cli import main
    with pytest.raises(SystemExit) as stopped:
        main(["summarize", "--udp-timeout", "-1", str(DTLS_COOKIE)])
    assert stopped.value.code == 2
    assert capsys.readouterr().err == "tsharkpost: ERROR: --udp-timeout -1: not a number of seconds (0 or more)\n"


def test_a_timeout_under_a_millisecond_is_not_said_to_be_none(tshark: str, tmp_path: Path) -> None:
    # Given plain tshark: the cookie-less client's HelloVerifyRequest is the capture's last frame (no silence after
    # it in the capture), and the client nothing answers waits 12.6 s
    rows = plain(tshark, DTLS_COOKIE, "frame", "frame.number", "dtls.handshake.type")
    ((frame, _),) = [row for row in rows if row[1] == "3"]
    assert rows[-1][0] == frame
    # When summarize reads them with a UDP timeout of 0.4 ms, then the causes name that timeout, not "0 s" (a
    # silence of none "shorter than the UDP timeout (0 s)")
    conn = _only(tmp_path, "--udp-timeout", "0.0004", str(DTLS_COOKIE))
    assert conn["outcome"] == "capture_incomplete"
    assert conn["causes"][0]["evidence"] == [messages.say("evidence.capture_gap.early_end_hello_verify",
                                                          frame=int(frame), seconds="0", timeout="0.0004")]
    conn = _only(tmp_path, "--udp-timeout", "0.0004", str(CAPTURES / "quic-no-server.pcapng"))
    assert conn["outcome"] == "no_server_response"
    assert conn["causes"][0]["summary"] == messages.say("cause.no_server_response_udp", timeout="0.0004")


def test_a_timeout_meant_as_never_is_said_in_six_digits(tshark: str, tmp_path: Path) -> None:
    # Given the cookie-less client's capture read with a UDP timeout of 1e30 s (no silence is ever long enough)
    rows = plain(tshark, DTLS_COOKIE, "frame", "frame.number", "dtls.handshake.type")
    ((frame, _),) = [row for row in rows if row[1] == "3"]
    conn = _only(tmp_path, "--udp-timeout", "1e30", str(DTLS_COOKIE))
    # Then the cause names the timeout as 1e+30, not as the 31 digits of the float
    assert conn["outcome"] == "capture_incomplete"
    assert conn["causes"][0]["evidence"] == [messages.say("evidence.capture_gap.early_end_hello_verify",
                                                          frame=int(frame), seconds="0", timeout="1e+30")]
