"""The one normalised event every reader yields, and what reading a log produced."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

# Windows event levels (winmeta.xml): 0 LogAlways is shown as Information by Event Viewer.
LEVELS = {0: "information", 1: "critical", 2: "error", 3: "warning", 4: "information", 5: "verbose"}
LEVEL_NAMES = {"critical": "critical", "error": "error", "warning": "warning", "information": "information",
               "verbose": "verbose", "audit success": "audit_success", "audit failure": "audit_failure"}

# SystemTime: UTC ISO-8601 with 0-9 fractional digits and 'Z' (Windows writes 7, older Event Viewer copies 9);
# python-evtx writes "YYYY-MM-DD HH:MM:SS.ffffff+00:00".
_SYSTEM_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]00:?00)?$")


@dataclass
class Event:
    """One Windows event, whatever form it was read from.

    Attributes:
        time: TimeCreated as seconds since the epoch, UTC (CSV/TXT: converted from local time, see resolution).
        resolution: how precise time is, in seconds: 1e-7 for SystemTime, 1.0 for Event Viewer CSV/TXT.
        provider: Provider/@Name, e.g. "Schannel", "Microsoft-Windows-CAPI2".
        level: "critical", "error", "warning", "information", "verbose" (or the audit levels).
        fields: EventData/Data[@Name] (unnamed Data as Data1, Data2, ...) or UserData flattened to
            element name -> text and element.attribute -> value; values as strings. Empty for CSV/TXT exports,
            which carry only the rendered message, and that is never parsed.
        raw: the record as read (XML text, JSON line, CSV row), for the analyst and for JSON output.
        source: "file#n", n counting records from 1 in reading order.
    """

    time: float
    computer: str
    provider: str
    event_id: int
    level: str
    fields: dict[str, str]
    raw: str
    source: str
    channel: str = ""
    record_id: int | None = None
    resolution: float = 1e-7


@dataclass
class LogResult:
    """One event log input and what became of it; every input is accounted for.

    Attributes:
        form: "evtx", "xml", "jsonl", "csv", "txt" or "details" once recognised.
        problems: damaged parts that were skipped (the rest was read), in the file's order.
        reason: why reading stopped early or never started (status "error"); events before it are kept.
        notes: warnings that do not make the log damaged (e.g. local times assumed UTC).
    """

    path: str
    form: str = ""
    events: int = 0
    problems: list[str] = field(default_factory=list)
    reason: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "error" if self.reason else "damaged" if self.problems else "ok"

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "form": self.form or None, "status": self.status, "events": self.events,
                "problems": self.problems, "reason": self.reason or None, "notes": self.notes}


def parse_system_time(text: str) -> float:
    """SystemTime -> epoch seconds (UTC), keeping microseconds; ValueError when it is not one."""
    match = _SYSTEM_TIME.match(text.strip())
    if not match:
        raise ValueError(f"not a UTC timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction = (match.group(7) or "").ljust(9, "0")
    moment = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone.utc)
    return moment.timestamp() + int(fraction) / 1e9


def level_name(value: str | int | None) -> str:
    if value is None or value == "":
        return "information"
    try:
        return LEVELS.get(int(value), str(value))
    except ValueError:
        return LEVEL_NAMES.get(str(value).strip().lower(), str(value).strip().lower())
