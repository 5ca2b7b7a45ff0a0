#!/usr/bin/env python3
"""Rewrite the committed PDML fragments from the bundled captures, exactly as summarize asks tshark for them.

Run from the repository root after changing fields.py or the plugin's output:
    .venv/bin/python tests/data/regenerate.py
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tsharkpost.capture import tshark as ts

HERE = Path(__file__).resolve().parent
CAPTURES = HERE.parent.parent / "captures"
FRAGMENTS = {"seed.pdml": "md2-root-silent-fin.pcapng", "tls13-no-secrets.pdml": "tls13-no-secrets.pcapng"}


def main() -> None:
    tshark = ts.locate()
    for fragment, capture in FRAGMENTS.items():
        argv = ts.pdml_argv(tshark, CAPTURES / capture, ts.Options())
        pdml = subprocess.run(argv, capture_output=True, check=True).stdout
        # Keep the fragment independent of the machine that made it.
        pdml = pdml.replace(str(CAPTURES).encode(), b"captures")
        (HERE / fragment).write_bytes(pdml)
        print(f"{fragment}: {len(pdml)} bytes")


if __name__ == "__main__":
    main()
