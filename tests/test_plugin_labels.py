"""Every label the plugin shows, and every expert summary it registers, reads as it should in Wireshark.

Under 240 bytes (Wireshark's ITEM_LABEL_LENGTH: a longer label is cut and marked "[truncated]", the
expert item's label included, which adds "Expert Info (Severity/Group): " in front), and free of internal
identifiers: check ids, the plugin's preference names, its field names. The identifiers refused come from
the fact tables and from what tshark says the loaded plugin registers, never from a hand-made list. Run on
every capture of captures/ and, when present, of ../shared/corpus (read in place).
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import CAPTURES, CORPUS
from plugin_support import manifest_decode_as, run_tshark
from tsharkpost.plugin import tables

ITEM_LABEL_LENGTH = 240   # epan/proto.h, terminating NUL included: a label has at most 239 bytes
# Fields whose value is an identifier by design: the label of tpost.check shows the check id it holds.
IDENTIFIER_FIELDS = {"tpost.check"}


def _corpus_captures() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.suffix in (".pcap", ".pcapng") and p.is_file())


# (capture, extra tshark options): the bundled captures, two of them again with bounds that make the notes
# appear, and every corpus trace.
RUNS = [(p, ()) for p in sorted(CAPTURES.glob("*.pcapng"))] + [
    (CAPTURES / "batch-mixed.pcapng", ("-o", "tpost.max_connections:1")),
    (CAPTURES / "md2-root-silent-fin.pcapng", ("-o", "tpost.max_hash_kib:1")),
]


@pytest.fixture(scope="module")
def identifiers(tshark: str, plugin: Path) -> dict[str, re.Pattern[str]]:
    """Identifier -> a pattern finding it as a whole word: check ids, preferences (bare and as tpost.NAME),
    and every field and expert field the plugin registers."""
    names = set(tables.checks())
    prefs = subprocess.run([tshark, "-G", "defaultprefs", "-X", f"lua_script:{plugin}"], capture_output=True,
                           text=True, check=True).stdout
    preferences = re.findall(r"^#?tpost\.([a-z0-9_]+):", prefs, re.MULTILINE)
    assert "teardown_window_ms" in preferences and "max_connections" in preferences
    names |= set(preferences) | {f"tpost.{name}" for name in preferences}
    fields = subprocess.run([tshark, "-G", "fields", "-X", f"lua_script:{plugin}"], capture_output=True,
                            text=True, check=True).stdout
    abbreviations = {cols[2] for line in fields.splitlines() if len(cols := line.split("\t")) > 2
                     and (cols[2] == "tpost" or cols[2].startswith("tpost."))}
    assert "tpost.diagnosis" in abbreviations
    names |= abbreviations
    return {name: re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)") for name in names}


def _problems(label: str, identifiers: dict[str, re.Pattern[str]], skip_identifiers: bool = False) -> list[str]:
    found = []
    if len(label.encode("utf-8")) >= ITEM_LABEL_LENGTH or "[truncated]" in label:
        found.append(f"{len(label.encode('utf-8'))} bytes")
    if re.search(r"\{[A-Za-z]\w*\}", label):
        found.append("an unfilled placeholder")
    if not skip_identifiers:
        found += [f"names {name}" for name, pattern in identifiers.items() if pattern.search(label)]
    return found


def _labels(pdml: str) -> list[tuple[str, str]]:
    """(field name, label) of every item of the tpost tree, expert items included."""
    found = []
    for proto in ET.fromstring(pdml).iter("proto"):
        if proto.get("name") != "tpost":
            continue
        found.append(("tpost", proto.get("showname", "")))
        for item in proto.iter("field"):
            found.append((item.get("name", ""), item.get("showname", "") or item.get("show", "")))
    return found


def _check_capture(tshark: str, plugin: Path, capture: Path, args: tuple[str, ...],
                   identifiers: dict[str, re.Pattern[str]]) -> int:
    pdml = run_tshark(tshark, plugin, capture, "-Y", "tpost", "-T", "pdml", *args)
    labels = _labels(pdml)
    bad = [f"{name}: {label!r}: {', '.join(problems)}" for name, label in labels
           if (problems := _problems(label, identifiers, name in IDENTIFIER_FIELDS))]
    assert not bad, f"{capture.name} {' '.join(args)}:\n" + "\n".join(bad[:10])
    return len(labels)


def test_expert_summaries_read_well(tshark: str, plugin: Path, identifiers: dict[str, re.Pattern[str]]) -> None:
    # Given every expert field the plugin registers, then its summary (what Expert Information groups by)
    # is short, filled in and free of identifiers, and the per-algorithm ones name the algorithm.
    fields = subprocess.run([tshark, "-G", "fields", "-X", f"lua_script:{plugin}"], capture_output=True,
                            text=True, check=True).stdout
    summaries = {cols[2]: cols[1] for line in fields.splitlines()
                 if len(cols := line.split("\t")) > 2 and cols[2].startswith("tpost.expert.")}
    assert len(summaries) > 100
    bad = {abbr: _problems(text, identifiers) for abbr, text in summaries.items() if _problems(text, identifiers)}
    assert not bad
    assert summaries["tpost.expert.weak_signature.warning.leaf.sha_1"] == \
        "Leaf certificate signed with SHA-1, a weak hash"


@pytest.mark.parametrize(("capture", "args"), RUNS, ids=[f"{p.name}{''.join(a)}" for p, a in RUNS])
def test_labels_on_bundled_captures(tshark: str, plugin: Path, identifiers: dict[str, re.Pattern[str]],
                                    capture: Path, args: tuple[str, ...]) -> None:
    _check_capture(tshark, plugin, capture, args, identifiers)


# Bounds that make every key and group of the corpus short: the key checks' labels show up too.
STRICT = ("-o", "tpost.rsa_warning_bits:8192", "-o", "tpost.ec_min_bits:1024", "-o", "tpost.dsa_min_bits:8192",
          "-o", "tpost.dh_min_bits:8192")


def test_labels_on_corpus(tshark: str, plugin: Path, corpus_dir: Path,
                          identifiers: dict[str, re.Pattern[str]]) -> None:
    # Given every third-party capture, then no label of the plugin is cut or names an identifier (the plugin's
    # run of each trace is the one test_plugin_corpus reads too: plugin_support.run_tshark makes it once).
    captures = _corpus_captures()
    assert len(captures) > 80
    checked = 0
    for capture in captures:
        relative = capture.relative_to(corpus_dir).as_posix()
        checked += _check_capture(tshark, plugin, capture, tuple(manifest_decode_as(corpus_dir, relative)),
                                  identifiers)
    assert checked > 1000


def test_labels_on_corpus_with_strict_bounds(tshark: str, plugin: Path, corpus_dir: Path, tmp_path: Path,
                                             identifiers: dict[str, re.Pattern[str]]) -> None:
    # Given every third-party capture in one file (mergecap -a: a run per trace was almost all tshark's start-up;
    # where two traces share a connection's addresses a few frames read differently, which labels do not mind),
    # read with bounds that make every key and group short, then the key checks' labels are fine too
    merged = tmp_path / "corpus.pcapng"
    subprocess.run(["mergecap", "-a", "-w", str(merged), *map(str, _corpus_captures())], check=True,
                   capture_output=True)
    pdml = run_tshark(tshark, plugin, merged, "-Y", "tpost", "-T", "pdml", *STRICT)
    labels = _labels(pdml)
    bad = [f"{name}: {label!r}: {', '.join(problems)}" for name, label in labels
           if (problems := _problems(label, identifiers, name in IDENTIFIER_FIELDS))]
    assert not bad, "\n".join(bad[:10])
    checks = {label for name, label in labels if name == "tpost.check"}
    assert {"Check: weak_rsa_key", "Check: weak_ec_key", "Check: weak_dh_group"} <= checks, sorted(checks)
    assert sum(1 for name, _ in labels if name == "tpost.cert") >= 140  # of the 152 read trace by trace
