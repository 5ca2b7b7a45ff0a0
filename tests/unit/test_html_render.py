"""The HTML renderers without tshark: records from the committed seed fragment (tshark's fields), changed in code.

A hostile certificate proves the escaping; copies of the seed connection prove the caps of a large batch; the
ladder's axis is checked on records built here.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

from browser_support import run_probe
from fragment_support import seed_record
from lxml import html as lxml_html

from tsharkpost.capture.result import InputResult, InputStatus
from tsharkpost.diff import compare
from tsharkpost.diff.model import Comparison
from tsharkpost.diff.verdict import verdict
from tsharkpost.record.jsonform import to_json
from tsharkpost.record.model import ConnectionRecord, Milestone, Outcome, Side
from tsharkpost.render import ladder
from tsharkpost.render.diff_html import write_diff_html
from tsharkpost.render.summary_html import DRAWN_PER_PATTERN, write_html
from tsharkpost.summary import Summary


def _summary(tmp_path: Path, records: list[ConnectionRecord]) -> Summary:
    """A summary of one input holding these records, as summarize would have written them."""
    records_file = tmp_path / "records.jsonl"
    records_file.write_text("".join(json.dumps(to_json(record)) + "\n" for record in records))
    result = InputResult(records[0].capture, InputStatus.OK, records_file=str(records_file))
    for record in records:
        result.totals.add(record)
        result.patterns.add(record)
    return Summary("test", "/usr/bin/tshark", "4.0.17", [result], result.patterns.rows())


def _page(write: object) -> tuple[str, lxml_html.HtmlElement]:
    out = io.StringIO()
    write(out)  # type: ignore[operator]
    return out.getvalue(), lxml_html.fromstring(out.getvalue())


HOSTILE = '</text></svg><script>alert("subject")</script><img src=x onerror=alert(1)>'


def _hostile_seed() -> ConnectionRecord:
    seed = seed_record()
    root = dataclasses.replace(seed.certificates[3], subject=HOSTILE, issuer=HOSTILE, san=(HOSTILE,),
                               sigalg_name=HOSTILE, serial=HOSTILE)
    hello = dataclasses.replace(seed.client_hello, server_name=HOSTILE) if seed.client_hello else None
    milestones = tuple(dataclasses.replace(m, detail=HOSTILE) if m.name == "client_hello" else m
                       for m in seed.milestones)
    return dataclasses.replace(seed, certificates=(*seed.certificates[:3], root), client_hello=hello,
                               milestones=milestones, messages=milestones, capture=f"x{HOSTILE}.pcapng")


def _assert_inert(raw: str, page: lxml_html.HtmlElement) -> None:
    assert HOSTILE in page.text_content()
    assert len(page.xpath("//script")) == 1 and page.xpath("//img") == []
    assert not any(name.startswith("on") for element in page.iter() if isinstance(element.tag, str)
                   for name in element.attrib)
    assert "<script>alert" not in raw and "<img" not in raw


def test_a_hostile_certificate_subject_stays_text_in_the_summary(tmp_path: Path) -> None:
    raw, page = _page(lambda out: write_html(_summary(tmp_path, [_hostile_seed()]), out))
    _assert_inert(raw, page)
    # The subject is on the root's card, the server name on the ClientHello's arrow
    assert page.xpath("//div[@data-index='3']//div[@class='subject']")[0].text_content() == HOSTILE
    hello = page.xpath("//svg//g[@data-names='client_hello']")[0].text_content()
    assert HOSTILE[:20] in hello


def test_a_hostile_certificate_subject_stays_text_in_the_diff(tmp_path: Path) -> None:
    good, bad = seed_record(), _hostile_seed()
    sections = compare.sections(good, bad)
    comparison = Comparison("good.pcapng", "bad.pcapng", good, bad, sections, verdict(good, bad, sections))
    raw, page = _page(lambda out: write_diff_html(comparison, out, "test", "/usr/bin/tshark", "4.0.17"))
    _assert_inert(raw, page)


def test_a_large_batch_draws_a_few_of_each_pattern_and_lists_the_rest(tmp_path: Path) -> None:
    # Given 30 connections that failed alike, and one that did not
    seed = seed_record()
    twin = dataclasses.replace(seed, stream=99, causes=(), outcome=Outcome.ESTABLISHED, established=True)
    records = [dataclasses.replace(seed, stream=stream) for stream in range(30)] + [twin]
    raw, page = _page(lambda out: write_html(_summary(tmp_path, records), out))
    # Then DRAWN_PER_PATTERN of the pattern are drawn, the others listed in one line each with their command
    drawn = page.xpath("//section[contains(@class, 'conn')]")
    assert len(drawn) == DRAWN_PER_PATTERN
    listed = page.xpath("//table[@id='connections']/tbody/tr")
    assert [row.get("id") for row in listed] == [f"c0-{stream}" for stream in range(DRAWN_PER_PATTERN, 30)] + [
        "c0-99"]
    assert all(row.xpath(".//code")[0].text.startswith("wireshark -r ") for row in listed)
    # And the page says what it left out
    assert "20 of 30 are drawn" in " ".join(page.xpath("//span[@class='left-out']")[0].text_content().split())
    # Each pattern's first connection carries the pattern's anchor once
    assert len(page.xpath("//a[@id='pattern-1']")) == 1 and len(page.xpath("//a[@id='pattern-2']")) == 1


def test_sorting_by_a_count_sorts_by_its_number_past_a_thousand(tmp_path: Path) -> None:
    # Given one failure pattern of 1,001 connections (shown "1,001") and one of 2
    seed = seed_record()
    hello = dataclasses.replace(seed.client_hello, server_name="other.example.net") if seed.client_hello else None
    records = [dataclasses.replace(seed, stream=stream) for stream in range(1001)] + [
        dataclasses.replace(seed, stream=stream, client_hello=hello)
        for stream in (2000, 2001)]
    page = tmp_path / "report.html"
    with page.open("w", encoding="utf-8") as out:
        write_html(_summary(tmp_path, records), out)
    table = lxml_html.fromstring(page.read_bytes()).xpath("//table[@id='patterns']")[0]
    assert [row.xpath("./td")[4].text_content() for row in table.xpath("./tbody/tr")] == ["1,001", "2"]
    # When the reader clicks the conns heading (ascending), then again (descending), in a real browser
    order = run_probe(page, """
        var th = document.querySelector('#patterns th:nth-child(5)'), seen = [];
        var counts = function () { return Array.from(document.querySelectorAll('#patterns tbody tr'))
            .map(function (row) { return row.cells[4].textContent; }).join(' '); };
        th.click(); seen.push(counts()); th.click(); seen.push(counts());
        return seen.join('|');""", tmp_path)
    # Then the counts are sorted as numbers, not by their text up to the first comma (1,001 is not 1)
    assert order == "2 1,001|1,001 2"


def test_a_very_long_server_name_wraps_instead_of_widening_the_page(tmp_path: Path) -> None:
    # Given a failure to a 255-character server name (four 60-character labels: a valid DNS name, one long word)
    seed = seed_record()
    name = ("a" * 60 + ".") * 4 + "example.net"
    hello = dataclasses.replace(seed.client_hello, server_name=name) if seed.client_hello else None
    page = tmp_path / "report.html"
    with page.open("w", encoding="utf-8") as out:
        write_html(_summary(tmp_path, [dataclasses.replace(seed, client_hello=hello)]), out)
    # When the page is laid out in a real browser, 1,400 pixels wide
    wider = run_probe(page, """
        var right = document.getElementById('failing').getBoundingClientRect().right + 1, wider = [];
        document.querySelectorAll('#diagnosis, #diagnosis li, #patterns, section.conn, section.conn p').forEach(
            function (element) { if (element.getBoundingClientRect().right > right) wider.push(element.tagName); });
        if (document.documentElement.scrollWidth > document.documentElement.clientWidth) wider.push('page');
        return wider.join(' ');""", tmp_path)
    # Then the name wraps where it is shown (the diagnosis, the patterns, the connection), and nothing is wider
    # than the page: no sideways scrolling to read a report
    assert wider == ""


def _record_at(times: list[float]) -> ConnectionRecord:
    seed = seed_record()
    sides = [Side.CLIENT, Side.SERVER]
    milestones = tuple(Milestone("syn" if n == 0 else "fin", sides[n % 2], n + 1, time)
                       for n, time in enumerate(times))
    return dataclasses.replace(seed, milestones=milestones, messages=(), findings=(), teardown=None)


def test_the_axis_is_linear_when_it_fits_and_log_scaled_when_not() -> None:
    # Evenly spaced packets: a linear axis, equal gaps
    even = ladder.build(_record_at([0.0, 0.1, 0.2, 0.3]))
    gaps = [b.y - a.y for a, b in zip(even.rows, even.rows[1:])]
    assert even.scale == "linear" and max(gaps) - min(gaps) < 0.2 and not any(r.shortened for r in even.rows)
    # Microseconds, then a 20-second wait: log-scaled, the long gap marked, still in time order
    uneven = ladder.build(_record_at([0.0, 0.00002, 0.00004, 20.0]))
    ys = [row.y for row in uneven.rows]
    assert uneven.scale == "log" and ys == sorted(ys) and ys[3] - ys[2] < 400
    assert [row.shortened for row in uneven.rows] == [False, False, False, True]
    assert ladder.elapsed_text(uneven.rows[3].elapsed) == "20.00 s"
