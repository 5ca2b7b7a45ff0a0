"""The capture file itself, read without tshark: is it a capture, is its first block whole, how many packets.

First stage of the capture pipeline (before capture/tshark.py): analyze.py asks it whether tshark is worth
starting at all, and how many packets tshark must account for before its output can be believed complete.
Nothing here dissects a packet; only the file's framing (pcap record headers, pcapng block lengths) is read.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tsharkpost.capture.result import InputStatus

# The names a folder is searched for (commands/common.py expand); other files in a folder are not inputs.
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz")
GZIP_MAGIC = b"\x1f\x8b"
# pcap: magic -> byte order (micro- and nanosecond forms); its file header, then a 16-byte header per record.
PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}
PCAP_FILE_HEADER, PCAP_RECORD_HEADER = 24, 16
PCAP_INCLUDED_LENGTH = 8  # offset of incl_len in a record header
# pcapng: every block is type, total length, body, total length again; a Section Header Block (SHB) opens each
# section and its byte-order magic says how the section's numbers are written.
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
BYTE_ORDER_MAGIC = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}
PCAPNG_BLOCK_HEADER = 8
SHB_MINIMUM = 28  # type, length, byte-order magic, version, section length, length again
# Blocks that tshark turns into frames: Packet (obsolete), Simple Packet and Enhanced Packet Blocks. Other
# blocks that may become frames (systemd journal, sysdig events) are not counted: an undercount only makes the
# end-of-output check more lenient, never a false alarm.
PACKET_BLOCKS = {2, 3, 6}
# A Section Header Block larger than this is read by tshark alone (real ones are a few hundred bytes).
FIRST_BLOCK_CHECKED = 1 << 20
# What a damaged gzip stream raises while it is read: cut (EOFError), bad deflate data (zlib.error), bad
# header, CRC or length (gzip.BadGzipFile, an OSError).
GZIP_ERRORS = (EOFError, zlib.error, OSError)


@dataclass(frozen=True)
class Problem:
    """Why a path cannot be read as a capture, found before tshark runs: the input's status and its reason."""

    status: InputStatus
    reason: str


def is_capture_name(name: str) -> bool:
    return name.lower().endswith(CAPTURE_SUFFIXES)


@contextmanager
def _opened(path: Path) -> Iterator[io.BufferedIOBase]:
    """The capture's bytes, gzip or not."""
    with path.open("rb") as raw:
        if raw.read(2) == GZIP_MAGIC:
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as inner:
                yield inner
        else:
            raw.seek(0)
            yield raw


def _read_exactly(stream: io.BufferedIOBase, size: int) -> bytes:
    """Up to size bytes (fewer only at the end of the stream: gzip reads may return short)."""
    parts, wanted = [], size
    while wanted > 0:
        part = stream.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def _gzip_problem(error: BaseException) -> Problem:
    if isinstance(error, EOFError):
        return Problem(InputStatus.TRUNCATED, "truncated: the gzip data ends before the capture's first block")
    detail = str(error).split(": ", 1)[-1] if isinstance(error, zlib.error) else str(error)
    return Problem(InputStatus.ERROR, f"damaged: the gzip data cannot be decompressed ({detail})")


def folder_problem(path: Path) -> Problem:
    """What a folder given where a capture was expected amounts to (commands/common.py expand keeps a folder
    only when it yields no capture or cannot be read)."""
    unreadable: list[OSError] = []
    captures = any(is_capture_name(name) for _, _, files in os.walk(path, onerror=unreadable.append)
                   for name in files)
    if unreadable:
        error = unreadable[0]
        where = "" if Path(error.filename or path) == path else f"{error.filename}: "
        return Problem(InputStatus.ERROR, f"cannot read folder: {where}{error.strerror or error}")
    if captures:
        return Problem(InputStatus.ERROR, "a folder, not a capture file")
    return Problem(InputStatus.ERROR, "no capture files in this folder")


def precheck(path: Path) -> Problem | None:
    """Why the path cannot be a capture, before tshark is started; None if it may be one.

    A pcapng file that ends inside its first block is refused here: tshark would take those bytes for a
    one-frame "MIME file" and report no error at all.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return Problem(InputStatus.ERROR, "no such file")
    except OSError as error:
        return Problem(InputStatus.ERROR, f"cannot read it: {error.strerror or error}")
    if stat.S_ISDIR(mode):
        return folder_problem(path)
    if not stat.S_ISREG(mode):
        return Problem(InputStatus.ERROR, "not a regular file")
    try:
        with _opened(path) as stream:
            head = _read_exactly(stream, 12)
            if not head:
                return Problem(InputStatus.ERROR, "empty file")
            if head[:4] == PCAPNG_MAGIC:
                return _pcapng_first_block(stream, head)
            if head[:4] in PCAP_MAGICS:
                if len(head + _read_exactly(stream, PCAP_FILE_HEADER - len(head))) < PCAP_FILE_HEADER:
                    return Problem(InputStatus.TRUNCATED, "truncated: the file ends inside its pcap file header")
                return None
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        return _gzip_problem(error)
    except OSError as error:
        return Problem(InputStatus.ERROR, f"cannot read it: {error.strerror or error}")
    return Problem(InputStatus.ERROR, "not a pcap or pcapng capture (unknown file header)")


def _pcapng_first_block(stream: io.BufferedIOBase, head: bytes) -> Problem | None:
    cut = Problem(InputStatus.TRUNCATED, "truncated: the file ends inside its first block (the section header)")
    if len(head) < 12:
        return cut
    order = BYTE_ORDER_MAGIC.get(head[8:12])
    if order is None:
        return Problem(InputStatus.ERROR, "damaged: the pcapng section header has no valid byte-order magic")
    (length,) = struct.unpack(order + "I", head[4:8])
    if length < SHB_MINIMUM or length % 4:
        return Problem(InputStatus.ERROR, f"damaged: the pcapng section header's length ({length}) is impossible")
    if length <= FIRST_BLOCK_CHECKED and len(_read_exactly(stream, length - len(head))) < length - len(head):
        return cut
    return None


# Counting reads a plain file in chunks of this size and walks them in memory: a read, a tell and a seek per
# packet cost 2 us each (0.46 s before tshark could start on a 275 MB bulk capture). Bounded: memory stays flat.
COUNT_CHUNK = 1 << 20


def _read_ahead(size: int | None) -> int:
    """How far counting reads ahead: a chunk in a plain file; nothing in a gzip stream, whose damage raises
    where it is read, so that the count stops where the framing does, as tshark's reading would."""
    return COUNT_CHUNK if size is not None else 0


def _refill(stream: io.BufferedIOBase, data: bytes, at: int, needed: int, ahead: int) -> bytes:
    """What is left of data from at, followed by at least `needed` bytes in all (fewer at the end), reading
    `ahead` bytes when that is more."""
    left = data[at:]
    return left + _read_exactly(stream, max(ahead, needed - len(left)))


def count_packets(path: Path) -> int:
    """How many packet records the capture holds, counted from its framing up to the first damage or cut.

    The count is what tshark must reach for its output to be complete (analyze.py); where the framing is
    damaged tshark says so itself, so counting stops there without a complaint.
    """
    try:
        with _opened(path) as stream:
            size = os.fstat(stream.fileno()).st_size if not isinstance(stream, gzip.GzipFile) else None
            head = _read_exactly(stream, 4)
            if head == PCAPNG_MAGIC:
                return _count_pcapng(stream, head, size)
            if head in PCAP_MAGICS:
                return _count_pcap(stream, PCAP_MAGICS[head], size)
    except GZIP_ERRORS:
        pass
    return 0


def _skip(stream: io.BufferedIOBase, count: int, size: int | None) -> bool:
    """Move count bytes on; False if the stream ends first."""
    target = stream.tell() + count
    if size is not None:  # a plain file: seeking past its end would not fail
        if target > size:
            return False
        stream.seek(target)
        return True
    stream.seek(count, os.SEEK_CUR)
    return stream.tell() == target


def _count_pcap(stream: io.BufferedIOBase, order: str, size: int | None) -> int:
    count = 0
    if not _skip(stream, PCAP_FILE_HEADER - 4, size):
        return 0
    included, ahead = struct.Struct(order + "I"), _read_ahead(size)
    data, at = b"", 0
    while True:
        if len(data) - at < PCAP_RECORD_HEADER:
            data, at = _refill(stream, data, at, PCAP_RECORD_HEADER, ahead), 0
            if len(data) < PCAP_RECORD_HEADER:
                return count
        (length,) = included.unpack_from(data, at + PCAP_INCLUDED_LENGTH)
        end = at + PCAP_RECORD_HEADER + length
        if end <= len(data):
            at = end
        elif _skip(stream, end - len(data), size):
            data, at = b"", 0
        else:
            return count
        count += 1


def _count_pcapng(stream: io.BufferedIOBase, head: bytes, size: int | None) -> int:
    count, block, ahead = 0, struct.Struct("<II"), _read_ahead(size)
    data, at = head, 0
    while True:
        if len(data) - at < PCAPNG_BLOCK_HEADER:
            data, at = _refill(stream, data, at, PCAPNG_BLOCK_HEADER, ahead), 0
            if len(data) < PCAPNG_BLOCK_HEADER:
                return count
        read = PCAPNG_BLOCK_HEADER
        if data[at:at + 4] == PCAPNG_MAGIC:
            if len(data) - at < read + 4:  # a section's byte-order magic follows its header
                data, at = _refill(stream, data, at, read + 4, ahead), 0
            magic = data[at + 8:at + 12]
            if magic not in BYTE_ORDER_MAGIC:
                return count
            block, read = struct.Struct(BYTE_ORDER_MAGIC[magic] + "II"), read + 4
        kind, length = block.unpack_from(data, at)
        if length < read + 4 or length % 4:
            return count
        end = at + length
        if end <= len(data):
            at = end
        elif _skip(stream, end - len(data), size):
            data, at = b"", 0
        else:
            return count
        if kind in PACKET_BLOCKS:
            count += 1


# The framing walked unit by unit (capture/slicing.py): what each unit of the file is, with its bytes.
UNIT_HEAD, UNIT_PACKET, UNIT_WHOLE, UNIT_TAIL = "head", "packet", "whole", "tail"
PCAP_LINK_TYPE = 20  # offset of the link type in a pcap file header
PCAP_MAX_PACKET = 262144  # tshark 4.0 refuses a pcap record larger than this (the file is damaged)
IDB_LINK_TYPE = 8  # offset of an Interface Description Block's link type
EPB_HEADER = 28  # type, length, interface, timestamp (2), captured length, original length
EPB_INTERFACE, EPB_CAPTURED = 8, 20
TAIL_CHUNK = 1 << 20


@dataclass(frozen=True)
class Unit:
    """One piece of a capture's framing, as it is in the file.

    kind: UNIT_HEAD (pcap file header, or a pcapng block that is no packet: section and interface headers,
    decryption secrets, statistics), UNIT_PACKET (a pcap record or an Enhanced Packet Block: `link`, `data_at`
    and `captured` say where its bytes are), UNIT_WHOLE (a packet block of another kind, copied as it is) or
    UNIT_TAIL (bytes after the framing broke: a cut or damaged file, copied as they are for tshark to judge).
    """

    kind: str
    raw: bytes
    order: str = "<"
    link: int | None = None
    data_at: int = 0
    captured: int = 0


def units(stream: io.BufferedIOBase) -> Iterator[Unit]:
    """The capture's framing from its first byte to its last, unit by unit; bytes past a cut or damage as
    UNIT_TAIL pieces. A stream that is neither pcap nor pcapng is all tail."""
    head = _read_exactly(stream, 4)
    if head == PCAPNG_MAGIC:
        yield from _pcapng_units(stream, head)
    elif head in PCAP_MAGICS:
        yield from _pcap_units(stream, head)
    else:
        yield from _tail(stream, head)


def _tail(stream: io.BufferedIOBase, read: bytes) -> Iterator[Unit]:
    if read:
        yield Unit(UNIT_TAIL, read)
    while chunk := stream.read(TAIL_CHUNK):
        yield Unit(UNIT_TAIL, chunk)


def _pcap_units(stream: io.BufferedIOBase, magic: bytes) -> Iterator[Unit]:
    order = PCAP_MAGICS[magic]
    header = magic + _read_exactly(stream, PCAP_FILE_HEADER - 4)
    if len(header) < PCAP_FILE_HEADER:
        yield from _tail(stream, header)
        return
    yield Unit(UNIT_HEAD, header, order)
    (link,) = struct.unpack_from(order + "I", header, PCAP_LINK_TYPE)
    link &= 0xFFFF  # the upper bits carry the FCS length, not the link type
    included = struct.Struct(order + "I")
    while True:
        record = _read_exactly(stream, PCAP_RECORD_HEADER)
        if not record:
            return
        if len(record) < PCAP_RECORD_HEADER:
            yield from _tail(stream, record)
            return
        (length,) = included.unpack_from(record, PCAP_INCLUDED_LENGTH)
        if length > PCAP_MAX_PACKET:
            yield from _tail(stream, record)
            return
        data = _read_exactly(stream, length)
        if len(data) < length:
            yield from _tail(stream, record + data)
            return
        yield Unit(UNIT_PACKET, record + data, order, link, PCAP_RECORD_HEADER, length)


def _pcapng_units(stream: io.BufferedIOBase, head: bytes) -> Iterator[Unit]:
    order, links = "<", list[int]()
    while True:
        header = head + _read_exactly(stream, PCAPNG_BLOCK_HEADER - len(head))
        head = b""
        if not header:
            return
        if len(header) < PCAPNG_BLOCK_HEADER:
            yield from _tail(stream, header)
            return
        if header[:4] == PCAPNG_MAGIC:
            magic = _read_exactly(stream, 4)
            header += magic
            if magic not in BYTE_ORDER_MAGIC:
                yield from _tail(stream, header)
                return
            order, links = BYTE_ORDER_MAGIC[magic], []
        kind, length = struct.unpack_from(order + "II", header)
        if length < len(header) + 4 or length % 4 or length > (1 << 30):
            yield from _tail(stream, header)
            return
        block = header + _read_exactly(stream, length - len(header))
        if len(block) < length:
            yield from _tail(stream, block)
            return
        if kind == 1 and length >= IDB_LINK_TYPE + 4:
            links.append(struct.unpack_from(order + "H", block, IDB_LINK_TYPE)[0])
        if kind == 6 and length >= EPB_HEADER + 4:
            interface, captured = (struct.unpack_from(order + "I", block, at)[0]
                                   for at in (EPB_INTERFACE, EPB_CAPTURED))
            if interface < len(links) and EPB_HEADER + captured <= length - 4:
                yield Unit(UNIT_PACKET, block, order, links[interface], EPB_HEADER, captured)
                continue
        yield Unit(UNIT_WHOLE if kind in PACKET_BLOCKS else UNIT_HEAD, block, order)
