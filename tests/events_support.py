"""Reading event logs and running `tsharkpost timeline` the way a user does, for the event and timeline tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from conftest import CAPTURES, REPO
from referencing import Registry, Resource

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


def _timeline_validator() -> jsonschema.Draft202012Validator:
    """tsharkpost/schema/timeline.schema.json, which refers to summary.schema.json for captures, logs and clock."""
    schemas = [json.loads((REPO / "tsharkpost" / "schema" / name).read_text())
               for name in ("timeline.schema.json", "summary.schema.json")]
    registry: Registry = Registry().with_resources((schema["$id"], Resource.from_contents(schema)) for schema in schemas)
    return jsonschema.Draft202012Validator(schemas[0], registry=registry,
                                           format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


TIMELINE_VALIDATOR = _timeline_validator()


def timeline(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, dict[str, Any], str]:
    """Exit code, parsed JSON and stderr of `tsharkpost timeline --format json ARGUMENTS`; the JSON is checked
    against its schema (every timeline test's document is)."""
    code = main(["timeline", "--format", "json", *arguments])
    out, err = capsys.readouterr()
    document = json.loads(out)
    TIMELINE_VALIDATOR.validate(document)
    return code, document, err


def events_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The attributed events of a timeline document."""
    return [entry for entry in document["entries"] if entry["kind"] == "event" and "attribution" in entry]
