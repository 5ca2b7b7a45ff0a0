"""tsharkpost timeline and summarize --events on the seed capture with its event log excerpts, and real logs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from conftest import CAPTURES, REPO
from events_support import BETWEEN, SEED, SEED_CSV, SEED_XML, events_of, timeline

from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode

TWIN = CAPTURES / "known-good-twin.pcapng"
SCHEMA = json.loads((REPO / "tsharkpost" / "schema" / "summary.schema.json").read_text())


def shifted_xml(tmp_path: Path, new_time: str, target: str = "shop.example.net") -> Path:
    moved = tmp_path / "moved.xml"
    moved.write_text(SEED_XML.read_text().replace("2026-11-27T17:53:55.9116940Z", new_time)
                     .replace(">shop.example.net<", f">{target}<"))
    return moved


def test_seed_36888_sits_between_server_flight_and_fin(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    code, document, err = timeline(capsys, str(SEED), "--events", str(SEED_XML))
    assert code == ExitCode.OK and err == ""
    (event,) = events_of(document)
    assert event["between"] == BETWEEN
    assert event["attribution"]["connection"] == "md2-root-silent-fin.pcapng:0"
    assert event["attribution"]["confidence"] == "high"
    assert "TargetName shop.example.net = SNI" in event["attribution"]["reasons"]
    assert event["event"]["fields"] == {"AlertDesc": "43", "ErrorState": "252", "TargetName": "shop.example.net"}
    # In the time-ordered entries it comes after frame 6 and before frame 8
    order = [(entry["kind"], entry["frame"]) for entry in document["entries"]]
    position = order.index(("event", None), 1)
    assert order[position - 1] == ("milestone", 6) and order[position + 1] == ("milestone", 8)
    assert [entry["what"] for entry in document["entries"] if entry["kind"] == "milestone"] == [
        "SYN", "SYN-ACK", "ClientHello SNI shop.example.net", "ServerHello", "Certificate", "ServerKeyExchange",
        "ServerHelloDone", "FIN", "FIN"]
    # The Service Control Manager event 4 s earlier is shown, not interpreted
    assert document["entries"][0]["what"] == "Service Control Manager 7036 (not interpreted)"
    assert document["clock"]["how"] == "estimated" and document["clock"]["seconds"] == 0.0


def test_seed_table(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    assert main(["timeline", str(SEED), "--events", str(SEED_XML)]) == ExitCode.OK
    out = capsys.readouterr().out
    lines = out.splitlines()
    done = next(i for i, line in enumerate(lines) if line.endswith("ServerHelloDone"))
    fin = next(i for i, line in enumerate(lines) if line.endswith(" 8  client                    FIN"))
    event = next(i for i, line in enumerate(lines) if "EVENT Schannel 36888 fatal alert generated: alert 43" in line)
    assert done < event < fin
    assert f"    placed {BETWEEN}" in out and "confidence high" in out


def test_one_event_is_counted_in_the_singular(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              tshark: str) -> None:
    # Given the seed's XML log cut to its Service Control Manager event, moved a day away from the capture
    events = SEED_XML.read_text().split("<Event ")
    (service,) = [event for event in events if ">7036<" in event]
    moved = tmp_path / "one.xml"
    moved.write_text("<Event " + service.replace("2026-11-27T17:53:51", "2026-11-28T17:53:51"))
    # When timeline shows it
    assert main(["timeline", str(SEED), "--events", str(moved), "--shift", "0"]) == ExitCode.OK
    out = capsys.readouterr().out
    # Then the one event is one event, in the inputs and in the line about events far from the captures
    assert "ok (xml, 1 event)" in out
    assert "1 event lies far from every capture and is not shown." in out


def test_seed_csv_in_berlin_time(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    code, document, err = timeline(capsys, str(SEED), "--events", str(SEED_CSV), "--events-tz", "Europe/Berlin")
    assert code == ExitCode.OK and err == ""
    (event,) = events_of(document)
    # Whole seconds only: placed inside the interval its attribution allows, and said so
    assert event["between"] == BETWEEN and event["attribution"]["confidence"] == "medium"
    assert "whole seconds only: placed by attribution" in event["what"]
    assert "alert code not in this export" in event["what"]
    assert event["event"]["time_logged"] == "2026-11-27T17:53:55.000000Z"


def test_csv_without_zone_is_assumed_utc_and_said(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    code, document, err = timeline(capsys, str(SEED), "--events", str(SEED_CSV))
    assert code == ExitCode.OK
    assert "times are local time without an offset: assumed UTC" in err
    (unattributed,) = document["unattributed"]
    assert unattributed["event"] == "md2-root-silent-fin.schannel.csv#2"
    assert unattributed["why_not"] == ("no connection open around that time; it would fit a connection -1 h away: "
                                       "a time zone mistake? (--events-tz for CSV/TXT, --shift otherwise)")


def test_skew_of_a_few_seconds_is_recovered(capsys: pytest.CaptureFixture[str], tmp_path: Path, tshark: str) -> None:
    # Given the event log's clock 3.2 s ahead of the capture's
    moved = shifted_xml(tmp_path, "2026-11-27T17:53:59.1116940Z")
    code, document, _ = timeline(capsys, str(SEED), "--events", str(moved))
    # Then the offset is estimated from the one unambiguous pair, and the event lands between the same frames
    assert code == ExitCode.OK
    clock = document["clock"]
    assert clock["how"] == "estimated" and clock["seconds"] == pytest.approx(-3.2, abs=0.002)
    assert clock["note"].startswith("event clock corrected by -3.200 s") and len(clock["pairs"]) == 1
    (event,) = events_of(document)
    assert event["between"] == BETWEEN and event["attribution"]["confidence"] == "high"
    # A given shift is used as given
    _, document, _ = timeline(capsys, str(SEED), "--events", str(moved), "--shift", "-3.2")
    assert document["clock"]["how"] == "given" and events_of(document)[0]["between"] == BETWEEN
    _, document, _ = timeline(capsys, str(SEED), "--events", str(moved), "--shift", "0")
    assert document["unattributed"][0]["event"] == "moved.xml#2"


def test_context_events_follow_the_estimated_clock(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                   tshark: str) -> None:
    # Given the whole log's clock 200 s behind the capture's: the Service Control Manager event, 4.3 s before the
    # capture's first frame on the capture's clock, is logged 204.3 s before it
    moved = tmp_path / "behind.xml"
    moved.write_text(SEED_XML.read_text().replace("2026-11-27T17:53:55.9116940Z", "2026-11-27T17:50:35.9116940Z")
                     .replace("2026-11-27T17:53:51.5991940Z", "2026-11-27T17:50:31.5991940Z"))
    code, document, _ = timeline(capsys, str(SEED), "--events", str(moved))
    assert code == ExitCode.OK
    assert document["clock"]["how"] == "estimated" and document["clock"]["seconds"] == pytest.approx(200, abs=0.002)
    # Then, once corrected, it is within 5 s of the capture and shown as with the right clock, not counted as far
    first = document["entries"][0]
    assert (first["where"], first["what"]) == ("behind.xml#1", "Service Control Manager 7036 (not interpreted)")
    assert first["time"].startswith("2026-11-27T17:53:51.59") and document["events_outside"] == 0
    # And an event 200 s away on the corrected clock is still left out, and counted
    _, document, _ = timeline(capsys, str(SEED), "--events", str(moved), "--shift", "0")
    assert all(entry["where"] != "behind.xml#1" for entry in document["entries"])
    assert document["events_outside"] == 1


def test_target_name_decides_between_connections(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 tshark: str) -> None:
    # A 36888 naming another server does not belong to the seed's connection, even at the right time
    other = shifted_xml(tmp_path, "2026-11-27T17:53:55.9116940Z", target="portal.example.org")
    _, document, _ = timeline(capsys, str(SEED), "--events", str(other))
    (unattributed,) = document["unattributed"]
    assert unattributed["why_not"].startswith("the connections open then do not fit")


def test_two_captures_and_around(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    _, document, _ = timeline(capsys, str(SEED), str(TWIN), "--events", str(SEED_XML))
    assert {entry["where"] for entry in document["entries"] if entry["kind"] == "milestone"} == {
        "md2-root-silent-fin.pcapng:0", "known-good-twin.pcapng:0"}
    assert events_of(document)[0]["attribution"]["connection"] == "md2-root-silent-fin.pcapng:0"
    # --around keeps the failed connection and the events near it; the established twin goes
    _, document, _ = timeline(capsys, str(SEED), str(TWIN), "--events", str(SEED_XML), "--around", "1")
    assert {entry["where"] for entry in document["entries"]} == {
        "md2-root-silent-fin.pcapng:0", "md2-root-silent-fin.schannel.xml#2"}
    assert document["around"] == 1.0


def test_around_text_lists_the_attributed_events_json_shows(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                             tshark: str) -> None:
    # Given the 36888 logged while the established twin was open (17:53:57.648, its frames 1 to 16 as tshark
    # reads them span 17:53:57.6467 to .6518), 1.7 s after the failed seed, and the clock taken as it is
    moved = shifted_xml(tmp_path, "2026-11-27T17:53:57.6480000Z")
    arguments = [str(SEED), str(TWIN), "--events", str(moved), "--shift", "0", "--around", "0.5"]
    _, document, _ = timeline(capsys, *arguments)
    # Then --around leaves out the twin and the event attributed to it, in JSON ...
    assert {entry["where"] for entry in document["entries"]} == {"md2-root-silent-fin.pcapng:0"}
    # ... and in the table: no "Attributed events" line names the connection --around left out
    assert main(["timeline", *arguments]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "known-good-twin.pcapng:0" not in out and "Attributed events" not in out
    # Without --around the same event is attributed to the twin in both
    _, document, _ = timeline(capsys, *arguments[:-2])
    assert events_of(document)[0]["attribution"]["connection"] == "known-good-twin.pcapng:0"
    assert main(["timeline", *arguments[:-2]]) == ExitCode.OK
    assert "moved.xml#2 Schannel 36888 -> known-good-twin.pcapng:0 (established)" in capsys.readouterr().out


def test_summarize_events_names_the_cause_with_the_event(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    assert main(["summarize", "--format", "json", str(SEED), "--events", str(SEED_XML)]) == ExitCode.OK
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, SCHEMA)
    (record,) = document["connections"]
    (event,) = record["events"]
    assert (event["event_id"], event["confidence"]) == (36888, "high")
    evidence = record["causes"][0]["evidence"]
    assert evidence[0] == (
        "client generated fatal alert 43 unsupported_certificate (TLS1_ALERT_UNSUPPORTED_CERT; Schannel 36888 on "
        "WS-0142.corp.example.net at 2026-11-27T17:53:55.911694Z, attribution high); Schannel error state 252, "
        "community-reported as a certificate in the server's chain is signed with a signature algorithm the client "
        "will not accept")
    assert evidence[1].startswith("client hung up 2 ms after the chain in frame 6")
    assert document["event_logs"][0]["status"] == "ok" and document["clock"]["how"] == "estimated"
    # The table's connection row leads with it
    assert main(["summarize", "--connections", str(SEED), "--events", str(SEED_XML)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "client generated fatal alert 43 unsupported_certificate" in out and "\nEvent logs\n" in out


def test_summarize_without_events_has_empty_events(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    assert main(["summarize", "--format", "json", str(SEED)]) == ExitCode.OK
    document = json.loads(capsys.readouterr().out)
    assert "event_logs" not in document and document["connections"][0]["events"] == []
    assert [(m["name"], m["side"], m["frame"]) for m in document["connections"][0]["milestones"]] == [
        ("syn", "client", 1), ("syn_ack", "server", 2), ("client_hello", "client", 4), ("server_hello", "server", 6),
        ("certificate", "server", 6), ("server_key_exchange", "server", 6), ("server_hello_done", "server", 6),
        ("fin", "client", 8), ("fin", "server", 9)]


def test_summarize_with_a_bad_log_exits_3(capsys: pytest.CaptureFixture[str], tmp_path: Path, tshark: str) -> None:
    assert main(["summarize", str(SEED), "--events", str(tmp_path / "missing.xml")]) == ExitCode.INPUT_ERROR
    assert capsys.readouterr().err == f"tsharkpost: ERROR: {tmp_path / 'missing.xml'}: no such file\n"


def _two_alert_log(tmp_path: Path) -> Path:
    """A 36888 for alert 42 and a 36887 for alert 40, from a clock 5 s ahead, without TargetName (before Windows 10).

    They belong to md5-intermediate-alert.pcapng (the client sent 42) and no-shared-cipher.pcapng (it received 40).
    """
    template = SEED_XML.read_text().splitlines()[1].replace("<Data Name='TargetName'>shop.example.net</Data>", "")
    generated = (template.replace("2026-11-27T17:53:55.9116940Z", "2026-11-27T17:54:03.5205500Z")
                 .replace(">43<", ">42<").replace(">252<", ">1000<"))
    received = (template.replace("2026-11-27T17:53:55.9116940Z", "2026-11-27T17:54:04.4011900Z")
                .replace("<EventID>36888</EventID>", "<EventID>36887</EventID>").replace(">43<", ">40<")
                .replace("<Data Name='ErrorState'>252</Data>", ""))
    log = tmp_path / "system.xml"
    log.write_text(generated + "\n" + received + "\n")
    return log


def test_wire_alerts_pair_with_36888_and_36887(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               tshark: str) -> None:
    # Given a client that sent alert 42 (36888 on its side) and one that received alert 40 (36887), both logged
    # by a clock 5 s ahead of the capture's, without TargetName (Windows before 10)
    log = _two_alert_log(tmp_path)
    code, document, _ = timeline(capsys, str(CAPTURES / "md5-intermediate-alert.pcapng"),
                                 str(CAPTURES / "no-shared-cipher.pcapng"), str(SEED), "--events", str(log))
    # Then the wire alerts pair them unambiguously, the 5 s are estimated, and each lands next to its alert
    assert code == ExitCode.OK
    assert document["clock"]["seconds"] == pytest.approx(-5.0, abs=0.01) and len(document["clock"]["pairs"]) == 2
    first, second = events_of(document)
    assert first["attribution"]["connection"] == "md5-intermediate-alert.pcapng:0"
    assert first["between"].startswith("between frame 6 (ServerHelloDone")
    assert "frame 8 (Alert fatal 42" in first["between"]
    assert "alert 42 is on the wire" in first["attribution"]["reasons"] and first["attribution"]["confidence"] == "high"
    assert "error state 1000 (meaning unknown: Microsoft publishes no list)" in first["what"]
    assert second["attribution"]["connection"] == "no-shared-cipher.pcapng:0"
    assert second["between"].startswith("between frame 6 (Alert fatal 40 handshake_failure")
    assert second["attribution"]["confidence"] == "high"


def test_captures_with_the_same_name_are_kept_apart(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    tshark: str) -> None:
    # Given the seed and its established twin under one file name in two folders
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    seed, twin = tmp_path / "a" / "capture.pcapng", tmp_path / "b" / "capture.pcapng"
    seed.write_bytes(SEED.read_bytes())
    twin.write_bytes(TWIN.read_bytes())
    code, document, _ = timeline(capsys, str(seed), str(twin), "--events", str(SEED_XML))
    # Then each is shown by the path as given, and the event is placed among the seed's frames only
    assert code == ExitCode.OK
    assert {entry["where"] for entry in document["entries"] if entry["kind"] == "milestone"} == {
        f"{seed}:0", f"{twin}:0"}
    (event,) = events_of(document)
    assert event["attribution"]["connection"] == f"{seed}:0"
    assert event["between"] == BETWEEN.replace("md2-root-silent-fin.pcapng:0", f"{seed}:0")
    # --around keeps the failed seed's milestones, not the twin's
    _, document, _ = timeline(capsys, str(seed), str(twin), "--events", str(SEED_XML), "--around", "1")
    assert {entry["where"] for entry in document["entries"]} == {f"{seed}:0", "md2-root-silent-fin.schannel.xml#2"}
    # A unique name is still shown as the base name
    _, document, _ = timeline(capsys, str(seed), str(TWIN), "--events", str(SEED_XML))
    assert events_of(document)[0]["attribution"]["connection"] == "capture.pcapng:0"


def test_skew_pairs_in_same_named_captures_are_two(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                   tshark: str) -> None:
    # Given two failed connections, each stream 0 of a capture named x.pcapng, and one alert event for each
    log = _two_alert_log(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "x.pcapng", tmp_path / "b" / "x.pcapng"
    first.write_bytes((CAPTURES / "md5-intermediate-alert.pcapng").read_bytes())
    second.write_bytes((CAPTURES / "no-shared-cipher.pcapng").read_bytes())
    _, document, _ = timeline(capsys, str(first), str(second), "--events", str(log))
    # Then each connection is claimed once: two pairs, the offset estimated
    assert document["clock"]["seconds"] == pytest.approx(-5.0, abs=0.01)
    assert [pair.split(" <-> ")[1].split(" (")[0] for pair in document["clock"]["pairs"]] == [
        f"{first}:0", f"{second}:0"]


SHIFT_REASON = "a finite number of seconds within 604800 (7 days) either way"
AROUND_REASON = "a finite number of seconds, 0 or more"


@pytest.mark.parametrize("command, option, value, reason", [
    *[(command, "--shift", value, SHIFT_REASON) for command in ("timeline", "summarize")
      for value in ("inf", "1e300", "nan", "-604801", "soon")],
    *[("timeline", "--around", value, AROUND_REASON) for value in ("-5", "nan", "inf")],
])
def test_nonsense_seconds_are_usage_errors(capsys: pytest.CaptureFixture[str], command: str, option: str,
                                           value: str, reason: str) -> None:
    with pytest.raises(SystemExit) as stop:
        main([command, str(SEED), "--events", str(SEED_XML), f"{option}={value}"])
    assert stop.value.code == ExitCode.USAGE
    assert capsys.readouterr().err == f"tsharkpost: ERROR: {option} {value}: not {reason}\n"


def test_shift_of_a_week_is_accepted(capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    code, document, _ = timeline(capsys, str(SEED), "--events", str(SEED_XML), "--shift", "-604800")
    assert code == ExitCode.OK and document["clock"]["seconds"] == -604800.0


@pytest.mark.parametrize("command", ["timeline", "summarize"])
def test_bad_zone_is_a_usage_error_before_tshark_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      command: str) -> None:
    # Even with no tshark to run: the zone is checked first
    with pytest.raises(SystemExit) as stop:
        main([command, str(SEED), "--events", str(SEED_CSV), "--events-tz", "Mars/Olympus",
              "--tshark", str(tmp_path / "no-tshark")])
    assert stop.value.code == ExitCode.USAGE
    assert capsys.readouterr().err == ("tsharkpost: ERROR: --events-tz Mars/Olympus: not a time zone name "
                                       "(e.g. Europe/Berlin, UTC)\n")


def test_alert_roles_come_from_the_table(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path, tshark: str) -> None:
    from tsharkpost.plugin import tables as facts

    # Given a table in which a (hypothetical) Schannel 36999 is the generated-alert event
    table = dict(facts.windows_events())
    table[("schannel", 36999)] = dict(table[("schannel", 36888)], event_id="36999")
    monkeypatch.setattr(facts, "windows_events", lambda: table)
    log = tmp_path / "system.xml"
    log.write_text(SEED_XML.read_text().replace("<EventID>36888</EventID>", "<EventID>36999</EventID>")
                   .replace("<Data Name='TargetName'>shop.example.net</Data>", ""))
    # Then, moved onto the established twin's handshake, it counts against the connection as 36888 would
    code, document, _ = timeline(capsys, str(TWIN), "--events", str(log), "--shift", "1.74")
    assert code == ExitCode.OK
    (event,) = events_of(document)
    assert event["attribution"]["connection"] == "known-good-twin.pcapng:0"
    assert "but the connection was established" in event["attribution"]["reasons"]


def test_readme_synopsis_of_summarize_lists_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (REPO / "README.md").read_text()
    synopsis = readme.split("## `tsharkpost summarize`", 1)[1].split("```", 2)[1]
    with pytest.raises(SystemExit):
        main(["summarize", "--help"])
    # Every option line of --help ("  -o OUTPUT, --output OUTPUT"): one of its spellings is in the synopsis
    lines = [line.strip() for line in capsys.readouterr().out.splitlines() if re.match(r"  -", line)]
    spellings = [re.findall(r"(?:^|, )(-{1,2}[\w-]+)", line) for line in lines]
    missing = [names for names in spellings if names != ["-h", "--help"] and not any(
        re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", synopsis) for name in names)]
    assert len(spellings) > 10 and missing == []
