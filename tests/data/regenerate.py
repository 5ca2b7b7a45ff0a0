#!/usr/bin/env python3
"""Rewrite the committed fields fragments from the bundled captures, exactly as summarize asks tshark for them.

Run from the repository root after changing fields.py or the plugin's output:
    .venv/bin/python tests/data/regenerate.py
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tsharkpost.capture import tshark as ts

HERE = Path(__file__).resolve().parent
CAPTURES = HERE.parent.parent / "captures"
FRAGMENTS = {"seed.fields": "md2-root-silent-fin.pcapng", "tls13-no-secrets.fields": "tls13-no-secrets.pcapng"}


def main() -> None:
    tshark = ts.locate()
    for fragment, capture in FRAGMENTS.items():
        argv = ts.fields_argv(tshark, CAPTURES / capture, ts.Options())
        lines = subprocess.run(argv, capture_output=True, check=True).stdout
        (HERE / fragment).write_bytes(lines)
        print(f"{fragment}: {len(lines)} bytes")


if __name__ == "__main__":
    main()
