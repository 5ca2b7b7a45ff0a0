"""The filter presets on the bundled captures: each selects exactly the frames the ground truth predicts.

Expected frames come from captures/expected.json (what each connection is: its
outcome, first fatal alert, teardown, weak certificates) and from plain tshark
fields read without the plugin (which frame carries the ClientHello, the
Certificate message, the alert, the FIN). The filters run through Wireshark's
own filter engine with the plugin loaded; `tshark -Y` gives the same frames.
"""

from __future__ import annotations

import calendar
import json
import os
import re
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import CAPTURES, DATA, REPO
from plugin_support import unexpected_stderr
from summarize_support import summarize_json

from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode
from tsharkpost.plugin.tables import checks
from tsharkpost.wireshark import profile
from tsharkpost.wireshark.presets import PRESETS, Preset, preset

EXPECTED = json.loads((CAPTURES / "expected.json").read_text())["captures"]
TAPS = DATA / "preset_taps.lua"
SEED = CAPTURES / "md2-root-silent-fin.pcapng"
BROKEN_HASHES = ("md2", "md4", "md5")
CERT_FLIGHT_END = {"certificate", "server_key_exchange", "server_hello_done"}
OLD_VERSIONS = {"SSL 3.0", "TLS 1.0", "TLS 1.1"}
FRAME_FIELDS = ["frame.number", "tcp.stream", "tcp.srcport", "tcp.flags.fin", "tcp.flags.reset",
                "tls.record.content_type", "tls.record.opaque_type", "tls.handshake.type",
                "tls.handshake.sig_hash_alg", "x509ce.dNSName", "frame.time_epoch", "x509af.utcTime"]


@dataclass
class Frame:
    """Plain tshark facts of one frame (no plugin)."""

    number: int
    side: str                       # "client" or "server"
    fin_or_rst: bool
    records: list[int]              # TLS content types, the opaque type when tshark cannot decrypt
    handshakes: list[int]
    sig_hash_algs: list[int]
    dns_names: list[str]
    time: float = 0.0
    validity: list[tuple[int, int]] = field(default_factory=list)   # (notBefore, notAfter) of each certificate

    def invalid(self, leaf: bool) -> bool:
        """A certificate of the frame (the leaf, or one after it) is not valid at the frame's whole second."""
        second = int(self.time)
        periods = self.validity[:1] if leaf else self.validity[1:]
        return any(second < first or second > last for first, last in periods)


@dataclass
class Connection:
    truth: dict                     # its entry in expected.json
    frames: list[Frame] = field(default_factory=list)

    def first(self, side: str, test: Callable[[Frame], bool]) -> Frame:
        return next(frame for frame in self.frames if frame.side == side and test(frame))

    @property
    def client_hello(self) -> Frame:
        return self.first("client", lambda f: 1 in f.handshakes)

    @property
    def server_hello(self) -> Frame:
        return self.first("server", lambda f: 2 in f.handshakes)

    @property
    def certificate(self) -> Frame:
        return self.first("server", lambda f: 11 in f.handshakes)

    @property
    def teardown(self) -> Frame:
        frame = next(f for f in self.frames if f.fin_or_rst)
        assert frame.side == self.truth["teardown"]["by"]
        return frame

    @property
    def fatal_alert(self) -> Frame:
        return self.first(self.truth["first_fatal_alert"]["sender"], lambda f: 21 in f.records)

    def weak(self, kind: str, roots: bool = True) -> list[str]:
        """The weaknesses expected.json lists of this kind ("signature" or "key"), without the prefix.

        roots=False leaves out self-signed certificates: their own signature is only a note.
        """
        return [w["weakness"].split(":", 1)[1] for w in self.truth["weak_certificates"]
                if w["weakness"].startswith(kind + ":") and (roots or not w["self_signed"])]


def _ints(value: str) -> list[int]:
    return [int(item, 0) for item in value.split(",") if item]


def _periods(value: str) -> list[tuple[int, int]]:
    """tshark's x509af.utcTime values ("2026-11-26 17:53:52 (UTC)", notBefore and notAfter of each certificate)."""
    stamps = [calendar.timegm(time.strptime(item.split(" (")[0], "%Y-%m-%d %H:%M:%S")) for item in value.split(",")
              if item]
    return list(zip(stamps[::2], stamps[1::2]))


def read_connections(tshark: str, name: str) -> list[Connection]:
    """expected.json's connections of one capture, each with its frames as plain tshark shows them."""
    argv = [tshark, "-n", "-r", str(CAPTURES / name), "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
            "-E", "separator=\t", *[arg for name in FRAME_FIELDS for arg in ("-e", name)]]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    by_port = {truth["client_port"]: Connection(truth) for truth in EXPECTED[name]["connections"]}
    client_port: dict[str, int] = {}
    streams: dict[str, Connection] = {}
    for line in out.splitlines():
        row = dict(zip(FRAME_FIELDS, line.split("\t")))
        stream = row["tcp.stream"]
        client_port.setdefault(stream, int(row["tcp.srcport"]))       # the SYN comes from the client
        connection = streams.setdefault(stream, by_port[client_port[stream]])
        records = _ints(row["tls.record.content_type"]) or _ints(row["tls.record.opaque_type"])
        connection.frames.append(Frame(
            int(row["frame.number"]), "client" if int(row["tcp.srcport"]) == client_port[stream] else "server",
            row["tcp.flags.fin"] in ("1", "True") or row["tcp.flags.reset"] in ("1", "True"), records,
            _ints(row["tls.handshake.type"]), _ints(row["tls.handshake.sig_hash_alg"]),
            [n for n in row["x509ce.dNSName"].split(",") if n], float(row["frame.time_epoch"]),
            _periods(row["x509af.utcTime"])))
    assert len(streams) == len(by_port), name
    return list(by_port.values())


# What each preset must select, from the ground truth: capture's connections -> frame numbers.
def fatal_alerts(conns: list[Connection]) -> set[int]:
    return {c.fatal_alert.number for c in conns if c.truth["first_fatal_alert"]}


def silent_teardowns(conns: list[Connection]) -> set[int]:
    return {c.teardown.number for c in conns if not c.truth["established"] and not c.truth["first_fatal_alert"]
            and c.truth["teardown"]["by"] == "client" and c.truth["teardown"]["after"] in CERT_FLIGHT_END}


def failed_handshakes(conns: list[Connection]) -> set[int]:
    return {(c.fatal_alert if c.truth["first_fatal_alert"] else c.teardown).number
            for c in conns if not c.truth["established"]}


def sigalg_not_offered(conns: list[Connection]) -> set[int]:
    # Broken hashes are never in a signature_algorithms list (MD5 would be 0x01xx); a client
    # without the extension (TLS 1.0) made no offer to break.
    def offered_no_broken_hash(c: Connection) -> bool:
        offered = c.client_hello.sig_hash_algs
        return bool(offered) and not any(code >> 8 == 1 for code in offered)
    return {c.certificate.number for c in conns if offered_no_broken_hash(c)
            and any(alg.startswith(BROKEN_HASHES) for alg in c.weak("signature"))}


def weak_signatures(conns: list[Connection]) -> set[int]:
    return {c.certificate.number for c in conns if c.weak("signature")}


def weak_keys(conns: list[Connection]) -> set[int]:
    return {c.certificate.number for c in conns if c.weak("key")}


def old_versions(conns: list[Connection]) -> set[int]:
    return {c.server_hello.number for c in conns if c.truth["version"] in OLD_VERSIONS}


def hellos(conns: list[Connection]) -> set[int]:
    return {c.client_hello.number for c in conns} | {c.server_hello.number for c in conns if c.truth["version"]}


def resets(conns: list[Connection]) -> set[int]:
    return {c.teardown.number for c in conns if c.truth["teardown"]["kind"] == "RST"}


def name_mismatches(conns: list[Connection]) -> set[int]:
    return {c.certificate.number for c in conns if c.truth["version"] and c.truth["sni"]
            and any(11 in f.handshakes for f in c.frames) and c.truth["sni"] not in c.certificate.dns_names}


def invalid_certificates(conns: list[Connection], leaf: bool) -> set[int]:
    # Validity by plain tshark's dates against the frame's time: a leaf is an error, another certificate a warning
    # (the captures send no self-signed root that is out of date).
    return {c.certificate.number for c in conns if any(11 in f.handshakes for f in c.frames)
            and c.certificate.invalid(leaf)}


def errors(conns: list[Connection]) -> set[int]:
    # Severity error: fatal alerts, broken-hash signatures (a self-signed root's only a note), unoffered signatures,
    # SNI mismatches, leaves not valid at capture time.
    broken = {c.certificate.number for c in conns
              if any(a.startswith(BROKEN_HASHES) for a in c.weak("signature", roots=False))}
    return (fatal_alerts(conns) | broken | sigalg_not_offered(conns) | name_mismatches(conns)
            | invalid_certificates(conns, leaf=True))


def warnings(conns: list[Connection]) -> set[int]:
    # Severity warning: silent teardowns, old versions, sha1 signatures, RSA keys of 1024 to 2047 bits.
    sha1 = {c.certificate.number for c in conns
            if any(a.startswith("sha1") for a in c.weak("signature", roots=False))}
    rsa = {c.certificate.number for c in conns
           if any(1024 <= int(k.removeprefix("rsa-")) < 2048 for k in c.weak("key"))}
    return silent_teardowns(conns) | old_versions(conns) | sha1 | rsa | invalid_certificates(conns, leaf=False)


def chain_encrypted(conns: list[Connection]) -> set[int]:
    # TLS 1.3 without keys: no Certificate message visible; the note sits on the client's first encrypted record.
    return {c.first("client", lambda f: f.number > c.server_hello.number and bool({20, 23} & set(f.records))).number
            for c in conns if c.truth["version"] == "TLS 1.3" and not any(11 in f.handshakes for f in c.frames)}


def findings(conns: list[Connection]) -> set[int]:
    return errors(conns) | warnings(conns) | chain_encrypted(conns)


GROUND_TRUTH: dict[str, Callable[[list[Connection]], set[int]]] = {
    "fatal-alerts": fatal_alerts, "failed-handshakes": failed_handshakes, "silent-teardown": silent_teardowns,
    "findings": findings, "errors": errors, "warnings": warnings, "sigalg-not-offered": sigalg_not_offered,
    "weak-signatures": weak_signatures, "weak-keys": weak_keys, "old-versions": old_versions, "hellos": hellos,
    "resets": resets,
    # TCP only in captures/: their UDP counterparts are held to the DTLS and QUIC captures below.
    "dtls-fatal-alerts": lambda conns: set(), "quic-crypto-errors": lambda conns: set(),
}
UDP_PRESETS = {"dtls-fatal-alerts", "quic-crypto-errors"}


def selected_by_presets(tshark: str, plugin: Path, capture: Path, *options: str) -> dict[str, set[int]]:
    """One tshark pass with the plugin (and tshark's options): preset name -> the frames its filter selects."""
    env = {**os.environ, "PRESET_TAPS": "\n".join(f"{p.name}\t{p.filter}" for p in PRESETS)}
    argv = [tshark, "-n", "-q", "-X", f"lua_script:{plugin}", "-X", f"lua_script:{TAPS}", "-r", str(capture),
            *options]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0 and not unexpected_stderr(proc.stderr), proc.stderr
    selected: dict[str, set[int]] = defaultdict(set)
    for line in proc.stdout.splitlines():
        name, frame = line.split("\t")
        selected[name].add(int(frame))
    return selected


def display_filter(tshark: str, capture: Path, expression: str, plugin: Path | None) -> subprocess.CompletedProcess[str]:
    argv = [tshark, "-n", "-r", str(capture), "-Y", expression, "-T", "fields", "-e", "frame.number"]
    if plugin:
        argv[1:1] = ["-X", f"lua_script:{plugin}"]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def test_every_preset_has_a_ground_truth() -> None:
    assert sorted(GROUND_TRUTH) == sorted(p.name for p in PRESETS)


@pytest.mark.parametrize("capture", sorted(EXPECTED))
def test_presets_select_exactly_the_expected_frames(tshark: str, plugin: Path, capture: str) -> None:
    # Given the capture's ground truth and its frames as plain tshark shows them
    conns = read_connections(tshark, capture)
    # When every preset runs with the plugin loaded
    selected = selected_by_presets(tshark, plugin, CAPTURES / capture)
    # Then each selects exactly the frames the ground truth predicts
    for name, expected in GROUND_TRUTH.items():
        assert selected.get(name, set()) == expected(conns), f"{capture}: {name}"


def test_the_captures_exercise_every_preset(tshark: str) -> None:
    # A preset that selects nothing anywhere would pass the test above without proving anything.
    totals = {name: 0 for name in GROUND_TRUTH if name not in UDP_PRESETS}
    for capture in EXPECTED:
        conns = read_connections(tshark, capture)
        for name in totals:
            totals[name] += len(GROUND_TRUTH[name](conns))
    assert all(totals.values()), totals
    assert totals["silent-teardown"] == 12 + 3      # batch: 8 FIN + 4 RST; seed, RST twin, fallback


@pytest.mark.parametrize("item", PRESETS, ids=lambda p: p.name)
def test_preset_compiles_and_minus_y_agrees(tshark: str, plugin: Path, item: Preset) -> None:
    capture = CAPTURES / "version-fallback.pcapng"
    proc = display_filter(tshark, capture, item.filter, plugin)
    assert proc.returncode == 0 and not unexpected_stderr(proc.stderr), proc.stderr
    assert {int(n) for n in proc.stdout.split()} == selected_by_presets(tshark, plugin, capture).get(item.name, set())


@pytest.mark.parametrize("item", PRESETS, ids=lambda p: p.name)
def test_only_presets_marked_as_needing_the_plugin_need_it(tshark: str, item: Preset) -> None:
    proc = display_filter(tshark, SEED, item.filter, plugin=None)
    if item.needs_plugin:
        assert proc.returncode != 0 and "tpost" in proc.stderr
    else:
        assert proc.returncode == 0 and not unexpected_stderr(proc.stderr), proc.stderr


def test_check_ids_in_presets_are_the_plugins() -> None:
    named = {check for p in PRESETS for check in re.findall(r'"([a-z_0-9]+)"', p.filter)}
    assert named and named <= set(checks())


def test_weak_keys_covers_every_key_check_of_the_plugin() -> None:
    # A key or group check added to checks.tsv (weak_*_key, weak_*_group) must reach the preset too
    key_checks = {check for check in checks() if re.fullmatch(r"weak_\w+_(key|group)", check)}
    assert key_checks and set(re.findall(r'"([a-z_0-9]+)"', preset("weak-keys").filter)) == key_checks


def test_filters_lists_every_preset(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["filters"]) == ExitCode.OK
    out = capsys.readouterr().out
    for item in PRESETS:
        row = next(line for line in out.splitlines() if line.startswith(item.name + " "))
        assert item.finds in row and ("yes" in row) == item.needs_plugin
        assert f"  {item.filter}" in out


def test_filters_name_prints_one_filter_for_tshark_y(capsys: pytest.CaptureFixture[str], tshark: str,
                                                     plugin: Path) -> None:
    # Given `tsharkpost filters silent-teardown`, as in tshark -Y "$(tsharkpost filters silent-teardown)"
    assert main(["filters", "silent-teardown"]) == ExitCode.OK
    expression = capsys.readouterr().out
    assert expression == preset("silent-teardown").filter + "\n"
    # Then tshark selects the seed's frame 8: the client's FIN 2 ms after the certificate flight
    proc = display_filter(tshark, SEED, expression.strip(), plugin)
    assert proc.stdout.split() == [str(f) for f in silent_teardowns(read_connections(tshark, SEED.name))] == ["8"]


def test_filters_unknown_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["filters", "no-such-preset"])
    assert exit_info.value.code == ExitCode.USAGE
    assert "invalid choice: 'no-such-preset'" in capsys.readouterr().err


def test_profile_is_written_from_the_presets() -> None:
    # Every preset is a saved filter, every button and colour rule is a preset's filter, in the files' formats.
    files = profile.files()
    for item in PRESETS:
        assert f'" {item.filter}\n' in files["dfilters"]
        uat_filter = item.filter.replace('"', "\\x22")
        assert (f'"TRUE","{item.label}","{uat_filter}",' in files["dfilter_buttons"]) == item.button
    for rule in profile.COLOUR_RULES:
        assert f"@{rule.name}@{preset(rule.preset).filter}@[" in files["colorfilters"]
    assert '"SNI", "%Cus:tls.handshake.extensions_server_name:0:R"' in files["preferences"]
    assert '"Severity", "%Cus:tpost.max_severity:0:R"' in files["preferences"]
    assert '"Diagnosis", "%Cus:tpost.diagnosis:0:R"' in files["preferences"]


def test_recent_gives_every_column_its_width_and_a_first_window() -> None:
    # Given the profile's recent as install seeds it, then column.width names every column of the
    # preferences, in their order, as Wireshark 4.0 writes it itself ('"%Cus:FIELD", WIDTH' for a field),
    # and the first window fits a 1280x800 screen with the diagnosis in view.
    recent = profile.recent()
    pairs = re.findall(r"^\t(\S+), (\d+),?$", recent.split("column.width:\n")[1], re.MULTILINE)
    specs = re.findall(r'^\t"[^"]+", "([^"]+)"', profile.preferences(), re.MULTILINE)
    assert len(pairs) == len(specs) == len(profile.COLUMNS)
    for (name, _), spec in zip(pairs, specs):
        assert name == (f'"%Cus:{spec.split(":")[1]}"' if spec.startswith("%Cus:") else spec)
    width = int(re.search(r"^gui.geometry_main_width: (\d+)$", recent, re.MULTILINE).group(1))
    height = int(re.search(r"^gui.geometry_main_height: (\d+)$", recent, re.MULTILINE).group(1))
    assert width <= 1280 - 40 and height <= 800 - 60
    dialog = int(re.search(r"^gui.geom.ExpertInfoDialog.width: (\d+)$", recent, re.MULTILINE).group(1))
    assert 800 <= dialog <= width
    widths = [int(w) for _, w in pairs]
    diagnosis = [c.field for c in profile.COLUMNS].index("tpost.diagnosis")
    assert sum(widths[:diagnosis + 1]) < width - 200       # room for SNI beside it


def test_readme_table_is_the_presets() -> None:
    readme = (REPO / "README.md").read_text()
    rows = [line for line in readme.splitlines() if re.match(r"\| `[a-z-]+` \| ", line)]
    preset_rows = [line for line in rows if line.split("`")[1] in {p.name for p in PRESETS}]
    assert len(preset_rows) == len(PRESETS)
    for item, row in zip(PRESETS, preset_rows):
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]]
        assert cells == [f"`{item.name}`", item.label if item.button else "(saved filter only)",
                         "yes" if item.needs_plugin else "-", "`" + item.filter.replace("|", "\\|") + "`",
                         item.finds], item.name


# The UDP captures (captures/dtls-*, captures/quic-*) -> the frames summarize's records hold a fatal alert in: a
# second reader (the records come from the plugin's lines and tshark's fields, not from the preset's filter).
UDP_CAPTURES = {"dtls-fatal-alerts": ["dtls-client-refuses-chain.pcapng", "dtls-server-refuses-version.pcapng",
                                      "dtls-good-twin.pcapng"],
                "quic-crypto-errors": ["quic-client-refuses-chain.pcapng", "quic-server-refuses-alpn.pcapng",
                                       "quic-server-invalid-token.pcapng", "quic-good-twin.pcapng",
                                       "quic-unassigned-alert-close.pcapng"]}
# Read with their key log: the close is in a 1-RTT packet (CRYPTO_ERROR 0x01ff, an alert no registry assigns, for
# which tshark 4.0 shows no quic.cc.error_code.tls_alert)
WITH_KEYS = {"quic-unassigned-alert-close.pcapng"}


@pytest.mark.parametrize("name", sorted(UDP_CAPTURES))
def test_udp_presets_select_the_alerts_of_the_records(tshark: str, plugin: Path, name: str, tmp_path: Path) -> None:
    item = preset(name)
    selected_anywhere = 0
    for relative in UDP_CAPTURES[name]:
        capture = CAPTURES / relative
        keys = capture.with_suffix(".keys") if relative in WITH_KEYS else None
        # Given summarize's records of the capture: the frames of their fatal alerts
        _, document = summarize_json(tmp_path, *(("--keylog", str(keys)) if keys else ()), str(capture))
        expected = {alert["frame"] for conn in document["connections"] for alert in conn["alerts"]
                    if alert["level"] == 2 or conn["transport"] == "quic"}
        assert expected or relative not in WITH_KEYS, relative
        # When the preset's filter runs (with the plugin loaded, as in the profile), then it selects those frames
        options = ("-o", f"tls.keylog_file:{keys}") if keys else ()
        assert selected_by_presets(tshark, plugin, capture, *options).get(name, set()) == expected, relative
        selected_anywhere += len(expected)
    assert selected_anywhere > 0
