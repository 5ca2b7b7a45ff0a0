"""A seeded slice of bench/fuzz_captures.py: 30 mutated captures through the plugin and summarize, all accounted for.

The full run (1,000+ mutants) is a bench script; this slice keeps CI honest in under a minute.
"""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

SLICE = ["--count", "30", "--seed", "2024", "--chunk", "15", "--jobs", "2"]


def test_a_seeded_fuzz_slice_has_no_lua_error_traceback_hang_or_lost_input(tshark: str) -> None:
    # When 30 mutants of the bundled captures (seed 2024) go through the plugin and summarize
    done = subprocess.run([sys.executable, str(REPO / "bench" / "fuzz_captures.py"), *SLICE],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    # Then every count is zero and the script says so with exit status 0
    counts = dict(line.strip().split(": ") for line in done.stdout.splitlines()
                  if line.startswith("  ") and line.strip().split(": ")[0] in
                  ("lua errors", "tracebacks", "hangs", "lost inputs", "bad exits"))
    assert counts == {"lua errors": "0", "tracebacks": "0", "hangs": "0", "lost inputs": "0", "bad exits": "0"}, \
        done.stdout + done.stderr
    assert done.returncode == 0
    assert "fuzz_captures: seed 2024, 30 mutants" in done.stdout
