"""Running `tsharkpost diff` the way a user does (through main), and reading its output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO

from tsharkpost.cli import main

SCHEMA = json.loads((REPO / "tsharkpost" / "schema" / "diff.schema.json").read_text())


def diff_json(tmp_path: Path, *arguments: str) -> tuple[int, dict]:
    """Exit code and parsed JSON of `tsharkpost diff --format json ARGUMENTS`."""
    out = tmp_path / "diff.json"
    code = main(["diff", "--format", "json", "-o", str(out), *arguments])
    return code, json.loads(out.read_text())


def diff_text(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr (without tshark's root notice) of `tsharkpost diff ARGUMENTS`."""
    code = main(["diff", *arguments])
    out, err = capsys.readouterr()
    return code, out, "\n".join(line for line in err.splitlines() if "Running as user" not in line)


def section(document: dict, name: str) -> dict:
    return next(s for s in document["sections"] if s["name"] == name)


def field(document: dict, section_name: str, name: str) -> dict:
    return next(f for f in section(document, section_name)["fields"] if f["name"] == name)
