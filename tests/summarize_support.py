"""Running `tsharkpost summarize` the way a user does (through main, or the console script), and reading its JSON."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tsharkpost.cli import main

REPO = Path(__file__).resolve().parents[1]


def summarize_json(tmp_path: Path, *arguments: str) -> tuple[int, dict]:
    """Exit code and parsed JSON of `tsharkpost summarize --format json ARGUMENTS`."""
    out = tmp_path / "summary.json"
    code = main(["summarize", "--format", "json", "-o", str(out), *arguments])
    return code, json.loads(out.read_text())


def by_capture_and_port(document: dict) -> dict[tuple[str, int], dict]:
    return {(Path(conn["capture"]).name, conn["client_port"]): conn for conn in document["connections"]}


def console_script() -> list[str]:
    """The installed `tsharkpost` entry point, importing this checkout's package (PYTHONPATH, see environment())."""
    script = Path(sys.executable).parent / "tsharkpost"
    return [str(script)] if script.is_file() else [sys.executable, "-c",
                                                    "import sys; from tsharkpost.cli import main; sys.exit(main())"]


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
