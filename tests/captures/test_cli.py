"""The summarize command as users drive it: formats, exit codes, and every kind of bad input.

Bad input must give one line naming the file and the reason, leave the other
inputs processed, and appear with its status in every output format.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import struct
import subprocess
from pathlib import Path

import jsonschema
import pytest
from conftest import CAPTURES, REPO
from summarize_support import summarize_json

from tsharkpost.capture import tshark as ts
from tsharkpost.capture.result import InputStatus
from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode
from tsharkpost.record.model import CauseKind, Outcome

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
TWIN = CAPTURES / "known-good-twin.pcapng"
SCHEMA = json.loads((REPO / "tsharkpost" / "schema" / "summary.schema.json").read_text())


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["summarize", *arguments])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def bad_inputs(tmp_path: Path, tshark: str) -> dict[str, Path]:
    """One file for each kind of bad input, made from the bundled captures."""
    empty = tmp_path / "empty.pcapng"
    empty.write_bytes(b"")
    text = tmp_path / "notes.pcapng"
    text.write_text("not a capture\n")
    truncated = tmp_path / "truncated.pcapng"
    truncated.write_bytes(SEED.read_bytes()[:-40])
    no_tls = tmp_path / "syn-only.pcapng"
    subprocess.run(["editcap", "-r", str(SEED), str(no_tls), "1-3"], check=True, capture_output=True)
    return {"missing": tmp_path / "missing.pcapng", "empty": empty, "text": text, "truncated": truncated,
            "no_tls": no_tls}


def test_json_validates_against_the_committed_schema(tmp_path: Path, tshark: str) -> None:
    code, document = summarize_json(tmp_path, str(CAPTURES))
    assert code == ExitCode.OK
    jsonschema.validate(document, SCHEMA)
    assert document["tool"]["name"] == "tsharkpost" and document["tshark"]["version"].startswith("4.")


def test_schema_enums_are_the_code_enums() -> None:
    assert SCHEMA["$defs"]["outcome"]["enum"] == [outcome.value for outcome in Outcome]
    causes = SCHEMA["$defs"]["connection"]["properties"]["causes"]["items"]["properties"]
    assert causes["kind"]["enum"] == [kind.value for kind in CauseKind]
    statuses = SCHEMA["properties"]["inputs"]["items"]["properties"]["status"]["enum"]
    assert statuses == [status.value for status in InputStatus]


def test_table_shows_patterns_then_inputs(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    code, out, _ = run(capsys, str(SEED), str(TWIN))
    assert code == ExitCode.OK
    patterns, inputs = out.split("\nInputs\n")
    assert patterns.startswith("Failure patterns\n")
    assert "client_silent_close_after_certificates" in patterns and "is signed with MD2, not" in patterns
    assert "md2-root-silent-fin.pcapng:8" in patterns  # the example points at the client's FIN
    assert str(SEED) in inputs and str(TWIN) in inputs


def test_table_never_wraps_an_input_path(capsys: pytest.CaptureFixture[str], tmp_path: Path, tshark: str) -> None:
    deep = tmp_path / ("a-deliberately-long-folder-name-" * 3) / SEED.name
    deep.parent.mkdir()
    shutil.copy(SEED, deep)
    _, out, _ = run(capsys, str(deep))
    assert str(deep) in out.split("\nInputs\n")[1]  # whole, so it can be pasted into the next command


def test_an_unwritable_output_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              tshark: str) -> None:
    code, out, err = run(capsys, "-o", str(tmp_path), str(SEED))  # a folder
    assert code == ExitCode.USAGE and out == ""
    assert err.splitlines() == [f"tsharkpost: ERROR: {tmp_path}: cannot write the output there: Is a directory"]


def test_connections_table_lists_every_tls_connection(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    _, out, _ = run(capsys, "--connections", str(CAPTURES / "version-fallback.pcapng"))
    listing = out.split("\nConnections\n")[1]
    assert "version-fallback.pcapng:0" in listing and "version-fallback.pcapng:1" in listing


def test_jsonl_has_a_header_then_typed_objects(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    _, out, _ = run(capsys, "--format", "jsonl", str(SEED))
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["type"] == "header" and lines[0]["schema_version"] == 1
    assert [line["type"] for line in lines[1:]] == ["input", "connection", "pattern"]


def test_csv_has_a_row_per_connection_and_per_empty_input(capsys: pytest.CaptureFixture[str],
                                                           bad_inputs: dict[str, Path]) -> None:
    code, out, _ = run(capsys, "--format", "csv", str(SEED), str(bad_inputs["missing"]))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == ExitCode.INPUT_ERROR
    assert [(Path(r["input"]).name, r["input_status"], r["outcome"]) for r in rows] == [
        ("md2-root-silent-fin.pcapng", "ok", "client_silent_close_after_certificates"),
        ("missing.pcapng", "error", "")]


@pytest.mark.parametrize("kind, status, reason", [
    ("missing", "error", "no such file"),
    ("empty", "error", "empty file"),
    ("text", "error", "not a pcap or pcapng capture (unknown file header)"),
    ("truncated", "truncated", "truncated: the file ends in the middle of a packet"),
    ("no_tls", "no_tls", "no TLS in this capture (no ClientHello or ServerHello on any port; for TLS whose "
                          "handshake is not in the capture, try --decode-as tcp.port==PORT,tls, or "
                          "udp.port==PORT,dtls for DTLS)"),
])
def test_bad_input_is_one_line_and_the_batch_goes_on(capsys: pytest.CaptureFixture[str], bad_inputs: dict[str, Path],
                                                      tmp_path: Path, kind: str, status: str, reason: str) -> None:
    bad = bad_inputs[kind]
    out = tmp_path / "out.json"
    code = main(["summarize", "--format", "json", "-o", str(out), str(bad), str(SEED)])
    err = capsys.readouterr().err
    document = json.loads(out.read_text())
    # Then the bad file is named with its reason on one line of stderr
    line = f"tsharkpost: {'WARNING' if status == 'no_tls' else 'ERROR'}: {bad}: {reason}"
    assert line in err.splitlines()
    # And it is listed with its status, while the good capture was still processed
    assert [(i["path"], i["status"], i["reason"]) for i in document["inputs"]] == [
        (str(bad), status, reason), (str(SEED), "ok", None)]
    assert any(c["capture"] == str(SEED) for c in document["connections"])
    assert code == (ExitCode.OK if status == "no_tls" else ExitCode.INPUT_ERROR)


def test_truncated_capture_keeps_what_came_before(bad_inputs: dict[str, Path], tmp_path: Path) -> None:
    _, document = summarize_json(tmp_path, str(bad_inputs["truncated"]))
    assert [c["client_port"] for c in document["connections"]] == [50101]


def test_gzip_and_directories_are_read(tmp_path: Path, tshark: str) -> None:
    folder = tmp_path / "inbox"
    (folder / "sub").mkdir(parents=True)
    with gzip.open(folder / "sub" / "seed.pcapng.gz", "wb") as packed:
        packed.write(SEED.read_bytes())
    shutil.copy(TWIN, folder / "twin.pcapng")
    (folder / "readme.txt").write_text("ignored: not a capture name")
    code, document = summarize_json(tmp_path, str(folder))
    assert code == ExitCode.OK
    assert sorted(Path(i["path"]).name for i in document["inputs"]) == ["seed.pcapng.gz", "twin.pcapng"]
    assert {c["outcome"] for c in document["connections"]} == {"established", "client_silent_close_after_certificates"}


@pytest.mark.parametrize("fail_on, capture, expected", [
    ("failure", SEED, ExitCode.FAIL_ON), ("failure", TWIN, ExitCode.OK),
    ("error", SEED, ExitCode.FAIL_ON), ("error", TWIN, ExitCode.OK),
    ("warning", CAPTURES / "weak-rsa1024-sha1.pcapng", ExitCode.FAIL_ON),
])
def test_fail_on_makes_the_exit_code_useful(capsys: pytest.CaptureFixture[str], fail_on: str, capture: Path,
                                            expected: int) -> None:
    code, _, _ = run(capsys, "--fail-on", fail_on, str(capture))
    assert code == expected


def _fake_tshark(folder: Path, script: str) -> Path:
    folder.mkdir()
    fake = folder / "tshark"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    return fake


def test_missing_tshark_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "--tshark", str(tmp_path / "nowhere" / "tshark"), str(SEED))
    assert code == ExitCode.NO_TSHARK and out == ""
    assert err.strip() == f"tsharkpost: ERROR: tshark not found at {tmp_path / 'nowhere' / 'tshark'}"


def test_old_tshark_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fake = _fake_tshark(tmp_path / "old", 'echo "TShark (Wireshark) 3.6.2 (Git v3.6.2)"\n')
    code, _, err = run(capsys, "--tshark", str(fake), str(SEED))
    assert code == ExitCode.NO_TSHARK
    assert err.strip() == f"tsharkpost: ERROR: tshark 3.6.2 at {fake} is too old: tsharkpost needs 4.0 or later"


def test_tshark_dying_mid_stream_fails_that_file_only(tmp_path: Path, tshark: str) -> None:
    # Given a tshark that prints the start of summarize's real output (cut mid-line) and is then killed
    argv = ts.fields_argv(ts.Tshark(tshark, "4.0"), SEED, ts.Options())
    real = subprocess.run(argv, capture_output=True).stdout[:300]
    (tmp_path / "partial.fields").write_bytes(real)
    fake = _fake_tshark(tmp_path / "dying", f'if [ "$1" = "-v" ]; then echo "TShark (Wireshark) 4.0.17"; exit 0; fi\n'
                                             f'cat {tmp_path / "partial.fields"}\nkill -9 $$\n')
    out = tmp_path / "out.json"
    code = main(["summarize", "--tshark", str(fake), "--format", "json", "-o", str(out), str(SEED), str(TWIN)])
    document = json.loads(out.read_text())
    assert code == ExitCode.INPUT_ERROR
    assert [(Path(i["path"]).name, i["status"], i["reason"]) for i in document["inputs"]] == [
        ("md2-root-silent-fin.pcapng", "error", "tshark was killed by signal 9"),
        ("known-good-twin.pcapng", "error", "tshark was killed by signal 9")]


def _embedded_keylog(capture: Path) -> bytes:
    """The TLS key log of a pcapng Decryption Secrets Block (type 0x0000000A, secrets type 'TLSK')."""
    data, offset = capture.read_bytes(), 0
    while offset < len(data):
        kind, length = struct.unpack_from("<II", data, offset)
        if kind == 0x0000000A:
            secrets_type, size = struct.unpack_from("<II", data, offset + 8)
            assert secrets_type == 0x544C534B
            return data[offset + 16:offset + 16 + size]
        offset += length
    raise AssertionError(f"no secrets in {capture}")


def test_keylog_makes_the_tls13_chain_visible(tmp_path: Path, tshark: str) -> None:
    # Given the key log that the embedded-secrets copy carries, as a file
    keylog = tmp_path / "keylog.txt"
    keylog.write_bytes(_embedded_keylog(CAPTURES / "tls13-embedded-secrets.pcapng"))
    # When the copy without secrets is read with --keylog
    _, without = summarize_json(tmp_path, str(CAPTURES / "tls13-no-secrets.pcapng"))
    _, with_keys = summarize_json(tmp_path, "--keylog", str(keylog), str(CAPTURES / "tls13-no-secrets.pcapng"))
    # Then the chain appears, and without it the record says the chain is encrypted
    assert without["connections"][0]["chain_encrypted"] is True
    assert [c["subject_cn"] for c in with_keys["connections"][0]["certificates"]] == [
        "tls13.example.net", "Example Issuing CA G2"]


def test_parallel_jobs_give_the_same_document(tmp_path: Path, tshark: str) -> None:
    captures = [str(CAPTURES / name) for name in ("md2-root-silent-fin.pcapng", "version-fallback.pcapng",
                                                   "smtp-starttls.pcapng", "expired-leaf.pcapng")]
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    _, serial = summarize_json(tmp_path / "one", "--jobs", "1", *captures)
    _, parallel = summarize_json(tmp_path / "two", "--jobs", "2", *captures)
    assert serial["inputs"] == parallel["inputs"]
    assert serial["connections"] == parallel["connections"]
    assert serial["patterns"] == parallel["patterns"]
