"""Running `tsharkpost summarize` the way a user does (through main), and reading its JSON."""

from __future__ import annotations

import json
from pathlib import Path

from tsharkpost.cli import main


def summarize_json(tmp_path: Path, *arguments: str) -> tuple[int, dict]:
    """Exit code and parsed JSON of `tsharkpost summarize --format json ARGUMENTS`."""
    out = tmp_path / "summary.json"
    code = main(["summarize", "--format", "json", "-o", str(out), *arguments])
    return code, json.loads(out.read_text())


def by_capture_and_port(document: dict) -> dict[tuple[str, int], dict]:
    return {(Path(conn["capture"]).name, conn["client_port"]): conn for conn in document["connections"]}
