"""Option values that cannot work are usage errors in one line (exit 2), before any capture is read.

`--jobs 0`, `--jobs -1` and a missing `--keylog` file were accepted silently; `--decode-as garbage` and bad
`--plugin-pref` values ended as "unreadable tshark output: no element found (line 0)" on every input.
tsharkpost now asks tshark once, on an empty capture, and quotes its complaint.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import CAPTURES
from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
TWIN = CAPTURES / "known-good-twin.pcapng"
SEED_XML = CAPTURES / "md2-root-silent-fin.schannel.xml"


def usage_error(capsys: pytest.CaptureFixture[str], *arguments: str) -> str:
    """The one stderr line of a command that must stop with exit 2 (argparse's way or tsharkpost's)."""
    try:
        code = main(list(arguments))
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    assert code == ExitCode.USAGE and out == "", err
    assert err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_jobs_must_be_one_or_more(capsys: pytest.CaptureFixture[str], value: str) -> None:
    err = usage_error(capsys, "summarize", "--jobs", value, str(SEED))
    assert err == f"tsharkpost: ERROR: --jobs {value}: not a number of captures to read at once (1 or more)\n"


def test_short_jobs_option_is_checked_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert usage_error(capsys, "summarize", "-j0", str(SEED)).startswith("tsharkpost: ERROR: -j 0: ")


@pytest.mark.parametrize("command", [["summarize", str(SEED)], ["diff", str(TWIN), str(SEED)],
                                     ["timeline", str(SEED), "--events", str(SEED_XML)]])
def test_a_missing_keylog_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                           command: list[str]) -> None:
    keylog = tmp_path / "sslkeys.log"
    err = usage_error(capsys, *command, "--keylog", str(keylog))
    assert err == f"tsharkpost: ERROR: --keylog {keylog}: no such file\n"


@pytest.mark.parametrize("options, named", [(["--shift", "3"], "--shift"),
                                             (["--events-tz", "Europe/Berlin"], "--events-tz"),
                                             (["--events-tz", "UTC", "--shift", "-2"], "--events-tz and --shift")])
def test_event_options_without_event_logs_are_a_usage_error(capsys: pytest.CaptureFixture[str], options: list[str],
                                                           named: str) -> None:
    # summarize takes --events as an option: its clock and zone options alone used to do nothing, silently
    err = usage_error(capsys, "summarize", *options, str(SEED))
    assert err.startswith(f"tsharkpost: ERROR: {named} without --events: ")


def test_a_folder_is_no_keylog(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = usage_error(capsys, "summarize", str(SEED), "--keylog", str(tmp_path))
    assert err == f"tsharkpost: ERROR: --keylog {tmp_path}: not a regular file\n"


@pytest.mark.parametrize("option, value, complaint", [
    ("--decode-as", "garbage", 'Parameter "garbage" doesn\'t follow the template '
                               '"<layer_type>==<selector>,<decode_as_protocol>"; Unknown layer type -- garbage'),
    ("--decode-as", "tcp.port==8443,nosuch", 'Unknown protocol -- "nosuch"'),
    ("--decode-as", "tcp.port=8443,tls", 'WARNING: -d requires "==" instead of "=". Option will be treated as '
                                         '"tcp.port==8443,tls"'),
    ("--plugin-pref", "tpost.rsa_warning_bits:lots", 'Invalid -o flag "tpost.rsa_warning_bits:lots"'),
    ("--plugin-pref", "tpost.no_such_pref:1", '-o flag "tpost.no_such_pref:1" specifies unknown preference'),
])
@pytest.mark.parametrize("command", [["summarize", str(SEED)], ["diff", str(TWIN), str(SEED)],
                                     ["timeline", str(SEED), "--events", str(SEED_XML)]])
def test_tshark_options_it_refuses_are_usage_errors_quoting_it(capsys: pytest.CaptureFixture[str], tshark: str,
                                                               command: list[str], option: str, value: str,
                                                               complaint: str) -> None:
    err = usage_error(capsys, *command, option, value)
    assert err == f"tsharkpost: ERROR: {option} {value}: tshark refused it: {complaint}\n"


@pytest.mark.parametrize("value", ["tpost.bridge:FALSE", "TPOST.Wire:false"])
@pytest.mark.parametrize("command", [["summarize", str(SEED)], ["diff", str(TWIN), str(SEED)],
                                     ["timeline", str(SEED), "--events", str(SEED_XML)]])
def test_the_preferences_tsharkpost_sets_itself_are_refused(capsys: pytest.CaptureFixture[str], command: list[str],
                                                            value: str) -> None:
    # Turned off, summarize's bridge or wire preference would make every capture read as holding no TLS, silently
    err = usage_error(capsys, *command, "--plugin-pref", value)
    assert err == (f"tsharkpost: ERROR: --plugin-pref {value}: tsharkpost sets this preference itself for its own "
                   "reading of the capture\n")


def test_several_options_are_checked_in_one_run(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    err = usage_error(capsys, "summarize", str(SEED), "--decode-as", "tcp.port==8443,tls",
                      "--plugin-pref", "tpost.rsa_warning_bits:lots")
    assert err == ("tsharkpost: ERROR: --decode-as tcp.port==8443,tls --plugin-pref tpost.rsa_warning_bits:lots: "
                   'tshark refused them: Invalid -o flag "tpost.rsa_warning_bits:lots"\n')


def test_good_options_still_work(tmp_path: Path, capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    keylog = tmp_path / "keys.log"
    keylog.write_text("")
    code = main(["summarize", "--jobs", "1", "--keylog", str(keylog), "--decode-as", "tcp.port==8443,tls",
                 "--plugin-pref", "tpost.rsa_warning_bits:3072", str(SEED)])
    assert code == ExitCode.OK and "client_silent_close_after_certificates" in capsys.readouterr().out
