"""Every bundled DTLS and QUIC capture shows, in plain tshark fields, exactly what its generator's expected file says
(captures/expected-dtls.json by captures/dtls.py, captures/expected-quic.json by captures/quic.py).

The same checks run on a fresh rebuild by both generators, as test_captures.py does for the TCP ones, so the
generators, the captures and their ground truth cannot drift apart. The QUIC generator needs aioquic: the
`generate` extra, which scripts/setup installs (TSHARKPOST_GENERATOR_PYTHON names another interpreter that has it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import CAPTURES, capture_generators_alone, require_capture_tools
from tshark_oracle import alert_names
from udp_oracle import read_dtls, read_quic

GENERATORS = {"dtls": "expected-dtls.json", "quic": "expected-quic.json"}
EXPECTED = {kind: json.loads((CAPTURES / name).read_text()) for kind, name in GENERATORS.items()}
CAPTURE_NAMES = sorted((kind, name) for kind, document in EXPECTED.items() for name in document["captures"])


def generator_python() -> str:
    """The interpreter the generators run under: this one (CI's venv has the generate extra) unless told."""
    return os.environ.get("TSHARKPOST_GENERATOR_PYTHON", sys.executable)


@pytest.fixture(scope="session")
def names(tshark: str) -> dict[int, str]:
    return alert_names(tshark, "dtls")


@pytest.fixture(scope="session")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh run of both UDP generators into one folder (root, dumpcap, openssl and aioquic needed)."""
    require_capture_tools("the generators")
    python = generator_python()
    found = subprocess.run([python, "-c", "import aioquic"], capture_output=True, text=True)
    if found.returncode != 0:
        pytest.fail(f"captures/quic.py needs aioquic in {python}: install the generate extra (scripts/setup does), "
                    "or name an interpreter that has it in TSHARKPOST_GENERATOR_PYTHON")
    out = tmp_path_factory.mktemp("regenerated-udp")
    with capture_generators_alone():
        started = time.monotonic()
        for generator in ("dtls.py", "quic.py"):
            subprocess.run([python, str(CAPTURES / generator), "--out", str(out)], check=True, capture_output=True,
                           text=True)
        elapsed = time.monotonic() - started
    assert elapsed < 120, f"the UDP generators took {elapsed:.0f} s; two minutes at most"
    return out


def check_against_expected(tshark: str, folder: Path, kind: str, name: str, names: dict[int, str]) -> None:
    expected = json.loads((folder / GENERATORS[kind]).read_text())["captures"][name]["connections"]
    keys = (folder / name).with_suffix(".keys")
    if kind == "dtls":
        observed = read_dtls(tshark, folder / name, names)
    else:
        observed = read_quic(tshark, folder / name, keys if keys.exists() else None)
    # Then: one observed connection per expected one, matched by the pinned client port (several from one port:
    # in the order they started)
    by_port: dict[int, list[Any]] = {}
    for conn in observed.values():
        by_port.setdefault(conn.client_port, []).append(conn)
    assert sorted(port for port, conns in by_port.items() for _ in conns) == sorted(
        want["client_port"] for want in expected), name
    for want in expected:
        got = by_port[want["client_port"]].pop(0)
        label = f"{name} client port {want['client_port']}"
        assert (got.client, got.server, got.server_port) == (want["client"], want["server"], want["server_port"]), label
        assert (got.sni, got.version) == (want["sni"], want["version"]), label
        if kind == "dtls":
            check_dtls(got, want, label)
        else:
            check_quic(got, want, keys, label)


def check_dtls(got: Any, want: dict[str, Any], label: str) -> None:
    assert (got.ccs_from == {"client", "server"}) == want["established"], label
    assert got.first_fatal_alert == want["first_fatal_alert"], label
    assert (got.hello_verify_request, got.cookie_answered) == (want["hello_verify_request"],
                                                               want["cookie_answered"]), label


def check_quic(got: Any, want: dict[str, Any], keys: Path, label: str) -> None:
    assert keys.exists() == want["keys"], label
    assert got.quic_version == want["quic_version"], label
    assert ("server" in got.senders) == want["server_answered"], label
    # established: 1-RTT (short header) packets both ways, and the server's HANDSHAKE_DONE where the key log
    # opens it (tshark 4.0 finds no secrets for the packets after a Retry)
    assert (got.one_rtt_from == {"client", "server"}) == want["established"], label
    if want["keys"] and not want["retry"]:
        assert got.handshake_done == want["established"], label
    assert got.close == want["close"], label
    assert got.retry == want["retry"], label
    negotiation = want["version_negotiation"]
    if negotiation is None:
        assert got.server_versions is None, label
    else:
        assert (got.client_versions, got.server_versions) == (negotiation["client"], negotiation["server"]), label
        assert not set(got.client_versions) & set(got.server_versions), label  # no version in common


@pytest.mark.parametrize(("kind", "name"), CAPTURE_NAMES)
def test_bundled_udp_capture_matches_expected(tshark: str, names: dict[int, str], kind: str, name: str) -> None:
    check_against_expected(tshark, CAPTURES, kind, name, names)


@pytest.mark.parametrize(("kind", "name"), CAPTURE_NAMES)
def test_regenerated_udp_capture_matches_expected(tshark: str, names: dict[int, str], regenerated: Path, kind: str,
                                                  name: str) -> None:
    check_against_expected(tshark, regenerated, kind, name, names)


def test_regenerated_udp_files_are_the_bundled_set(regenerated: Path) -> None:
    bundled = {name for _, name in CAPTURE_NAMES} | set(GENERATORS.values())
    bundled |= {Path(name).with_suffix(".keys").name for name in bundled
                if (CAPTURES / Path(name).with_suffix(".keys").name).exists()}
    assert sorted(p.name for p in regenerated.iterdir()) == sorted(bundled)


def test_every_udp_capture_in_captures_has_its_ground_truth() -> None:
    udp = {p.name for p in CAPTURES.glob("*.pcapng") if p.name.startswith(("dtls-", "quic-"))}
    assert udp == {name for _, name in CAPTURE_NAMES}
    # And every key log sits beside its capture, with the capture's expected entry saying it has one
    for keys in CAPTURES.glob("*.keys"):
        assert EXPECTED["quic"]["captures"][keys.with_suffix(".pcapng").name]["connections"][0]["keys"] is True


def test_the_outcome_facts_the_new_captures_exist_for(tshark: str) -> None:
    """The point of each added capture, as plain tshark reads it (not only as its generator says)."""
    vn = read_quic(tshark, CAPTURES / "quic-version-negotiation-failed.pcapng", None)
    ((conn,),) = [list(vn.values())]
    assert (conn.client_versions, conn.server_versions, conn.negotiation_frame) == (["0x6b3343cf"], ["0x00000001"], 2)
    assert conn.frames == 2  # the client's Initial and the server's Version Negotiation; the client gives up
    retry = read_quic(tshark, CAPTURES / "quic-retry.pcapng", CAPTURES / "quic-retry.keys")
    ((conn,),) = [list(retry.values())]
    assert (conn.retry, conn.retry_frame, conn.one_rtt_from) == (True, 2, {"client", "server"})
    unanswered = read_quic(tshark, CAPTURES / "quic-retry-unanswered.pcapng", None)
    ((conn,),) = [list(unanswered.values())]
    assert (conn.retry, conn.retry_frame, conn.frames) == (True, 2, 2)
    token = read_quic(tshark, CAPTURES / "quic-server-invalid-token.pcapng", None)
    ((conn,),) = [list(token.values())]
    assert conn.close == {"sender": "server", "error_code": 0x0B, "tls_alert": None} and conn.version is None
    refused = read_dtls(tshark, CAPTURES / "dtls-server-refuses-version.pcapng", alert_names(tshark, "dtls"))
    ((conn,),) = [list(refused.values())]
    assert conn.first_fatal_alert == {"sender": "server", "code": 70, "name": "protocol_version"}
    assert conn.version is None and conn.cookie_answered
