"""The package is fully typed: mypy --strict finds nothing (configuration in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_mypy_strict_is_clean() -> None:
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
