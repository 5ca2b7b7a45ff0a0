"""The plugin's Wireshark-free modules (lua/tpost/) under plain Lua 5.2, 5.3 and 5.4, fed hex.

Wireshark 4.0-4.2 embed Lua 5.2 (with bit32), Wireshark 4.4 and later embed Lua 5.4 (without it),
so every module runs under each interpreter found. The drivers in tests/lua/ feed the modules hex
and print what they read; every expectation here comes from an independent reader (hashlib,
openssl, tshark's own X.509 and TLS dissectors) or from the bytes the test built itself, never
from the modules' output.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import math
import random
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import CAPTURES, CORPUS, REPO
import handshake_support as build
from tsharkpost.plugin import messages

REPO = Path(__file__).resolve().parent.parent
LUA_DIR = REPO / "lua"
MODULES = sorted((LUA_DIR / "tpost").glob("*.lua"))
DRIVERS = REPO / "tests" / "lua"
TABLES = LUA_DIR / "tables"

REQUIRED = ("lua5.2", "lua5.4")      # what Wireshark embeds: scripts/setup installs both
OPTIONAL = ("lua5.3",)

# Captures whose certificates and handshakes the parsers are compared on: the seed chain (md2 root),
# short RSA keys with sha1, a leaf without the SNI name, a TLS 1.0 fallback, TLS 1.3 with its keys, and
# from the third-party corpus (when present) EC keys on named and explicit curves, RSASSA-PSS, ML-DSA,
# GeneralizedTime, no CN, odd string encodings, EV subjects (STREET, jurisdiction*), an md5 signature,
# DHE key exchanges, TLS 1.3 with a PSK and DTLS certificates.
CAPTURE_FILES = ["md2-root-silent-fin.pcapng", "weak-rsa1024-sha1.pcapng", "name-mismatch.pcapng",
                 "version-fallback.pcapng", "tls13-embedded-secrets.pcapng"]
CORPUS_FILES = ["zeek/ecdsa-cert.pcap", "arkime/badcurveball.pcap", "zeek/CVE-2015-3194.pcap",
                "zeek/ml-dsa-44-cert.pcap", "zeek/x509-generalizedtime.pcap", "zeek/cert-no-cn.pcap",
                "zeek/globus-url-copy-bad-encoding.pcap", "zeek/ocsp-stapling-digicert.pcap",
                "zeek/pop3-starttls.pcap", "zeek/tls13_psk_succesfull.pcap", "zeek/dtls1_2.pcap"]


def inputs() -> list[Path]:
    found = [CAPTURES / name for name in CAPTURE_FILES]
    if CORPUS.is_dir():
        found += [CORPUS / name for name in CORPUS_FILES]
    return found


@pytest.fixture(params=REQUIRED + OPTIONAL)
def lua(request: pytest.FixtureRequest) -> str:
    name = str(request.param)
    path = shutil.which(name)
    if path is None:
        if name in REQUIRED:
            pytest.fail(f"{name} is not installed (Debian package {name}): scripts/setup installs it")
        pytest.skip(f"{name} is not installed (Debian package {name}); Wireshark embeds 5.2 or 5.4, not 5.3")
    return path


def run_driver(lua: str, driver: str, *args: str, stdin: str = "") -> list[str]:
    """Output lines of tests/lua/<driver>.lua, which must exit 0 with nothing on stderr."""
    proc = subprocess.run([lua, str(DRIVERS / f"{driver}.lua"), *args], input=stdin, capture_output=True,
                          encoding="utf-8", timeout=120, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    # Not splitlines(): parsed text may hold U+0085 or U+2028, which it takes for line ends
    return proc.stdout.split("\n")[:-1]


def decode_as(capture: Path) -> list[str]:
    """The -d options ../shared/corpus/MANIFEST.tsv gives a corpus trace (TLS on an unusual port)."""
    if not capture.is_relative_to(CORPUS):
        return []
    for line in (CORPUS / "MANIFEST.tsv").read_text().splitlines():
        if line.split("\t")[0] == capture.relative_to(CORPUS).as_posix() and "needs tshark -d " in line:
            return ["-d", line.split("needs tshark -d ", 1)[1].split(")")[0].split()[0]]
    return []


def _add(parent: ET.Element, node: dict[str, object]) -> None:
    """Fields of one level of tshark's -T json -x --no-duplicate-keys output, as children of parent."""
    for key, value in node.items():
        if key.endswith(("_raw", "_tree")):
            continue
        raw, tree = node.get(f"{key}_raw"), node.get(f"{key}_tree")
        repeated = isinstance(raw, list) and bool(raw) and isinstance(raw[0], list)
        if raw is None and isinstance(value, list):
            repeated = True
        values = value if repeated and isinstance(value, list) else [value]
        raws = raw if repeated else [raw] * len(values)
        trees = tree if repeated and isinstance(tree, list) else [tree] * len(values)
        for one, one_raw, one_tree in zip(values, raws, trees):
            element = ET.SubElement(parent, "field")
            # A subtree without bytes of its own is a label ("Extension: server_name (len=21)"): unnamed, as in PDML
            element.set("name", "" if raw is None and isinstance(one, dict) else key)
            element.set("show", key if isinstance(one, dict) and raw is None else
                        "" if isinstance(one, dict) else str(one))
            if isinstance(one_raw, list):
                element.set("value", str(one_raw[0]))
                element.set("pos", str(one_raw[1]))
                element.set("size", str(one_raw[2]))
            for child in (one, one_tree):
                if isinstance(child, dict):
                    _add(element, child)


def read_capture(tshark: str, capture: Path) -> list[ET.Element]:
    """Every handshake packet of a capture as tshark dissects it: one tree of <field> elements per packet,
    named and placed as in PDML, each with the hex of its bytes (which PDML leaves out for some)."""
    argv = [tshark, "-n", "-r", str(capture), *decode_as(capture), "-Y", "tls.handshake or dtls.handshake",
            "-T", "json", "-x", "--no-duplicate-keys"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"{argv}: {proc.stderr}"
    packets = []
    for packet in json.loads(proc.stdout or "[]"):
        root = ET.Element("field", name="")
        _add(root, packet["_source"]["layers"])
        packets.append(root)
    return packets


@pytest.fixture(scope="module")
def dissected(tshark: str) -> list[tuple[str, list[ET.Element]]]:
    """(capture name, its handshake packets) for every input capture, read in parallel."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return [(capture.name, packets)
                for capture, packets in zip(inputs(), pool.map(lambda c: read_capture(tshark, c), inputs()))]


# ---------------------------------------------------------------------------------------------------------
# Every module: side-effect free when Wireshark runs it as a plugin of its own
# ---------------------------------------------------------------------------------------------------------

def test_modules_do_nothing_when_run_on_their_own(lua: str) -> None:
    # Given each module run as Wireshark runs a stray .lua (no arguments; in a per-file environment, then in _G),
    # then it returns a table and writes no global, no environment entry and no package.loaded entry.
    lines = run_driver(lua, "standalone", *map(str, MODULES))
    assert [line.split("\t") for line in lines] == [[str(path), "table+table", "", "", ""] for path in MODULES]


# ---------------------------------------------------------------------------------------------------------
# tpost_sha: SHA-256 and SHA-1 (FIPS 180-4), against hashlib
# ---------------------------------------------------------------------------------------------------------

def sha256_messages() -> list[bytes]:
    """The FIPS 180-4 examples, every length up to two blocks and a bit, and a few kilobytes of a capture."""
    pattern = bytes(range(256))
    messages = [b"", b"abc", b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",   # FIPS 180-4 examples
                b"a" * 1000]
    messages += [pattern[:n] for n in range(1, 130)]   # every padding case: 55, 56, 63, 64, 119, 120 bytes ...
    messages += [(CAPTURES / "md2-root-silent-fin.pcapng").read_bytes()[:5000]]
    return messages


def test_sha256_matches_hashlib(lua: str) -> None:
    # Given messages of every padding length, when the module hashes them with the 32-bit operations
    # this Lua gives (bit32 on 5.2, operators compiled at load time on 5.4; on 5.3, which has both,
    # each in turn), then each digest is hashlib's.
    messages = sha256_messages()
    expected = [hashlib.sha256(m).hexdigest() for m in messages]
    stdin = "".join(m.hex() + "\n" for m in messages)
    ways = {"lua5.2": ["bit32"], "lua5.3": ["bit32", "operators"], "lua5.4": ["operators"]}[Path(lua).name]
    for way in ways:
        lines = run_driver(lua, "sha256", str(LUA_DIR), *(["without-bit32"] if way == "operators" else []),
                           stdin=stdin)
        assert lines == [f"bit_ops\t{way}", *expected]


def test_sha1_matches_hashlib(lua: str) -> None:
    # Given the same messages, when tpost_sha's SHA-1 hashes them with each way of 32-bit operations this Lua gives,
    # then each digest is hashlib's SHA-1 (what Suricata, nDPI and browsers show as a certificate's fingerprint).
    messages = sha256_messages()
    expected = [hashlib.sha1(m).hexdigest() for m in messages]
    stdin = "".join(m.hex() + "\n" for m in messages)
    ways = {"lua5.2": ["bit32"], "lua5.3": ["bit32", "operators"], "lua5.4": ["operators"]}[Path(lua).name]
    for way in ways:
        lines = run_driver(lua, "sha1", str(LUA_DIR), *(["without-bit32"] if way == "operators" else []),
                           stdin=stdin)
        assert lines == [f"bit_ops\t{way}", *expected]


# ---------------------------------------------------------------------------------------------------------
# tpost_x509: certificates from captures, against tshark's X.509 dissector and openssl
# ---------------------------------------------------------------------------------------------------------

@dataclass
class Certificate:
    """One certificate as tshark's dissector and openssl read it: the expectations for the parser."""

    source: str
    der: bytes
    tshark: dict[str, str] = field(default_factory=dict)     # parser field name -> value as the driver prints it
    openssl: dict[str, str] = field(default_factory=dict)


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element.findall("field") if c.get("name") == name), None)


def _descendants(element: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in element.iter("field") if e.get("name") == name]


def _span(element: ET.Element | None, base: int) -> str | None:
    if element is None:
        return None
    return f"{int(element.get('pos', '0')) - base},{element.get('size')}"


def _cn(name: ET.Element | None) -> str | None:
    """The last CN of a Name, from tshark's RDN items."""
    found = None
    for atv in _descendants(name, "x509if.RelativeDistinguishedName_item_element") if name is not None else []:
        oid = _child(atv, "x509if.oid")
        if oid is not None and oid.get("show") == "2.5.4.3":
            leaves = [e for e in atv.iter("field") if e is not oid and e is not atv and not e.findall("field")]
            found = leaves[-1].get("show") if leaves else None
    return found


def tshark_facts(cert: ET.Element) -> dict[str, str]:
    """What tshark's X.509 dissector shows of one tls.handshake.certificate item, as the driver's fields."""
    base = int(cert.get("pos", "0"))
    facts: dict[str, str] = {}
    signed = _child(cert, "x509af.signedCertificate_element")
    outer = _child(cert, "x509af.algorithmIdentifier_element")
    assert signed is not None and outer is not None
    algorithm = _child(outer, "x509af.algorithm.id")
    assert algorithm is not None
    facts["sig_oid"] = algorithm.get("show", "")
    facts["r_sigalg"] = _span(outer, base) or ""
    pss_hash = _descendants(outer, "pkcs1.hashAlgorithm_element")
    if pss_hash:
        facts["pss_hash"] = _descendants(pss_hash[0], "x509af.algorithm.id")[0].get("show", "")
    for part, name in (("issuer", "issuer"), ("subject", "subject"), ("validity", "validity_element")):
        facts[f"r_{part}"] = _span(_child(signed, f"x509af.{name}"), base) or ""
    facts["cn"] = _cn(_child(signed, "x509af.subject")) or ""
    facts["issuer_cn"] = _cn(_child(signed, "x509af.issuer")) or ""
    spki = _child(signed, "x509af.subjectPublicKeyInfo_element")
    assert spki is not None
    facts["r_spki"] = _span(spki, base) or ""
    facts["key_oid"] = _descendants(spki, "x509af.algorithm.id")[0].get("show", "")
    modulus = _descendants(spki, "pkcs1.modulus")
    if modulus:
        facts["modulus_bits"] = str(int(modulus[0].get("value", "0"), 16).bit_length())
    curve = _descendants(spki, "pkcs1.namedCurve")
    if curve:
        facts["curve_oid"] = curve[0].get("show", "")
    key = _child(spki, "x509af.subjectPublicKey")
    if key is not None:
        facts["key_bytes"] = str(int(key.get("size", "0")))
    for ext in _descendants(signed, "x509af.Extension_element"):
        ext_id = _child(ext, "x509af.extension.id")
        if ext_id is not None and ext_id.get("show") == "2.5.29.17":
            facts["r_san"] = _span(ext, base) or ""
            facts["san"] = ",".join(e.get("show", "") for e in _descendants(ext, "x509ce.dNSName"))
        elif ext_id is not None and ext_id.get("show") == "2.5.29.19":
            facts["ca"] = str(any(e.get("show") == "1" for e in _descendants(ext, "x509ce.cA"))).lower()
            path_len = _descendants(ext, "x509ce.pathLenConstraint")
            if path_len:
                facts["path_len"] = path_len[0].get("show", "")
        elif ext_id is not None and ext_id.get("show") == "2.5.29.15":
            bits = {e.get("name", "").rsplit(".", 1)[1]: e.get("show") for e in ext.iter("field")
                    if e.get("name", "").startswith("x509ce.KeyUsage.")}
            facts["key_usage"] = ",".join(name for name in KEY_USAGE_BITS
                                          if bits.get(KEY_USAGE_TSHARK_NAMES.get(name, name)) == "1")
    return facts


# RFC 5280's key usage bits in order; tshark names bit 1 as X.509 (2019) does, contentCommitment.
KEY_USAGE_BITS = ["digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
                  "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"]
KEY_USAGE_TSHARK_NAMES = {"nonRepudiation": "contentCommitment"}
# openssl -text's words for the same bits
KEY_USAGE_OPENSSL = {"Digital Signature": "digitalSignature", "Non Repudiation": "nonRepudiation",
                     "Key Encipherment": "keyEncipherment", "Data Encipherment": "dataEncipherment",
                     "Key Agreement": "keyAgreement", "Certificate Sign": "keyCertSign", "CRL Sign": "cRLSign",
                     "Encipher Only": "encipherOnly", "Decipher Only": "decipherOnly"}


# OpenSSL's options for RFC 4514 strings: most specific RDN first, "," and "+" separators, short
# names, RFC 2253/4514 escaping, UTF-8 as it is, non-string values as "#" and the hex of their DER.
NAMEOPT = "esc_2253,esc_ctrl,utf8,dump_nostr,dump_der,sep_comma_plus,dn_rev,sname"


def openssl_facts(der: bytes) -> dict[str, str]:
    proc = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject", "-issuer", "-serial",
                           "-dates", "-dateopt", "iso_8601", "-nameopt", NAMEOPT, "-text"],
                          input=der, capture_output=True, timeout=30, check=False)
    text = proc.stdout.decode("utf-8", "replace")
    facts: dict[str, str] = {}
    lines = text.splitlines()
    for heading, following in zip(lines, lines[1:] + [""]):
        if heading.strip().startswith("X509v3 Basic Constraints"):
            facts["ca"] = "true" if "CA:TRUE" in following else "false"
            path_len = re.search(r"pathlen:(\d+)", following)
            if path_len:
                facts["path_len"] = path_len.group(1)
        elif heading.strip().startswith("X509v3 Key Usage"):
            facts["key_usage"] = ",".join(KEY_USAGE_OPENSSL[word.strip()] for word in following.split(",")
                                          if word.strip())
    for line in lines:
        for key, prefix in (("subject", "subject="), ("issuer", "issuer="), ("serial", "serial="),
                            ("not_before", "notBefore="), ("not_after", "notAfter=")):
            if line.startswith(prefix) and key not in facts:
                facts[key] = line[len(prefix):]
        bits = re.search(r"Public-Key: \((\d+) bit\)", line)
        if bits and "public_key_bits" not in facts:
            facts["public_key_bits"] = bits.group(1)
    return facts


@pytest.fixture(scope="module")
def certificates(dissected: list[tuple[str, list[ET.Element]]]) -> list[Certificate]:
    found: dict[bytes, Certificate] = {}
    for source, packets in dissected:
        for packet in packets:
            for item in packet.iter("field"):
                if item.get("name") in ("tls.handshake.certificate", "dtls.handshake.certificate"):
                    der = bytes.fromhex(item.get("value", ""))
                    if der not in found:
                        found[der] = Certificate(source, der, tshark_facts(item))
    with ThreadPoolExecutor(max_workers=4) as pool:
        for cert, facts in zip(found.values(), pool.map(openssl_facts, found)):
            cert.openssl = facts
    assert len(found) >= 8, "the bundled captures alone hold more certificates than that"
    return list(found.values())


def parse_certificates(lua: str, ders: list[bytes]) -> list[dict[str, str]]:
    """The driver's fields per certificate ({"error": reason} when it refused one)."""
    results: list[dict[str, str]] = []
    for line in run_driver(lua, "x509", str(LUA_DIR), stdin="".join(der.hex() + "\n" for der in ders)):
        if line == "cert":
            results.append({})
        elif line.startswith("error\t"):
            results.append({"error": line[len("error\t"):]})
        else:
            key, value = line.split("\t", 1)
            results[-1][key] = value
    assert len(results) == len(ders)
    return results


def _table(name: str) -> list[dict[str, str]]:
    lines = [line for line in (TABLES / name).read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def _iso(openssl_date: str) -> str:
    """openssl's "2019-11-07 23:59:59Z" as the parser's ISO 8601 "2019-11-07T23:59:59Z"."""
    return openssl_date.replace(" ", "T")


def test_certificates_read_as_tshark_and_openssl_read_them(lua: str, certificates: list[Certificate]) -> None:
    # Given every distinct certificate of the captures, when the module parses each DER,
    # then each field is what tshark's X.509 dissector or openssl reads in the same bytes.
    key_types = {row["oid"]: row["key_type"] for row in _table("public_key_algorithms.tsv")}
    curves = {row["oid"]: row["name"] for row in _table("ec_curves.tsv")}
    for cert, got in zip(certificates, parse_certificates(lua, [c.der for c in certificates]), strict=True):
        where = f"{cert.source}: {got.get('subject')}"
        assert "error" not in got, where
        expected = cert.tshark
        for key in ("sig_oid", "pss_hash", "key_oid", "r_sigalg", "r_issuer", "r_validity", "r_subject", "r_spki",
                    "r_san", "san"):
            assert got.get(key) == expected.get(key), f"{where}: {key}"
        # CN: tshark shows the string as it found it; the parser makes any encoding printable UTF-8
        for key in ("cn", "issuer_cn"):
            if expected[key].isascii() and expected[key].isprintable():
                assert got.get(key, "") == expected[key], f"{where}: {key}"
        assert got["key_type"] == key_types.get(expected["key_oid"], "unknown"), where
        if got["key_type"] == "rsa" and "modulus_bits" in expected:
            assert got["key_bits"] == expected["modulus_bits"], where
        elif got["key_type"] == "ec":
            if "curve_oid" in expected:
                assert got["curve"] == curves.get(expected["curve_oid"], expected["curve_oid"]), where
                assert got["key_bits"] == cert.openssl["public_key_bits"], where
            else:
                assert got["curve"] == "explicit parameters", where
        elif got["key_type"] not in ("rsa", "dsa", "ec"):
            assert int(got["key_bits"]) == 8 * int(expected["key_bytes"]), where
        # RFC 4514 §3 spells 2.5.4.9 STREET; OpenSSL's short name is "street"
        assert got["subject"] == cert.openssl["subject"].replace("street=", "STREET="), where
        assert got["issuer"] == cert.openssl["issuer"].replace("street=", "STREET="), where
        assert got["serial"] == cert.openssl["serial"].lower(), where
        assert got["not_before"] == _iso(cert.openssl["not_before"]), where
        assert got["not_after"] == _iso(cert.openssl["not_after"]), where
        assert got["self_signed"] == str(cert.openssl["subject"] == cert.openssl["issuer"]).lower(), where
        assert got["len"] == str(len(cert.der)), where


def validity(lua: str, cases: list[tuple[str, str, float]]) -> list[str]:
    """tpost_x509's epoch, iso and validity for (not_before, not_after, when) cases, one line each."""
    return run_driver(lua, "validity", str(LUA_DIR), stdin="".join(f"{nb}\t{na}\t{when!r}\n" for nb, na, when in cases))


def test_validity_is_judged_to_the_second_as_python_reads_the_dates(lua: str) -> None:
    # Given validity periods around leap days, centuries, 1950/2049 (UTCTime's range), 9999 and before 1970, and
    # frame times just inside and just outside them, when the module converts and judges them, then every epoch and
    # ISO time is Python's calendar.timegm/datetime of the same instant, and the verdict is RFC 5280's (notBefore
    # through notAfter, inclusive, to the second).
    stamps = ["1950-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2000-02-29T12:00:00Z",
              "2024-02-29T23:59:59Z", "2026-11-28T17:53:52Z", "2049-12-31T23:59:59Z", "2100-03-01T00:00:00Z",
              "9999-12-31T23:59:58Z"]
    cases = []
    for first, last in zip(stamps, stamps[1:]):
        start = calendar.timegm(time.strptime(first, "%Y-%m-%dT%H:%M:%SZ"))
        end = calendar.timegm(time.strptime(last, "%Y-%m-%dT%H:%M:%SZ"))
        cases += [(first, last, start - 0.5), (first, last, start + 0.0), (first, last, end + 0.999),
                  (first, last, end + 1.0), (first, last, (start + end) / 2)]
    cases.append(("garbage", "2026-13-01T00:00:00Z", 0.0))
    for (first, last, when), line in zip(cases, validity(lua, cases), strict=True):
        epoch_first, epoch_last, iso_when, verdict = line.split("\t")
        expect = {stamp: calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")) if "garbage" not in stamp
                  and "-13-" not in stamp else None for stamp in (first, last)}
        assert epoch_first == str(expect[first] if expect[first] is not None else "nil"), line
        assert epoch_last == str(expect[last] if expect[last] is not None else "nil"), line
        second = math.floor(when)
        assert iso_when == dt.datetime.fromtimestamp(second, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), line
        wanted = ("expired" if expect[last] is not None and second > expect[last] else
                  "not_yet_valid" if expect[first] is not None and second < expect[first] else "nil")
        assert verdict == wanted, (first, last, when, line)


def test_basic_constraints_and_key_usage_as_tshark_and_openssl_read_them(lua: str,
                                                                        certificates: list[Certificate]) -> None:
    # Given every distinct certificate of the captures, when the module parses each DER, then its CA flag, path
    # length and key usage are what tshark's x509ce fields and openssl -text show, and absent where they are.
    with_constraints = with_usage = 0
    for cert, got in zip(certificates, parse_certificates(lua, [c.der for c in certificates]), strict=True):
        where = f"{cert.source}: {got.get('subject')}"
        for key in ("ca", "path_len", "key_usage"):
            assert got.get(key) == cert.tshark.get(key), f"{where}: {key} (tshark)"
            assert got.get(key) == cert.openssl.get(key), f"{where}: {key} (openssl)"
        assert (got.get("basic_constraints") == "true") == ("ca" in cert.tshark), where
        with_constraints += "ca" in got
        with_usage += "key_usage" in got
    assert with_constraints >= 8 and with_usage >= 8


# Every reason the parser gives for refusing DER (a truncated or corrupted certificate).
REFUSALS = re.compile(r"[\w ]+: expected tag 0x[0-9a-f]{2} at byte \d+, found 0x[0-9a-f]{2}"
                      r"|(truncated|truncated length|unsupported length form|multi-byte tag) at byte \d+"
                      r"|element at byte \d+ runs past its container|empty OID|unterminated OID"
                      r"|serialNumber is not an INTEGER|extension value is not an OCTET STRING")


def test_damaged_certificates_are_refused_with_a_reason(lua: str, certificates: list[Certificate]) -> None:
    # Given certificates truncated or with random bytes overwritten, then the parser either reads them
    # or refuses them with one of its own reasons, never with a Lua runtime error.
    rng = random.Random(10)
    damaged = []
    for round_ in range(600):
        der = bytearray(rng.choice(certificates).der)
        if round_ % 3 == 0:
            der = der[:rng.randrange(len(der))]
        else:
            for _ in range(rng.randint(1, 8)):
                der[rng.randrange(len(der))] = rng.randrange(256)
        damaged.append(bytes(der))
    results = parse_certificates(lua, damaged)
    refusals = [result["error"] for result in results if "error" in result]
    assert len(refusals) > 300
    assert [reason for reason in refusals if not REFUSALS.fullmatch(reason)] == []


# ---------------------------------------------------------------------------------------------------------
# tpost_handshake: hello and key exchange bodies, against tshark's TLS dissector and hand-built bytes
# ---------------------------------------------------------------------------------------------------------

@dataclass
class Message:
    """One handshake message: its kind for the driver, its bytes, and what the parser must read in them."""

    source: str
    kind: str
    data: bytes
    expected: list[str]


def _own(message: ET.Element, name: str) -> list[ET.Element]:
    """Fields `name` of a handshake message outside its extensions (a ServerHello's own version, not
    supported_versions')."""
    return [e for e in message.findall("field") if e.get("name") == name]


def _extensions(message: ET.Element) -> dict[int, ET.Element]:
    """Extension type -> its subtree."""
    found = {}
    for element in message.findall("field"):
        type_field = _child(element, "tls.handshake.extension.type")
        if type_field is not None:
            found[int(type_field.get("show", "0"))] = element
    return found


def _at(element: ET.Element, start: int) -> int:
    return int(element.get("pos", "0")) - start


def expected_fields(kind: str, message: ET.Element) -> list[str] | None:
    """What tshark read in one message, as the driver prints it; None for a message the test does not use."""
    start = int(message.get("pos", "0"))
    extensions = _extensions(message)
    if kind == "client_hello":
        out = []
        if 0 in extensions:
            out += [f"sni={e.get('show')}" for e in _descendants(extensions[0], "tls.handshake.extensions_server_name")]
        for code, key in ((13, "sigalgs"), (50, "sigalgs_cert")):
            if code in extensions:
                codes = [e.get("value", "") for e in _descendants(extensions[code], "tls.handshake.sig_hash_alg")]
                out.append(f"{key}={','.join(codes)}")
        return out or ["nothing"]
    if kind == "server_hello":
        version = (_descendants(extensions[43], "tls.handshake.extensions.supported_version") if 43 in extensions
                   else _own(message, "tls.handshake.version"))[0]
        code = int(version.get("value", ""), 16)
        family = 13 if code in (0x0304, 0xFEFC) or code >> 8 == 0x7F else 12 if code in (0x0303, 0xFEFD) else 11
        out = [f"version={code:04x}", f"version_at={_at(version, start)}", f"rules_family={family}"]
        for suite in _own(message, "tls.handshake.ciphersuite"):
            out += [f"suite={suite.get('value')}", f"suite_at={_at(suite, start)}"]
        if 41 in extensions:
            out.append("psk=true")
        return out
    if kind.startswith("server_key_exchange"):
        # tshark shows p only when the ServerHello chose a DHE (or DH_anon, DHE_PSK) suite
        primes, lengths = _descendants(message, "tls.handshake.p"), _descendants(message, "tls.handshake.p_len")
        if not primes:
            return None
        bits = int(primes[0].get("value", ""), 16).bit_length()
        return [f"bits={bits}", f"at={_at(lengths[0], start)}", f"len={2 + int(lengths[0].get('show', '0'))}"]
    return None


KINDS = {"1": "client_hello", "2": "server_hello", "12": "server_key_exchange"}


@pytest.fixture(scope="module")
def captured_messages(dissected: list[tuple[str, list[ET.Element]]]) -> list[Message]:
    found: list[Message] = []
    for source, packets in dissected:
        for packet in packets:
            for message in _descendants(packet, "tls.handshake"):
                types = _own(message, "tls.handshake.type")
                kind = KINDS.get(types[0].get("show", "")) if types else None
                if kind == "server_key_exchange" and _descendants(message, "tls.handshake.identity_hint"):
                    kind = "server_key_exchange_psk"
                expected = expected_fields(kind, message) if kind else None
                if kind and expected is not None:
                    found.append(Message(source, kind, bytes.fromhex(message.get("value", "")), expected))
    assert {m.kind for m in found} >= {"client_hello", "server_hello"}
    return found


def parse_messages(lua: str, messages: list[Message]) -> list[list[str]]:
    stdin = "".join(f"{m.kind}\t{m.data.hex()}\n" for m in messages)
    lines = run_driver(lua, "handshake", str(LUA_DIR), stdin=stdin)
    return [line.split("\t") for line in lines]


def test_captured_hellos_read_as_tshark_reads_them(lua: str, captured_messages: list[Message]) -> None:
    # Given every ClientHello, ServerHello and DHE ServerKeyExchange of the captures, then the parser reads
    # the SNI, offered signature schemes, negotiated version and suite (with their offsets), PSK and the
    # DH prime's size as tshark's TLS dissector does.
    assert parse_messages(lua, captured_messages) == [m.expected for m in captured_messages]


def test_truncated_hellos_never_raise(lua: str, captured_messages: list[Message]) -> None:
    # Given every prefix of each captured message, then parsing never raises (what is cut off is left out).
    chosen = {m.kind: m for m in captured_messages}.values()
    stdin = "".join(f"prefixes\t{m.kind}\t{m.data.hex()}\n" for m in chosen)
    lines = run_driver(lua, "handshake", str(LUA_DIR), stdin=stdin)
    assert lines == [f"prefixes\t{len(m.data) + 1}" for m in chosen]


# The hello facts tpost.tls carries (tpost_wire.lua FIELDS), numbers and bytes; in a hello's tree order.
WIRE_NUMBERS = {"tls.handshake.version", "tls.handshake.ciphersuite", "tls.handshake.extension.type",
                "tls.handshake.extensions_supported_group", "tls.handshake.extensions_ec_point_format",
                "tls.handshake.sig_hash_alg", "tls.handshake.extensions.supported_version",
                "tls.handshake.extensions_key_share_group"}
WIRE_BYTES = {"tls.handshake.random", "tls.handshake.session_id", "tls.handshake.extensions_server_name",
              "tls.handshake.extensions_alpn_str"}


def wire_facts(message: ET.Element) -> str:
    """A hello's carried facts as tshark dissects them, in the driver's form."""
    out = []
    for e in message.iter("field"):
        name = e.get("name", "")
        if name in WIRE_NUMBERS:
            out.append(f"{name}={int(e.get('value', ''), 16)}")
        elif name in WIRE_BYTES:
            out.append(f"{name}={e.get('value', '')}")
    return "\t".join(out)


# Hellos whose extensions tshark reads in ways the byte reader must refuse, or whose facts hide where a reader
# could miss them (a server's signed certificate timestamps carry signature algorithms).
WIRE_CAPTURES = [REPO / "tests" / "data" / "wild" / name for name in
                 ("hello-retry-request.pcapng", "control-characters-in-sni-alpn.pcapng", "mutual-tls.pcapng")] \
    + [CAPTURES / "batch-mixed.pcapng"]
WIRE_CORPUS = ["zeek/signed_certificate_timestamp.pcap", "zeek/signed_certificate_timestamp_tls1_0.pcap",
               "zeek/tls13draft16-chrome55.0.2879.0-canary.pcap", "arkime/tls-split-client-hello.pcap",
               "zeek/chrome-63.0.3211.0-canary-tls_experiment.pcap"]


@pytest.fixture(scope="module")
def dissected_hellos(tshark: str, dissected: list[tuple[str, list[ET.Element]]]) -> list[tuple[str, list[ET.Element]]]:
    more = WIRE_CAPTURES + ([CORPUS / name for name in WIRE_CORPUS] if CORPUS.is_dir() else [])
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dissected + list(zip((c.name for c in more), pool.map(lambda c: read_capture(tshark, c), more)))


def test_hello_facts_read_from_bytes_as_tshark_shows_them(lua: str,
                                                          dissected_hellos: list[tuple[str, list[ET.Element]]]) -> None:
    # Given every TLS ClientHello and ServerHello of the captures, then wire.hello_facts gives the facts tpost.tls
    # carries exactly as tshark's fields show them, in the same order, for each hello it vouches for. It vouches
    # for every hello of the usual inputs but HelloRetryRequests and draft-era ServerHellos, and refuses a name
    # with control characters (tshark converts those) and extensions it does not know (ALPS, ECH).
    hellos = []   # (capture, kind, message)
    for capture, packets in dissected_hellos:
        for packet in packets:
            for message in _descendants(packet, "tls.handshake"):
                types = _own(message, "tls.handshake.type")
                kind = {"1": "client_hello", "2": "server_hello"}.get(types[0].get("show", "")) if types else None
                if kind and message.get("value"):
                    hellos.append((capture, kind, message))
    stdin = "".join(f"{kind}\t{message.get('value')}\n" for _, kind, message in hellos)
    lines = run_driver(lua, "wire_hello", str(LUA_DIR), stdin=stdin)
    assert len(lines) == len(hellos)
    vouched = [(line, wire_facts(message)) for line, (_, _, message) in zip(lines, hellos) if line != "nil"]
    assert [got for got, _ in vouched] == [expected for _, expected in vouched]
    assert len(vouched) >= 20

    hrr_random = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
    usual = {name for name, _ in dissected_hellos[:len(inputs())]}
    refused = {(capture, kind) for line, (capture, kind, message) in zip(lines, hellos) if line == "nil"
               and not (kind == "server_hello" and (message.get("value", "")[12:76] == hrr_random
                                                    or message.get("value", "")[8:10] == "7f"))}
    assert {capture for capture, _ in refused} & usual == set()
    assert ("control-characters-in-sni-alpn.pcapng", "client_hello") in refused
    if CORPUS.is_dir():
        assert ("tls-split-client-hello.pcap", "client_hello") in refused           # ALPS and ECH


def _key_exchanges(dissected_hellos: list[tuple[str, list[ET.Element]]]) -> list[tuple[str, str, str]]:
    """(ServerHello hex, ServerKeyExchange hex, tshark's facts of the key exchange) for every TLS key exchange after a
    ServerHello of the same TCP stream."""
    found = []
    for _, packets in dissected_hellos:
        server_hello: dict[str, str] = {}
        for packet in packets:
            streams = _descendants(packet, "tcp.stream")
            stream = streams[0].get("show", "") if streams else ""
            for message in _descendants(packet, "tls.handshake"):
                types = _own(message, "tls.handshake.type")
                kind = types[0].get("show", "") if types else ""
                if kind == "2" and message.get("value"):
                    server_hello[stream] = message.get("value", "")
                elif kind == "12" and message.get("value") and stream in server_hello:
                    facts = [f"{e.get('name')}={int(e.get('value', ''), 16)}" for e in message.iter("field")
                             if e.get("name") in ("tls.handshake.server_named_curve", "tls.handshake.sig_hash_alg")]
                    found.append((server_hello[stream], message.get("value", ""), "\t".join(facts) or "nothing"))
    return found


def test_key_exchange_facts_read_from_bytes_as_tshark_shows_them(
        lua: str, dissected_hellos: list[tuple[str, list[ET.Element]]]) -> None:
    # Given every ServerKeyExchange after a ServerHello in the captures, then wire.key_exchange_facts gives the named
    # curve and signature algorithm tshark shows, for each it vouches for (ECDHE suites tshark reads as such); and
    # given the same messages after a ServerHello whose suite is named ECDHE but that tshark does not read as ECDHE
    # (TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256, 0xc060: tshark shows no parameters), it vouches for none.
    exchanges = _key_exchanges(dissected_hellos)
    stdin = "".join(f"key_exchange\t{hello}\t{exchange}\n" for hello, exchange, _ in exchanges)
    lines = run_driver(lua, "wire_hello", str(LUA_DIR), stdin=stdin)
    vouched = [(line, expected) for line, (_, _, expected) in zip(lines, exchanges) if line != "nil"]
    assert [got for got, _ in vouched] == [expected for _, expected in vouched]
    assert len(vouched) >= 10

    def aria(hello: str) -> str:
        data = bytearray.fromhex(hello)
        at = 4 + 2 + 32 + 1 + data[4 + 2 + 32]   # after the header, version, random and session id
        data[at:at + 2] = bytes.fromhex("c060")
        return data.hex()

    stdin = "".join(f"key_exchange\t{aria(hello)}\t{exchange}\n" for hello, exchange, _ in exchanges)
    assert set(run_driver(lua, "wire_hello", str(LUA_DIR), stdin=stdin)) == {"nil"}


def test_one_extension_walk_read_exactly_by_the_line_and_leniently_by_the_analysis(lua: str) -> None:
    # Given ClientHellos that differ only in their extensions block (tpost_handshake.each_extension walks it for both
    # readers): an exact block with a GREASE extension, one with bytes left over that hold no whole extension, one
    # whose last extension runs past the block, one with an extension the bytes reader does not know. Then the
    # line's reader (tpost_wire_bytes.hello_facts) vouches for the exact block only, and the analysis's parser reads
    # the name, the first extension, from each of them.
    sni = build.extension(0, build.vector(b"\x00" + build.vector(b"a.example", 2), 2))
    blocks = {
        "exact": sni + build.extension(0x3A3A, b"\x01"),
        "left over": sni + b"\x00\x17",
        "overrun": sni + b"\x00\x17\x00\x05\x00\x00",
        "unknown": sni + build.extension(0x1234, b""),
    }

    def hello(block: bytes) -> bytes:
        return build.message(1, b"\x03\x03" + bytes(32) + b"\x00" + build.vector(b"\x13\x01", 2) + b"\x01\x00"
                             + build.vector(block, 2))

    stdin = "".join(f"client_hello\t{hello(block).hex()}\n" for block in blocks.values())
    assert run_driver(lua, "wire_hello", str(LUA_DIR), stdin=stdin) == [
        "\t".join(["tls.handshake.version=771", f"tls.handshake.random={bytes(32).hex()}",
                   "tls.handshake.ciphersuite=4865", "tls.handshake.extension.type=0",
                   f"tls.handshake.extensions_server_name={b'a.example'.hex()}",
                   "tls.handshake.extension.type=14906"]),
        "nil", "nil", "nil"]
    lines = parse_messages(lua, [Message("built", "client_hello", hello(block), []) for block in blocks.values()])
    assert lines == [["sni=a.example"]] * len(blocks)


def test_built_hellos(lua: str) -> None:
    # Given hellos built here: TLS with SNI (a Latin-1 byte and a control character in it),
    # signature_algorithms and signature_algorithms_cert; DTLS with a cookie; a TLS 1.3 ServerHello
    # (supported_versions, pre_shared_key); an early TLS 1.3 draft ServerHello (no session id);
    # and a ServerHello cut inside its random.
    extensions = build.extension(43, b"\x03\x04") + build.extension(41, b"\x00\x00")
    tls13_server = build.message(2, b"\x03\x03" + bytes(32) + build.vector(b"\x22" * 32, 1) + b"\x13\x02\x00"
                                 + build.vector(extensions, 2))
    draft_server = build.message(2, b"\x7f\x12" + bytes(32) + b"\x13\x01" + build.vector(build.extension(40, b""), 2))
    messages = [
        ("client_hello", build.client_hello(b"caf\xe9\x01.example", [0x0804, 0x0403], [0x0401])),
        ("client_hello_dtls", build.client_hello(b"dtls.example", [0x0201], None, dtls=True)),
        ("server_hello", tls13_server),
        ("server_hello", draft_server),
        ("server_hello", build.message(2, b"\x03\x03" + bytes(20))),
    ]
    lines = parse_messages(lua, [Message("built", kind, data, []) for kind, data in messages])
    supported_version_at = tls13_server.index(bytes.fromhex("002b0002")) + 4
    assert lines == [
        ["sni=caf\u00e9\\01.example", "sigalgs=0804,0403", "sigalgs_cert=0401"],
        ["sni=dtls.example", "sigalgs=0201"],
        ["version=0304", f"version_at={supported_version_at}", "rules_family=13",
         "suite=1302", f"suite_at={4 + 2 + 32 + 33}", "psk=true"],
        ["version=7f12", "version_at=4", "rules_family=13", "suite=1301", f"suite_at={4 + 2 + 32}"],
        ["nil"],
    ]


def test_built_dh_key_exchanges(lua: str) -> None:
    # Given DHE ServerKeyExchange bodies (plain and DHE-PSK with an identity hint) whose prime has a leading
    # zero byte, then the parser measures the prime as Python does and points at its length prefix;
    # an empty or cut-off prime gives nothing.
    prime = (2**1023 + 12345).to_bytes(129, "big")          # 129 bytes, the first one zero: 1024 bits
    generator, public = build.vector(b"\x02", 2), build.vector(b"\x05" * 128, 2)
    plain = build.message(12, build.vector(prime, 2) + generator + public)
    hint = build.vector(b"client-hint", 2)
    psk = build.message(12, hint + build.vector(prime, 2) + generator + public)
    empty = build.message(12, build.vector(b"", 2) + generator + public)
    cut = build.message(12, build.vector(prime, 2))[:60]
    lines = parse_messages(lua, [Message("built", kind, data, []) for kind, data in [
        ("server_key_exchange", plain), ("server_key_exchange_psk", psk), ("server_key_exchange", empty),
        ("server_key_exchange", cut)]])
    bits = int.from_bytes(prime, "big").bit_length()
    assert lines == [[f"bits={bits}", "at=4", f"len={2 + len(prime)}"],
                     [f"bits={bits}", f"at={4 + len(hint)}", f"len={2 + len(prime)}"],
                     ["nil"], ["nil"]]


# ---------------------------------------------------------------------------------------------------------
# tpost_tsv: the fact tables, against Python's reading of the same files
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("table", sorted(p.name for p in TABLES.glob("*.tsv")))
def test_fact_tables_read_as_python_reads_them(lua: str, table: str) -> None:
    # Given each fact table, then the reader gives the rows Python gets by skipping comments and splitting tabs.
    path = TABLES / table
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    header = lines[0].split("\t")
    assert run_driver(lua, "tsv", str(LUA_DIR), str(path), *header) == lines


def test_broken_tables_are_refused_by_name_and_line(lua: str, tmp_path: Path) -> None:
    # Given a missing file, CRLF line ends, a missing column, a short row and a table without rows,
    # then the reader takes CRLF in its stride and refuses the others in one line naming file and line.
    cases = {
        "missing.tsv": None,
        "crlf.tsv": "# comment\r\ncode\tname\r\n\r\n1\tone\r\n",
        "column.tsv": "code\tnames\n1\tone\n",
        "short.tsv": "# comment\ncode\tname\n1\tone\n2\n",
        "empty.tsv": "# only a comment\ncode\tname\n",
    }
    outputs = {}
    for name, text in cases.items():
        if text is not None:
            (tmp_path / name).write_bytes(text.encode())
        outputs[name] = run_driver(lua, "tsv", str(LUA_DIR), str(tmp_path / name), "code", "name")
    missing = tmp_path / "missing.tsv"
    assert outputs["missing.tsv"][0].startswith(f"error\ttsharkpost: cannot read fact table {missing} (")
    assert outputs["crlf.tsv"] == ["code\tname", "1\tone"]
    assert outputs["column.tsv"] == [f'error\ttsharkpost: {tmp_path / "column.tsv"}: header lacks column "name"']
    assert outputs["short.tsv"] == [f"error\ttsharkpost: {tmp_path / 'short.tsv'}:4: 1 columns, header has 2"]
    assert outputs["empty.tsv"] == [f"error\ttsharkpost: {tmp_path / 'empty.tsv'} has no rows"]


# ---------------------------------------------------------------------------------------------------------
# tpost_messages: templates filled and cut as tsharkpost/plugin/messages.py does, to the same bytes


def _hex(text: str) -> str:
    return text.encode("utf-8").hex()


def test_messages_cut_like_python(lua: str) -> None:
    # Given texts of one- to four-byte characters cut at every length, then the Lua module and
    # messages.cut keep the same bytes: whole characters, then "…", never more than the bound.
    texts = ["plain ASCII text that runs on", "Zürich Straße ÄÖÜ äöü", "中文证书颁发机构名称很长很长",
             "emoji 🔒🔑 in a CN 🔒", "§7.4.2 and … already"]
    cases = [(text, limit) for text in texts for limit in range(0, len(text.encode()) + 2)]
    stdin = "".join(f"cut\t{limit}\t{_hex(text)}\n" for text, limit in cases)
    got = [bytes.fromhex(line).decode("utf-8") for line in run_driver(lua, "messages", str(LUA_DIR), stdin=stdin)]
    assert got == [messages.cut(text, limit) for text, limit in cases]
    assert all(len(out.encode()) <= max(limit, 3) for out, (_, limit) in zip(got, cases))


def test_messages_fill_like_python(lua: str) -> None:
    # Given every template of messages.tsv filled with values of odd characters (braces, percent signs,
    # multi-byte text), then both languages give the same text; a missing value raises in both.
    values = {name: f"{name}%1{{x}}é" for name in ("index", "role", "name", "cert", "algorithm", "side", "list",
                                                     "count", "frame", "meaning", "code", "bits")}
    cases = []
    for template in messages.templates().values():
        needed = {name[:1].lower() + name[1:] for name in messages.placeholders(template)}
        given = {name: values.get(name, f"<{name}>") for name in needed}
        cases.append((template, given))
    cases.append(("{missing} value", {}))
    cases.append(("{Side} and {side}", {"side": "client"}))
    stdin = "".join(f"fill\t{_hex(t)}\t{','.join(f'{k}={_hex(v)}' for k, v in given.items())}\n"
                    for t, given in cases)
    got = run_driver(lua, "messages", str(LUA_DIR), stdin=stdin)
    expected = []
    for template, given in cases:
        try:
            expected.append(_hex(messages.fill(template, given)))
        except KeyError:
            expected.append("error")
    assert got == expected
    assert got[-2] == "error" and bytes.fromhex(got[-1]).decode() == "Client and client"


def test_messages_pick_variants_first() -> None:
    assert messages.pick("sigalg_not_offered", "text", "tls13", "error") == \
        messages.template("sigalg_not_offered.tls13.text")
    assert messages.pick("sigalg_not_offered", "text", "error") == messages.template("sigalg_not_offered.text")
    assert messages.pick("weak_rsa_key", "text", "warning") == messages.template("weak_rsa_key.warning.text")
    assert messages.pick("weak_rsa_key", "nothing", "warning") is None


def test_messages_pick_like_python(lua: str) -> None:
    rows = {"c.text": "generic", "c.error.text": "for errors", "c.tls13.text": "for TLS 1.3"}
    cases = [("c", "text", ("tls13", "error")), ("c", "text", ("error",)), ("c", "text", ("note",)),
             ("c", "text", ()), ("c", "why", ("error",))]
    stdin = "".join(f"pick\t{','.join(f'{k}={_hex(v)}' for k, v in rows.items())}\t{check}\t{form}\t"
                    f"{','.join(variants)}\n" for check, form, variants in cases)
    got = run_driver(lua, "messages", str(LUA_DIR), stdin=stdin)
    assert [bytes.fromhex(line).decode() if line != "nil" else None for line in got] == [
        "for TLS 1.3", "for errors", "generic", "generic", None]


# tpost_sniff: does a segment start like a TLS hello (tpost_ws_find, TLS found by content), on bytes built here


def test_sniff_tells_hellos_from_other_payloads(lua: str) -> None:
    # Given segments that start a TLS connection (a ClientHello and a ServerHello record, TLS 1.0 record
    # versions too, an SSL 2.0 CLIENT-HELLO offering SSL 2.0 and one offering TLS 1.0, a record cut after
    # its first 6 bytes), a server's answers (a Certificate record, an alert, application data, an SSL 2.0
    # SERVER-HELLO) and payloads that must never start TLS: HTTP, an IRC line, RDP's X.224 request, a
    # handshake record with a Certificate first, a record too long for TLS, SSH's banner and random bytes.
    hello = build.record(22, build.client_hello(b"shop.example.net", [0x0804]))
    server = build.record(22, build.server_hello())
    old_record = b"\x16\x03\x01" + hello[3:]
    sslv2_hello = bytes.fromhex("802e0100020015000000100700c0050080030080010080080080060040040080020080") + bytes(16)
    sslv2_tls10 = bytes.fromhex("803e01030100150000002000") + bytes(40)
    sslv2_server = bytes.fromhex("83b4040001000203870012001030820383")
    cases = [
        (hello, True, True), (server, True, True), (old_record, True, True), (sslv2_hello, True, False),
        (sslv2_tls10, True, False), (hello[:6], True, True), (sslv2_server, False, True),
        (build.record(22, build.certificate([b"\x30\x00"])), False, True),
        (bytes.fromhex("15030300020230"), False, True),
        (bytes.fromhex("1703030020") + bytes(32), False, True),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", False, False), (b"STARTTLS\r\n", False, False),
        (bytes.fromhex("0300001302e00000000000010008000b000000"), False, False),
        (b"\x16\x03\x03\x48\x01\x01\x00\x00\x10\x03", False, True), (b"SSH-2.0-OpenSSH_9.2\r\n", False, False),
        (b"\x16\x03\x03\x00", False, False),
    ]
    generator = random.Random(11)
    noise = [bytes(generator.randrange(256) for _ in range(16)) for _ in range(2000)]
    lines = run_driver(lua, "sniff", str(LUA_DIR), stdin="".join(f"{data[:16].hex()}\n" for data, _, _ in cases)
                       + "".join(f"{data.hex()}\n" for data in noise))
    assert ["\t".join(line.split("\t")[:2]) for line in lines[:len(cases)]] == [
        f"{str(h).lower()}\t{str(r).lower()}" for _, h, r in cases]
    # random 16-byte payloads: none starts a hello (about one in five million would, nearly all as SSL 2.0)
    assert sum(line.startswith("true") for line in lines[len(cases):]) == 0


def test_sniff_tells_an_http_connect_request(lua: str) -> None:
    # Given a proxy's CONNECT requests (HTTP/1.0 and 1.1, the first 10 bytes of a segment as the find script reads
    # them) and payloads that are not one: other HTTP methods, a lowercase or unspaced CONNECT (STOMP's frame),
    # a TLS hello, then only the CONNECT requests are (HTTP relays that tunnel itself: tpost_ws_find leaves it).
    hello = build.record(22, build.client_hello(b"shop.example.net", [0x0804]))
    cases = [(b"CONNECT ts01-b.cloudsink.net:443 HTTP/1.0\r\n", True), (b"CONNECT [::1]:443 HTTP/1.1\r\n", True),
             (b"GET / HTTP/1.1\r\n", False), (b"OPTIONS * HTTP/1.1\r\n", False), (b"connect x:443 HTTP/1.1", False),
             (b"CONNECT\naccept-version:1.2\n", False), (b"CONNECTX", False), (hello, False)]
    lines = run_driver(lua, "sniff", str(LUA_DIR), stdin="".join(f"{data[:10].hex()}\n" for data, _ in cases))
    assert [line.split("\t")[2] for line in lines] == [str(c).lower() for _, c in cases]


def test_sniff_tells_a_text_line_from_the_middle_of_a_record(lua: str) -> None:
    # Given the first 10 bytes of text answers (an SMTP refusal, HTTP's 400, an IRC line with a tab, a bare CRLF) and
    # of binary payloads (a record's middle: certificate bytes, ciphertext; PostgreSQL's ErrorResponse; a NUL; DEL;
    # a Latin-1 letter), then only the text answers are text (tpost_ws_find leaves those to the port's dissector
    # after a STARTTLS exchange, and takes the others for TLS whose start was lost)
    cases = [(b"500 5.5.1 command unrecognized\r\n", True), (b"HTTP/1.1 400 Bad Request\r\n", True),
             (b":irc 670\tx STARTTLS\r\n", True), (b"\r\n", True),
             (bytes.fromhex("a670dea216743fc8e9a35b19"), False), (bytes.fromhex("3082050a30820482a003"), False),
             (b"E\x00\x00\x00\x5bSFATAL", False), (b"abc\x00def", False), (b"abc\x7fdef", False),
             ("Zürich".encode("latin-1"), False), (b"", False)]
    lines = run_driver(lua, "sniff", str(LUA_DIR), stdin="".join(f"{data[:10].hex()}\n" for data, _ in cases))
    assert [line.split("\t")[3] for line in lines] == [str(c).lower() for _, c in cases]
    # random 10-byte payloads: about one in 15,000 would be text
    generator = random.Random(12)
    noise = [bytes(generator.randrange(256) for _ in range(10)) for _ in range(2000)]
    lines = run_driver(lua, "sniff", str(LUA_DIR), stdin="".join(f"{data.hex()}\n" for data in noise))
    assert sum(line.endswith("true") for line in lines) == 0


# ---------------------------------------------------------------------------------------------------------
# The core (tpost_facts, tpost_checks, tpost_state, tpost_frame): the plugin's analysis with no Wireshark, fed
# one connection's frames as plain values read from a capture by plain tshark (its record bytes, its certificates'
# DER), judged against openssl's reading of the certificates and tshark's of the hellos and alerts
# ---------------------------------------------------------------------------------------------------------

@dataclass
class Frame:
    """One TCP frame as plain tshark reads it: the facts the core's per-frame interface takes."""

    num: int
    time: str
    src: str
    dst: str
    flags: int
    records: list[tuple[int, bytes]]      # (content type, body) of each whole TLS record of the segment
    ders: list[bytes]                     # the certificates tshark decoded in the frame
    offered: list[int]                    # the ClientHello's signature_algorithms, as tshark reads them
    alert_desc: list[int]


def read_frames(tshark: str, capture: Path) -> list[Frame]:
    fields = ["frame.number", "frame.time_epoch", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "tcp.flags",
              "tcp.payload", "tls.handshake.certificate", "tls.handshake.sig_hash_alg", "tls.alert_message.desc"]
    argv = [tshark, "-n", "-r", str(capture), "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|",
            *(arg for name in fields for arg in ("-e", name))]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)
    frames = []
    for line in proc.stdout.splitlines():
        num, time_, src, sport, dst, dport, flags, payload, certs, sigalgs, descs = line.split("\t")
        data, records = bytes.fromhex(payload), []
        while len(data) >= 5 and 5 + int.from_bytes(data[3:5], "big") <= len(data):
            end = 5 + int.from_bytes(data[3:5], "big")
            records.append((data[0], data[5:end]))
            data = data[end:]
        frames.append(Frame(int(num), time_, f"{src}/{sport}", f"{dst}/{dport}", int(flags, 16), records,
                            [bytes.fromhex(c) for c in certs.split("|") if c],
                            [int(v, 16) for v in sigalgs.split("|") if v], [int(v) for v in descs.split("|") if v]))
    return frames


def core_events(frames: list[Frame]) -> str:
    """The driver's events: each frame's records, handshake messages, certificates and alerts."""
    out = []
    for f in frames:
        out.append(f"F\t{f.num}\t{f.time}\t{f.src}\t{f.dst}\t{f.flags}")
        for ct, body in f.records:
            out.append(f"R\t{ct}")
            if ct == 22:
                while len(body) >= 4 and 4 + int.from_bytes(body[1:4], "big") <= len(body):
                    end = 4 + int.from_bytes(body[1:4], "big")
                    out.append(f"H\t{body[:end].hex()}")
                    body = body[end:]
            elif ct == 21:
                out.append(f"A\t{body.hex()}")
        out.extend(f"C\t{der.hex()}" for der in f.ders)
        out.append("E")
    return "".join(line + "\n" for line in out)


def run_core(lua: str, frames: list[Frame]) -> tuple[list[list[str]], list[list[str]]]:
    """The certificates and findings the core reports: (frame, index, sender, sha256, sigalg) and
    (frame, check, severity, certificate index, alert code, message)."""
    certs, findings = [], []
    for line in run_driver(lua, "core", str(LUA_DIR), stdin=core_events(frames)):
        tag, *rest = line.split("\t")
        (certs if tag == "cert" else findings).append(rest)
    return certs, findings


def openssl_signature(der: bytes) -> tuple[str, bool]:
    """openssl's name of a certificate's signature algorithm, and whether its issuer is its subject."""
    proc = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-text", "-issuer", "-subject",
                           "-nameopt", "RFC2253"], input=der, capture_output=True, timeout=30, check=True)
    text = proc.stdout.decode()
    algorithm = re.search(r"Signature Algorithm: (\S+)", text)
    issuer, subject = re.search(r"^issuer=(.*)$", text, re.MULTILINE), re.search(r"^subject=(.*)$", text, re.MULTILINE)
    assert algorithm and issuer and subject
    return algorithm.group(1), issuer.group(1) == subject.group(1)


def test_core_judges_a_chain_under_plain_lua(lua: str, tshark: str) -> None:
    # Given md2-root-silent-fin read by plain tshark (record bytes, the chain's DER) and fed to the core under
    # plain Lua, then the core sums up each certificate tshark decoded (SHA-256 as hashlib computes it), finds
    # the MD2-signed certificate openssl names at its index: not offered by a client whose signature_algorithms
    # (as tshark reads them) hold no MD2 scheme, and a weak hash (only a note on a self-signed one, which clients
    # never verify), and calls the FIN that follows the chain a silent teardown.
    frames = read_frames(tshark, CAPTURES / "md2-root-silent-fin.pcapng")
    chain_frame = next(f for f in frames if f.ders)
    offered = next(f.offered for f in frames if f.offered)
    md2_schemes = {0x0101, 0x0102, 0x0103}   # no TLS registry assigns MD2 a scheme: hash byte 1 is md5
    assert offered and not md2_schemes & set(offered)
    certs, findings = run_core(lua, frames)
    assert certs == [[str(chain_frame.num), str(i), "server", hashlib.sha256(der).hexdigest(), openssl_name]
                     for i, (der, openssl_name) in enumerate(
                         (der, openssl_signature(der)[0]) for der in chain_frame.ders)]
    md2 = [(i, self_signed) for i, der in enumerate(chain_frame.ders)
           for name, self_signed in [openssl_signature(der)] if name.startswith("md2")]
    assert len(md2) == 1
    index, self_signed = md2[0]
    judged = {(frame, check, sev, cert) for frame, check, sev, cert, _, _ in findings}
    assert (str(chain_frame.num), "sigalg_not_offered", "error", str(index)) in judged
    assert (str(chain_frame.num), "weak_signature", "note" if self_signed else "error", str(index)) in judged
    fin = next(f for f in frames if f.num > chain_frame.num and f.flags & 1)
    assert (str(fin.num), "silent_teardown", "warning", "-") in judged
    assert {check for _, check, *_ in findings} == {"sigalg_not_offered", "weak_signature", "silent_teardown"}


def test_core_names_a_fatal_alert_under_plain_lua(lua: str, tshark: str) -> None:
    # Given md5-intermediate-alert read by plain tshark, then the core reports the client's fatal alert with the
    # code tshark reads, named as tables/tls_alerts.tsv names it, and the MD5-signed certificate openssl names.
    frames = read_frames(tshark, CAPTURES / "md5-intermediate-alert.pcapng")
    alert_frame = next(f for f in frames if f.alert_desc)
    chain_frame = next(f for f in frames if f.ders)
    certs, findings = run_core(lua, frames)
    assert len(certs) == len(chain_frame.ders)
    code = alert_frame.alert_desc[0]
    name = next(row["name"] for row in _table("tls_alerts.tsv") if int(row["code"]) == code)
    alerts = [f for f in findings if f[1] == "fatal_alert"]
    assert [(frame, sev, alert) for frame, _, sev, _, alert, _ in alerts] == [
        (str(alert_frame.num), "error", str(code))]
    assert name in alerts[0][5]
    md5 = [str(i) for i, der in enumerate(chain_frame.ders) if openssl_signature(der)[0].startswith("md5")]
    assert len(md5) == 1
    assert (str(chain_frame.num), "weak_signature", "error", md5[0]) in {tuple(f[:4]) for f in findings}
