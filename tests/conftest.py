"""Shared fixtures: where tshark, the bundled captures and the third-party corpus are."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tsharkpost.plugin.location import plugin_path

REPO = Path(__file__).resolve().parent.parent
CAPTURES = REPO / "captures"
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def tshark() -> str:
    path = shutil.which("tshark")
    assert path, "tshark is not installed: run scripts/setup"
    return path


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
