"""The Lua plugin without captures: fact tables, loud failures at load time (lint: scripts/check-lua)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from plugin_support import run_tshark, unexpected_stderr

REPO = Path(__file__).resolve().parent.parent
TABLES = REPO / "lua" / "tables"

ALERT_CODES = {0, 10, 20, 21, 22, 30, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 60, 70, 71, 80, 86, 90, 100,
               109, 110, 111, 112, 113, 114, 115, 116, 120, 121}


def read_table(name: str) -> list[dict[str, str]]:
    lines = [line for line in (TABLES / name).read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    header = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        cols = line.split("\t")
        assert len(cols) == len(header), f"{name}: {line!r}"
        rows.append(dict(zip(header, cols, strict=True)))
    return rows


@pytest.mark.parametrize("name", sorted(p.name for p in TABLES.glob("*.tsv") if p.name != "messages.tsv"))
def test_every_fact_row_names_its_source(name: str) -> None:
    rows = read_table(name)
    assert rows
    if name == "checks.tsv":
        assert all(row["source"] for row in rows)
    else:
        assert all(row["source"].strip() for row in rows), name


def test_messages_cover_every_check_and_name_no_identifier() -> None:
    # Given messages.tsv, then every check has its column phrase, sentence, reason and expert summary
    # for each severity it uses, ids are unique, and no template names a check id or a preference.
    rows = read_table("messages.tsv")
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids))
    texts = dict(zip(ids, (row["text"] for row in rows), strict=True))
    checks = read_table("checks.tsv")
    for check in checks:
        for severity in check["severities"].split():
            for form in ("phrase", "why", "expert"):
                assert f"{check['check']}.{severity}.{form}" in texts or f"{check['check']}.{form}" in texts, \
                    (check["check"], severity, form)
    source = (REPO / "lua" / "tsharkpost.lua").read_text(encoding="utf-8")
    preferences = set(re.findall(r"tpost\.prefs\.([a-z_0-9]+) = Pref", source))
    assert "teardown_window_ms" in preferences
    identifiers = {row["check"] for row in checks} | preferences
    for message, text in texts.items():
        assert not [name for name in identifiers if re.search(rf"(?<![\w.]){name}(?!\w)", text)], message
    # every signature algorithm has the short name the messages call it by
    assert all(row["label"] for row in read_table("signature_algorithms.tsv"))


def test_a_missing_message_fails_loudly(tshark: str, tmp_path: Path, any_capture: Path) -> None:
    # Given a plugin copy whose message table lost the silent teardown's reason, when tshark loads it,
    # then the error names the table and the message.
    plugin = _copy_plugin(tmp_path)
    table = plugin.parent / "tables" / "messages.tsv"
    text = table.read_text(encoding="utf-8")
    table.write_text("".join(line for line in text.splitlines(keepends=True)
                             if not line.startswith("silent_teardown.why\t")), encoding="utf-8")
    errors = "\n".join(_load_errors(tshark, plugin, any_capture))
    assert "messages.tsv lacks message silent_teardown.warning.why" in errors


def test_a_misspelt_placeholder_fails_loudly(tshark: str, tmp_path: Path, any_capture: Path) -> None:
    plugin = _copy_plugin(tmp_path)
    table = plugin.parent / "tables" / "messages.tsv"
    table.write_text(table.read_text(encoding="utf-8").replace("{algorithm}, not offered by client",
                                                               "{algoritm}, not offered by client"), encoding="utf-8")
    errors = "\n".join(_load_errors(tshark, plugin, any_capture))
    assert "message sigalg_not_offered.error.phrase names an unknown placeholder {algoritm}" in errors


def test_alert_table_covers_every_assigned_code() -> None:
    rows = {int(row["code"]): row for row in read_table("tls_alerts.tsv")}
    assert set(rows) == ALERT_CODES
    assert rows[43]["name"] == "unsupported_certificate"
    assert rows[43]["windows_name"] == "TLS1_ALERT_UNSUPPORTED_CERT"
    assert rows[43]["meaning"] == "the peer refuses a certificate in the chain, often because of its signature algorithm"
    assert rows[48]["meaning"] == "the peer does not trust the CA that issued the chain"
    assert rows[71]["windows_name"] == "TLS1_ALERT_INSUFFIENT_SECURITY"      # sic, as in schannel.h
    assert rows[86]["windows_name"] == ""
    assert all(row["meaning"] and "\t" not in row["meaning"] for row in rows.values())


def test_signature_table_rates_hashes_and_maps_tls_codes() -> None:
    rows = {row["oid"]: row for row in read_table("signature_algorithms.tsv")}
    for row in rows.values():
        expected = {"md2": "error", "md4": "error", "md5": "error", "sha0": "error", "sha1": "warning"}
        assert row["weakness"] == expected.get(row["hash"], ""), row
    assert rows["1.2.840.113549.1.1.2"]["tls_schemes"] == ""              # md2: TLS has no code
    assert rows["1.2.840.113549.1.1.4"]["tls_schemes"] == "0101"
    assert rows["1.2.840.113549.1.1.11"]["tls_schemes"] == "0401"
    assert rows["1.2.840.113549.1.1.10"]["tls_schemes"] == "0804 0805 0806 0809 080a 080b"
    assert rows["1.3.14.3.2.3"]["name"] == "md5WithRSA" and rows["1.3.14.3.2.3"]["weakness"] == "error"
    assert rows["1.3.14.3.2.29"]["hash"] == "sha1" and rows["1.3.14.3.2.29"]["tls_schemes"] == "0201"
    assert rows["1.3.14.3.2.27"]["name"] == "dsaWithSHA1"
    assert rows["1.2.840.10045.4.3.2"]["tls_schemes"] == "0403"


def test_key_and_curve_tables() -> None:
    keys = {row["oid"]: row["key_type"] for row in read_table("public_key_algorithms.tsv")}
    assert keys["1.2.840.113549.1.1.1"] == "rsa" and keys["1.2.840.10045.2.1"] == "ec"
    assert keys["1.3.101.112"] == "ed25519" and keys["1.3.101.110"] == "x25519"
    curves = {row["name"]: int(row["bits"]) for row in read_table("ec_curves.tsv")}
    assert curves["secp192r1"] == 192 and curves["secp256r1"] == 256 and curves["secp521r1"] == 521
    assert curves["brainpoolP384r1"] == 384


def test_checks_table_is_exactly_what_the_plugin_emits() -> None:
    # The plugin and its core modules (lua/tpost/tpost_checks.lua, tpost_frame.lua, ...) together
    source = "\n".join(path.read_text(encoding="utf-8")
                       for path in [REPO / "lua" / "tsharkpost.lua", *sorted((REPO / "lua" / "tpost").glob("*.lua"))])
    emitted = set(re.findall(r'\bcheck(?:, \w+)* = "([a-z_0-9]+)"', source))
    rows = {row["check"]: row for row in read_table("checks.tsv")}
    assert set(rows) == emitted
    for row in rows.values():
        assert row["severity"] in {"note", "warning", "error"}
        assert row["severity"] in row["severities"].split()
    assert all(row["weight"].isdigit() for row in rows.values())
    ranked = sorted((int(row["weight"]), check) for check, row in rows.items() if row["weight"] != "99")
    assert len({weight for weight, _ in ranked}) == len(ranked)          # a strict order of decisiveness
    assert ranked[0] == (0, "sigalg_not_offered")
    assert rows["sigalg_not_offered"]["severity"] == "error"
    assert rows["silent_teardown"]["severity"] == "warning"
    assert rows["malformed_certificate"]["severity"] == "note"


def test_severities_table_is_the_one_vocabulary() -> None:
    # Given severities.tsv, then it names note < warning < error with Wireshark's expert severities,
    # and every severity checks.tsv uses is one of its names.
    rows = read_table("severities.tsv")
    assert [(int(row["level"]), row["name"], row["expert_severity"]) for row in rows] == [
        (1, "note", "NOTE"), (2, "warning", "WARN"), (3, "error", "ERROR")]
    names = {row["name"] for row in rows}
    for row in read_table("checks.tsv"):
        assert {row["severity"], *row["severities"].split()} <= names, row["check"]


def _copy_plugin(tmp_path: Path) -> Path:
    target = tmp_path / "lua"
    shutil.copytree(REPO / "lua", target)
    return target / "tsharkpost.lua"


def _load_errors(tshark: str, plugin: Path, capture: Path) -> list[str]:
    proc = subprocess.run([tshark, "-n", "-X", f"lua_script:{plugin}", "-r", str(capture), "-c", "1"],
                          capture_output=True, text=True, check=False)
    return unexpected_stderr(proc.stderr)


@pytest.fixture
def any_capture(captures_dir: Path) -> Path:
    return captures_dir / "md2-root-silent-fin.pcapng"


def test_missing_table_fails_loudly(tshark: str, tmp_path: Path, any_capture: Path) -> None:
    # Given a plugin copy whose curve table is gone, when tshark loads it, then it says which file.
    plugin = _copy_plugin(tmp_path)
    (plugin.parent / "tables" / "ec_curves.tsv").unlink()
    errors = "\n".join(_load_errors(tshark, plugin, any_capture))
    assert "tsharkpost: cannot read fact table" in errors and "ec_curves.tsv" in errors


def test_missing_module_fails_loudly(tshark: str, tmp_path: Path, any_capture: Path) -> None:
    # Given a plugin copy whose X.509 module is gone, when tshark loads it, then it says which file.
    plugin = _copy_plugin(tmp_path)
    (plugin.parent / "tpost" / "tpost_x509.lua").unlink()
    errors = "\n".join(_load_errors(tshark, plugin, any_capture))
    assert f"tsharkpost: cannot read module {plugin.parent}/tpost/tpost_x509.lua" in errors


def test_broken_table_fails_loudly(tshark: str, tmp_path: Path, any_capture: Path) -> None:
    # Given an alert table whose header lost the meaning column, when tshark loads the plugin,
    # then the error names the table and the column.
    plugin = _copy_plugin(tmp_path)
    table = plugin.parent / "tables" / "tls_alerts.tsv"
    table.write_text(table.read_text(encoding="utf-8").replace("\tmeaning\t", "\tmeanings\t"), encoding="utf-8")
    errors = "\n".join(_load_errors(tshark, plugin, any_capture))
    assert 'tls_alerts.tsv: header lacks column "meaning"' in errors


def test_bad_row_fails_loudly(tshark: str, tmp_path: Path, any_capture: Path) -> None:
    plugin = _copy_plugin(tmp_path)
    table = plugin.parent / "tables" / "signature_algorithms.tsv"
    text = table.read_text(encoding="utf-8").replace("\tsha1\trsa\t0201\twarning\t", "\tsha1\trsa\t0201\tweak\t", 1)
    table.write_text(text, encoding="utf-8")
    errors = "\n".join(_load_errors(tshark, plugin, any_capture))
    assert "signature_algorithms.tsv:" in errors and "weakness must be empty, warning or error" in errors


def test_severity_levels_come_from_the_table(tshark: str, tmp_path: Path, any_capture: Path) -> None:
    # Given a plugin copy whose severities.tsv puts error at level 7, when tshark runs it on the seed,
    # then the md2 root's error finding (sigalg_not_offered) carries level 7, by value and by name, beside the
    # note on its own md2 signature (level 1).
    plugin = _copy_plugin(tmp_path)
    table = plugin.parent / "tables" / "severities.tsv"
    table.write_text(table.read_text(encoding="utf-8").replace("\n3\terror\t", "\n7\terror\t"), encoding="utf-8")
    out = run_tshark(tshark, plugin, any_capture, "-Y", "frame.number == 6", "-T", "fields", "-E", "occurrence=a",
                     "-e", "tpost.severity", "-e", "tpost.max_severity")
    assert out.split("\t") == ["1,7", "7\n"]
    out = run_tshark(tshark, plugin, any_capture, "-Y", "tpost.severity == 7", "-V")
    assert "Severity: error (7)" in out


def test_severities_table_must_name_every_severity(tshark: str, tmp_path: Path, any_capture: Path) -> None:
    plugin = _copy_plugin(tmp_path)
    table = plugin.parent / "tables" / "severities.tsv"
    table.write_text(table.read_text(encoding="utf-8").replace("\twarning\tWARN\t", "\twarn\tWARN\t"),
                     encoding="utf-8")
    errors = "\n".join(_load_errors(tshark, plugin, any_capture))
    assert 'severities.tsv lacks severity "warning"' in errors


@pytest.mark.parametrize("lua", ["lua5.2", "lua5.4"])
def test_version_guard_fails_loudly_on_old_wireshark(lua: str) -> None:
    # Given a Lua interpreter pretending to be Wireshark 3.6, when the plugin loads, then it refuses by name.
    if not shutil.which(lua):
        pytest.fail(f"{lua} is not installed (Debian package {lua}): scripts/setup installs it")
    proc = subprocess.run([lua, "-e", 'get_version = function() return "3.6.2" end',
                           str(REPO / "lua" / "tsharkpost.lua")], capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert "tsharkpost.lua needs Wireshark 4.0 or later; this is 3.6.2" in proc.stderr
