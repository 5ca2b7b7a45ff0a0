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

_RECORD_ID = re.compile(r"[0-9]{1,20}")
# What one event may keep of its text. Real events stay well below: the largest field of the corpus's System and
# CAPI2 logs is 652 characters, its largest record (a CAPI2 chain event) 14 KB, and no event has more than 44
# fields. Above these, a log is damaged or hostile; the text is cut where the cap is hit and says so
# ("... [cut: 944,000,000 characters]"), and the log's notes count the events cut.
FIELD_CAP = 4096
RAW_CAP = 16384
MAX_FIELDS = 256
# A log with more problems than this lists the first ones and counts the rest: a file of a million broken records
# is one line per record nobody reads, and memory that grows with the file.
MAX_LISTED_PROBLEMS = 100


@dataclass(slots=True)
class Event:
    """One Windows event, whatever form it was read from.

    Attributes:
        time: TimeCreated as seconds since the epoch, UTC (CSV/TXT: converted from local time, see resolution).
        resolution: how precise time is, in seconds: 1e-7 for SystemTime, 1.0 for Event Viewer CSV/TXT.
        provider: Provider/@Name, e.g. "Schannel", "Microsoft-Windows-CAPI2".
        level: "critical", "error", "warning", "information", "verbose" (or the audit levels).
        fields: EventData/Data[@Name] (unnamed Data as Data1, Data2, ...) or UserData flattened to
            element name -> text and element.attribute -> value; values as strings, each at most FIELD_CAP
            characters, at most MAX_FIELDS of them. Empty for CSV/TXT exports, which carry only the rendered
            message, and that is never parsed.
        raw: the record as read (XML text, JSON line, CSV row), for the analyst and for JSON output; at most
            RAW_CAP characters.
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
        cut: events whose text was longer than an event may keep (see FIELD_CAP), cut and marked.
    """

    path: str
    form: str = ""
    events: int = 0
    problems: list[str] = field(default_factory=list)
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    cut: int = 0
    unlisted_problems: int = 0

    def add_problem(self, text: str) -> None:
        """A damaged part that was skipped; past MAX_LISTED_PROBLEMS the last line counts the others."""
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(text)
            return
        self.unlisted_problems += 1
        self.problems[MAX_LISTED_PROBLEMS:] = [f"{self.unlisted_problems:,} more problems, not listed"]

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


def record_number(text: str) -> int | None:
    """EventRecordID as a number, when it is one (an unsigned 64-bit count: at most 20 digits)."""
    return int(text) if _RECORD_ID.fullmatch(text) else None


def level_name(value: str | int | None) -> str:
    if value is None or value == "":
        return "information"
    try:
        return LEVELS.get(int(value), str(value))
    except ValueError:
        return LEVEL_NAMES.get(str(value).strip().lower(), str(value).strip().lower())


def cut_text(text: str, cap: int) -> str:
    """text, or its first cap characters marked with how long it was."""
    return text if len(text) <= cap else f"{text[:cap]} [cut: {len(text):,} characters]"


def bounded(event: Event) -> tuple[Event, bool]:
    """The event with its text within FIELD_CAP, MAX_FIELDS and RAW_CAP, and whether anything was cut."""
    names = (event.computer, event.provider, event.level, event.channel)
    over = (len(event.raw) > RAW_CAP or len(event.fields) > MAX_FIELDS or any(len(text) > FIELD_CAP for text in names)
            or any(len(name) > FIELD_CAP or len(value) > FIELD_CAP for name, value in event.fields.items()))
    if not over:
        return event, False
    event.computer, event.provider, event.level, event.channel = (cut_text(text, FIELD_CAP) for text in names)
    event.fields = {cut_text(name, FIELD_CAP): cut_text(value, FIELD_CAP)
                    for name, value in list(event.fields.items())[:MAX_FIELDS]}
    event.raw = cut_text(event.raw, RAW_CAP)
    return event, True
