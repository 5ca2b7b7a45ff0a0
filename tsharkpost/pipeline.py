"""One capture file through the whole chain: tshark -> PDML -> packets -> records -> classification."""

from __future__ import annotations

import gzip
from pathlib import Path

from tsharkpost import tshark as ts
from tsharkpost.classify import classify
from tsharkpost.connections import ConnectionTable
from tsharkpost.models import InputResult, InputStatus
from tsharkpost.pdml import packets

# pcap (both byte orders, micro and nano), pcapng, and gzip around either.
CAPTURE_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
                  b"\x0a\x0d\x0d\x0a")
GZIP_MAGIC = b"\x1f\x8b"


def precheck(path: Path) -> str | None:
    """Why the file cannot be a capture, before tshark is started; None if it may be one."""
    if not path.exists():
        return "no such file"
    if not path.is_file():
        return "not a regular file"
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
            if head[:2] == GZIP_MAGIC:
                with gzip.open(path, "rb") as inner:
                    head = inner.read(4)
    except OSError as error:
        return f"cannot read it: {error.strerror or error}"
    if not head:
        return "empty file"
    if head not in CAPTURE_MAGICS:
        return "not a pcap or pcapng capture (unknown file header)"
    return None


def _tshark_reason(messages: list[str], returncode: int) -> str:
    """tshark's own words, shortened to one line."""
    for line in messages:
        if "cut short" in line:
            return "truncated: the file ends in the middle of a packet"
        if "isn't a capture file" in line or "unknown file format" in line:
            return "not a capture file tshark understands"
    if messages:
        return "tshark: " + " ".join(messages)[:300]
    if returncode < 0:
        return f"tshark was killed by signal {-returncode}"
    return f"tshark exited with status {returncode}"


def analyze(path: Path, tshark: ts.Tshark, options: ts.Options) -> InputResult:
    """Every TCP connection of one capture, classified; failures become an InputResult, never an exception."""
    name = str(path)
    problem = precheck(path)
    if problem:
        return InputResult(name, InputStatus.ERROR, problem)
    table = ConnectionTable(name)
    count = 0
    with ts.run(ts.pdml_argv(tshark, path, options)) as running:
        try:
            for packet in packets(running.stdout):
                table.add(packet)
                count += 1
        except Exception as error:  # a PDML stream cut off mid-element, or worse: report, keep the batch going
            running.process.kill()
            return InputResult(name, InputStatus.ERROR, f"unreadable tshark output: {error}",
                               classify(table.finish()), count)
        returncode = running.process.wait()
    connections = classify(table.finish())
    messages = running.messages
    lua_errors = [line for line in messages if "Lua" in line or ".lua:" in line]
    if returncode != 0 or (messages and not lua_errors):
        reason = _tshark_reason(messages, returncode)
        status = InputStatus.TRUNCATED if reason.startswith("truncated") else InputStatus.ERROR
        return InputResult(name, status, reason, connections, count)
    if lua_errors:
        return InputResult(name, InputStatus.ERROR, "plugin error: " + lua_errors[0][:300], connections, count)
    if not any(conn.is_tls for conn in connections):
        return InputResult(name, InputStatus.NO_TLS, "no TLS in this capture" + (
            "" if options.decode_as else " (TLS on an unusual port? try --decode-as tcp.port==PORT,tls)"),
            connections, count)
    return InputResult(name, InputStatus.OK, "", connections, count)
