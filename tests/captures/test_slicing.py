"""A capture read in parts by connection (summarize --slice-mb; capture/slicing.py, capture/sliced.py) gives the
records, status and counts of the capture read whole, byte for byte: the seed, the mixed batch, and a
handshake-heavy capture whose connections interleave so that cuts in time fall mid-handshake; a truncated or
damaged capture fails alike; and the splitter's parts hold every packet, whole only in the part that owns its
connection."""

from __future__ import annotations

import filecmp
import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CAPTURES, DATA, REPO
from tsharkpost.capture import batch, sliced
from tsharkpost.capture import tshark as ts
from tsharkpost.capture.analyze import PartResult, analyze
from tsharkpost.capture.batch import analyze_all
from tsharkpost.capture.capfile import UNIT_PACKET, _opened, count_packets, units
from tsharkpost.capture.result import InputResult, InputStatus
from tsharkpost.capture.sliced import analyze_sliced, part_count
from tsharkpost.capture.slicing import CUT_MARK, headers, owner, owns, write_parts
from tsharkpost.cli import main

sys.path.insert(0, str(REPO / "bench"))
from workloads import replicate  # noqa: E402 - bench/ is no package

TINY = 0.001  # MB: every capture here is cut, into as many parts as jobs
SEED = CAPTURES / "md2-root-silent-fin.pcapng"
MIXED = CAPTURES / "batch-mixed.pcapng"
FALLBACK = CAPTURES / "version-fallback.pcapng"


@pytest.fixture(scope="module")
def located(tshark: str) -> ts.Tshark:
    return ts.locate(tshark)


@pytest.fixture(scope="module")
def heavy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bench's handshake-heavy workload, small (bench/workloads.py replicate): 4 copies of the mixed batch,
    each from its own client, 3 ms apart and put in time order by reordercap, so that the copies' handshakes
    interleave and a cut in time anywhere in the capture is likely to fall mid-handshake."""
    folder = tmp_path_factory.mktemp("heavy")
    shifted = replicate(MIXED, folder / "shifted.pcapng", 4, 0.003)
    target = folder / "heavy.pcapng"
    subprocess.run(["reordercap", str(shifted), str(target)], check=True, capture_output=True)
    return target


def _facts(result: InputResult) -> tuple[object, ...]:
    return result.status, result.reason, result.packets, result.totals, result.patterns.rows()


def _same_as_whole(capture: Path, located: ts.Tshark, folder: Path, counts: tuple[int, ...]) -> InputResult:
    """The capture read whole, after checking that reading it in each count of parts gives the same: in this
    process one part after another (analyze_sliced), and the parts in parallel as summarize --jobs reads them."""
    whole = analyze(capture, located, ts.Options(), folder / "whole.jsonl")
    assert whole.records_file is not None
    for count in counts:
        if count == counts[0]:
            sliced = analyze_sliced(capture, count, located, ts.Options(), folder / f"sliced-{count}.jsonl",
                                    folder / f"parts-{count}")
            assert not (folder / f"parts-{count}").exists()
        else:
            (folder / f"pool-{count}").mkdir()
            sliced = analyze_all([capture], located, ts.Options(), count, folder / f"pool-{count}",
                                 slice_mb=TINY)[0]
        assert _facts(sliced) == _facts(whole), count
        assert sliced.records_file is not None
        assert filecmp.cmp(whole.records_file, sliced.records_file, shallow=False), count
    return whole


@pytest.mark.parametrize("capture", [SEED, MIXED], ids=["seed", "batch-mixed"])
def test_parts_give_the_whole_captures_records(capture: Path, located: ts.Tshark, tmp_path: Path) -> None:
    # Given a capture, read whole; When it is read in 2, 3 and 7 parts; Then records and counts are the same
    whole = _same_as_whole(capture, located, tmp_path, (2, 3, 7))
    assert whole.status is InputStatus.OK and whole.totals.tls > 0


@pytest.mark.parametrize("name", ["out-of-order-server-flight.pcap", "port-reuse-same-stream.pcap",
                                  "tls-on-other-ports.pcapng"])
def test_parts_of_wild_captures(name: str, located: ts.Tshark, tmp_path: Path) -> None:
    # Given a capture whose first reading finds a gap (read again with out-of-order reassembly: every part is
    # then read again), one where a client reuses its port (two connections on one tcp.stream), and TLS on
    # ports of other protocols (found by content); When read in 2 and 3 parts; Then as read whole
    _same_as_whole(DATA / "wild" / name, located, tmp_path, (2, 3))


def test_parts_of_a_handshake_heavy_capture_with_interleaved_connections(heavy: Path, located: ts.Tshark,
                                                                         tmp_path: Path) -> None:
    # Given the handshake-heavy capture (176 connections from 4 clients to 10 servers), read whole
    whole = _same_as_whole(heavy, located, tmp_path, (2, 3, 7))
    records = list(whole.records())
    assert whole.totals.connections == 4 * 44 and whole.totals.failed > 0
    # And its fallback pairs (a failed attempt and its retry) are linked as in the whole reading
    assert sum(1 for record in records if record.retried_by is not None) >= 4
    # And its connections interleave: a frame in ten or more lies inside some handshake, between its
    # ClientHello and its Certificate, and cutting it in time into 7 slices of equal packet count cuts some
    # handshakes there (that is where time slices go wrong: issue 17)
    frames = count_packets(heavy)
    inside = {frame for record in records if record.client_hello and record.certificate_frame
              for frame in range(record.client_hello.frame + 1, record.certificate_frame)}
    assert len(inside) >= frames // 10
    assert {frames * step // 7 for step in range(1, 7)} & inside


def test_a_truncated_capture_fails_alike_in_parts(located: ts.Tshark, tmp_path: Path) -> None:
    # Given the mixed batch cut in the middle of a packet
    data = MIXED.read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(data[:len(data) * 2 // 3 + 5])
    # When read whole and in parts; Then the status, reason and the records before the cut are the same
    whole = _same_as_whole(cut, located, tmp_path, (3,))
    assert whole.status is InputStatus.TRUNCATED and whole.totals.connections > 10


def test_a_damaged_block_fails_alike_in_parts(located: ts.Tshark, tmp_path: Path) -> None:
    # Given the seed with an impossible block length in its 10th packet block
    data = bytearray(SEED.read_bytes())
    offset, seen = 0, 0
    while seen < 10:
        kind, length = struct.unpack_from("<II", data, offset)
        seen += kind == 6
        if seen < 10:
            offset += length
    struct.pack_into("<I", data, offset + 4, 7)
    damaged = tmp_path / "damaged.pcapng"
    damaged.write_bytes(bytes(data))
    whole = _same_as_whole(damaged, located, tmp_path, (2,))
    assert whole.status is InputStatus.ERROR and "damaged" in whole.reason


def _packets(path: Path) -> list[tuple[int, int, bytes]]:
    """(captured length, original length, bytes) of every packet unit of a capture."""
    found = []
    with _opened(path) as stream:
        for unit in units(stream):
            assert unit.kind != "tail", path
            if unit.kind == UNIT_PACKET:
                at = 24 if unit.data_at == 28 else 12
                (original,) = struct.unpack_from(unit.order + "I", unit.raw, at)
                found.append((unit.captured, original, unit.raw[unit.data_at:unit.data_at + unit.captured]))
    return found


@pytest.mark.parametrize("framing", ["pcapng", "pcap"])
def test_every_packet_is_in_every_part_whole_only_in_its_owners(framing: str, tmp_path: Path) -> None:
    # Given the fallback capture (two connections, one client, one server) and the mixed batch, as pcapng and pcap
    for source in (FALLBACK, MIXED):
        capture = tmp_path / f"{source.stem}.{framing}"
        subprocess.run(["editcap", "-F", framing, str(source), str(capture)], check=True, capture_output=True)
        original = _packets(capture)
        # When cut into 3 parts
        targets = {part: tmp_path / f"{source.stem}-{part}.{framing}" for part in range(3)}
        written = write_parts(capture, 3, targets)
        assert written.read == capture.stat().st_size and written.marked
        parts = [_packets(targets[part]) for part in range(3)]
        # Then every part holds every packet, with its original length, in the same order
        for part in parts:
            assert len(part) == len(original) == count_packets(capture)
            assert [item[1] for item in part] == [item[1] for item in original]
        # And each TCP packet is whole in exactly one part, its owner's (by its IP address pair), and cut to its
        # Ethernet, IP and TCP headers in the others, sent there to the Ethernet address that marks cut copies
        owners = set()
        for number, (captured, _, data) in enumerate(original):
            found = headers(1, data)
            assert found is not None  # every packet of these captures is TCP over IPv4 over Ethernet
            ip = found[1]
            mine = owner(data[ip + 12:ip + 16], data[ip + 16:ip + 20], 3)
            owners.add(mine)
            for part in range(3):
                got = parts[part][number]
                if part == mine:
                    assert got[2] == data
                else:
                    assert got[0] == found[0] == 14 + 20 + (data[14 + 20 + 12] >> 4) * 4
                    assert got[2] == CUT_MARK + data[len(CUT_MARK):got[0]]
        if source == MIXED:
            assert owners == {0, 1, 2}  # ten servers spread over the parts
        # And tshark reads each part to the same frame count without a complaint
        for part in range(3):
            done = subprocess.run(["capinfos", "-c", "-M", str(targets[part])], capture_output=True, text=True,
                                  check=False)
            assert done.returncode == 0 and f"{len(original)}" in done.stdout


def test_ownership_is_the_address_pair_either_way() -> None:
    assert owns("127.0.0.1", "127.0.1.1", owner(bytes([127, 0, 0, 1]), bytes([127, 0, 1, 1]), 5), 5)
    assert owner(bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), 7) == owner(bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1]), 7)
    assert owns("::1", "2001:db8::1", owner(bytes(15) + b"\1", bytes.fromhex("20010db8" + "00" * 11 + "01"), 3), 3)
    assert owns("not an address", "x", 0, 4) and not owns("not an address", "x", 1, 4)


def test_part_count(tmp_path: Path) -> None:
    size = MIXED.stat().st_size
    assert part_count(MIXED, 0, 8) == 1  # --slice-mb 0: never
    assert part_count(MIXED, size / 2**20, 8) == 1  # not larger than the size
    assert part_count(MIXED, size / 2**20 / 2.5, 8) == 3  # one per started slice
    assert part_count(MIXED, size / 2**20 / 2.5, 2) == 2  # at most one per worker
    assert part_count(MIXED, 0.001, 1) == 1
    gzipped = tmp_path / "mixed.pcapng.gz"
    subprocess.run(f"gzip -c {MIXED} > {gzipped}", shell=True, check=True)
    assert part_count(gzipped, 0.001, 8) == 1  # a gzip'd capture is read whole


def test_summarize_with_slices_writes_the_output_of_a_whole_reading(heavy: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the handshake-heavy capture, the seed and a missing file; When summarize reads them with 2 jobs,
    # cutting every capture over 0.05 MB into parts, and again without cutting
    inputs = [str(heavy), str(SEED), str(tmp_path / "missing.pcap")]
    merged: list[int] = []

    def merge(path: Path, parts: list[PartResult], options: ts.Options, records: Path) -> tuple[InputResult, bool]:
        merged.append(len(parts))
        return sliced.merge(path, parts, options, records)

    monkeypatch.setattr(batch, "merge", merge)  # watched, not replaced: the parts were read and merged
    outputs = []
    for slice_mb in ("0.05", "0"):
        target = tmp_path / f"out-{slice_mb}.json"
        code = main(["summarize", "--format", "json", "-o", str(target), "--jobs", "2", "--slice-mb", slice_mb,
                     *inputs])
        assert code == 3  # the missing file
        outputs.append(target.read_bytes())
    # Then the outputs are the same, byte for byte; the big capture was read in 2 parts, the seed whole
    assert outputs[0] == outputs[1]
    assert merged == [2]
    document = json.loads(outputs[0])
    assert [item["status"] for item in document["inputs"]] == ["ok", "ok", "error"]


@pytest.mark.parametrize("value", ["-1", "lots", "nan", "inf"])
def test_slice_mb_must_be_a_size(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["summarize", "--slice-mb", value, str(SEED)])
    assert stopped.value.code == 2
    assert "--slice-mb" in capsys.readouterr().err


def test_parts_of_a_capture_with_dtls_and_quic_flows(located: ts.Tshark, tmp_path: Path) -> None:
    # Given the mixed batch with DTLS and QUIC flows merged in (UDP packets go whole into every part; the part that
    # owns their address pair keeps their records); When read in 2 and 3 parts; Then as read whole
    merged = tmp_path / "tcp-dtls-quic.pcapng"
    subprocess.run(["mergecap", "-w", str(merged), str(MIXED), str(CAPTURES / "dtls-client-refuses-chain.pcapng"),
                    str(CAPTURES / "quic-server-refuses-alpn.pcapng")], check=True, capture_output=True)
    whole = _same_as_whole(merged, located, tmp_path, (2, 3))
    assert whole.records_file is not None
    transports = {json.loads(line)["transport"] for line in Path(whole.records_file).read_text().splitlines()}
    assert transports == {"tcp", "udp-dtls", "quic"}
