"""summarize and diff --format html on the bundled captures, read back with a real HTML parser (lxml.html).

The ladder's rows carry what they draw as data attributes (data-kind, data-side, data-names, data-frame,
data-y), so the tests read the drawing, not its pixels: which messages, in which order, where on the axis.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from browser_support import run_probe
from conftest import CAPTURES, DATA
from lxml import html as lxml_html

from tsharkpost.cli import main

SEED, TWIN = CAPTURES / "md2-root-silent-fin.pcapng", CAPTURES / "known-good-twin.pcapng"
FALLBACK, NO_CIPHER = CAPTURES / "version-fallback.pcapng", CAPTURES / "no-shared-cipher.pcapng"
EVENTS = CAPTURES / "md2-root-silent-fin.schannel.xml"
FLIGHT = "server_hello certificate server_key_exchange server_hello_done"


def summarize_html(path: Path, *arguments: str) -> tuple[int, lxml_html.HtmlElement]:
    code = main(["summarize", "--format", "html", "-o", str(path), *arguments])
    return code, lxml_html.fromstring(path.read_bytes())


def rows(container: lxml_html.HtmlElement) -> list[dict[str, str]]:
    """The ladder's rows top to bottom, as their data attributes say."""
    found = [{name[5:]: value for name, value in row.attrib.items() if name.startswith("data-")}
             | {"class": row.get("class", "")} for row in container.xpath(".//svg//g[@data-kind]")]
    return sorted(found, key=lambda row: float(row["y"]))


def arrows(container: lxml_html.HtmlElement) -> list[tuple[str, str, int]]:
    return [(row["side"], row["names"], int(row["frame"])) for row in rows(container) if row["kind"] == "arrow"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, tshark: str) -> lxml_html.HtmlElement:
    """The four captures and the seed's System log, established connections drawn too (--connections)."""
    code, page = summarize_html(tmp_path_factory.mktemp("html") / "report.html", "--connections", "--jobs", "1",
                                str(SEED), str(TWIN), str(FALLBACK), str(NO_CIPHER), "--events", str(EVENTS))
    assert code == 0
    return page


def section(page: lxml_html.HtmlElement, capture: Path, stream: int) -> lxml_html.HtmlElement:
    """The drawn section of one connection (its id: input position and stream)."""
    number = [SEED, TWIN, FALLBACK, NO_CIPHER].index(capture)
    (found,) = page.xpath(f'//*[@id="c{number}-{stream}"]')
    return found


def test_seed_ladder_holds_every_message_in_wire_order(report: lxml_html.HtmlElement) -> None:
    seed = section(report, SEED, 0)
    # The ladder: SYN, SYN-ACK, ClientHello, the server's flight in frame 6, then the client's FIN 2 ms later
    assert arrows(seed) == [("client", "syn", 1), ("server", "syn_ack", 2), ("client", "client_hello", 4),
                            ("server", FLIGHT, 6), ("client", "fin", 8), ("server", "fin", 9)]
    labels = [" ".join(text.split()) for text in seed.xpath(".//svg//g[@data-frame='8']/text[contains(@class,"
                                                           " 'label')]/text()")]
    assert labels[:2] == ["FIN by the client, no alert", labels[1]] and labels[1].endswith("after ServerHelloDone")
    # And the flight carries the plugin's errors on the root, the FIN its silent teardown
    flight = seed.xpath(".//svg//g[@data-frame='6']")[0].text_content()
    assert "error: sigalg_not_offered #3" in flight and "weak_signature" not in flight  # the root's own: a note
    assert "warning: silent_teardown" in seed.xpath(".//svg//g[@data-frame='8']")[0].text_content()
    assert "tone-fatal" in seed.xpath(".//svg//g[@data-frame='8']")[0].get("class")


def test_the_36888_event_sits_between_the_certificate_flight_and_the_fin(report: lxml_html.HtmlElement) -> None:
    drawn = rows(section(report, SEED, 0))
    order = [row["names"] for row in drawn]
    event = order.index("event:Schannel:36888")
    assert order[event - 1] == FLIGHT and order[event + 1] == "fin"
    flight, schannel, fin = drawn[event - 1], drawn[event], drawn[event + 1]
    assert float(flight["y"]) < float(schannel["y"]) < float(fin["y"])
    assert float(flight["elapsed"]) < float(schannel["elapsed"]) < float(fin["elapsed"])
    assert schannel["confidence"] == "high"
    # The event's card below names the alert, the host and the reasons
    card = section(report, SEED, 0).xpath(".//ul[@class='events']/li")[0].text_content()
    assert "Schannel 36888" in card and "WS-0142.corp.example.net" in card and "attribution high" in card


def test_the_md2_root_is_marked_on_its_card(report: lxml_html.HtmlElement) -> None:
    cards = section(report, SEED, 0).xpath(".//div[contains(@class, 'card')]")
    assert [card.get("data-index") for card in cards] == ["0", "1", "2", "3"]
    assert [card.get("data-tone") for card in cards] == ["", "", "", "error"]
    root = cards[3]
    (marked,) = root.xpath(".//dd[@class='marked']")
    assert marked.text_content().startswith("md2WithRSAEncryption") and "1.2.840.113549.1.1.2" in marked.text_content()
    # worst first: the unoffered pair (error), then the root's own md2 signature (a note: clients never check it)
    assert [code.text for code in root.xpath(".//ul[@class='findings']//code")] == ["sigalg_not_offered",
                                                                                   "weak_signature"]


def test_seed_causes_and_wireshark_command(report: lxml_html.HtmlElement) -> None:
    seed = section(report, SEED, 0)
    causes = seed.xpath(".//ol[@class='causes']/li")
    assert "root certificate #3 (Example Legacy Root CA) is signed with MD2, not offered by the client" in \
        causes[0].text_content()
    assert causes[0].xpath("./span[@class='kind']")[0].text == "certificate"
    assert seed.xpath(".//div[@class='cmd']/code")[0].text == f'wireshark -r {SEED} -Y "tcp.stream == 0"'


def test_twin_ladder_on_demand_shows_the_whole_handshake(report: lxml_html.HtmlElement) -> None:
    twin = section(report, TWIN, 0)
    assert twin.tag == "details" and twin.get("open") is None  # established: drawn, collapsed
    assert arrows(twin) == [
        ("client", "syn", 1), ("server", "syn_ack", 2), ("client", "client_hello", 4), ("server", FLIGHT, 6),
        ("client", "client_key_exchange change_cipher_spec encrypted_handshake", 8),
        ("server", "new_session_ticket change_cipher_spec encrypted_handshake", 9),
        ("client", "first_application_data", 10), ("server", "first_application_data", 11),
        ("server", "alert", 12), ("client", "fin", 14), ("server", "fin", 15)]
    data = twin.xpath(".//svg//g[@data-frame='11']")[0].text_content()
    assert re.search(r"Application Data \(4\.\d kB this way in all\)", data)


def test_fallback_attempt_and_retry_point_at_each_other(report: lxml_html.HtmlElement) -> None:
    failed, retry = section(report, FALLBACK, 0), section(report, FALLBACK, 1)
    assert arrows(failed)[-2:] == [("client", "fin", 8), ("server", "fin", 9)]
    assert failed.xpath(".//a[@href='#c2-1']") and retry.xpath(".//a[@href='#c2-0']")
    assert ("client", "client_hello", 14) in arrows(retry)
    assert "ClientHello up to TLS 1.0" in retry.xpath(".//svg//g[@data-frame='14']")[0].text_content()


def test_server_fatal_alert_is_red(report: lxml_html.HtmlElement) -> None:
    refused = section(report, NO_CIPHER, 0)
    assert arrows(refused) == [("client", "syn", 1), ("server", "syn_ack", 2), ("client", "client_hello", 4),
                               ("server", "alert", 6), ("server", "fin", 8), ("client", "fin", 9)]
    alert = refused.xpath(".//svg//g[@data-frame='6']")[0]
    assert "tone-fatal" in alert.get("class")
    (label,) = alert.xpath("./text[contains(@class, 'fatal')]")
    assert "".join(label.xpath("./text()")) == "Alert: fatal 40 handshake_failure"  # without its tooltip


def test_overview_inputs_chart_and_patterns(report: lxml_html.HtmlElement) -> None:
    inputs = report.xpath("//table[@id='inputs']/tbody/tr")
    assert [row.xpath("./td")[0].text_content() for row in inputs] == [str(p) for p in (SEED, TWIN, FALLBACK,
                                                                                       NO_CIPHER)]
    assert {row.xpath("./td")[1].text_content() for row in inputs} == {"ok"}
    bars = {bar.get("data-outcome"): int(bar.get("data-count")) for bar in report.xpath("//svg[@class='chart']/g")}
    assert bars == {"client_silent_close_after_certificates": 2, "server_fatal_alert": 1, "established": 2}
    table = report.xpath("//table[@id='patterns']")[0]
    assert "sortable" in table.get("class") and report.xpath("//input[@data-filter='patterns']")
    # (its example is a capture and frame, FILE:FRAME, not a connection's FILE:STREAM: the heading says which)
    assert table.xpath("./thead/tr/th")[-1].text_content() == "example (file:frame)"
    first = table.xpath("./tbody/tr")[0].text_content()
    assert "client_silent_close_after_certificates" in first and "signed with MD2, not offered" in first
    # The diagnosis on top names the seed's pattern first, and its link lands on a drawn connection
    diagnosis = report.xpath("//div[@id='diagnosis']//li")
    assert "signed with MD2, not offered" in diagnosis[0].text_content()
    target = diagnosis[0].xpath(".//a")[0].get("href")[1:]
    assert report.xpath(f"//a[@id='{target}']/following-sibling::*[1]")[0].get("id") == "c0-0"


def test_page_is_self_contained_and_its_policy_allows_only_its_own_style_and_script(
        report: lxml_html.HtmlElement) -> None:
    external = [element.get(name) for element in report.iter() if isinstance(element.tag, str)
                for name in ("src", "href") if element.get(name) and not element.get(name).startswith("#")]
    assert external == []
    policy = report.xpath("//meta[@http-equiv='Content-Security-Policy']")[0].get("content")
    assert policy.startswith("default-src 'none';")
    (script,) = report.xpath("//script")
    (style,) = report.xpath("//style")
    for element, directive in ((script, "script-src"), (style, "style-src")):
        digest = base64.b64encode(hashlib.sha256(element.text.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy
    assert not report.xpath("//*[@style]")  # an inline style attribute would be refused by the policy


@pytest.fixture(scope="module")
def diff_page(tmp_path_factory: pytest.TempPathFactory, tshark: str) -> lxml_html.HtmlElement:
    out = tmp_path_factory.mktemp("diff") / "diff.html"
    assert main(["diff", "--format", "html", "-o", str(out), str(TWIN), str(SEED)]) == 1
    return lxml_html.fromstring(out.read_bytes())


def test_diff_report_puts_the_verdict_first_and_the_ladders_side_by_side(diff_page: lxml_html.HtmlElement) -> None:
    headings = [h2.text_content() for h2 in diff_page.xpath("//h2")]
    assert headings[0].startswith("Verdict: 1 difference may explain why BAD failed")
    assert "signed with MD2, not offered" in diff_page.xpath("//div[@id='verdict']//li")[0].text_content()
    good, bad = diff_page.xpath("//div[@class='ladders']/div")
    assert (good.get("id"), bad.get("id")) == ("good", "bad")
    assert arrows(bad) == [("client", "syn", 1), ("server", "syn_ack", 2), ("client", "client_hello", 4),
                           ("server", FLIGHT, 6), ("client", "fin", 8), ("server", "fin", 9)]
    # Highlighted: what GOOD did after the flight that BAD never did, BAD's flight with its errors and its FIN
    changed_good = [row["names"] for row in rows(good) if "changed" in row["class"].split()]
    changed_bad = [row["names"] for row in rows(bad) if "changed" in row["class"].split()]
    assert "client_key_exchange change_cipher_spec encrypted_handshake" in changed_good
    assert changed_bad == [FLIGHT, "fin"]
    assert [row["names"] for row in rows(bad) if row["names"] == "syn" and "changed" not in row["class"]] == ["syn"]


def test_diff_report_marks_the_certificate_only_bad_has(diff_page: lxml_html.HtmlElement) -> None:
    cards = diff_page.xpath("//div[contains(@class, 'card')]")
    relations = [(card.get("data-index"), card.get("class").split()[-1]) for card in cards]
    assert relations == [("0", "same"), ("1", "same"), ("2", "same"),
                         ("0", "same"), ("1", "same"), ("2", "same"), ("3", "only_bad")]
    assert "md2WithRSAEncryption" in cards[-1].xpath(".//dd[@class='marked']")[0].text_content()


# -- untrusted strings: a hostile server name and event fields must stay text --------------------------------------

HOSTILE_SNI = "<script>alert(1)"  # as long as shop.example.net, so the ClientHello keeps its lengths
HOSTILE_HOST = '"><img src=x onerror=alert(2)>'


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def test_hostile_sni_and_event_fields_are_escaped(tmp_path: Path, tshark: str) -> None:
    # Given the seed with its SNI bytes rewritten in place (the ClientHello's only), and a System log whose
    # TargetName names that SNI and whose Computer is markup
    assert len(HOSTILE_SNI) == len("shop.example.net")
    capture = tmp_path / "hostile.pcapng"
    capture.write_bytes(SEED.read_bytes().replace(b"shop.example.net", HOSTILE_SNI.encode(), 1))
    log = tmp_path / "hostile.xml"
    text = EVENTS.read_text(encoding="utf-8")
    text = text.replace(">shop.example.net<", f">{_xml_text(HOSTILE_SNI)}<")
    text = text.replace("WS-0142.corp.example.net", _xml_text(HOSTILE_HOST))
    log.write_text(text, encoding="utf-8")
    out = tmp_path / "report.html"
    # When the report is written
    code = main(["summarize", "--format", "html", "-o", str(out), str(capture), "--events", str(log)])
    assert code == 0
    raw = out.read_text(encoding="utf-8")
    page = lxml_html.fromstring(raw)
    # Then the strings are there as text, the event attributed by that very SNI ...
    assert HOSTILE_SNI in page.text_content() and HOSTILE_HOST in page.text_content()
    assert [row["confidence"] for row in rows(page) if row["kind"] == "event"] == ["high"]
    # ... and none of them became markup: one script (the page's), no image, no handler attribute
    assert len(page.xpath("//script")) == 1 and "alert(" not in page.xpath("//script")[0].text
    assert page.xpath("//img") == [] and not any(name.startswith("on") for element in page.iter()
                                                 if isinstance(element.tag, str) for name in element.attrib)
    assert "<script>alert" not in raw and "<img" not in raw


def test_control_and_invisible_characters_are_shown_as_escapes(tmp_path: Path, tshark: str) -> None:
    # Given the seed with its SNI rewritten in place to hold a control character, an escape sequence and a
    # right-to-left override (which would make the name read backwards)
    hostile = "a\x01\x1b[3m\u202eten.exa"
    encoded = hostile.encode()
    assert len(encoded) == len("shop.example.net")
    capture = tmp_path / "invisible.pcapng"
    capture.write_bytes(SEED.read_bytes().replace(b"shop.example.net", encoded, 1))
    out = tmp_path / "report.html"
    # When the report is written
    assert main(["summarize", "--format", "html", "-o", str(out), str(capture)]) == 0
    raw = out.read_text(encoding="utf-8")
    # Then the page holds none of them raw, and shows the name escaped as the tables do
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f\u202e]", raw)
    assert "a\\x01\\x1b[3m\\u202eten.exa" in lxml_html.fromstring(raw).text_content()


def test_wireshark_command_is_quoted_for_the_shell(tmp_path: Path, tshark: str) -> None:
    copy = tmp_path / "seed copy.pcapng"
    shutil.copy(SEED, copy)
    code, page = summarize_html(tmp_path / "r.html", str(copy))
    assert code == 0
    command = page.xpath("//div[@class='cmd']/code")[0].text
    assert command == f"wireshark -r '{copy}' -Y \"tcp.stream == 0\""  # quoted for the shell


def test_captures_sharing_a_file_name_are_named_apart(tmp_path: Path, tshark: str) -> None:
    # Given two tickets' captures that share a file name: the seed's (failing, drawn) and the twin's (listed)
    for folder, capture in (("t1", SEED), ("t2", TWIN)):
        (tmp_path / folder).mkdir()
        shutil.copy(capture, tmp_path / folder / "input.pcapng")
    # When both are summarized in one page
    code, page = summarize_html(tmp_path / "r.html", str(tmp_path / "t1"), str(tmp_path / "t2"))
    assert code == 0
    # Then the page names each by its shortest distinct path, as the tables do, never "input.pcapng" twice
    meta = " ".join(page.xpath("//p[@class='meta']")[0].text_content().split())
    assert meta.startswith("2 inputs: t1/input.pcapng, t2/input.pcapng · tsharkpost")
    (drawn,) = page.xpath("//section[contains(@class, 'conn')]/h3")
    assert drawn.text_content().split()[0] == "t1/input.pcapng:0"
    (listed,) = page.xpath("//table[@id='connections']/tbody/tr")
    assert listed.xpath("./td")[0].text_content() == "t2/input.pcapng:0"


def test_the_inputs_table_stays_in_its_column_beside_the_chart(tmp_path: Path, tshark: str) -> None:
    # Given a capture deep in a ticket's folders, an empty file and a missing one (each with its reason)
    folder = tmp_path / "tickets" / "INC-2026-11-30-0042-payments-gateway-handshake-failures" / "captures"
    folder.mkdir(parents=True)
    shutil.copy(SEED, folder / "gateway-eu-west-1a.pcapng")
    (tmp_path / "empty.pcapng").write_bytes(b"")
    page = tmp_path / "r.html"
    code, parsed = summarize_html(page, str(folder), str(tmp_path / "empty.pcapng"), str(tmp_path / "missing.pcapng"))
    assert code == 3
    # (the title counts inputs, as the header does: an empty file or a missing one is no capture)
    assert parsed.xpath("//title")[0].text == "TLS report: 1 failed connection of 1 (3 inputs)"
    # When the page is laid out in a real browser, 1,400 pixels wide
    edges = run_probe(page, """
        var table = document.getElementById('inputs').getBoundingClientRect();
        var column = document.getElementById('inputs').parentNode.getBoundingClientRect();
        var chart = document.querySelector('svg.chart').getBoundingClientRect();
        return [table.right, column.right, chart.left].map(Math.round).join(' ');""", tmp_path)
    table_right, column_right, chart_left = (int(edge) for edge in edges.split())
    # Then the inputs table ends within its own column, never under the outcomes chart beside it
    assert table_right <= column_right < chart_left, edges


def test_a_log_that_attributes_many_large_events_to_one_connection_is_shown_within_bounds(
        tmp_path: Path, tshark: str) -> None:
    # Given the seed's System log with its Schannel 36888 repeated 400 times within the connection (each its own
    # record), the first one carrying 100 extra fields of 3,000 characters each
    from tsharkpost.render.html import EVENTS_SHOWN, EVIDENCE_SHOWN, FIELD_CHARS, FIELDS_SHOWN

    first, alert = EVENTS.read_text(encoding="utf-8").splitlines()[:2]
    copies = [alert.replace("<EventRecordID>48212<", f"<EventRecordID>{60000 + n}<")
              .replace("55.9116940Z", f"55.91{n % 10}6940Z") for n in range(400)]
    copies[0] = copies[0].replace("<Data Name='ErrorState'>", "".join(
        f"<Data Name='Extra{n}'>{'W' * 3000}</Data>" for n in range(100)) + "<Data Name='ErrorState'>")
    log = tmp_path / "noisy.xml"
    log.write_text("\n".join([first, *copies]) + "\n", encoding="utf-8")
    out = tmp_path / "r.html"
    # When the report is written, and the same as JSON
    assert main(["summarize", "--format", "html", "-o", str(out), str(SEED), "--events", str(log)]) == 0
    assert main(["summarize", "--format", "json", "-o", str(tmp_path / "r.json"), str(SEED), "--events",
                 str(log)]) == 0
    (record,) = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["connections"]
    assert len(record["events"]) == 400 and len(record["causes"][0]["evidence"]) == 402  # JSON keeps them all
    page = lxml_html.fromstring(out.read_bytes())
    seed = section(page, SEED, 0)
    # Then the ladder and the cards show EVENTS_SHOWN of them, and the page says how many it left out
    assert len([row for row in rows(seed) if row["kind"] == "event"]) == EVENTS_SHOWN
    assert len(seed.xpath(".//ul[@class='events']/li")) == EVENTS_SHOWN
    said = " ".join(seed.xpath(".//p[@class='left-out']")[0].text_content().split())
    assert said.startswith(f"400 events are attributed to it: the {EVENTS_SHOWN} most confident are drawn")
    assert f"the other {400 - EVENTS_SHOWN} are left out of the page" in said
    # ... the top cause EVIDENCE_SHOWN lines of its evidence, the capture's own (last) among them, and a count
    evidence = [" ".join(li.text_content().split()) for li in seed.xpath(".//ol[@class='causes']/li[1]/ul/li")]
    assert len(evidence) == EVIDENCE_SHOWN + 2  # the left-out line and the plugin's checks
    assert f"{402 - EVIDENCE_SHOWN} more lines of evidence left out of the page here" in evidence[EVIDENCE_SHOWN // 2]
    assert evidence[-3].startswith("client hung up 2 ms after the chain in frame 6")
    # ... and of the large event (the earliest: shown) its first fields, each cut and marked
    fields = seed.xpath(".//div[@class='fields']")[0].text_content()
    assert f"Extra0={'W' * FIELD_CHARS}... [3,000 characters]" in fields
    assert fields.endswith(f"and {103 - FIELDS_SHOWN} more fields")
    assert out.stat().st_size < 300_000


def test_a_file_name_with_a_line_break_is_shown_escaped_and_its_command_names_it(tmp_path: Path, tshark: str) -> None:
    # Given the seed under a name holding a line break and a right-to-left override
    copy = tmp_path / "a\nb\u202e.pcapng"
    shutil.copy(SEED, copy)
    out = tmp_path / "r.html"
    # When the report is written
    assert main(["summarize", "--format", "html", "-o", str(out), str(copy)]) == 0
    page = lxml_html.fromstring(out.read_bytes())
    # Then the name reads escaped everywhere, as the tables show it, never as "a b" (another file's name)
    assert page.xpath("//section[contains(@class, 'conn')]/h3")[0].text_content().startswith(
        "a\\nb\\u202e.pcapng:0 ")
    assert "1 input: a\\nb\\u202e.pcapng · " in page.xpath("//p[@class='meta']")[0].text_content()
    assert page.xpath("//table[@id='inputs']/tbody/tr/td")[0].text_content() == str(copy).replace(
        "\n", "\\n").replace("\u202e", "\\u202e")
    assert "\n" not in "".join(page.xpath("//h3//text() | //p[@class='meta']//text() | //div[@class='cmd']//text()"))
    # And its Wireshark command, escaped too, names that very file in a shell
    command = page.xpath("//div[@class='cmd']/code")[0].text
    word = command.removeprefix("wireshark -r ").removesuffix(' -Y "tcp.stream == 0"')
    assert word.startswith("$'") and "\\x0a" in word
    assert subprocess.run(["bash", "-c", f"test -f {word}"], check=False).returncode == 0


CONTROLS_PROBE = """
    var shown = function (element) { return getComputedStyle(element).display !== 'none'; };
    var heading = document.querySelector('#patterns th[data-sort]');
    return [shown(document.querySelector('.filter')), shown(document.querySelector('button.copy')),
            getComputedStyle(heading, '::after').content !== 'none'].join(' ');"""


def test_controls_show_only_where_the_script_works_them(tmp_path: Path, tshark: str) -> None:
    # Given the seed's report
    page = tmp_path / "r.html"
    assert summarize_html(page, str(SEED))[0] == 0
    # When it is opened with JavaScript, then without (its script dropped, as a reader who turned it off)
    with_script = run_probe(page, CONTROLS_PROBE, tmp_path)
    without = run_probe(page, CONTROLS_PROBE, tmp_path, page_script=False)
    # Then the filter box, the copy buttons and the sort arrows show with it, and none of them without it,
    # where typing, clicking or sorting would do nothing; everything else reads the same
    assert with_script == "true true true"
    assert without == "false false false"


def test_the_header_names_a_few_inputs_and_counts_the_others(tmp_path: Path, tshark: str) -> None:
    # Given a folder of 40 empty captures (each an input with its error) and the seed
    folder = tmp_path / "batch"
    folder.mkdir()
    for number in range(40):
        (folder / f"capture-{number:02}.pcapng").write_bytes(b"")
    shutil.copy(SEED, folder / "seed.pcapng")
    # When they are summarized in one page
    code, page = summarize_html(tmp_path / "r.html", str(folder))
    assert code == 3
    # Then the header names the first HEADER_INPUTS and counts the rest, so the diagnosis stays near the top; the
    # inputs table lists every one
    from tsharkpost.render.summary_html import HEADER_INPUTS

    meta = " ".join(page.xpath("//p[@class='meta']")[0].text_content().split())
    named = ", ".join(f"capture-{number:02}.pcapng" for number in range(HEADER_INPUTS))
    assert meta.startswith(f"41 inputs: {named} and {41 - HEADER_INPUTS} more (Inputs) · tsharkpost ")
    assert len(page.xpath("//table[@id='inputs']/tbody/tr")) == 41


def test_an_event_logs_problems_and_reasons_read_as_one_list(tmp_path: Path, tshark: str) -> None:
    # Given a JSON-lines log whose two records are no events (two problems, the log damaged), and a missing log
    damaged = tmp_path / "log.jsonl"
    damaged.write_text('{"a": 1}\n{"b": 2}\n', encoding="utf-8")
    out = tmp_path / "r.html"
    # When the seed is summarized with them
    assert main(["summarize", "--format", "html", "-o", str(out), str(SEED), "--events", str(damaged),
                 str(tmp_path / "missing.xml")]) == 3  # a log that cannot be read is an input error
    logs = lxml_html.fromstring(out.read_bytes()).xpath("//table[@id='event-logs']/tbody/tr")
    # Then each log's note lists its problems separated, with nothing trailing, and its badge says its status
    notes = [row.xpath("./td")[-1].text_content() for row in logs]
    assert notes == ["log.jsonl#1: a JSON record without Event.System; log.jsonl#2: a JSON record without "
                     "Event.System", "no such file"]
    assert [row.xpath(".//span")[0].get("class") for row in logs] == ["badge warning", "badge error"]


def test_diff_says_a_chain_sent_but_not_decoded_is_not_decoded(tmp_path: Path, tshark: str) -> None:
    # Given BAD's chain over the plugin's reassembly bound: sent, but not decoded (chain_undecoded)
    bad = DATA / "wild" / "huge-certificate-chain.pcapng"
    out = tmp_path / "diff.html"
    # When it is compared with the twin
    code = main(["diff", "--format", "html", "-o", str(out), "--plugin-pref", "tpost.max_handshake_kib:100",
                 str(TWIN), str(bad)])
    assert code in (0, 1)
    page = lxml_html.fromstring(out.read_bytes())
    (heading,) = [h3 for h3 in page.xpath("//h3") if h3.text_content().startswith("BAD: ")]
    said = " ".join(heading.getnext().text_content().split())
    # Then the page says BAD's chain was not decoded, as summarize's page does, never that no certificate was seen
    assert said.startswith("Not decoded: the server's handshake in the clear held a message")
    assert "No certificate seen" not in page.text_content()


def test_diff_report_fits_the_width_of_its_page(tmp_path: Path, tshark: str) -> None:
    # Given the diff of the twin and the seed
    out = tmp_path / "diff.html"
    assert main(["diff", "--format", "html", "-o", str(out), str(TWIN), str(SEED)]) == 1
    # When it is laid out in a real browser, 1,400 pixels wide
    wider = run_probe(out, """
        var right = document.querySelector('h2:not(.verdict h2)').getBoundingClientRect().right + 1, wider = [];
        document.querySelectorAll('table, .ladders, .cmd, .chain').forEach(function (element) {
            if (element.getBoundingClientRect().right > right) wider.push(element.tagName + '.' + element.className);
        });
        return wider.join(' ');""", tmp_path)
    # Then no table, ladder or command runs past the page's column (the compared sections' tables did, by 14 px)
    assert wider == ""


@pytest.mark.parametrize("capture", ["dtls-reconnect-same-port.pcapng", "quic-reconnect-same-port.pcapng"])
def test_two_connections_of_one_stream_have_an_id_each(tmp_path: Path, tshark: str, capture: str) -> None:
    # Given a client that failed, then connected again from its port (one udp.stream, two records)
    code, page = summarize_html(tmp_path / "r.html", "--connections", str(CAPTURES / capture))
    assert code in (0, 1)
    # Then each connection on the page has an id of its own (a link to the second used to open the first), and the
    # first keeps the stream's id, which fallback and retry links point at
    ids = [element.get("id") for element in page.xpath("//*[@id]") if element.get("id").startswith("c0-")]
    assert len(ids) == 2 and len(set(ids)) == 2
    transport = "udp-dtls" if capture.startswith("dtls") else "quic"
    assert ids[0] == f"c0-{transport}-0" and re.fullmatch(f"c0-{transport}-0-f[0-9]+", ids[1])
