"""Both transports on one capture (TO BE RETIRED with the old one, tshark's TLS tree in PDML).

summarize reads TLS through the plugin's tpost.tls line; until the old transport is removed, these tests hold
it to the records the old one gives: the same status, reason and records file, byte for byte.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tsharkpost.capture import tshark as ts
from tsharkpost.capture.analyze import analyze


def both(path: Path, folder: Path) -> tuple[tuple[str, str | None, bytes], tuple[str, str | None, bytes]]:
    """(status, reason, records) of the old transport and of the new one."""
    tshark = ts.locate(shutil.which("tshark"))
    found = []
    for legacy in (True, False):
        records = folder / f"{path.name}.{'old' if legacy else 'new'}.jsonl"
        result = analyze(path, tshark, ts.Options(legacy_tls_tree=legacy), records)
        data = records.read_bytes() if records.exists() else b""
        found.append((str(result.status), result.reason, data))
    return found[0], found[1]
