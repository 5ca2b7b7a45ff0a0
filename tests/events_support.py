"""Reading event logs and running `tsharkpost timeline` the way a user does, for the event and timeline tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import CAPTURES

from tsharkpost.cli import main
from tsharkpost.events.model import Event, LogResult
from tsharkpost.events.readers import read_log

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
SEED_XML = CAPTURES / "md2-root-silent-fin.schannel.xml"
SEED_CSV = CAPTURES / "md2-root-silent-fin.schannel.csv"
# Where the seed's 36888 event falls: after the server's certificate flight, before the client's FIN.
BETWEEN = ("between frame 6 (ServerHelloDone, md2-root-silent-fin.pcapng:0) and "
           "frame 8 (FIN, md2-root-silent-fin.pcapng:0)")


def read(path: Path, tz: ZoneInfo | None = None) -> tuple[list[Event], LogResult]:
    """Every event of one log and what reading it produced."""
    result = LogResult(str(path))
    return list(read_log(path, result, tz)), result


def timeline(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, dict[str, Any], str]:
    """Exit code, parsed JSON and stderr of `tsharkpost timeline --format json ARGUMENTS`."""
    code = main(["timeline", "--format", "json", *arguments])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def events_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The attributed events of a timeline document."""
    return [entry for entry in document["entries"] if entry["kind"] == "event" and "attribution" in entry]
