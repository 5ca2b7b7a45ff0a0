"""Every bundled capture shows, in plain tshark fields, exactly what captures/expected.json says.

The same checks run on a fresh rebuild by captures/generate.py, so the
generator, the captures and their ground truth cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CAPTURES, capture_generators_alone, require_capture_tools
from tshark_oracle import alert_names, read_connections, read_weak_certificates

EXPECTED = json.loads((CAPTURES / "expected.json").read_text())
CAPTURE_NAMES = sorted(EXPECTED["captures"])
SEED = "md2-root-silent-fin.pcapng"
MD2_WITH_RSA = "1.2.840.113549.1.1.2"


@pytest.fixture(scope="session")
def names(tshark: str) -> dict[int, str]:
    return alert_names(tshark)


@pytest.fixture(scope="session")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh run of the generator (root and dumpcap needed, as the generator says)."""
    require_capture_tools("the generator")
    out = tmp_path_factory.mktemp("regenerated")
    with capture_generators_alone():
        started = time.monotonic()
        subprocess.run([sys.executable, str(CAPTURES / "generate.py"), "--out", str(out)], check=True,
                       capture_output=True, text=True)
        elapsed = time.monotonic() - started
    assert elapsed < 120, f"the generator took {elapsed:.0f} s; the issue allows two minutes"
    return out


def check_against_expected(tshark: str, folder: Path, name: str, names: dict[int, str]) -> None:
    expected = json.loads((folder / "expected.json").read_text())["captures"][name]["connections"]
    observed = read_connections(tshark, folder / name, names)
    read_weak_certificates(tshark, folder / name, observed)
    # Then: one observed connection per expected one, matched by the pinned client port
    by_port = {conn.client_port: conn for conn in observed.values()}
    assert sorted(by_port) == sorted(c["client_port"] for c in expected)
    for want in expected:
        got = by_port[want["client_port"]]
        label = f"{name} client port {want['client_port']}"
        assert (got.client, got.server, got.server_port) == (want["client"], want["server"], want["server_port"]), label
        assert got.sni == want["sni"], label
        assert got.version == want["version"], label
        assert got.established == want["established"], label
        assert got.first_fatal_alert == want["first_fatal_alert"], label
        assert got.teardown == want["teardown"], label
        assert got.weak_certificates == want["weak_certificates"], label


@pytest.mark.parametrize("name", CAPTURE_NAMES)
def test_bundled_capture_matches_expected(tshark: str, names: dict[int, str], name: str) -> None:
    check_against_expected(tshark, CAPTURES, name, names)


@pytest.mark.parametrize("name", CAPTURE_NAMES)
def test_regenerated_capture_matches_expected(tshark: str, names: dict[int, str], regenerated: Path,
                                              name: str) -> None:
    check_against_expected(tshark, regenerated, name, names)


def test_regenerated_files_are_the_bundled_set(regenerated: Path) -> None:
    # The DTLS and QUIC captures are captures/dtls.py's and captures/quic.py's, with ground truth files of their
    # own (test_udp_captures.py rebuilds them)
    udp = {"expected-dtls.json", "expected-quic.json"} | {
        name for ground_truth in ("expected-dtls.json", "expected-quic.json")
        for name in json.loads((CAPTURES / ground_truth).read_text())["captures"]}
    assert sorted(p.name for p in regenerated.iterdir()) == sorted(
        p.name for p in CAPTURES.iterdir()
        if p.is_file() and p.suffix in {".pcapng", ".xml", ".csv", ".json"} and p.name not in udp)


def test_captures_are_small(captures_dir: Path) -> None:
    for capture in captures_dir.glob("*.pcapng"):
        limit = 400_000 if capture.name.startswith("batch") else 100_000
        assert capture.stat().st_size < limit, capture.name


def test_batch_has_forty_connections_of_mixed_outcomes() -> None:
    connections = EXPECTED["captures"]["batch-mixed.pcapng"]["connections"]
    assert len(connections) >= 40
    outcomes = {(c["established"], (c["first_fatal_alert"] or {}).get("code"), c["teardown"]["kind"])
                for c in connections}
    assert len(outcomes) >= 5


def test_seed_shows_md2_certificate_no_alert_and_client_fin_after_server_hello_done(tshark: str) -> None:
    # Given the seed capture, read with tshark alone (no plugin)
    def frames(display_filter: str) -> list[str]:
        out = subprocess.run([tshark, "-n", "-r", str(CAPTURES / SEED), "-Y", display_filter, "-T", "fields",
                              "-e", "frame.number"], capture_output=True, text=True, check=True).stdout
        return out.split()

    # Then the server's flight carries an MD2-signed certificate and ends with ServerHelloDone
    flight = frames(f"x509af.algorithm.id == {MD2_WITH_RSA} && tls.handshake.type == 14")
    assert len(flight) == 1
    # And there is no Alert record at all
    assert frames("tls.record.content_type == 21") == []
    # And the first FIN comes from the client, right after the flight (only its ACK between)
    fins = frames("tcp.flags.fin == 1")
    client_fin = frames("tcp.flags.fin == 1 && tcp.srcport != 443")
    assert fins[0] == client_fin[0]
    between = frames(f"frame.number > {flight[0]} && frame.number < {fins[0]} && tcp.len > 0")
    assert between == []


def test_seed_schannel_event_falls_between_server_flight_and_client_fin(tshark: str) -> None:
    # Given the frame times of the seed capture
    def epoch(display_filter: str) -> dt.datetime:
        out = subprocess.run([tshark, "-n", "-r", str(CAPTURES / SEED), "-Y", display_filter, "-T", "fields",
                              "-e", "frame.time_epoch"], capture_output=True, text=True, check=True).stdout
        return dt.datetime.fromtimestamp(float(out.split()[0]), dt.timezone.utc)

    flight, fin = epoch("tls.handshake.type == 14"), epoch("tcp.flags.fin == 1")
    xml = (CAPTURES / "md2-root-silent-fin.schannel.xml").read_text()
    # Then the 36888 event says alert 43, error state 252, and was logged between the two frames
    event = re.search(r"<Event [^\n]*<EventID>36888</EventID>[^\n]*</Event>", xml).group(0)
    assert "<Provider Name='Schannel' Guid='{1F678132-5938-4686-9FDC-C8FF68F15C85}'/>" in event
    assert "<Data Name='AlertDesc'>43</Data><Data Name='ErrorState'>252</Data>" in event
    stamp = re.search(r"SystemTime='(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{7})Z'", event)
    logged = dt.datetime.fromisoformat(stamp.group(1)).replace(
        tzinfo=dt.timezone.utc, microsecond=int(stamp.group(2)[:6]))
    assert flight < logged < fin
