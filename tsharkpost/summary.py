"""What `summarize` produced for a whole run: the inputs, their records and the patterns across them."""

from __future__ import annotations

from dataclasses import dataclass

from tsharkpost.models import InputResult, Pattern


@dataclass
class Summary:
    tool_version: str
    tshark_path: str
    tshark_version: str
    inputs: list[InputResult]
    patterns: list[Pattern]
