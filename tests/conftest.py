"""Shared fixtures and the test tiers.

tests/unit/      no tshark, no third-party material: runs anywhere the package installs
tests/captures/  the real tshark on the captures in captures/            (marker: tshark)
tests/corpus/    third-party captures and logs read in place from ../shared/corpus (markers: corpus, tshark)
tests/reliability/  hostile input and broken tools: every input accounted for, nothing run or lost (marker: tshark)
tests/*.py       support code, and tests of the Lua plugin itself (tshark or plain Lua, as each says)

A missing tshark skips the tshark tiers, and a missing ../shared skips the corpus tier, each with its reason;
`pytest -m "not tshark"` runs what needs neither.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tsharkpost.plugin.location import plugin_path

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
CAPTURES = REPO / "captures"
DATA = TESTS / "data"
CORPUS = REPO.parent / "shared" / "corpus"
TSHARK = shutil.which("tshark")


def require_capture_tools(who: str) -> None:
    """Fail (never skip) a test whose capture generators cannot run here: they need root and dumpcap."""
    if os.geteuid() != 0 or shutil.which("dumpcap") is None:
        pytest.fail(f"{who} need root and dumpcap: run the tests as CI does (as root after scripts/setup)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its tier's needs (by folder), and skip what this machine cannot run."""
    no_tshark = pytest.mark.skip(reason="tshark is not installed (scripts/setup installs it): tshark tier skipped")
    no_corpus = pytest.mark.skip(reason="../shared/corpus is absent: third-party material is read in place only")
    for item in items:
        tier = Path(str(item.fspath)).relative_to(TESTS).parts[0]
        if tier in ("captures", "corpus", "reliability") or "tshark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.tshark)
        if tier == "corpus":
            item.add_marker(pytest.mark.corpus)
        if item.get_closest_marker("tshark") and TSHARK is None:
            item.add_marker(no_tshark)
        if item.get_closest_marker("corpus") and not CORPUS.is_dir():
            item.add_marker(no_corpus)


# The capture generators' lock file: a generator records all of lo's traffic on its ports, so two at once (two
# pytest-xdist workers, or two test runs on one machine) would record each other's connections.
GENERATORS_LOCK = Path(tempfile.gettempdir()) / "tsharkpost-capture-generators.lock"


@contextmanager
def capture_generators_alone() -> Iterator[None]:
    """Hold the machine's one right to run a capture generator (captures/generate.py, dtls.py, quic.py)."""
    with open(GENERATORS_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def tshark() -> str:
    if TSHARK is None:
        pytest.skip("tshark is not installed (scripts/setup installs it)")
    return TSHARK


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    return CAPTURES


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is absent: third-party captures are read in place only")
    return CORPUS


@pytest.fixture(scope="session")
def plugin() -> Path:
    return plugin_path()


@pytest.fixture(scope="session")
def zeek_summary(corpus_dir: Path, tshark: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """summarize's JSON of every Zeek trace (../shared/corpus/zeek), one run without --decode-as, as a user runs it
    (TLS on ports of other protocols is found by its hello): the records the ssl.log, x509.log and fingerprint
    oracles are compared with."""
    from summarize_support import summarize_json

    traces = sorted(str(trace) for trace in (corpus_dir / "zeek").glob("*.pcap*"))
    _, document = summarize_json(tmp_path_factory.mktemp("zeek-summary"), *traces)
    return document
