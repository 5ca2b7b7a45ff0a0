"""Events -> the connection each most plausibly belongs to, with a confidence and the reasons; clock skew.

Windows events carry no address or port (Schannel runs inside LSA), so the
evidence is: time, the alert code against the alerts on the wire, who generated
the alert (36888: this host, 36887: its peer), TargetName against the SNI, and a
CAPI2 certificate subject against the chain sent. Works on views of connection
records (record/model.py): what attribution needs, without the rest of the record.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsharkpost.events.interpret import ROLE_TEXT, Meaning, meaning
from tsharkpost.events.model import Event
from tsharkpost.record.model import ConnectionRecord, Milestone, Outcome, Side, stream_id

# An event may be logged a little before the connection's first frame or after its last one (the application
# closes after Schannel logged), and a capture host's clock is never exactly the event host's.
TIME_SLACK_SECONDS = 1.0
# How far apart the two clocks may be for the automatic skew estimate to look for pairs.
MAX_SKEW_SECONDS = 300.0
# Pairs must agree on the offset within this many seconds for an estimate to be made.
SKEW_AGREEMENT_SECONDS = 1.0
SERVER_FLIGHT = ("server_hello", "certificate", "server_key_exchange", "certificate_request", "server_hello_done",
                 "encrypted_server_flight")
# How a connection ends on the wire: TCP's FIN or RST, QUIC's CONNECTION_CLOSE (DTLS: nothing but an alert).
CLOSE_MILESTONES = ("fin", "rst", "connection_close")
HIGH, MEDIUM, LOW = "high", "medium", "low"


def capture_labels(views: list[ConnectionView], captures: list[str]) -> None:
    """Show each capture by its base name when no other input has that name, else by its path as given."""
    distinct = {str(Path(capture).resolve()): Path(capture).name for capture in captures}
    names = Counter(distinct.values())
    for view in views:
        name = Path(view.capture).name
        view.shown_as = name if names[name] <= 1 else view.capture


@dataclass
class ConnectionView:
    """What attribution needs of one connection record.

    Attributes:
        alert_milestones: each alert milestone with the alert's code (None when encrypted).
    """

    capture: str
    stream: int
    client: str
    server: str
    server_name: str
    outcome: Outcome
    first: float
    last: float
    milestones: tuple[Milestone, ...]
    alert_milestones: list[tuple[int | None, Milestone]]
    subjects: set[str]
    key: tuple[str, str, int]  # identity: the resolved capture path, the transport and the stream (two captures
    # may share a name; TCP's stream 0 and QUIC's udp.stream 0 are two connections)
    shown_as: str = ""  # the capture as people see it (capture_labels); its base name until set
    transport: str = "tcp"

    @property
    def failed(self) -> bool:
        return self.outcome.failed

    @property
    def label(self) -> str:
        return f"{self.shown_as or Path(self.capture).name}:{stream_id(self.transport, self.stream)}"

    @staticmethod
    def of(record: ConnectionRecord) -> ConnectionView:
        return ConnectionView(
            record.capture, record.stream, record.client, record.server, record.server_name or "",
            record.outcome, record.first_time, record.last_time, record.milestones,
            [(alert.code, milestone) for alert, milestone in record.alert_milestones()],
            {cert.subject_cn.lower() for cert in record.certificates if cert.subject_cn},
            (str(Path(record.capture).resolve()), record.transport, record.stream), transport=record.transport)

    def wire_alerts(self) -> list[tuple[int | None, Milestone]]:
        return self.alert_milestones

    def flight_end(self) -> Milestone | None:
        flight = [m for m in self.milestones if m.name in SERVER_FLIGHT and m.side is Side.SERVER]
        return flight[-1] if flight else None

    def close(self) -> Milestone | None:
        return next((m for m in self.milestones if m.name in CLOSE_MILESTONES), None)

    def anchor(self, role: str, alert: int | None) -> tuple[float, float, str] | None:
        """The interval in which an alert event for this connection must have been logged, and why.

        generated (36888): between the frame before the alert (or the teardown that replaced it) and that frame;
        received (36887): between the wire alert and the next milestone.
        """
        matching = [m for code, m in self.wire_alerts() if alert is None or code in (alert, None)]
        if role == "generated" and matching:
            alert_frame = matching[0]
            before = [m for m in self.milestones if m.time <= alert_frame.time and m.frame < alert_frame.frame]
            start = before[-1] if before else alert_frame
            return start.time, alert_frame.time, (f"between frame {start.frame} ({start.name}) and the alert in "
                                                  f"frame {alert_frame.frame}")
        if role == "generated":
            flight, close = self.flight_end(), self.close()
            if flight and close and close.time >= flight.time:
                return flight.time, close.time, (f"between the server flight (frame {flight.frame}, {flight.name}) "
                                                 f"and the {close.side.value}'s {close.name.upper()} in frame "
                                                 f"{close.frame}, no alert on the wire")
        if role == "received" and matching:
            alert_frame = matching[0]
            after = [m for m in self.milestones if m.frame > alert_frame.frame]
            end = after[0].time if after else alert_frame.time + TIME_SLACK_SECONDS
            return alert_frame.time, end, f"after the alert in frame {alert_frame.frame}"
        return None


@dataclass
class Attribution:
    """An event and the connection it most plausibly belongs to (None: unattributed), with the reasons."""

    event: Event
    meaning: Meaning
    time: float  # the event's time on the capture's clock (shift applied)
    connection: ConnectionView | None = None
    confidence: str = ""
    reasons: list[str] = field(default_factory=list)
    alternatives: int = 0  # other candidates that scored as well
    anchor: tuple[float, float, str] | None = None
    why_not: str = ""

    @property
    def placed_at(self) -> float:
        """Where the event goes on the timeline: its time, or, for whole-second exports, inside its anchor."""
        if self.anchor and self.event.resolution >= 0.5:
            return (self.anchor[0] + self.anchor[1]) / 2
        return self.time


def _score(view: ConnectionView, sense: Meaning, event: Event, time: float) -> tuple[float, list[str]] | None:
    """How well the event fits the connection (None: it cannot belong to it), with the reasons."""
    reasons: list[str] = []
    score = 0.0
    slack = TIME_SLACK_SECONDS + event.resolution
    if view.first <= time <= view.last:
        score += 1
        reasons.append("logged while the connection was open")
    elif event.resolution >= 0.5 and view.first < time + event.resolution and time <= view.last:
        score += 1
        reasons.append(f"logged in the same {event.resolution:g} s as the connection (the export has no finer time)")
    elif view.first - slack <= time <= view.last + slack:
        score += 0.5
        reasons.append(f"logged within {slack:g} s of the connection")
    else:
        return None
    if sense.target and view.server_name:
        if sense.target.lower() != view.server_name.lower():
            return None
        score += 2
        reasons.append(f"TargetName {sense.target} = SNI")
    if sense.alert_role and sense.alert is not None:
        codes = [code for code, _ in view.wire_alerts()]
        if sense.alert in codes:
            score += 2
            reasons.append(f"alert {sense.alert} is on the wire")
        elif any(code is not None for code in codes) and None not in codes:
            return None  # the wire shows other alerts only
    if sense.alert_role:
        anchor = view.anchor(sense.alert_role, sense.alert)
        if anchor and sense.alert_role == "generated" and not view.wire_alerts():
            score += 1
            reasons.append(f"{event.event_id}: {ROLE_TEXT['generated']}, and the connection ended without one on "
                           "the wire (Schannel hands the alert to the application, which closed instead)")
        elif anchor:
            score += 0.5
            reasons.append(f"{'generated' if sense.alert_role == 'generated' else 'received'} alert fits "
                           f"{anchor[2]}")
        if view.failed:
            score += 0.5
            reasons.append(f"the connection failed ({view.outcome.value})")
        else:
            score -= 1
            reasons.append("but the connection was established")
    if sense.kind == "certificate":
        subject = event.fields.get("Certificate.subjectName", "").lower()
        if subject and subject in view.subjects:
            score += 2
            reasons.append(f"certificate '{subject}' is in the chain sent")
        elif view.subjects:
            score += 0.5
            reasons.append("the server sent a chain")
    return score, reasons


def attribute(events: list[Event], views: list[ConnectionView], shift: float) -> list[Attribution]:
    """One attribution per interpreted event, in event order."""
    found = []
    for event in events:
        sense = meaning(event)
        time = event.time + shift
        item = Attribution(event, sense, time)
        scored = [(result[0], view, result[1]) for view in views
                  if (result := _score(view, sense, event, time)) is not None]
        if not scored:
            near = any(view.first - TIME_SLACK_SECONDS - event.resolution <= time
                       <= view.last + TIME_SLACK_SECONDS for view in views)
            item.why_not = ("no connection in the captures" if not views else
                            "the connections open then do not fit (TargetName against SNI, alerts on the wire)"
                            if near else "no connection open around that time" + _zone_hint(event, sense, views, time))
            found.append(item)
            continue
        scored.sort(key=lambda entry: (-entry[0], abs((entry[1].first + entry[1].last) / 2 - time)))
        best, view, reasons = scored[0]
        ties = sum(1 for entry in scored[1:] if entry[0] == best)
        item.connection, item.reasons, item.alternatives = view, reasons, ties
        item.anchor = view.anchor(sense.alert_role, sense.alert) if sense.alert_role else None
        item.confidence = HIGH if best >= 3 and not ties else MEDIUM if best >= 1.5 and not ties else LOW
        if ties:
            item.reasons.append(f"{ties} other connection(s) fit as well: the closest in time was taken")
        found.append(item)
    return found


def _zone_hint(event: Event, sense: Meaning, views: list[ConnectionView], time: float) -> str:
    """A hint when the event would fit a connection if its times were whole or half hours off (a zone mistake)."""
    for half_hours in sorted(range(-28, 29), key=abs):
        offset = half_hours * 1800.0
        if half_hours and any(_score(view, sense, event, time + offset) for view in views):
            return (f"; it would fit a connection {offset / 3600:+g} h away: a time zone mistake? "
                    "(--events-tz for CSV/TXT, --shift otherwise)")
    return ""


@dataclass
class Skew:
    """The clock offset applied to events: given (--shift), estimated from unambiguous pairs, or none."""

    seconds: float
    how: str  # "given", "estimated", "none"
    note: str
    pairs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 6), "how": self.how, "note": self.note, "pairs": self.pairs}


def _pairable(view: ConnectionView, sense: Meaning) -> bool:
    """Whether an alert event fits a connection on its content alone (the clock set aside)."""
    if sense.target and view.server_name and sense.target.lower() != view.server_name.lower():
        return False
    codes = [code for code, _ in view.wire_alerts()]
    if sense.alert is not None and sense.alert in codes:
        return True
    # A generated alert that never reached the wire: only the TargetName can tie it to this connection.
    return bool(sense.alert_role == "generated" and not codes and sense.target and view.failed
                and view.anchor("generated", sense.alert))


def estimate_skew(events: list[Event], views: list[ConnectionView]) -> Skew:
    """The offset that puts each alert event inside its connection's anchor, when events and connections pair
    one to one within MAX_SKEW_SECONDS and the pairs agree; otherwise none, and why."""
    candidates: dict[int, list[ConnectionView]] = {}
    senses = {}
    for index, event in enumerate(events):
        sense = meaning(event)
        if not sense.alert_role or sense.alert is None or event.resolution >= 0.5:
            continue
        senses[index] = sense
        candidates[index] = [view for view in views if view.first - MAX_SKEW_SECONDS <= event.time
                             <= view.last + MAX_SKEW_SECONDS and _pairable(view, sense)]
    claimed: dict[tuple[str, str, int], int] = {}
    for fits in candidates.values():
        for view in fits:
            claimed[view.key] = claimed.get(view.key, 0) + 1
    offsets, pairs = [], []
    for index, fits in candidates.items():
        if len(fits) != 1 or claimed[fits[0].key] != 1:
            continue
        view, event = fits[0], events[index]
        anchor = view.anchor(senses[index].alert_role, senses[index].alert)
        assert anchor is not None or senses[index].alert_role == "received"
        if anchor is None:
            continue
        inside = anchor[0] <= event.time <= anchor[1]
        offsets.append(0.0 if inside else (anchor[0] + anchor[1]) / 2 - event.time)
        pairs.append(f"{event.source} {event.provider} {event.event_id} alert {senses[index].alert} <-> "
                     f"{view.label} ({anchor[2]})")
    if not pairs:
        return Skew(0.0, "none", "no alert event pairs unambiguously with a connection: event times used as logged")
    if max(offsets) - min(offsets) > SKEW_AGREEMENT_SECONDS:
        return Skew(0.0, "none", f"{len(pairs)} pairs disagree on the offset ({min(offsets):+.3f} to "
                                 f"{max(offsets):+.3f} s): event times used as logged", pairs)
    offset = statistics.median(offsets)
    if offset == 0.0:
        return Skew(0.0, "estimated", f"clocks agree: every paired event already lies in its anchor "
                                      f"({len(pairs)} pair{'s' if len(pairs) > 1 else ''})", pairs)
    direction = "behind" if offset > 0 else "ahead of"
    plural = "s" if len(pairs) > 1 else ""
    return Skew(offset, "estimated", f"event clock corrected by {offset:+.3f} s (events {direction} the capture), "
                                     f"from {len(pairs)} unambiguous pair{plural}", pairs)


def clock(events: list[Event], views: list[ConnectionView], shift: float | None) -> Skew:
    """The offset to apply: --shift as given, else the estimate."""
    if shift is not None:
        return Skew(shift, "given", f"event clock shifted by {shift:+.3f} s (--shift)")
    return estimate_skew(events, views)
