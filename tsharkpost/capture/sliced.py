"""One big capture read in parts (capture/slicing.py) and the parts' results merged into the whole capture's.

The parts are jobs of their own, run by the same pool as whole captures (batch.py) or as tasks of their own
on a cluster (cluster.py): each job writes its own part from the capture (read_part), reads it with
analyze_part, and hands back its records with a key each; merge() puts the records of all parts in the order
the whole capture's reading writes them (by the frame after which each was handed out, then as
tracker._hand_out orders them), then counts them as analyze() does. The input stays one input: one status,
a failing part's reason (the lowest-numbered part that failed), the packets of all parts.

A reading whose connections show a gap in tshark's reassembly is done again with out-of-order reassembly
(analyze.py); for the parts that is decided on all of them together (merge's second answer), and then
every part is read again, as the whole capture would have been.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import math
import os
import shutil
import traceback
from collections.abc import Iterator
from pathlib import Path

from tsharkpost.capture import tshark as ts
from tsharkpost.capture.analyze import Part, PartResult, analyze_part, no_tls_verdict, plugin_error_verdict
from tsharkpost.capture.capfile import PCAP_MAGICS, PCAPNG_MAGIC, precheck
from tsharkpost.capture.result import InputResult, InputStatus
from tsharkpost.capture.slicing import write_parts
from tsharkpost.plugin.tables import PLUGIN_ERROR_CHECK
from tsharkpost.record.jsonform import from_json
from tsharkpost.record.model import Finding

DEFAULT_SLICE_MB = 200.0
MEGABYTE = 1 << 20
REASON_LENGTH = 300


def part_count(path: Path, slice_mb: float, workers: int) -> int:
    """How many parts to cut the capture into: one per started `slice_mb` of its size, at most one per worker;
    1 (read whole) for a capture at or under the size, with --slice-mb 0, one worker, or a file that is not a
    plain (not gzip'd) pcap or pcapng that passes the precheck (its problem is then reported as usual)."""
    if slice_mb <= 0 or workers <= 1:
        return 1
    try:
        size = path.stat().st_size
        if size <= slice_mb * MEGABYTE or precheck(path) is not None:
            return 1
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError:
        return 1
    if magic != PCAPNG_MAGIC and magic not in PCAP_MAGICS:
        return 1
    return max(1, min(workers, math.ceil(size / (slice_mb * MEGABYTE))))


def part_file(folder: Path, number: int) -> Path:
    """Where read_part writes part `number` (tshark knows pcap from pcapng by its content)."""
    return folder / f"part-{number}.cap"


def read_part(path: Path, number: int, count: int, tshark: ts.Tshark, options: ts.Options, folder: Path,
              name: Path | None = None) -> PartResult:
    """Part `number` of `count` of the capture: written into folder, read, its part file removed again. The
    result and records name the capture `name` (default: path)."""
    folder.mkdir(parents=True, exist_ok=True)
    cut = part_file(folder, number)
    try:
        written = write_parts(path, count, {number: cut})
        return analyze_part(name or path, cut, Part(number, count, folder / f"{number}.keys", written.marked),
                            tshark, options, folder / f"{number}.jsonl")
    except OSError as error:  # the capture cannot be read, or the folder is full or gone: this part's failure
        result = InputResult(str(name or path), InputStatus.ERROR,
                             f"cannot cut it into parts: {error.strerror or error}"[:REASON_LENGTH])
        return PartResult(result, "", False)
    finally:
        cut.unlink(missing_ok=True)


def _keyed(part: PartResult) -> Iterator[tuple[tuple[int, int, float, int, str], str]]:
    if part.result.records_file is None or not part.keys_file:
        return
    with open(part.keys_file, encoding="utf-8") as keys, open(part.result.records_file, encoding="utf-8") as lines:
        for key, line in zip(keys, lines):
            frame, split, last_time, stream, transport = key.split()
            yield (int(frame), int(split), float(last_time), int(stream), transport), line


def merge(path: Path, parts: list[PartResult], options: ts.Options, records_file: Path) -> tuple[InputResult, bool]:
    """The whole capture's result from its parts' (in part order), its records written to records_file; with it,
    whether the parts must all be read again with out-of-order reassembly (analyze's second reading).
    Never raises: a failure here is the input's (status "bug"), as in analyze()."""
    try:
        return _merge(path, parts, options, records_file)
    except Exception as error:  # noqa: BLE001 - a bug must not cost the batch; it is reported as one
        reason = f"internal error, please report it: {type(error).__name__}: {error}"[:REASON_LENGTH]
        return InputResult(str(path), InputStatus.BUG, reason, traceback=traceback.format_exc()), False


def _merge(path: Path, parts: list[PartResult], options: ts.Options, records_file: Path) -> tuple[InputResult, bool]:
    result = InputResult(str(path), InputStatus.OK, records_file=str(records_file))
    failed = next((part.result for part in parts if part.result.status is not InputStatus.OK), None)
    plugin_errors: list[tuple[int, Finding]] = []
    with open(records_file, "w", encoding="utf-8") as target:
        for _, line in heapq.merge(*(_keyed(part) for part in parts), key=lambda keyed: keyed[0]):
            target.write(line)
            record = from_json(json.loads(line))
            result.totals.add(record)
            result.patterns.add(record)
            plugin_errors += [(record.stream, finding) for finding in record.findings
                              if finding.check == PLUGIN_ERROR_CHECK]
    result.packets = sum(part.result.packets for part in parts)
    if failed is not None:
        result.status, result.reason, result.traceback = failed.status, failed.reason, failed.traceback
        return result, False
    verdict = plugin_error_verdict(plugin_errors) or no_tls_verdict(result.totals.tls, options)
    if verdict:
        result.status, result.reason = verdict
        return result, False
    return result, any(part.gap for part in parts) and not options.reassemble_out_of_order


def remove(parts: list[PartResult]) -> None:
    """The parts' records and keys, once merged."""
    for part in parts:
        for name in (part.result.records_file, part.keys_file):
            if name:
                try:
                    os.unlink(name)
                except OSError:
                    pass


def analyze_sliced(path: Path, count: int, tshark: ts.Tshark, options: ts.Options, records_file: Path,
                   folder: Path) -> InputResult:
    """The capture read in `count` parts one after another, in this process (the pools run the parts in
    parallel: batch.py, cluster.py); the result as analyze() gives it for the whole capture."""
    for reading in (options, dataclasses.replace(options, reassemble_out_of_order=True)):
        parts = [read_part(path, number, count, tshark, reading, folder) for number in range(count)]
        result, again = merge(path, parts, reading, records_file)
        remove(parts)
        if not again:
            break
    shutil.rmtree(folder, ignore_errors=True)
    return result
