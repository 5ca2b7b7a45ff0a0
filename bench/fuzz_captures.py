#!/usr/bin/env python3
"""Fuzz (not a benchmark): mutated captures through the plugin and through `tsharkpost summarize`.

Mutates the bundled captures (captures/*.pcapng) into --count files, seeded and reproducible: mutant N of a
seed is the same file on every machine, and --only N rebuilds and runs just that one. Mutations:
  bytes       bit flips, random bytes, insertion, deletion, truncation (anywhere, or at a block boundary)
  pcapng      block total lengths (leading, trailing, both), an Enhanced Packet Block's captured length and
              interface id, the section header's byte-order magic, version and section length, option lengths
  tls         record content types, versions and lengths; handshake types and lengths; the Certificate
              message's list and entry lengths
  der         inside a certificate: tags, lengths (short and long form), OID and string contents, bytes
  gzip        the mutant gzip'd, sometimes with its gzip stream cut or damaged as well
then, for each mutant,
  the plugin  tshark -n -X lua_script:lua/tsharkpost.lua -r MUTANT -V: a Lua error (tshark prints it in the
              tree, "Lua Error: ...", or on stderr) or a plugin_error finding (a Lua error the plugin caught)
              counts as a Lua error; a run over --timeout seconds as a hang
  summarize   tsharkpost summarize --format json over the mutants in chunks of --chunk: a traceback on
              stderr or an input of status "bug" counts as a traceback, a chunk over its time limit (or an
              input reported "tshark hung") as a hang, a mutant missing from the JSON inputs as a lost input,
              an exit code other than 0 or 3 as a bad exit
and prints the counts and the time taken. Exit status 0 only if Lua errors, tracebacks, hangs, lost inputs
and bad exits are all zero; the mutants that failed are listed, each with the command that reproduces it.

    .venv/bin/python bench/fuzz_captures.py [--count 1000] [--seed 12] [--jobs 2] [--work DIR] [--only N]

tests/reliability/test_fuzz_slice.py runs a small seeded slice of it in CI.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CAPTURES = REPO / "captures"
PLUGIN = REPO / "lua" / "tsharkpost.lua"
SUMMARIZE = "import sys; from tsharkpost.cli import main; sys.exit(main(sys.argv[1:]))"
DOCUMENTED_EXITS = {0, 3}  # summarize without --fail-on: ok, an input could not be read completely (1 is a crash)
ROOT_NOTICE = "Running as user"

# pcapng framing (little-endian: the bundled captures are)
SHB, IDB, EPB = 0x0A0D0D0A, 1, 6
EPB_HEADER = 28  # type, length, interface, timestamp (2), captured length, original length
ETHERNET = 14
TLS_CONTENT_TYPES = {20, 21, 22, 23}
CERTIFICATE = 11
GZIP_HEAD = 64  # the gzip header and the start of the first deflate block: what is read before tshark starts

INTERESTING_8 = [0x00, 0x01, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0xFF]
INTERESTING_16 = [0, 1, 2, 4, 0x7F, 0x80, 0xFF, 0x100, 0x3FFF, 0x4000, 0x4001, 0x47FF, 0x7FFF, 0x8000, 0xFFFF]
INTERESTING_24 = [0, 1, 3, 0x7F, 0xFF, 0x100, 0x3FFF, 0x4000, 0xFFFF, 0x10000, 0x7FFFFF, 0xFFFFFF]
INTERESTING_32 = [0, 1, 4, 8, 12, 16, 28, 32, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0,
                  0xFFFFFFFF]


# -- where the fields worth mutating are -----------------------------------------------------------------------

@dataclass
class Layout:
    """Offsets, in one capture file, of the fields the structure-aware mutations aim at.

    Attributes:
        blocks: (offset, type, total length) of every pcapng block.
        packets: (block offset, data offset, captured length) of every Enhanced Packet Block.
        fields: kind -> (offset, size in bytes) of each field of that kind (TLS and DER fields big-endian,
            pcapng fields little-endian).
        certificates: (start, end) of each certificate's DER inside a packet.
    """

    blocks: list[tuple[int, int, int]] = field(default_factory=list)
    packets: list[tuple[int, int, int]] = field(default_factory=list)
    fields: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    certificates: list[tuple[int, int]] = field(default_factory=list)

    def add(self, kind: str, offset: int, size: int) -> None:
        self.fields.setdefault(kind, []).append((offset, size))


def layout(data: bytes) -> Layout:
    found = Layout()
    offset = 0
    while offset + 12 <= len(data):
        kind, length = struct.unpack_from("<II", data, offset)
        if length < 12 or offset + length > len(data):
            break
        found.blocks.append((offset, kind, length))
        if kind == EPB:
            captured = struct.unpack_from("<I", data, offset + 20)[0]
            found.packets.append((offset, offset + EPB_HEADER, captured))
            _tcp_payload(data, offset + EPB_HEADER, min(captured, length - EPB_HEADER - 4), found)
        offset += length
    return found


def _tcp_payload(data: bytes, start: int, size: int, found: Layout) -> None:
    """TLS records at the start of a TCP payload (Ethernet, IPv4 or IPv6, TCP), and what is inside them."""
    end = start + size
    at = start + ETHERNET
    if size < ETHERNET + 20:
        return
    ether_type = struct.unpack_from(">H", data, start + 12)[0]
    if ether_type == 0x0800:
        if data[at + 9] != 6:
            return
        at += (data[at] & 0x0F) * 4
    elif ether_type == 0x86DD:
        if data[at + 6] != 6:
            return
        at += 40
    else:
        return
    if at + 20 > end:
        return
    at += (data[at + 12] >> 4) * 4
    while at + 5 <= end and data[at] in TLS_CONTENT_TYPES and data[at + 1] == 3:
        length = struct.unpack_from(">H", data, at + 3)[0]
        found.add("record_type", at, 1)
        found.add("record_version", at + 1, 2)
        found.add("record_length", at + 3, 2)
        if data[at] == 22:
            _handshakes(data, at + 5, min(at + 5 + length, end), found)
        at += 5 + length


def _handshakes(data: bytes, at: int, end: int, found: Layout) -> None:
    while at + 4 <= end:
        kind, length = data[at], int.from_bytes(data[at + 1:at + 4], "big")
        if kind > 30:  # encrypted: not a handshake header
            return
        found.add("handshake_type", at, 1)
        found.add("handshake_length", at + 1, 3)
        if kind == CERTIFICATE:
            _certificates(data, at + 4, min(at + 4 + length, end), found)
        at += 4 + length


def _certificates(data: bytes, at: int, end: int, found: Layout) -> None:
    """A TLS 1.2 Certificate message: a 3-byte list length, then (3-byte length, DER) per certificate."""
    if at + 3 > end:
        return
    found.add("certificate_list_length", at, 3)
    at += 3
    while at + 3 <= end:
        length = int.from_bytes(data[at:at + 3], "big")
        found.add("certificate_length", at, 3)
        if length == 0 or at + 3 + length > end:
            return
        found.certificates.append((at + 3, at + 3 + length))
        _der(data, at + 3, at + 3 + length, found, depth=0)
        at += 3 + length


def _der(data: bytes, at: int, end: int, found: Layout, depth: int) -> None:
    """Every TLV of a DER structure: tags, lengths, and the contents of OIDs and strings."""
    while at + 2 <= end and depth < 12:
        tag, first = data[at], data[at + 1]
        size = 1 + (first & 0x7F if first & 0x80 else 0)
        if at + 1 + size > end:
            return
        length = int.from_bytes(data[at + 2:at + 1 + size], "big") if first & 0x80 else first
        value = at + 1 + size
        if value + length > end:
            return
        found.add("der_tag", at, 1)
        found.add("der_length", at + 1, size)
        if tag == 0x06:
            found.add("der_oid", value, length)
        elif tag in (0x0C, 0x13, 0x16, 0x17, 0x18, 0x1E, 0x82):  # strings, times, dNSName
            found.add("der_text", value, length)
        elif tag == 0x02 and length > 8:
            found.add("der_integer", value, length)
        if tag & 0x20:
            _der(data, value, value + length, found, depth + 1)
        elif tag == 0x03 and length > 1 and data[value + 1] == 0x30:  # a BIT STRING holding a key
            _der(data, value + 1, value + length, found, depth + 1)
        at = value + length


# -- mutations -------------------------------------------------------------------------------------------------

Mutation = Callable[[random.Random, bytearray, Layout], str]


def _set(data: bytearray, offset: int, size: int, value: int, order: str = "big") -> None:
    data[offset:offset + size] = (value % (1 << (8 * size))).to_bytes(size, order)


def _interesting(rng: random.Random, size: int, current: int) -> int:
    table = {1: INTERESTING_8, 2: INTERESTING_16, 3: INTERESTING_24}.get(size, INTERESTING_32)
    near = [current + delta for delta in (-4, -1, 1, 4)] + [current * 2, current // 2]
    return rng.choice(table + near + [rng.getrandbits(8 * size)])


def flip_bits(rng: random.Random, data: bytearray, _: Layout) -> str:
    count = rng.choice([1, 1, 2, 4, 8, 32])
    for _ in range(count):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return f"flip_bits: {count}"


def random_bytes(rng: random.Random, data: bytearray, _: Layout) -> str:
    at, count = rng.randrange(len(data)), rng.choice([1, 2, 4, 16])
    data[at:at + count] = bytes(rng.getrandbits(8) for _ in range(min(count, len(data) - at)))
    return f"random_bytes: at {at}"


def field_value(kind: str, order: str = "big") -> Mutation:
    def mutate(rng: random.Random, data: bytearray, found: Layout) -> str:
        places = found.fields.get(kind)
        if not places:
            return flip_bits(rng, data, found)
        offset, size = rng.choice(places)
        size = min(size, 4)
        value = _interesting(rng, size, int.from_bytes(data[offset:offset + size], order))
        _set(data, offset, size, value, order)
        return f"{kind}: at {offset} = {value:#x}"
    return mutate


def block_length(rng: random.Random, data: bytearray, found: Layout) -> str:
    offset, kind, length = rng.choice(found.blocks)
    where = rng.choice(["leading", "trailing", "both"])
    value = _interesting(rng, 4, length)
    if where in ("leading", "both"):
        _set(data, offset + 4, 4, value, "little")
    if where in ("trailing", "both"):
        _set(data, offset + length - 4, 4, value, "little")
    return f"block_length: block {kind:#x} at {offset}, {where} = {value:#x}"


def packet_header(rng: random.Random, data: bytearray, found: Layout) -> str:
    offset, _, captured = rng.choice(found.packets)
    name, at = rng.choice([("captured length", 20), ("original length", 24), ("interface", 8)])
    value = _interesting(rng, 4, captured) if name != "interface" else rng.choice([1, 2, 255, 0xFFFFFFFF])
    _set(data, offset + at, 4, value, "little")
    return f"packet_header: packet at {offset}, {name} = {value:#x}"


def section_header(rng: random.Random, data: bytearray, found: Layout) -> str:
    offset = rng.choice([o for o, kind, _ in found.blocks if kind == SHB])
    name, at, size = rng.choice([("byte-order magic", 8, 4), ("major version", 12, 2), ("minor version", 14, 2),
                                 ("section length", 16, 8)])
    value = rng.choice([0, 1, 2, 0xFFFF, 0x1A2B3C4D, 0x4D3C2B1A, rng.getrandbits(8 * size)])
    _set(data, offset + at, size, value, "little")
    return f"section_header: at {offset}, {name} = {value:#x}"


def option_length(rng: random.Random, data: bytearray, found: Layout) -> str:
    """The length of an option near the end of a block (options follow the body; the last is opt_endofopt)."""
    offset, kind, length = rng.choice([b for b in found.blocks if b[2] > 32])
    at = offset + length - 4 - 4 * rng.randrange(1, 8)
    value = _interesting(rng, 2, int.from_bytes(data[at + 2:at + 4], "little"))
    _set(data, at + 2, 2, value, "little")
    return f"option_length: block {kind:#x} at {offset}, option at {at} = {value:#x}"


def certificate_bytes(rng: random.Random, data: bytearray, found: Layout) -> str:
    if not found.certificates:
        return flip_bits(rng, data, found)
    start, end = rng.choice(found.certificates)
    for _ in range(rng.choice([1, 1, 4, 16])):
        data[rng.randrange(start, end)] = rng.getrandbits(8)
    return f"certificate_bytes: in {start}..{end}"


def der_contents(kind: str) -> Mutation:
    def mutate(rng: random.Random, data: bytearray, found: Layout) -> str:
        places = found.fields.get(kind)
        if not places:
            return certificate_bytes(rng, data, found)
        offset, size = rng.choice(places)
        filler = rng.choice([b"\x80", b"\xff", b"\x00", b"\x1b", b"\xc3", bytes([rng.getrandbits(8)])])
        data[offset:offset + size] = (filler * size)[:size] if rng.random() < 0.5 else bytes(
            rng.getrandbits(8) for _ in range(size))
        return f"{kind}: at {offset}, {size} bytes rewritten"
    return mutate


def insert_bytes(rng: random.Random, data: bytearray, found: Layout) -> str:
    at = rng.choice([rng.randrange(len(data)), rng.choice(found.blocks)[0]])
    count = rng.choice([1, 3, 4, 16, 100])
    data[at:at] = bytes(rng.getrandbits(8) for _ in range(count))
    return f"insert: {count} bytes at {at}"


def delete_bytes(rng: random.Random, data: bytearray, found: Layout) -> str:
    at = rng.choice([rng.randrange(len(data)), rng.choice(found.blocks)[0]])
    count = rng.choice([1, 3, 4, 16, 100])
    del data[at:at + count]
    return f"delete: {count} bytes at {at}"


def truncate(rng: random.Random, data: bytearray, found: Layout) -> str:
    offset, _, length = rng.choice(found.blocks)
    at = rng.choice([rng.randrange(1, len(data)), offset, offset + rng.randrange(1, length)])
    del data[max(1, at):]
    return f"truncate: at {max(1, at)}"


IN_PLACE: list[tuple[Mutation, int]] = [  # (mutation, weight)
    (flip_bits, 4), (random_bytes, 2), (block_length, 3), (packet_header, 3), (section_header, 1),
    (option_length, 1), (field_value("record_type"), 1), (field_value("record_version"), 1),
    (field_value("record_length"), 3), (field_value("handshake_type"), 1), (field_value("handshake_length"), 3),
    (field_value("certificate_list_length"), 2), (field_value("certificate_length"), 2),
    (certificate_bytes, 3), (field_value("der_tag"), 2), (field_value("der_length"), 4),
    (der_contents("der_oid"), 2), (der_contents("der_text"), 2), (der_contents("der_integer"), 1),
]
RESHAPING: list[Mutation] = [insert_bytes, delete_bytes, truncate]


def mutant(seed: int, number: int, sources: list[tuple[Path, bytes, Layout]]) -> tuple[str, bytes, list[str]]:
    """Mutant `number` of a seed: its file suffix, its bytes, and what was done (the same on every run)."""
    rng = random.Random(f"{seed}:{number}")
    source, original, found = rng.choice(sources)
    data = bytearray(original)
    steps = [source.name]
    mutations, weights = zip(*IN_PLACE)
    for mutation in rng.choices(mutations, weights, k=rng.choice([1, 1, 2, 3])):
        steps.append(mutation(rng, data, found))
    if rng.random() < 0.25:
        steps.append(rng.choice(RESHAPING)(rng, data, found))
    suffix = ".pcapng"
    if rng.random() < 0.15:
        packed, suffix = bytearray(gzip.compress(bytes(data), mtime=0)), ".pcapng.gz"
        steps.append("gzip")
        if rng.random() < 0.5:
            damage = rng.choice([flip_bits, truncate_gzip, damage_gzip_head])
            steps.append("gzip_" + damage(rng, packed, found).replace("gzip_", ""))
        data = packed
    return suffix, bytes(data), steps


def truncate_gzip(rng: random.Random, data: bytearray, _: Layout) -> str:
    at = rng.randrange(1, rng.choice([len(data), GZIP_HEAD]))
    del data[at:]
    return f"gzip_cut: at {at}"


def damage_gzip_head(rng: random.Random, data: bytearray, _: Layout) -> str:
    """Bytes of the gzip header or of the first deflate block, where the capture's first block is."""
    at = rng.randrange(min(len(data), GZIP_HEAD))
    data[at] = rng.getrandbits(8)
    return f"gzip_head: byte {at}"


# -- runs ------------------------------------------------------------------------------------------------------

@dataclass
class Tally:
    lua_errors: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    bad_exits: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)  # the reasons' first words, to see what kind of errors

    def failed(self) -> bool:
        return bool(self.lua_errors or self.tracebacks or self.hangs or self.lost or self.bad_exits)

    def merge(self, other: Tally) -> None:
        for name in ("lua_errors", "tracebacks", "hangs", "lost", "bad_exits"):
            getattr(self, name).extend(getattr(other, name))
        self.statuses.update(other.statuses)
        self.reasons.update(other.reasons)


def run_plugin(tshark: str, mutant_path: Path, timeout: float) -> str | None:
    """What went wrong when the plugin read this mutant with -V, or None."""
    try:
        done = subprocess.run([tshark, "-n", "-X", f"lua_script:{PLUGIN}", "-r", str(mutant_path), "-V"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return "hang"
    said = [line for line in done.stderr.decode("utf-8", "replace").splitlines()
            if ("Lua" in line or ".lua:" in line) and not line.startswith(ROOT_NOTICE)]
    out = done.stdout.decode("utf-8", "replace")
    for marker in ("Lua Error", "plugin_error"):
        at = out.find(marker)
        if at >= 0:
            said.append(out[at:out.find("\n", at)])
    return "lua: " + said[0][:200] if said else None


def run_summarize(chunk: list[Path], work: Path, number: int, timeout: float) -> Tally:
    tally = Tally()
    out = work / f"summary-{number}.json"
    argv = [sys.executable, "-c", SUMMARIZE, "summarize", "--format", "json", "-o", str(out), "--jobs", "1",
            *map(str, chunk)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False)
    except subprocess.TimeoutExpired:
        tally.hangs += [f"{path.name}: summarize chunk {number} timed out" for path in chunk]
        return tally
    if "Traceback" in done.stderr:
        tally.tracebacks.append(f"summarize chunk {number}: {done.stderr[done.stderr.find('Traceback'):][:400]}")
    if done.returncode not in DOCUMENTED_EXITS:
        tally.bad_exits.append(f"summarize chunk {number}: exit {done.returncode}")
    try:
        inputs = {entry["path"]: entry for entry in json.loads(out.read_text())["inputs"]}
    except (OSError, ValueError, KeyError):
        tally.lost += [f"{path.name}: no JSON from summarize chunk {number}" for path in chunk]
        return tally
    for path in chunk:
        entry = inputs.get(str(path))
        if entry is None:
            tally.lost.append(f"{path.name}: missing from summarize's inputs")
            continue
        tally.statuses[entry["status"]] += 1
        reason = entry["reason"] or ""
        if reason:
            tally.reasons[re.sub(r"\d+", "N", reason)[:70]] += 1
        if entry["status"] == "bug":
            tally.tracebacks.append(f"{path.name}: status bug: {reason}")
        if reason.startswith("tshark hung"):
            tally.hangs.append(f"{path.name}: {reason}")
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="mutants to make and run (default: 1000)")
    parser.add_argument("--seed", type=int, default=12, help="the seed: the same seed gives the same mutants")
    parser.add_argument("--only", type=int, metavar="N", help="make and run mutant N of the seed only")
    parser.add_argument("--jobs", type=int, default=2, help="plugin runs in parallel (default: 2)")
    parser.add_argument("--chunk", type=int, default=50, help="mutants per summarize run (default: 50)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds one plugin run may take")
    parser.add_argument("--work", type=Path, help="write the mutants here and keep them (default: a temporary folder)")
    args = parser.parse_args(argv)
    tshark = shutil.which("tshark")
    if not tshark:
        print("fuzz_captures: tshark not found on PATH", file=sys.stderr)
        return 2
    started = time.monotonic()
    sources = [(path, path.read_bytes(), layout(path.read_bytes())) for path in sorted(CAPTURES.glob("*.pcapng"))]
    numbers = [args.only] if args.only is not None else list(range(1, args.count + 1))
    with tempfile.TemporaryDirectory(prefix="tsharkpost-fuzz-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        paths, steps = [], {}
        for number in numbers:
            suffix, data, done = mutant(args.seed, number, sources)
            path = work / f"mutant-{args.seed}-{number:05d}{suffix}"
            path.write_bytes(data)
            paths.append(path)
            steps[path.name] = (number, done)
        made = time.monotonic()
        tally = Tally()
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for path, problem in zip(paths, pool.map(lambda p: run_plugin(tshark, p, args.timeout), paths)):
                if problem == "hang":
                    tally.hangs.append(f"{path.name}: the plugin run took over {args.timeout:g} s")
                elif problem:
                    tally.lua_errors.append(f"{path.name}: {problem}")
        plugin_done = time.monotonic()
        chunks = [paths[start:start + args.chunk] for start in range(0, len(paths), args.chunk)]
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for found in pool.map(lambda item: run_summarize(item[1], work, item[0], args.timeout * len(item[1])),
                                  enumerate(chunks)):
                tally.merge(found)
        finished = time.monotonic()

    kinds = Counter(step.split(":")[0] for _, done in steps.values() for step in done[1:])
    print(f"fuzz_captures: seed {args.seed}, {len(paths)} mutants of {len(sources)} captures "
          f"({sum(1 for p in paths if p.suffix == '.gz')} gzip'd)")
    print(f"  mutations: {', '.join(f'{kind} {count}' for kind, count in kinds.most_common())}")
    print(f"  summarize statuses: {', '.join(f'{status} {count}' for status, count in sorted(tally.statuses.items()))}")
    print("  reasons (numbers as N):")
    for reason, count in tally.reasons.most_common(12):
        print(f"    {count:5}  {reason}")
    print(f"  time: {finished - started:.0f} s (make {made - started:.1f} s, plugin {plugin_done - made:.0f} s, "
          f"summarize {finished - plugin_done:.0f} s; --jobs {args.jobs})")
    for name, found in (("lua errors", tally.lua_errors), ("tracebacks", tally.tracebacks),
                        ("hangs", tally.hangs), ("lost inputs", tally.lost), ("bad exits", tally.bad_exits)):
        print(f"  {name}: {len(found)}")
        for line in found[:20]:
            name_part = line.split(":", 1)[0]
            again = f"  (again: bench/fuzz_captures.py --seed {args.seed} --only {steps[name_part][0]})" \
                if name_part in steps else ""
            print(f"    {line}{again}")
            if name_part in steps:
                print(f"      mutations: {'; '.join(steps[name_part][1])}")
    return 1 if tally.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
