"""tsharkpost explain: answers as text for people or one JSON document."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import IO

from tsharkpost.explain.lookup import Answer
from tsharkpost.render.text import printable

# What the user typed is echoed (an unknown name is also the answer's title): escaped, and cut when very long.
TYPED_LIMIT = 80


def write_text(answers: list[Answer], out: IO[str]) -> None:
    for answer in answers:
        code, title = printable(answer.code, TYPED_LIMIT), printable(answer.title, TYPED_LIMIT)
        out.write(f"{code}: {title} [{answer.kind.replace('_', ' ')}; {answer.provenance}]\n")
        width = max((len(label) for label in answer.details), default=0)
        for label, value in answer.details.items():
            out.write(f"  {label.ljust(width)}  {value}\n")
        if answer.source:
            out.write(f"  {'source'.ljust(width)}  {answer.source}\n")
        out.write("\n")


def write_json(answers: list[Answer], out: IO[str]) -> None:
    json.dump({"answers": [asdict(answer) for answer in answers]}, out, indent=2)
    out.write("\n")
