"""Event logs in bounded memory (issue 12): readers hold one record at a time, up to a size; the timeline holds only
the events that can be placed, and attributes them exactly as it would with every event held."""

from __future__ import annotations

import datetime as dt
import json
import random
import tracemalloc
from pathlib import Path

import pytest

from conftest import CAPTURES
from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode
from tsharkpost.events.interpret import interpreted
from tsharkpost.events.model import Event, LogResult
from tsharkpost.events.readers import read_log
from tsharkpost.record.model import Milestone, Outcome, Side
from tsharkpost.timeline import window
from tsharkpost.timeline.attribute import MAX_SKEW_SECONDS, Attribution, ConnectionView, attribute, clock
from tsharkpost.timeline.window import select_events, trim_context

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
SEED_XML = CAPTURES / "md2-root-silent-fin.schannel.xml"
SCM_EVENT, SCHANNEL_EVENT = SEED_XML.read_text().splitlines()[:2]
SEED_STAMP = "2026-11-27T17:53:55.9116940Z"
SEED_TIME = dt.datetime(2026, 11, 27, 17, 53, 55, 911694, tzinfo=dt.timezone.utc).timestamp()


def stamp(time: float) -> str:
    return dt.datetime.fromtimestamp(time, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def schannel(time: float, target: str = "shop.example.net", alert: int = 43, event_id: int = 36888) -> str:
    return (SCHANNEL_EVENT.replace(SEED_STAMP, stamp(time)).replace(">shop.example.net<", f">{target}<")
            .replace("<Data Name='AlertDesc'>43<", f"<Data Name='AlertDesc'>{alert}<")
            .replace("<EventID>36888<", f"<EventID>{event_id}<"))


def scm(time: float) -> str:
    return SCM_EVENT.replace("2026-11-27T17:53:51.5991940Z", stamp(time))


# -- readers: one record at a time ---------------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["xml", "csv", "jsonl"])
def test_a_20_mb_record_never_sits_in_memory(tmp_path: Path, form: str) -> None:
    # Given a log of each text form whose middle record is 20 MB
    pad = "p" * 20_000_000
    if form == "xml":
        text = "\n".join([SCM_EVENT, SCHANNEL_EVENT.replace(">shop.example.net<", f">{pad}<"), SCHANNEL_EVENT])
    elif form == "csv":
        row = 'Error,11/27/2026 6:53:55 PM,Schannel,36888,None,"{}"\r\n'
        text = "Level,Date and Time,Source,Event ID,Task Category\r\n" + row.format("a") + row.format(pad) + \
            row.format("b")
    else:
        record = {"Event": {"System": {"Provider": {"#attributes": {"Name": "Schannel"}}, "EventID": 36887,
                                       "TimeCreated": {"#attributes": {"SystemTime": SEED_STAMP}}},
                            "EventData": {"AlertDesc": 20}}}
        text = "\n".join(json.dumps(record).replace("20}", f'"{pad}"}}' if i == 1 else "20}") for i in range(3))
    log = tmp_path / f"big.{form}"
    log.write_text(text)
    del text, pad
    # When it is read
    tracemalloc.start()
    result = LogResult(str(log))
    events = list(read_log(log, result))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # Then its neighbours are read, and Python never held more than a few MB (lxml's own memory is not traced:
    # the XML event is skipped before it is parsed)
    assert len(events) >= 2 and result.problems
    assert peak < 8_000_000, f"{peak:,} bytes"
    assert all(len(event.raw) < 17_000 for event in events)


# -- the timeline stage: only what can be placed -------------------------------------------------------------------

def seed_view(first: float = SEED_TIME - 0.003, last: float = SEED_TIME + 0.001, stream: int = 0,
              name: str = "shop.example.net", outcome: Outcome = Outcome.CLIENT_SILENT_CLOSE,
              alert: int | None = None) -> ConnectionView:
    middle = (first + last) / 2
    milestones = [Milestone("syn", Side.CLIENT, 1, first), Milestone("server_hello_done", Side.SERVER, 6, middle)]
    alerts: list[tuple[int | None, Milestone]] = []
    if alert is not None:
        alerts.append((alert, Milestone("alert", Side.CLIENT, 7, middle + (last - middle) / 2, f"fatal {alert}")))
        milestones.append(alerts[0][1])
    milestones.append(Milestone("fin", Side.CLIENT, 8, last))
    return ConnectionView("seed.pcapng", stream, "10.0.0.1", "10.0.0.2", name, outcome, first, last,
                          tuple(milestones), alerts, set(), ("seed.pcapng", stream))


def test_far_and_uninterpreted_events_are_counted_not_held(tmp_path: Path) -> None:
    # Given a day of events around a 4 ms connection: 3,000 Schannel events and 1,000 others, each minute apart
    chance = random.Random(1)
    times = [SEED_TIME + chance.uniform(-43_000, 43_000) for _ in range(4000)]
    log = tmp_path / "day.xml"
    log.write_text("\n".join(schannel(t, target="other.example") if i % 4 else scm(t) for i, t in enumerate(times))
                   + "\n" + schannel(SEED_TIME) + "\n")
    selection = select_events([log], None, [seed_view()], None)
    # Then held: the interpreted ones within reach of the connection (300 s of skew either way), the 100 closest
    # of those hours away, and the seed's event; of the others only those within 5 s of the connection once the
    # clock offset is estimated, which may be up to 300 s either way
    reach = MAX_SKEW_SECONDS + 0.004 + 2
    near = [t for i, t in enumerate(times) if i % 4 and abs(t - SEED_TIME) <= reach]
    context = [t for i, t in enumerate(times) if not i % 4 and abs(t - SEED_TIME) <= MAX_SKEW_SECONDS + 5]
    held = selection.events
    assert len(held) == len(near) + 100 + 1 + len(context) and context
    assert sum(1 for event in held if abs(event.time - SEED_TIME) <= reach and interpreted(event)) == len(near) + 1
    assert selection.outside == 4001 - len(held) and selection.logs[0].events == 4001
    # With the clocks found to agree, none of the others is within 5 s: all let go, and counted
    kept, let_go = trim_context(held, [seed_view()], 0.0)
    assert all(interpreted(event) for event in kept) and let_go == len(context)
    assert selection.notes == [f"{3000 - len(near) - 100:,} Schannel/CAPI2 events hours from every connection, "
                               "past the 100 closest (listed as unattributed)"]
    # summarize needs only what can be attributed
    assert len(select_events([log], None, [seed_view()], None, near_only=True).events) == len(near) + 1


def test_uninterpreted_events_are_held_without_fields_or_raw(tmp_path: Path) -> None:
    log = tmp_path / "system.xml"
    log.write_text(SEED_XML.read_text())
    selection = select_events([log], None, [seed_view(first=SEED_TIME - 5)], None)
    scm_event, schannel_event = selection.events
    assert (scm_event.provider, scm_event.raw, scm_event.fields) == ("Service Control Manager", "", {})
    assert schannel_event.fields["AlertDesc"] == "43" and schannel_event.raw.startswith("<Event")


def test_a_flood_near_the_connections_stays_within_the_budget(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Given 2,000 Schannel events within 10 s of the connection and a budget of a few hundred of them
    monkeypatch.setattr(window, "HELD_EVENT_BYTES", 1 << 19)
    chance = random.Random(2)
    log = tmp_path / "flood.xml"
    log.write_text("\n".join(schannel(SEED_TIME + chance.uniform(-10, 10), target="x.example") for _ in range(2000))
                   + "\n" + schannel(SEED_TIME) + "\n")
    selection = select_events([log], None, [seed_view()], None)
    # Then the closest are held, the farthest let go, and the log says how many
    held = selection.events
    assert 100 < len(held) < 2000 and any(event.fields["TargetName"] == "shop.example.net" for event in held)
    assert sum(window._size(event) for event in held) <= 1 << 19
    farthest_held = max(abs(event.time - SEED_TIME) for event in held)
    assert farthest_held < 2
    (note,) = selection.logs[0].notes
    assert note == (f"{2001 - len(held):,} Schannel/CAPI2 events within reach of the connections were let go, the "
                    "farthest first: tsharkpost holds at most 0.5 MiB of them")


def _summary(items: list[Attribution]) -> dict[str, tuple[object, ...]]:
    return {item.event.source: (item.connection.key if item.connection else None, item.confidence,
                                tuple(item.reasons), item.anchor, item.why_not, item.time) for item in items}


def _everything_within_a_day(log: Path, views: list[ConnectionView], shift: float | None) -> list[Event]:
    """The selection as it was before issue 12: every event within a day of the captures, held whole."""
    reach = abs(shift) if shift is not None else MAX_SKEW_SECONDS
    start, end = min(view.first for view in views), max(view.last for view in views)
    kept = []
    for event in read_log(log, LogResult(str(log))):
        margin = reach + 86400.0 if interpreted(event) else 5.0
        moved = event.time + (shift or 0.0)
        if start - margin <= moved + event.resolution and moved <= end + margin:
            kept.append(event)
    return sorted(kept, key=lambda event: event.time)


@pytest.mark.parametrize("seed", range(12))
def test_attribution_is_exactly_what_holding_every_event_gives(tmp_path: Path, seed: int) -> None:
    # Given connections of random length (up to 10 minutes) over an hour, some with an alert on the wire, and
    # alert events near them, a few minutes off, and hours away; the clock offset given or estimated
    chance = random.Random(seed)
    views = []
    for stream in range(chance.randrange(2, 6)):
        first = SEED_TIME + chance.uniform(0, 3600)
        views.append(seed_view(first, first + chance.choice([0.004, 2.0, 600.0]), stream,
                               chance.choice(["a.example", "b.example", ""]),
                               chance.choice([Outcome.CLIENT_SILENT_CLOSE, Outcome.CLIENT_FATAL_ALERT,
                                              Outcome.ESTABLISHED]),
                               chance.choice([None, 42, 43])))
    offset = chance.choice([0.0, 3.2, -40.0, 250.0])
    lines = []
    for _ in range(300):
        view = chance.choice(views)
        anchor = view.milestones[1].time + chance.uniform(0, view.last - view.milestones[1].time)
        time = chance.choice([anchor, anchor + chance.uniform(-700, 700), anchor + chance.uniform(-40000, 40000)])
        lines.append(schannel(time - offset, chance.choice(["a.example", "b.example", "c.example"]),
                              chance.choice([42, 43, 40]), chance.choice([36888, 36887])))
        if chance.random() < 0.3:
            lines.append(scm(time - offset))
    log = tmp_path / "system.xml"
    log.write_text("\n".join(lines) + "\n")
    for shift in (None, offset):
        # When events are selected by the captures' windows, and when every event within a day is held
        held = select_events([log], None, views, shift).events
        everything = _everything_within_a_day(log, views, shift)
        # Then the clock and every attribution agree, and every event that could be attributed is held
        assert clock(held, views, shift).as_dict() == clock(everything, views, shift).as_dict()
        skew = clock(everything, views, shift).seconds
        ours = _summary(attribute([e for e in held if interpreted(e)], views, skew))
        theirs = _summary(attribute([e for e in everything if interpreted(e)], views, skew))
        assert {source: value for source, value in theirs.items() if source in ours} == ours
        assert {source for source, value in theirs.items() if value[0] is not None} <= set(ours)


def test_a_hostile_field_is_not_echoed_whole(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                             tshark: str) -> None:
    # Given the seed's 36888 with a 900 KB TargetName (under the 1 MiB an event may have)
    log = tmp_path / "system.xml"
    log.write_text(SCM_EVENT + "\n" + SCHANNEL_EVENT.replace(">shop.example.net<", ">" + "n" * 900_000 + "<"))
    code = main(["timeline", "--format", "json", str(SEED), "--events", str(log)])
    out, err = capsys.readouterr()
    # Then the output carries 4 KiB of it, marked as cut, and the log's notes say so
    assert code == ExitCode.OK and len(out) < 100_000
    document = json.loads(out)
    assert "[cut: 900,000 characters]" in json.dumps(document["unattributed"]) or \
        "[cut: 900,000 characters]" in out
    assert "1 event(s) carry more text than an event keeps" in err
