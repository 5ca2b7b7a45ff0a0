"""Mutual TLS on a capture made by real stacks (tests/data/wild/mutual-tls.pcapng, captures/wild.py): openssl
s_server asking for a client certificate; a device presents a valid leaf and its issuing CA, then a device whose
leaf expired the day before, refused by the server with alert 45.

Expected values come from plain tshark (tests/tshark_oracle.py): the certificates' bytes, subjects and validity,
the frames' times and the alerts, never from tsharkpost.
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import subprocess
import time
from pathlib import Path

import pytest
from conftest import DATA
from lxml import html as lxml_html
from plugin_support import plugin_output
from summarize_support import summarize_json
from tshark_oracle import read_sent_chains

from tsharkpost.cli import main

MTLS = DATA / "wild" / "mutual-tls.pcapng"
SERVER_PORT = 8883


def plain(tshark: str, display_filter: str, *fields: str) -> list[list[str]]:
    argv = [tshark, "-n", "-r", str(MTLS), "-Y", display_filter, "-T", "fields",
            *(arg for name in fields for arg in ("-e", name))]
    return [line.split("\t") for line in subprocess.run(argv, capture_output=True, text=True,
                                                         check=True).stdout.splitlines()]


def epoch(shown: str) -> int:
    """tshark's "2026-11-29 03:43:36 (UTC)" of a UTCTime as epoch seconds."""
    return calendar.timegm(time.strptime(shown.split(" (")[0], "%Y-%m-%d %H:%M:%S"))


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory, tshark: str) -> dict[int, dict]:
    code, document = summarize_json(tmp_path_factory.mktemp("mtls"), str(MTLS))
    assert code == 0
    return {conn["stream"]: conn for conn in document["connections"]}


@pytest.fixture(scope="module")
def client_sent(tshark: str) -> dict[int, tuple[int, tuple[bytes, ...], tuple[str, ...]]]:
    """Stream -> frame, DERs and subject CNs of the client's Certificate message, as plain tshark reads them."""
    return {chain.stream: (chain.frame, chain.ders, chain.subject_cns)
            for chain in read_sent_chains(tshark, MTLS) if chain.source_port != SERVER_PORT}


def test_client_chains_are_recorded_with_the_server_chains(records: dict[int, dict], client_sent: dict,
                                                           tshark: str) -> None:
    # Given two connections whose clients sent a Certificate message (plain tshark: two certificates each)
    assert sorted(client_sent) == sorted(records) == [0, 1]
    server_sent = {chain.stream: chain for chain in read_sent_chains(tshark, MTLS)
                   if chain.source_port == SERVER_PORT}
    for stream, record in records.items():
        frame, ders, cns = client_sent[stream]
        assert len(ders) == 2
        # Then the record holds the client's chain as sent, with the same facts as the server's chain
        got = record["client_certificates"]
        assert [cert["sha256"] for cert in got] == [hashlib.sha256(der).hexdigest() for der in ders]
        assert [cert["sha1"] for cert in got] == [hashlib.sha1(der).hexdigest() for der in ders]
        assert [cert["subject_cn"] for cert in got] == list(cns)
        assert [(cert["index"], cert["sender"], cert["frame"]) for cert in got] == [(0, "client", frame),
                                                                                     (1, "client", frame)]
        assert got[1]["ca"] is True and got[0]["ca"] is False
        assert record["zeek"]["client_cert_chain_fps"] == [hashlib.sha256(der).hexdigest() for der in ders]
        # and the server's chain stays the server's
        assert [cert["sha256"] for cert in record["certificates"]] == [
            hashlib.sha256(der).hexdigest() for der in server_sent[stream].ders]
        assert all(cert["sender"] == "server" for cert in record["certificates"])


def test_the_expired_client_leaf_explains_the_servers_alert(records: dict[int, dict], client_sent: dict,
                                                            tshark: str) -> None:
    # Given plain tshark: the second client's leaf expired before the frame that carried it, and the server answered
    # with fatal alert 45; the first client's certificates were valid and application data flowed both ways
    frame, _, cns = client_sent[1]
    ((when, times),) = plain(tshark, f"frame.number == {frame}", "frame.time_epoch", "x509af.utcTime")
    leaf_not_after = epoch(times.split(",")[1])
    assert leaf_not_after < float(when)
    (alert,) = plain(tshark, "tls.alert_message.desc", "tcp.stream", "tcp.srcport", "tls.alert_message.desc")
    assert alert == ["1", str(SERVER_PORT), "45"]
    good, refused = records[0], records[1]
    # Then the valid chain has no finding and its connection is established
    assert good["outcome"] == "established" and good["causes"] == []
    assert [cert["findings"] for cert in good["client_certificates"]] == [[], []]
    # and the expired one carries the plugin's error, worded as the client's certificate, which is the cause
    (finding,) = refused["client_certificates"][0]["findings"]
    assert (finding["check"], finding["severity"], finding["frame"], finding["cert_index"]) == (
        "expired_certificate", 3, frame, 0)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(leaf_not_after))
    assert finding["message"].startswith(f"client leaf certificate #0 ({cns[0]}) is not valid at capture time")
    assert finding["message"].endswith(f" to {stamp}): it has expired")
    assert refused["outcome"] == "server_fatal_alert"
    top = refused["causes"][0]
    assert (top["kind"], top["summary"], top["checks"]) == ("expired_certificate", finding["message"],
                                                            ["expired_certificate"])
    assert top["evidence"][0].startswith("server sent fatal alert 45 certificate_expired")
    assert refused["client_certificates"][1]["findings"] == []


def test_plugin_names_the_client_chain_in_wireshark(tshark: str, plugin: Path, client_sent: dict) -> None:
    # When the plugin reads the capture, then the only certificate finding is on the client's expired leaf, its
    # phrase says whose certificate it is, and the server's alert points at the client's chain, not the server's
    out = plugin_output(tshark, plugin, MTLS)
    frame = client_sent[1][0]
    assert [(f.frame, f.check, f.severity, f.cert_index) for f in out.findings] == [
        (frame, "expired_certificate", 3, 0), (frame + 1, "fatal_alert", 3, None)]
    (diagnosis,) = plain_diagnosis(tshark, plugin, frame)
    assert diagnosis.startswith("client cert #0 expired ")
    assert out.findings[1].related_frame == frame
    sent = [(c.frame, c.values["index"], c.values.get("subject_cn")) for c in out.certs
            if c.values["sender"] == "client"]
    assert sent == [(client_sent[stream][0], str(index), client_sent[stream][2][index])
                    for stream in (0, 1) for index in (0, 1)]
    assert [c.data for c in out.certs if c.values["sender"] == "client"] == [
        client_sent[stream][1][index].hex() for stream in (0, 1) for index in (0, 1)]


def plain_diagnosis(tshark: str, plugin: Path, frame: int) -> list[str]:
    argv = [tshark, "-n", "-X", f"lua_script:{plugin}", "-r", str(MTLS), "-Y", f"frame.number == {frame}",
            "-T", "fields", "-e", "tpost.diagnosis"]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()


def test_every_output_format_shows_the_client_chain(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    client_sent: dict) -> None:
    alice, bob = client_sent[0][2][0], client_sent[1][2][0]
    # table --connections: a column with the client's leaf and how many more it sent
    assert main(["summarize", "--connections", str(MTLS)]) == 0
    table = capsys.readouterr().out
    assert "client cert" in table and f"{alice} (+1)" in table and f"{bob} (+1)" in table
    # csv: the client's chain as the server's
    assert main(["summarize", "--format", "csv", "-o", str(tmp_path / "s.csv"), str(MTLS)]) == 0
    rows = {int(row["stream"]): row for row in csv.DictReader(io.StringIO((tmp_path / "s.csv").read_text()))}
    assert rows[0]["client_chain"].startswith(f"#0 CN={alice} (sha256WithRSAEncryption, rsa 2048) | #1 ")
    assert "#0 CN=" in rows[1]["client_chain"] and rows[0]["chain"].startswith("#0 CN=mqtt.example.test")
    # jsonl: the records carry it (json is checked above)
    assert main(["summarize", "--format", "jsonl", "-o", str(tmp_path / "s.jsonl"), str(MTLS)]) == 0
    assert (tmp_path / "s.jsonl").read_text().count('"client_certificates": [{') == 2
    # html: a chain of cards of its own, the expired leaf's validity marked
    assert main(["summarize", "--format", "html", "--connections", "-o", str(tmp_path / "r.html"), str(MTLS)]) == 0
    page = lxml_html.fromstring((tmp_path / "r.html").read_bytes())
    chains = page.xpath('//div[@class="client-chain"]')
    assert len(chains) == 2
    refused = next(chain for chain in chains if bob in chain.text_content())
    leaf = refused.xpath('.//div[@data-index="0"]')[0]
    assert leaf.get("data-tone") == "error" and leaf.xpath('.//dd[@class="marked"]')
    assert "not valid at capture time" in leaf.text_content()


def test_a_hostile_client_certificate_name_is_escaped_everywhere(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # Given the capture with the first client's name (subject CN and SAN, 26 bytes) rewritten in place to a formula,
    # markup and a terminal escape (same length: the TLS and DER lengths stay valid)
    hostile = '=HYPERLINK("a")<i>x</i>\x1b[7'
    name = b"alice.devices.example.test"
    assert len(hostile.encode()) == len(name)
    capture = tmp_path / "hostile-client-cert.pcapng"
    capture.write_bytes(MTLS.read_bytes().replace(name, hostile.encode()))
    # When it is summarized as a table, CSV and HTML
    assert main(["summarize", "--connections", str(capture)]) == 0
    table = capsys.readouterr().out
    # (the plugin already shows the escape byte as text, \1b, as it does every control character of a name)
    assert "\x1b" not in table and '=HYPERLINK("a")<i>x</i>\\1b[7 (+1)' in table
    assert main(["summarize", "--format", "csv", "-o", str(tmp_path / "s.csv"), str(capture)]) == 0
    rows = {int(row["stream"]): row for row in csv.DictReader(io.StringIO((tmp_path / "s.csv").read_text()))}
    assert rows[0]["client_chain"].startswith("#0 CN=\\=HYPERLINK")     # RFC 4514 escaped, and no formula
    assert main(["summarize", "--format", "html", "--connections", "-o", str(tmp_path / "r.html"), str(capture)]) == 0
    page = lxml_html.fromstring((tmp_path / "r.html").read_bytes())
    (chain,) = [chain for chain in page.xpath('//div[@class="client-chain"]') if "HYPERLINK" in chain.text_content()]
    assert chain.xpath(".//i") == [] and '<i>x</i>' in chain.text_content()
