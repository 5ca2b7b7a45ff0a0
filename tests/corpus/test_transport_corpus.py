"""The plugin's tpost.tls line gives the records tshark's TLS tree gave, on every corpus capture.

TO BE RETIRED with the old transport (tshark.Options.legacy_tls_tree): see tests/transport_support.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS
from transport_support import both

INPUTS = sorted(CORPUS.rglob("*.pcap*")) if CORPUS.is_dir() else []


@pytest.mark.parametrize("path", INPUTS, ids=[str(path.relative_to(CORPUS)) for path in INPUTS])
def test_both_transports_give_identical_records_on_the_corpus(path: Path, tmp_path: Path, tshark: str) -> None:
    old, new = both(path, tmp_path)
    assert new == old
