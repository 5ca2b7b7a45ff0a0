"""The plugin's tpost.tls line gives the records tshark's TLS tree gave, on every bundled capture.

TO BE RETIRED with the old transport (tshark.Options.legacy_tls_tree): see tests/transport_support.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CAPTURES, DATA
from transport_support import both

INPUTS = sorted([*CAPTURES.glob("*.pcap*"), *(DATA / "wild").glob("*.pcap*")])


@pytest.mark.parametrize("path", INPUTS, ids=[path.name for path in INPUTS])
def test_both_transports_give_identical_records(path: Path, tmp_path: Path, tshark: str) -> None:
    old, new = both(path, tmp_path)
    assert old[2], f"{path.name}: the old transport found no connection"
    assert new == old
