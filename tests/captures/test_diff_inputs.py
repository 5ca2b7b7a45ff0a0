"""tsharkpost diff on bad input: one clear message naming the side, the file and the reason, with the candidates.

Every case exits 3 (usage errors 2) and writes nothing to stdout.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import CAPTURES
from diff_support import diff_text

from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
TWIN = CAPTURES / "known-good-twin.pcapng"
FALLBACK = CAPTURES / "version-fallback.pcapng"
BATCH = CAPTURES / "batch-mixed.pcapng"


def _error(capsys: pytest.CaptureFixture[str], *arguments: str) -> list[str]:
    code, out, err = diff_text(capsys, *arguments)
    assert code == ExitCode.INPUT_ERROR and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("tsharkpost: ERROR: ")
    return lines


def test_a_side_without_tls(capsys: pytest.CaptureFixture[str], tmp_path: Path, tshark: str) -> None:
    # Given the seed's TCP handshake only (frames 1-3)
    syn_only = tmp_path / "syn-only.pcapng"
    subprocess.run(["editcap", "-r", str(SEED), str(syn_only), "1-3"], check=True, capture_output=True)
    lines = _error(capsys, str(syn_only), str(SEED))
    assert lines == [f"tsharkpost: ERROR: GOOD: {syn_only}: no TLS in this capture (no ClientHello or ServerHello "
                     "on any port; for TLS whose handshake is not in the capture, try --decode-as tcp.port==PORT,tls, "
                     "or udp.port==PORT,dtls for DTLS)"]


def test_a_missing_side_is_named_before_tshark_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    tshark: str) -> None:
    lines = _error(capsys, str(TWIN), str(tmp_path / "missing.pcapng"))
    assert lines == [f"tsharkpost: ERROR: BAD: {tmp_path / 'missing.pcapng'}: no such file"]


def test_both_bad_sides_are_named(capsys: pytest.CaptureFixture[str], tmp_path: Path, tshark: str) -> None:
    # Given GOOD is no capture and BAD does not exist, then both are said, each in its line, before tshark runs
    not_capture = tmp_path / "notes.pcap"
    not_capture.write_text("not a capture\n")
    lines = _error(capsys, str(not_capture), str(tmp_path / "missing.pcapng"))
    assert lines == [f"tsharkpost: ERROR: GOOD: {not_capture}: not a pcap or pcapng capture (unknown file header)",
                     f"tsharkpost: ERROR: BAD: {tmp_path / 'missing.pcapng'}: no such file"]


def test_both_sides_failing_as_tshark_reads_them_are_named(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                           tshark: str) -> None:
    # Given two valid captures that hold no packet (a pcap header alone): each fails only once tshark has read it
    sides = [tmp_path / "good.pcap", tmp_path / "bad.pcap"]
    for side in sides:
        side.write_bytes(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
    lines = _error(capsys, *map(str, sides))
    assert lines == [f"tsharkpost: ERROR: GOOD: {sides[0]}: no packets in this capture",
                     f"tsharkpost: ERROR: BAD: {sides[1]}: no packets in this capture"]


def test_no_pairable_connection_lists_both_sides(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 tshark: str) -> None:
    # Given BAD holds two failures, to servers other than GOOD's
    merged = tmp_path / "other-servers.pcapng"
    subprocess.run(["mergecap", "-w", str(merged), str(CAPTURES / "no-shared-cipher.pcapng"),
                    str(CAPTURES / "expired-leaf.pcapng")], check=True, capture_output=True)
    lines = _error(capsys, str(FALLBACK), str(merged))
    assert lines[0].startswith("tsharkpost: ERROR: no connection of GOOD pairs with one of BAD by server name "
                               "or address; choose with FILE#STREAM, --sni NAME or --server ADDR:PORT")
    listed = lines[1:]
    assert len(listed) == 4
    assert listed[0].startswith(f"  GOOD {FALLBACK}#0: 127.0.0.1:50801 -> shop.example.net 127.0.0.11:443")
    assert any(line.startswith(f"  BAD  {merged}#") and "portal.example.org" in line
               and line.endswith("server_fatal_alert") for line in listed)
    assert any("expired.example.net" in line and line.endswith("client_fatal_alert") for line in listed)


def test_ambiguous_pairing_lists_the_candidates(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    # Given four successes and four failures on the fallback server of the batch capture
    lines = _error(capsys, str(BATCH), str(BATCH), "--server", "127.0.1.8:443")
    assert lines[0] == ("tsharkpost: ERROR: ambiguous pairing: 16 pairs of GOOD and BAD connections to the same "
                        "server; choose with FILE#STREAM, --sni NAME or --server ADDR:PORT")
    good = [line for line in lines[1:] if line.startswith("  GOOD ")]
    bad = [line for line in lines[1:] if line.startswith("  BAD ")]
    assert len(good) == len(bad) == 4
    assert all(line.endswith("established") for line in good)
    assert all(line.endswith("client_silent_close_after_certificates") for line in bad)


def test_a_stream_that_is_not_there(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    lines = _error(capsys, f"{TWIN}#7", str(SEED))
    assert lines == [f"tsharkpost: ERROR: GOOD: {TWIN}: no TLS connection matches stream 7",
                     f"  GOOD {TWIN}#0: 127.0.0.1:50301 -> shop.example.net 127.0.0.11:443, established"]


def test_a_server_name_nobody_asked_for(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    lines = _error(capsys, str(TWIN), str(SEED), "--sni", "portal.example.org")
    assert lines[0] == f"tsharkpost: ERROR: GOOD: {TWIN}: no TLS connection matches --sni portal.example.org"


def test_the_same_connection_on_both_sides(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    lines = _error(capsys, str(SEED), str(SEED))
    assert lines[0] == (f"tsharkpost: ERROR: GOOD and BAD are the same connection ({SEED}#0): pick another with "
                        "FILE#STREAM")


def test_the_same_connection_spelt_two_ways(capsys: pytest.CaptureFixture[str], tshark: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SEED.parent)
    lines = _error(capsys, f"{SEED.name}#0", f"{SEED}#0")
    assert lines[0].startswith("tsharkpost: ERROR: GOOD and BAD are the same connection")


def test_an_unwritable_output_is_a_usage_error_before_tshark_runs(capsys: pytest.CaptureFixture[str],
                                                                   tmp_path: Path) -> None:
    code, out, err = diff_text(capsys, str(SEED), str(TWIN), "-o", str(tmp_path / "no-such-folder" / "x.json"))
    assert code == ExitCode.USAGE and out == ""
    assert err.splitlines() == [f"tsharkpost: ERROR: {tmp_path / 'no-such-folder' / 'x.json'}: cannot write the "
                                "output there: No such file or directory"]


@pytest.mark.parametrize("arguments", [[f"{SEED}#x", str(TWIN)], [str(SEED), str(TWIN), "--server", "host:port"],
                                       [str(SEED)]])
def test_usage_errors(capsys: pytest.CaptureFixture[str], arguments: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["diff", *arguments])
    assert exited.value.code == ExitCode.USAGE
    assert "tsharkpost diff: error:" in capsys.readouterr().err


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["diff", "--help"])
    out = capsys.readouterr().out
    for code, meaning in ((0, "compared; no difference"), (1, "compared; the verdict lists"),
                          (3, "a side is unreadable"), (4, "tshark is missing")):
        assert re.search(rf"^  {code} +{re.escape(meaning)}", out, re.MULTILINE), (code, out)
