"""One capture file through the whole chain: tshark -> PDML -> packets -> records -> classification.

Connections are classified and written out (JSON lines) as soon as they are
finished, and only counted after that: memory follows the connections open at
one time, not the size of the capture.
"""

from __future__ import annotations

import json
import re
import traceback
from pathlib import Path

from tsharkpost.capture import tshark as ts
from tsharkpost.capture.capfile import precheck
from tsharkpost.capture.classify import FALLBACK_WINDOW_SECONDS, classify
from tsharkpost.capture.connection import Connection
from tsharkpost.capture.pdml import packets
from tsharkpost.capture.result import InputResult, InputStatus
from tsharkpost.capture.tracker import ConnectionTracker
from tsharkpost.errors import PdmlError
from tsharkpost.record.jsonform import to_json

# A closed connection is finished once a retry of it would have started (classify.find_retry).
LINGER_SECONDS = FALLBACK_WINDOW_SECONDS + 1.0
REASON_LENGTH = 300
# tshark's complaints about a damaged file, with the detail it gives in parentheses (one line or two).
_UNCOMPRESSABLE = re.compile(r"cannot be decompressed; it may be damaged or corrupt\.\s*\((.*)\)")
_DAMAGED = re.compile(r"appears to be damaged or corrupt\.\s*\((.*)\)")


def _tshark_failure(messages: list[str], returncode: int) -> tuple[InputStatus, str]:
    """What tshark's complaint means for the input, and tshark's own words shortened to one line."""
    said = " ".join(messages)
    for line in messages:
        if "cut short" in line:
            return InputStatus.TRUNCATED, "truncated: the file ends in the middle of a packet"
        if "isn't a capture file" in line or "unknown file format" in line:
            return InputStatus.ERROR, "not a capture file tshark understands"
    for pattern, reason in ((_UNCOMPRESSABLE, "damaged: the gzip data cannot be decompressed ({})"),
                            (_DAMAGED, "damaged: {}")):
        found = pattern.search(said)
        if found:
            return InputStatus.ERROR, reason.format(found.group(1))[:REASON_LENGTH]
    if messages:
        return InputStatus.ERROR, ("tshark: " + said)[:REASON_LENGTH]
    if returncode < 0:
        return InputStatus.ERROR, f"tshark was killed by signal {-returncode}"
    return InputStatus.ERROR, f"tshark exited with status {returncode}"


class _Output:
    """Where finished connections go: classified, frozen into a record, written, counted."""

    def __init__(self, result: InputResult, tracker: ConnectionTracker) -> None:
        self.result, self.tracker = result, tracker
        assert result.records_file is not None
        self.handle = open(result.records_file, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def emit(self, finished: list[Connection]) -> None:
        for conn in finished:
            classify(conn, finished + list(self.tracker.connections.values()))
            record = conn.freeze()
            self.handle.write(json.dumps(to_json(record)) + "\n")
            self.result.totals.add(record)
            self.result.patterns.add(record)

    def close(self) -> None:
        self.handle.close()


def analyze(path: Path, tshark: ts.Tshark, options: ts.Options, records_file: Path) -> InputResult:
    """Every TCP connection of one capture, classified and written to records_file.

    Failures become the result's status and reason, never an exception: bad tshark
    output is an error of the input, anything unexpected a bug (status "bug", with
    the traceback in result.traceback for the command to print).
    """
    result = InputResult(str(path), InputStatus.OK, records_file=str(records_file))
    try:
        problem = precheck(path)
        if problem:
            result.status, result.reason, result.records_file = problem.status, problem.reason, None
            return result
        return _read(path, tshark, options, result)
    except Exception as error:  # noqa: BLE001 - a bug must not cost the batch; it is reported as one
        result.status = InputStatus.BUG
        result.reason = f"internal error, please report it: {type(error).__name__}: {error}"[:REASON_LENGTH]
        result.traceback = traceback.format_exc()
        return result


def _read(path: Path, tshark: ts.Tshark, options: ts.Options, result: InputResult) -> InputResult:
    tracker = ConnectionTracker(result.path)
    output = _Output(result, tracker)
    try:
        with ts.run(ts.pdml_argv(tshark, path, options)) as running:
            try:
                for packet in packets(running.stdout):
                    tracker.add(packet)
                    result.packets += 1
                    output.emit(tracker.sweep(packet.time, LINGER_SECONDS))
            except PdmlError as error:  # cut off mid-element, or not PDML: report it, keep the batch going
                running.process.kill()
                running.process.wait()
                result.status, result.reason = InputStatus.ERROR, f"unreadable tshark output: {error}"
            returncode = running.process.wait()
        output.emit(tracker.finish())
    finally:
        output.close()
    if result.status is not InputStatus.OK:
        return result
    messages = running.messages
    lua_errors = [line for line in messages if "Lua" in line or ".lua:" in line]
    if returncode != 0 or (messages and not lua_errors):
        result.status, result.reason = _tshark_failure(messages, returncode)
    elif lua_errors:
        result.status, result.reason = InputStatus.ERROR, "plugin error: " + lua_errors[0][:300]
    elif result.totals.tls == 0:
        result.status = InputStatus.NO_TLS
        result.reason = "no TLS in this capture" + (
            "" if options.decode_as else " (TLS on an unusual port? try --decode-as tcp.port==PORT,tls)")
    return result
