"""Event logs -> the events that can be placed near the captures, held in bounded memory; the rest counted.

Logs are streamed once, each event judged as it goes by (timeline/build.py and timeline/attach.py call this before
attribution). An event is held only when it can be placed:

- an interpreted event (Schannel, CAPI2) within reach of a connection: the slack attribution allows plus, unless
  --shift is given, the largest clock offset the skew estimate can find. Attribution and the skew estimate then see
  exactly the events they would see with every event of the logs held. These are kept up to HELD_EVENT_BYTES,
  the closest to a connection first;
- an interpreted event hours away (within a day, where a time zone mistake puts it): listed as unattributed with a
  hint, the MAX_LISTED_AWAY closest;
- an event tsharkpost does not interpret, close to the captures: shown as context, the MAX_CONTEXT_EVENTS closest,
  held without its fields and raw text (never shown for such events). Unless --shift is given, "close" is judged
  once the clock offset is estimated (trim_context): until then such events are held within reach of that offset.

Everything else is counted (events_outside) and let go as it streams by.
"""

from __future__ import annotations

import bisect
import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from tsharkpost.events.interpret import interpreted
from tsharkpost.events.model import Event, LogResult
from tsharkpost.events.readers import read_log
from tsharkpost.timeline.attribute import MAX_SKEW_SECONDS, TIME_SLACK_SECONDS, ConnectionView

# Events not interpreted (not Schannel or CAPI2) are shown only this close to a capture's connections.
CONTEXT_SECONDS = 5.0
# Interpreted events this far from the captures are still listed (as unattributed): a log read in the wrong time
# zone is hours off, and saying so beats hiding the event.
TIME_MARGIN = 86400.0
# The coarsest time an event log form gives (Event Viewer CSV/TXT: whole seconds); attribution widens its slack by
# it.
MAX_RESOLUTION = 1.0
# Memory for events within reach of a connection, by the estimate of _size (about 3.6 KB for a Schannel event read
# from XML, 2.4 KB from CSV: some 11,000 to 17,000 events, a busy server logging every handshake for the ten minutes
# around a capture). Past it the events farthest from every connection are let go, and the log's notes say how
# many. Measured with bench/events_memory.py's generator, a flood of 80,000 events within reach peaks at 125 MiB
# for the whole timeline command (table output; JSON 90 MiB).
HELD_EVENT_BYTES = 40 << 20
# Interpreted events hours away listed as unattributed; more are a flood nobody reads line by line.
MAX_LISTED_AWAY = 100
# Uninterpreted events shown around the captures.
MAX_CONTEXT_EVENTS = 1000


def _size(event: Event) -> int:
    """About what a held event costs in memory on its way to the output: its objects and text, its attribution,
    its timeline entry and its rendering (measured: 2,000 bytes besides its raw text and fields)."""
    return 2000 + len(event.raw) + sum(len(name) + len(value) + 120 for name, value in event.fields.items())


class _Closest:
    """The events closest to a connection, within a budget of count or bytes; counts per log the ones let go."""

    def __init__(self, max_count: int | None = None, max_bytes: int | None = None) -> None:
        self.max_count, self.max_bytes = max_count, max_bytes
        self.heap: list[tuple[float, int, int, int, Event]] = []  # farthest first: -distance, -order
        self.bytes = 0
        self.dropped: Counter[int] = Counter()  # log index -> events let go

    def offer(self, distance: float, order: int, log: int, event: Event) -> None:
        size = _size(event) if self.max_bytes is not None else 0
        heapq.heappush(self.heap, (-distance, -order, log, size, event))
        self.bytes += size
        while (self.max_count is not None and len(self.heap) > self.max_count) or (
                self.max_bytes is not None and self.bytes > self.max_bytes and len(self.heap) > 1):
            _, _, dropped_log, dropped_size, _ = heapq.heappop(self.heap)
            self.bytes -= dropped_size
            self.dropped[dropped_log] += 1

    def held(self) -> list[tuple[int, Event]]:
        return [(-order, event) for _, order, _, _, event in self.heap]


class _Windows:
    """The connections' time spans, merged and widened by a margin: is a time within reach, how far is it."""

    def __init__(self, views: list[ConnectionView], margin: float) -> None:
        spans = sorted((view.first, view.last) for view in views)
        merged: list[list[float]] = []
        for first, last in spans:
            if merged and first <= merged[-1][1]:  # overlapping spans become one
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        self.starts = [span[0] for span in merged]
        self.spans = merged
        self.margin = margin

    def distance(self, time: float) -> float:
        """Seconds from time to the nearest connection (0 inside one)."""
        index = bisect.bisect_right(self.starts, time)
        nearest = float("inf")
        for first, last in self.spans[max(index - 1, 0):index + 1]:
            nearest = min(nearest, max(first - time, time - last, 0.0))
        return nearest


@dataclass
class EventSelection:
    """The logs read, the events held for placing (in time order), and what was counted instead.

    Attributes:
        outside: events not on the timeline: beyond reach of the captures, or past a cap (the notes say which).
        notes: caps that were hit, in words, for the timeline.
    """

    logs: list[LogResult]
    events: list[Event]
    outside: int = 0
    notes: list[str] = field(default_factory=list)


def select_events(paths: Iterable[Path], tz: ZoneInfo | None, views: list[ConnectionView], shift: float | None,
                  near_only: bool = False) -> EventSelection:
    """Stream the logs and hold what can be placed (near_only: only what attribution can use, for summarize)."""
    selection = EventSelection([], [])
    skew = 0.0
    if views:
        longest = max(view.last - view.first for view in views)
        # An estimated offset puts an event at most MAX_SKEW_SECONDS from its pair's connection, plus that one's span.
        skew = 0.0 if shift is not None else MAX_SKEW_SECONDS + longest
        windows = _Windows(views, skew + TIME_SLACK_SECONDS + MAX_RESOLUTION)
        start, end = _span(views)
    reach = abs(shift) if shift is not None else MAX_SKEW_SECONDS
    near = _Closest(max_bytes=HELD_EVENT_BYTES)
    away = _Closest(max_count=MAX_LISTED_AWAY)
    context = _Closest(max_count=MAX_CONTEXT_EVENTS)
    order = 0
    for index, path in enumerate(paths):
        result = LogResult(str(path))
        selection.logs.append(result)
        for event in read_log(path, result, tz):
            order += 1
            moved = event.time + (shift or 0.0)
            telling = interpreted(event)  # Schannel or CAPI2
            margin = reach + TIME_MARGIN if telling else CONTEXT_SECONDS + skew
            if not views or not _within(moved, event.resolution, start, end, margin):
                selection.outside += 1
                continue
            distance = windows.distance(moved)
            if telling and distance <= windows.margin:
                near.offer(distance, order, index, event)
            elif near_only:
                selection.outside += 1
            elif telling:
                away.offer(distance, order, index, event)
            else:
                event.raw, event.fields = "", {}
                context.offer(distance, order, index, event)
    held = sorted(near.held() + away.held() + context.held(), key=lambda item: (item[1].time, item[0]))
    selection.events = [event for _, event in held]
    budget = f"{HELD_EVENT_BYTES / (1 << 20):g} MiB"
    for index, count in near.dropped.items():
        selection.logs[index].notes.append(
            f"{count:,} Schannel/CAPI2 events within reach of the connections were let go, the farthest first: "
            f"tsharkpost holds at most {budget} of them")
    for keeper, what in (
            (near, f"Schannel/CAPI2 events within reach of the connections, past the {budget} of them tsharkpost "
                   "holds (the closest were weighed)"),
            (away, f"Schannel/CAPI2 events hours from every connection, past the {MAX_LISTED_AWAY} closest (listed "
                   "as unattributed)"),
            (context, f"events of other providers close to the captures (or, until the clock offset is estimated, "
                      f"within its reach), past the {MAX_CONTEXT_EVENTS:,} closest (shown)")):
        count = sum(keeper.dropped.values())
        if count:
            selection.outside += count
            selection.notes.append(f"{count:,} {what}")
    return selection


def trim_context(events: list[Event], views: list[ConnectionView], offset: float) -> tuple[list[Event], int]:
    """The events, less the uninterpreted ones that lie more than CONTEXT_SECONDS from the captures once the clock
    offset is applied (select_events held them within reach of any offset the estimate could find), and how many
    were let go."""
    if not views:
        return events, 0
    start, end = _span(views)
    kept = [event for event in events
            if interpreted(event) or _within(event.time + offset, event.resolution, start, end, CONTEXT_SECONDS)]
    return kept, len(events) - len(kept)


def _span(views: list[ConnectionView]) -> tuple[float, float]:
    """From the first connection's first packet to the last one's last."""
    return min(view.first for view in views), max(view.last for view in views)


def _within(time: float, resolution: float, start: float, end: float, margin: float) -> bool:
    """Whether an event at time (logged to within resolution) lies within margin of start to end."""
    return start - margin <= time + resolution and time <= end + margin
