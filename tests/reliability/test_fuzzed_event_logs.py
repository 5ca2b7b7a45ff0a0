"""Seeded mutations of real event logs of every form (issue 12): a reader never raises, whatever the bytes; what it
could not read is a one-line problem or reason, and what it yields stays within the caps."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from conftest import CAPTURES, CORPUS
from tsharkpost.events.model import FIELD_CAP, MAX_FIELDS, RAW_CAP, LogResult
from tsharkpost.events.readers import read_log

DATA = Path(__file__).resolve().parent.parent / "data"
SEED_XML = CAPTURES / "md2-root-silent-fin.schannel.xml"
PASTE = ("Log Name:      System\nSource:        Schannel\nEvent ID:      36888\nEvent Xml:\n"
         + SEED_XML.read_text().splitlines()[1].replace("><", ">\n<") + "\n")
SEEDS = {
    "xml": lambda: SEED_XML.read_bytes(),
    "xml-utf16": lambda: (DATA / "schannel-examples.eventviewer.xml").read_bytes(),
    "csv": lambda: (CAPTURES / "md2-root-silent-fin.schannel.csv").read_bytes(),
    "details": lambda: PASTE.encode("utf-16"),
    "jsonl": lambda: (CORPUS / "evtx" / "schannel_event_examples.jsonl").read_bytes(),
    "evtx": lambda: (CORPUS / "evtx" / "Application_no_crc32.evtx").read_bytes(),
}
INSERTS = [b'"', b"<", b">", b"{", b"[", b"\x00", b"\n", b"\r", b"</Event>", b"<Event>", b"<!--", b"9" * 50,
           b"&x;", b"\xff\xfe"]
MUTATIONS = 100  # per form and run (about a second); raise it locally to fuzz harder: 400 per form ran clean


def mutate(data: bytes, chance: random.Random) -> bytes:
    mutated = bytearray(data)
    for _ in range(chance.choice([1, 2, 5, 20, 100])):
        if not mutated:
            break
        position, choice = chance.randrange(len(mutated)), chance.random()
        if choice < 0.4:
            mutated[position] = chance.randrange(256)
        elif choice < 0.6:
            del mutated[position:position + chance.randrange(1, 64)]
        elif choice < 0.85:
            mutated[position:position] = chance.choice(INSERTS)
        else:
            del mutated[position:]
    return bytes(mutated)


@pytest.mark.parametrize("form", list(SEEDS))
def test_mutated_logs_never_raise(tmp_path: Path, form: str) -> None:
    if form in ("jsonl", "evtx") and not CORPUS.is_dir():
        pytest.skip("../shared/corpus is absent")
    original = SEEDS[form]()
    for number in range(MUTATIONS):
        log = tmp_path / f"mutated-{number}.log"
        log.write_bytes(mutate(original, random.Random(f"{form}-{number}")))
        result = LogResult(str(log))
        events = list(read_log(log, result))  # Then nothing raises
        assert result.events == len(events) and result.status in ("ok", "damaged", "error")
        assert all("\n" not in line for line in [result.reason, *result.problems, *result.notes]), log.read_bytes()
        for event in events:
            assert len(event.raw) <= RAW_CAP + 40 and len(event.fields) <= MAX_FIELDS
            assert all(len(value) <= FIELD_CAP + 40 for value in event.fields.values())


def test_what_is_no_regular_file_is_said_and_never_waited_on(tmp_path: Path) -> None:
    # Given a FIFO nobody writes to (opening it would wait forever), a folder and a missing file as event logs
    fifo = tmp_path / "events.xml"
    os.mkfifo(fifo)
    expected = {fifo: "not a regular file", tmp_path: "a directory, not an event log",
                tmp_path / "missing.evtx": "no such file"}
    for path, reason in expected.items():
        result = LogResult(str(path))
        # Then each is one reason and no event, at once
        assert list(read_log(path, result)) == [] and result.reason == reason
