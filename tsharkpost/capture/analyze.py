"""One capture file through the whole chain: tshark -> its fields, line by line -> packets -> records -> classification.

Connections are classified and written out (JSON lines) as soon as they are
finished, and only counted after that: memory follows the connections open at
one time, not the size of the capture. The input is ok only if tshark's output
was whole (every line ended, the last one the capture's last packet, exit status 0, nothing on stderr) and neither
tshark nor the plugin failed on the way (_failure, then the plugin's errors and whether there was TLS).
A part of a sliced capture (capture/slicing.py) is read the same way by analyze_part, keeping the connections
the part owns; capture/sliced.py merges the parts and gives the verdicts that need all of them.
"""

from __future__ import annotations

import dataclasses
import json
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

from tsharkpost.capture import tshark as ts
from tsharkpost.capture.capfile import count_packets, precheck
from tsharkpost.capture.classify import FALLBACK_WINDOW_SECONDS, classify
from tsharkpost.capture.defaults import UDP_TIMEOUT_SECONDS
from tsharkpost.capture.connection import Connection
from tsharkpost.capture.fields_reader import packets
from tsharkpost.capture.result import InputResult, InputStatus
from tsharkpost.capture.slicing import CUT_FILTER, owns
from tsharkpost.capture.tracker import ConnectionTracker
from tsharkpost.errors import FieldsError
from tsharkpost.plugin.tables import PLUGIN_ERROR_CHECK
from tsharkpost.record.jsonform import to_json
from tsharkpost.record.model import Finding

# A closed connection is finished once a retry of it would have started (classify.find_retry).
LINGER_SECONDS = FALLBACK_WINDOW_SECONDS + 1.0
FINISH_FRAME = 1 << 62  # the key of connections handed out at the end of the capture (after every frame)
REASON_LENGTH = 300
# The plugin finds TLS by its hello on every port; what it cannot find is TLS whose handshake is not in the capture.
NO_TLS_HINT = (" (no ClientHello or ServerHello on any port; for TLS whose handshake is not in the capture, "
               "try --decode-as tcp.port==PORT,tls, or udp.port==PORT,dtls for DTLS)")
# tshark's complaints about a damaged file, with the detail it gives in parentheses (one line or two).
_UNCOMPRESSABLE = re.compile(r"cannot be decompressed; it may be damaged or corrupt\.\s*\((.*)\)")
_DAMAGED = re.compile(r"appears to be damaged or corrupt\.\s*\((.*)\)")
_UNSUPPORTED = re.compile(r"contains record data that TShark doesn't support\.\s*\((.*)\)")


def _tshark_failure(messages: list[str], returncode: int) -> tuple[InputStatus, str]:
    """What tshark's complaint means for the input, and tshark's own words shortened to one line."""
    said = " ".join(messages)
    for line in messages:
        if "cut short" in line:
            return InputStatus.TRUNCATED, "truncated: the file ends in the middle of a packet"
        if "isn't a capture file" in line or "unknown file format" in line:
            return InputStatus.ERROR, "not a capture file tshark understands"
    for pattern, reason in ((_UNCOMPRESSABLE, "damaged: the gzip data cannot be decompressed ({})"),
                            (_DAMAGED, "damaged: {}"), (_UNSUPPORTED, "not supported by tshark: {}")):
        found = pattern.search(said)
        if found:
            return InputStatus.ERROR, reason.format(found.group(1))[:REASON_LENGTH]
    if messages:
        return InputStatus.ERROR, ("tshark: " + said)[:REASON_LENGTH]
    if returncode < 0:
        return InputStatus.ERROR, f"tshark was killed by signal {-returncode}"
    return InputStatus.ERROR, f"tshark exited with status {returncode}"


class _Output:
    """Where finished connections go: classified, frozen into a record, written, counted.

    Frames the plugin failed on (its plugin_error finding) are counted too: the input's status says so.
    Reading a part of a capture (capture/slicing.py), each record's place in the whole capture's records file
    is written next to it (keys_file, one line per record: the sort key of sliced.py's merge).
    """

    def __init__(self, result: InputResult, tracker: ConnectionTracker, keys_file: Path | None = None,
                 udp_timeout: float = UDP_TIMEOUT_SECONDS) -> None:
        self.result, self.tracker, self.udp_timeout = result, tracker, udp_timeout
        assert result.records_file is not None
        self.handle = open(result.records_file, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.keys = open(keys_file, "w", encoding="utf-8") if keys_file else None  # noqa: SIM115 - as handle
        self.plugin_errors: list[tuple[int, Finding]] = []  # (stream, finding)
        self.gap = False  # a connection whose client answered server messages the output does not hold

    def emit(self, finished: list[Connection], frame: int) -> None:
        """Connections handed out after reading `frame`: a reused port's earlier connection first, then the
        rest by the time of their last packet (tracker._hand_out)."""
        # A retry (classify.find_retry) is one between the same client and server port: each connection is
        # classified among those alone, grouped once per call (a list of all of them per connection was
        # quadratic in the flows a capture ends with, e.g. thousands of UDP flows that never close).
        alike: dict[tuple[str, str, int], list[Connection]] = {}
        for candidate in [*finished, *self.tracker.connections.values()]:
            alike.setdefault((candidate.client, candidate.server, candidate.server_port), []).append(candidate)
        for place, conn in enumerate(finished):
            classify(conn, alike[(conn.client, conn.server, conn.server_port)], self.udp_timeout)
            self.gap = self.gap or conn.answered_unseen_server_messages
            record = conn.freeze()
            self.handle.write(json.dumps(to_json(record)) + "\n")
            if self.keys is not None:
                split = place < self.tracker.split_count
                self.keys.write(f"{frame} {0 if split else 1} {conn.last_time!r} {conn.stream} {conn.transport}\n")
            self.result.totals.add(record)
            self.result.patterns.add(record)
            self.plugin_errors += [(record.stream, finding) for finding in record.findings
                                   if finding.check == PLUGIN_ERROR_CHECK]

    def close(self) -> None:
        self.handle.close()
        if self.keys is not None:
            self.keys.close()


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
        first, gap = _read(path, tshark, options, result)
        if not gap or options.reassemble_out_of_order:
            return first
        # The client answered server messages tshark did not dissect: segments out of order or taken for
        # retransmissions. Read again with out-of-order reassembly, which costs too much to pay on every input.
        again = InputResult(str(path), InputStatus.OK, records_file=str(records_file))
        return _read(path, tshark, dataclasses.replace(options, reassemble_out_of_order=True), again)[0]
    except Exception as error:  # noqa: BLE001 - a bug must not cost the batch; it is reported as one
        result.status = InputStatus.BUG
        result.reason = f"internal error, please report it: {type(error).__name__}: {error}"[:REASON_LENGTH]
        result.traceback = traceback.format_exc()
        return result


@dataclass(frozen=True)
class Part:
    """Which part of a sliced capture a reading is (capture/slicing.py), and where its records' keys go."""

    number: int
    count: int
    keys_file: Path
    hide_cut: bool = False  # the frames cut to their headers match slicing.CUT_FILTER, and no other frame does


@dataclass
class PartResult:
    """One part read: its result (the whole capture's path; status only when tshark failed it), the file of
    its records' keys, and whether a connection showed a gap in tshark's reassembly (analyze's second reading)."""

    result: InputResult
    keys_file: str
    gap: bool


def analyze_part(path: Path, part_file: Path, part: Part, tshark: ts.Tshark, options: ts.Options,
                 records_file: Path) -> PartResult:
    """One part of a sliced capture (part_file) read as analyze() reads a capture, keeping the connections the
    part owns; the result names the whole capture (path), its records too. Never raises (status "bug")."""
    result = InputResult(str(path), InputStatus.OK, records_file=str(records_file))
    try:
        result, gap = _read(part_file, tshark, options, result, part)
    except Exception as error:  # noqa: BLE001 - as analyze()
        result.status = InputStatus.BUG
        result.reason = f"internal error, please report it: {type(error).__name__}: {error}"[:REASON_LENGTH]
        result.traceback = traceback.format_exc()
        gap = False
    result.reason = result.reason.replace(str(part_file), str(path))
    return PartResult(result, str(part.keys_file), gap)


@dataclass
class _Seen:
    """How far tshark's output went, next to how far it had to go."""

    last_frame: int  # the capture's packet count (capfile.count_packets): the frame the output must reach
    reached: int = 0  # the highest frame number in the output
    unreadable: FieldsError | None = None  # the output was cut, not summarize's fields, or held a bad value

    @property
    def no_packets(self) -> bool:
        """The capture holds no packet (a pcap header alone), and the output held no frame."""
        return self.last_frame == 0 and self.reached == 0


def _read(path: Path, tshark: ts.Tshark, options: ts.Options, result: InputResult,
          part: Part | None = None) -> tuple[InputResult, bool]:
    """The input read once; with it, whether a connection shows a gap in tshark's reassembly (_Output.gap).

    Connections are handed out (tracker.sweep) at the marker frames (one in ts.HEARTBEAT_FRAMES, and the last),
    which are in the output of every part of a sliced capture alike, so a connection leaves at the same frame,
    with the same packets, whether the capture was read whole or in parts. A part keeps the connections it owns;
    tshark leaves the frames slicing.py cut out of its output when the part says they can be told apart.
    """
    tracker = ConnectionTracker(result.path)
    output = _Output(result, tracker, part.keys_file if part else None, options.udp_timeout)
    seen = _Seen(count_packets(path))
    try:
        hidden = CUT_FILTER if part is not None and part.hide_cut else None
        with ts.run(ts.fields_argv(tshark, path, options, seen.last_frame or None, hidden),
                    options.tshark_timeout) as running:
            try:
                for packet in packets(running.stdout):
                    seen.reached = max(seen.reached, packet.number)
                    marker = packet.number == seen.last_frame or packet.number % ts.HEARTBEAT_FRAMES == 0
                    # A marker without the plugin's line is only a marker (ts.fields_argv), not a frame it chose.
                    if not (marker and packet.stream is None) and (
                            part is None or owns(packet.src, packet.dst, part.number, part.count)):
                        tracker.add(packet)
                        result.packets += 1
                    # Every frame read moves the capture's clock, marker or another part's, so that a UDP flow's
                    # silence lasts to the capture's last frame, alike whole and in parts.
                    tracker.last_seen = max(tracker.last_seen, packet.time)
                    if marker:
                        output.emit(tracker.sweep(packet.time, LINGER_SECONDS), packet.number)
                    elif tracker.split_pending:
                        output.emit(tracker.sweep(packet.time, LINGER_SECONDS, clock=False), packet.number)
            except FieldsError as error:  # report it, keep the batch going
                seen.unreadable = error
                if not running.ended:
                    running.stop()
            running.process.wait()
        output.emit(tracker.finish(), FINISH_FRAME)
    finally:
        output.close()
    verdict = _failure(running, seen, options)
    if part is not None:  # the rest of the verdict is the whole capture's (sliced.py merge)
        return _with(result, verdict), output.gap and not verdict
    if not verdict and seen.no_packets:
        verdict = InputStatus.NO_TLS, "no packets in this capture"
    verdict = verdict or plugin_error_verdict(output.plugin_errors) or no_tls_verdict(result.totals.tls, options)
    return _with(result, verdict), output.gap and not verdict


def _with(result: InputResult, verdict: tuple[InputStatus, str] | None) -> InputResult:
    if verdict:
        result.status, result.reason = verdict
    return result


def _failure(running: ts.Run, seen: _Seen, options: ts.Options) -> tuple[InputStatus, str] | None:
    """The input's status and reason when tshark failed it (the first that applies wins), None if it did not."""
    messages, returncode = running.messages, running.process.returncode
    if seen.no_packets and running.ended and returncode == 0 and not messages:
        return None  # a capture without packets, whose output is rightly empty: _read says so
    if running.hung:
        return InputStatus.ERROR, f"tshark hung: no output for {options.tshark_timeout:g} s"
    if seen.unreadable is not None:
        if running.ended and (returncode != 0 or messages):  # tshark's own words say more about why it stopped
            return _tshark_failure(messages, returncode)
        return InputStatus.ERROR, f"{seen.unreadable}"[:REASON_LENGTH]
    lua_errors = [at for at, line in enumerate(messages) if "Lua" in line or ".lua:" in line]
    if returncode != 0 or (messages and not lua_errors):
        return _tshark_failure(messages, returncode)
    if lua_errors:
        # tshark may give the why on the next line ("Lua: Error during loading:", then the script's error)
        first = lua_errors[0]
        said = messages[first].strip()
        if said.endswith(":") and first + 1 < len(messages):
            said = f"{said} {messages[first + 1].strip()}"
        return InputStatus.ERROR, ("plugin error: " + said)[:REASON_LENGTH]
    if seen.reached < seen.last_frame:
        return InputStatus.ERROR, (f"tshark output ended early: the capture holds {seen.last_frame} packets, "
                                   f"tshark's output stops at frame {seen.reached}")
    return None


def plugin_error_verdict(errors: list[tuple[int, Finding]]) -> tuple[InputStatus, str] | None:
    """The input's status and reason when the plugin failed on frames ((stream, finding) in record order)."""
    if not errors:
        return None
    stream, first = errors[0]
    count = len(errors)
    return InputStatus.ERROR, (f"plugin error on {count} frame{'s' if count > 1 else ''} (the first in frame "
                               f"{first.frame}, stream {stream}): {first.message}")[:REASON_LENGTH]


def no_tls_verdict(tls: int, options: ts.Options) -> tuple[InputStatus, str] | None:
    if tls == 0:
        return InputStatus.NO_TLS, "no TLS in this capture" + ("" if options.decode_as else NO_TLS_HINT)
    return None
