"""Every input is accounted for: damaged gzip, a pcapng cut in its first block, empty and unreadable folders.

Each bad input is reported with its status and a one-line reason in every output format, exit 3, and the
good captures given with it are still read.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import struct
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import CAPTURES
from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
BATCH = CAPTURES / "batch-mixed.pcapng"


def summarize(tmp_path: Path, *arguments: str, form: str = "json") -> tuple[int, str]:
    out = tmp_path / f"out.{form}"
    code = main(["summarize", "--format", form, "-o", str(out), *arguments])
    return code, out.read_text()


def inputs(tmp_path: Path, *arguments: str) -> tuple[int, list[tuple[str, str, str | None]]]:
    code, text = summarize(tmp_path, *arguments)
    return code, [(i["path"], i["status"], i["reason"]) for i in json.loads(text)["inputs"]]


# -- damaged gzip ------------------------------------------------------------------------------------------------

def _gzipped(capture: Path) -> bytes:
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0) as out:
        out.write(capture.read_bytes())
    return packed.getvalue()


def _flipped(data: bytes, start: int, count: int = 10) -> bytes:
    damaged = bytearray(data)
    damaged[start:start + count] = b"\xff" * count
    return bytes(damaged)


GZ = _gzipped(BATCH)
DAMAGED_GZIP = {
    # name: (bytes, status, reason as a regular expression: zlib's own words vary with its version)
    "cut-in-gzip-header": (GZ[:15], "truncated", r"truncated: the gzip data ends before the capture's first block"),
    "corrupt-first-block": (_flipped(GZ, 100), "error", r"damaged: the gzip data cannot be decompressed \(.+\)"),
    "cut-mid-body": (GZ[:20000], "truncated", r"truncated: the file ends in the middle of a packet"),
    "corrupt-mid-body": (_flipped(GZ, 60000), "error", r"damaged: .+"),
    "bad-crc": (GZ[:-8] + bytes([GZ[-8] ^ 0xFF]) + GZ[-7:], "error",
                r"damaged: the gzip data cannot be decompressed \(bad CRC\)"),
}


@pytest.mark.parametrize("name", DAMAGED_GZIP)
def test_a_damaged_gzip_capture_is_one_input_error(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    tshark: str, name: str) -> None:
    # Given a damaged .gz capture between two good captures
    data, status, reason = DAMAGED_GZIP[name]
    bad = tmp_path / f"{name}.pcapng.gz"
    bad.write_bytes(data)
    # When they are summarized together (in parallel, as by default)
    code, found = inputs(tmp_path, "--jobs", "2", str(SEED), str(bad), str(CAPTURES / "known-good-twin.pcapng"))
    err = capsys.readouterr().err
    # Then the good ones are read, the damaged one has its status and a one-line reason, and the exit code is 3
    assert code == ExitCode.INPUT_ERROR
    assert [(Path(path).name, state) for path, state, _ in found] == [
        (SEED.name, "ok"), (bad.name, status), ("known-good-twin.pcapng", "ok")]
    said = found[1][2]
    assert said is not None and re.fullmatch(reason, said), said
    assert f"tsharkpost: ERROR: {bad}: {said}" in err.splitlines()
    assert "Traceback" not in err


# -- a pcapng cut inside its first block -------------------------------------------------------------------------

@pytest.mark.parametrize("size", [10, 30, 100, 251])
def test_a_pcapng_cut_inside_its_first_block_is_truncated(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                           tshark: str, size: int) -> None:
    # Given batch-mixed.pcapng (its section header block is 252 bytes) cut inside that block
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(BATCH.read_bytes()[:size])
    # When it is summarized
    code, found = inputs(tmp_path, str(cut))
    # Then it is truncated, not a capture without TLS (tshark reads those bytes as a one-frame "MIME file")
    assert code == ExitCode.INPUT_ERROR
    assert found == [(str(cut), "truncated", "truncated: the file ends inside its first block (the section header)")]


def test_a_pcapng_cut_inside_its_first_block_is_truncated_gzipped_too(tmp_path: Path, tshark: str) -> None:
    cut = tmp_path / "cut.pcapng.gz"
    cut.write_bytes(gzip.compress(BATCH.read_bytes()[:100], mtime=0))
    code, found = inputs(tmp_path, str(cut))
    assert code == ExitCode.INPUT_ERROR
    assert found == [(str(cut), "truncated", "truncated: the file ends inside its first block (the section header)")]


# -- folders -----------------------------------------------------------------------------------------------------

@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """Make a folder unreadable, as it is for anyone but root (for root, os.scandir refuses it on purpose)."""
    locked: list[Path] = []
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        if isinstance(path, (str, os.PathLike)) and Path(path) in locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[call-overload]

    def lock(folder: Path) -> None:
        folder.chmod(0)
        locked.append(folder)
        if os.geteuid() == 0:
            monkeypatch.setattr(os, "scandir", scandir)

    yield lock
    for folder in locked:
        folder.chmod(0o755)


@pytest.fixture
def folders(tmp_path: Path, unreadable: Callable[[Path], None]) -> dict[str, Path]:
    """An empty folder, an unreadable one, and a folder with a capture beside an unreadable subfolder."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a capture name")
    locked = tmp_path / "locked"
    locked.mkdir()
    mixed = tmp_path / "mixed"
    (mixed / "private").mkdir(parents=True)
    (mixed / "twin.pcapng").write_bytes((CAPTURES / "known-good-twin.pcapng").read_bytes())
    unreadable(locked)
    unreadable(mixed / "private")
    return {"empty": empty, "locked": locked, "mixed": mixed}


def test_folders_without_captures_are_inputs_in_json(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      tshark: str, folders: dict[str, Path]) -> None:
    # When an empty folder, an unreadable folder and a folder with an unreadable subfolder are summarized
    code, found = inputs(tmp_path, str(folders["empty"]), str(folders["locked"]), str(folders["mixed"]), str(SEED))
    err = capsys.readouterr().err
    # Then each appears as an input with its reason, next to the captures that were read, and the exit code is 3
    assert code == ExitCode.INPUT_ERROR
    assert found == [
        (str(folders["empty"]), "error", "no capture files in this folder"),
        (str(folders["locked"]), "error", "cannot read folder: Permission denied"),
        (str(folders["mixed"] / "private"), "error", "cannot read folder: Permission denied"),
        (str(folders["mixed"] / "twin.pcapng"), "ok", None),
        (str(SEED), "ok", None),
    ]
    assert f"tsharkpost: ERROR: {folders['empty']}: no capture files in this folder" in err.splitlines()
    assert f"tsharkpost: ERROR: {folders['locked']}: cannot read folder: Permission denied" in err.splitlines()


@pytest.mark.parametrize("form", ["jsonl", "csv", "table"])
def test_folders_without_captures_are_in_every_format(tmp_path: Path, tshark: str, folders: dict[str, Path],
                                                      form: str) -> None:
    code, text = summarize(tmp_path, str(folders["empty"]), str(folders["locked"]), form=form)
    assert code == ExitCode.INPUT_ERROR
    expected = [(str(folders["empty"]), "error", "no capture files in this folder"),
                (str(folders["locked"]), "error", "cannot read folder: Permission denied")]
    if form == "jsonl":
        lines = [json.loads(line) for line in text.splitlines()]
        assert [(i["path"], i["status"], i["reason"]) for i in lines if i["type"] == "input"] == expected
    elif form == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [(row["input"], row["input_status"], row["input_reason"]) for row in rows] == expected
    else:
        for path, status, reason in expected:
            assert any(line.startswith(path) and f" {status} " in line and line.endswith(reason)
                       for line in text.splitlines()), (path, text)


def test_a_folder_of_captures_given_to_diff_is_named_as_a_folder(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path, tshark: str) -> None:
    code = main(["diff", str(CAPTURES), str(SEED)])
    err = capsys.readouterr().err
    assert code == ExitCode.INPUT_ERROR
    assert err.strip() == f"tsharkpost: ERROR: GOOD: {CAPTURES}: a folder, not a capture file"


# -- a capture whose clock no date can hold ------------------------------------------------------------------------

def _microseconds_for_nanoseconds(pcapng: bytes) -> bytes:
    """The capture with its interfaces' time resolution (if_tsresol, option 9) turned from 10^-9 to 10^-6 s:
    every time 1,000 times later, the damage that the fuzzer found (bench/fuzz_captures.py --seed 31 --only 92)."""
    data = bytearray(pcapng)
    offset = 0
    while offset + 8 <= len(data):
        kind, length = struct.unpack_from("<II", data, offset)
        if kind == 1:  # Interface Description Block: link type, reserved, snap length, then options
            option = offset + 16
            while option + 4 <= offset + length - 4:
                code, size = struct.unpack_from("<HH", data, option)
                if code == 0:
                    break
                if code == 9 and size == 1 and data[option + 4] == 9:
                    data[option + 4] = 6
                option += 4 + (size + 3) // 4 * 4
        offset += length
    assert data != pcapng, "no interface with nanosecond time to change"
    return bytes(data)


def test_a_capture_whose_clock_is_beyond_any_date_is_one_input_error(capsys: pytest.CaptureFixture[str],
                                                                       tmp_path: Path, tshark: str) -> None:
    # Given the seed with every time 1,000 times later (the year 58,900), between two good captures
    far = tmp_path / "far-future.pcapng"
    far.write_bytes(_microseconds_for_nanoseconds(SEED.read_bytes()))
    # When they are summarized together
    code, found = inputs(tmp_path, "--jobs", "2", str(SEED), str(far), str(CAPTURES / "known-good-twin.pcapng"))
    err = capsys.readouterr().err
    # Then the damaged one is an input error that says why (it was reported as a bug), and the others are read
    assert code == ExitCode.INPUT_ERROR
    assert [(Path(path).name, state) for path, state, _ in found] == [
        (SEED.name, "ok"), (far.name, "error"), ("known-good-twin.pcapng", "ok")]
    said = found[1][2]
    assert said is not None and re.fullmatch(
        r"damaged clock: frame \d+'s time \(1\d{12}\.\d+ s since 1970\) is outside the years 1 to 9999", said), said
    assert "Traceback" not in err and "internal error" not in err


# -- captures without packets ------------------------------------------------------------------------------------

def test_a_capture_without_packets_is_no_tls_not_a_tshark_failure(tmp_path: Path, tshark: str) -> None:
    # Given a pcap of its file header alone and a pcapng that tshark itself wrote with no packet in it (both valid
    # captures, which tshark reads without a word and for which it writes nothing), beside the seed
    header_only = tmp_path / "header-only.pcap"
    header_only.write_bytes(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
    written = tmp_path / "nothing-matched.pcapng"
    subprocess.run([tshark, "-r", str(SEED), "-Y", "frame.number == 0", "-w", str(written)], check=True,
                   capture_output=True)
    # When they are summarized together
    code, found = inputs(tmp_path, str(header_only), str(written), str(SEED))
    # Then each empty one is said to hold no packets (no_tls: nothing failed), and the seed is read
    assert found == [(str(header_only), "no_tls", "no packets in this capture"),
                     (str(written), "no_tls", "no packets in this capture"), (str(SEED), "ok", None)]
    assert code == ExitCode.OK


def test_a_capture_named_dash_is_read_as_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tshark: str) -> None:
    # Given the seed saved as a file named "-" (tshark's -r takes "-" for standard input)
    (tmp_path / "-").write_bytes(SEED.read_bytes())
    monkeypatch.chdir(tmp_path)
    # Then summarize reads that file, named as it was given
    code, found = inputs(tmp_path, "-")
    assert code == ExitCode.OK and found == [("-", "ok", None)]
