"""The plugin's own Lua under plain Lua 5.2 and 5.4 (no Wireshark): a stub API feeds it one handshake.

Wireshark 4.0 embeds Lua 5.2 (with bit32); Wireshark 4.4+ embeds 5.4 (no bit32, so the plugin compiles
operator-based bit functions at load time). Running the same certificate through both interpreters
checks that the SHA-256, DER parsing and checks agree, without depending on a Wireshark build.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from plugin_support import run_tshark

# Stub Wireshark API: enough for tsharkpost.lua to load, dissect one frame and render its tree.
HARNESS = r"""
local FIELDS = {}            -- field name -> list of fake FieldInfo for the current frame
local out = io.stdout

local function fake_range(bytes)
    local r = {}
    function r:raw(off, len) off = off or 0 return bytes:sub(off + 1, len and off + len or #bytes) end
    function r:len() return #bytes end
    function r:range(off, len) return fake_range(bytes:sub(off + 1, off + len)) end
    return r
end
local function fake_info(bytes, value, offset, source_len)
    return { range = fake_range(bytes), value = value, offset = offset or 0, display = tostring(value),
             source = { len = function() return source_len or #bytes end } }
end
local function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end

local function name_of(thing) return type(thing) == "table" and (thing.abbr or thing.name) or tostring(thing) end
local function fake_item(depth)
    local item = {}
    function item:add(field, a, b, label)
        local value = b
        if type(a) ~= "table" then value, label = a, b end
        out:write(("ITEM\t%d\t%s\t%s\n"):format(depth, name_of(field), tostring(value)))
        return fake_item(depth + 1)
    end
    function item:add_proto_expert_info(expert_item, text)
        out:write(("EXPERT\t%s\t%s\n"):format(expert_item.abbr, text))
    end
    return item
end

get_version = function() return "4.0.17" end
base = setmetatable({}, { __index = function(_, k) return k end })
expert = { group = setmetatable({}, { __index = function(_, k) return k end }),
           severity = setmetatable({}, { __index = function(_, k) return k end }) }
frametype, ftypes = {}, {}
ProtoField = setmetatable({}, { __index = function() return function(abbr) return { abbr = abbr } end end })
ProtoExpert = { new = function(abbr) return { abbr = abbr } end }
Pref = { uint = function(_, v) return v end, bool = function(_, v) return v end }
Proto = function(name) return { name = name, prefs = {}, fields = {}, experts = {} } end
Field = { new = function(name) return function() return table.unpack(FIELDS[name] or {}) end end }
local registered
register_postdissector = function(p) registered = p end
table.unpack = table.unpack or unpack

dofile(PLUGIN)
out:write("BIT32\t" .. tostring(bit32 ~= nil) .. "\n")
registered.init()

local tvb = setmetatable({}, { __call = function() return fake_range("") end })
local function frame(number, src, src_port, dst, dst_port, fields)
    FIELDS = fields
    local pinfo = { number = number, abs_ts = number / 1000, src = src, src_port = src_port, dst = dst,
                    dst_port = dst_port, port_type = 2, visited = false }
    out:write(("FRAME\t%d\n"):format(number))
    registered.dissector(tvb, pinfo, fake_item(0))
end

local hello = unhex(CLIENT_HELLO)
local server_hello = unhex(SERVER_HELLO)
local function handshake(number, stream, ders)
    local client_fields = {
        ["tls.record.content_type"] = { fake_info("", 22) }, ["tcp.stream"] = { fake_info("", stream) },
        ["tls.handshake.type"] = { fake_info("", 1, 0, #hello) }, ["tls.handshake"] = { fake_info(hello) } }
    frame(number, "10.0.0.1", 50000, "10.0.0.2", 443, client_fields)
    local certs = {}
    for i, der in ipairs(ders) do certs[i] = fake_info(der) end
    frame(number + 1, "10.0.0.2", 443, "10.0.0.1", 50000, {
        ["tls.record.content_type"] = { fake_info("", 22) }, ["tcp.stream"] = { fake_info("", stream) },
        ["tls.handshake.type"] = { fake_info("", 2, 0, #server_hello) },
        ["tls.handshake"] = { fake_info(server_hello) }, ["tls.handshake.certificate"] = certs,
        ["tls.handshake.ciphersuite"] = { fake_info("", 0xc02f) } })
end

if MUTATIONS then
    -- Each round: every certificate truncated, or with random bytes overwritten.
    math.randomseed(MUTATIONS)
    for round = 1, 150 do
        local ders = {}
        for i, hexder in ipairs(CERTS) do
            local der = unhex(hexder)
            if round % 3 == 0 then
                der = der:sub(1, math.random(0, #der - 1))
            else
                for _ = 1, math.random(1, 8) do
                    local at = math.random(1, #der)
                    der = der:sub(1, at - 1) .. string.char(math.random(0, 255)) .. der:sub(at + 1)
                end
            end
            ders[i] = der
        end
        handshake(2 * round + 1, round, ders)
    end
    return
end

frame(1, "10.0.0.1", 50000, "10.0.0.2", 443, {
    ["tls.record.content_type"] = { fake_info("", 22) }, ["tcp.stream"] = { fake_info("", 0) },
    ["tls.handshake.type"] = { fake_info("", 1, 0, #hello) }, ["tls.handshake"] = { fake_info(hello) } })
local certs = {}
for i, der in ipairs(CERTS) do certs[i] = fake_info(unhex(der)) end
frame(2, "10.0.0.2", 443, "10.0.0.1", 50000, {
    ["tls.record.content_type"] = { fake_info("", 22) }, ["tcp.stream"] = { fake_info("", 0) },
    ["tls.handshake.type"] = { fake_info("", 2, 0, #server_hello) }, ["tls.handshake"] = { fake_info(server_hello) },
    ["tls.handshake.certificate"] = certs,
    ["tls.handshake.ciphersuite"] = { fake_info("", 0xc02f) } })
"""


def _hello(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def _extension(ext_type: int, data: bytes) -> bytes:
    return ext_type.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data


def client_hello(sni: str, schemes: list[int]) -> bytes:
    name = sni.encode()
    server_name = (len(name) + 3).to_bytes(2, "big") + b"\x00" + len(name).to_bytes(2, "big") + name
    sigalgs = (2 * len(schemes)).to_bytes(2, "big") + b"".join(s.to_bytes(2, "big") for s in schemes)
    extensions = _extension(0, server_name) + _extension(13, sigalgs)
    body = (b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\xc0\x2f" + b"\x01\x00"
            + len(extensions).to_bytes(2, "big") + extensions)
    return _hello(1, body)


def server_hello() -> bytes:
    return _hello(2, b"\x03\x03" + bytes(32) + b"\x00" + b"\xc0\x2f" + b"\x00")


@pytest.fixture(scope="module")
def seed_certificates(tshark: str, plugin: Path, captures_dir: Path) -> list[str]:
    out = run_tshark(tshark, plugin, captures_dir / "md2-root-silent-fin.pcapng", "-Y", "frame.number == 6",
                     "-T", "fields", "-e", "tls.handshake.certificate")
    return out.strip().split(",")


def run_harness(lua: str, plugin: Path, certs: list[str], tmp_path: Path, mutations: int | None = None
                ) -> list[list[str]]:
    if not shutil.which(lua):
        pytest.fail(f"{lua} is not installed (Debian package {lua}): scripts/setup installs it")
    script = tmp_path / f"harness-{lua}-{mutations}.lua"
    script.write_text(
        f'PLUGIN = "{plugin}"\n'
        f"MUTATIONS = {mutations if mutations is not None else 'nil'}\n"
        f'CLIENT_HELLO = "{client_hello("shop.example.net", [0x0401, 0x0501, 0x0201]).hex()}"\n'
        f'SERVER_HELLO = "{server_hello().hex()}"\n'
        "CERTS = {" + ", ".join(f'"{c}"' for c in certs) + "}\n" + HARNESS, encoding="utf-8")
    proc = subprocess.run([lua, str(script)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return [line.split("\t") for line in proc.stdout.splitlines()]


@pytest.mark.parametrize(("lua", "has_bit32"), [("lua5.2", "true"), ("lua5.4", "false")])
def test_same_verdicts_under_lua_52_and_54(lua: str, has_bit32: str, plugin: Path, seed_certificates: list[str],
                                           tmp_path: Path) -> None:
    # Given the seed chain and a ClientHello offering only rsa_pkcs1_sha256/384/sha1, when the plugin runs
    # under a bare interpreter, then it flags the md2 root twice and fingerprints every certificate right.
    lines = run_harness(lua, plugin, seed_certificates, tmp_path)
    assert ["BIT32", has_bit32] in lines
    experts = [(line[1], line[2].split(":")[0]) for line in lines if line[0] == "EXPERT"]
    assert experts == [("tpost.expert.weak_signature.error", "weak_signature"),
                       ("tpost.expert.sigalg_not_offered.error", "sigalg_not_offered")]
    fingerprints = [line[3] for line in lines if line[0] == "ITEM" and line[2] == "tpost.cert.sha256"]
    assert fingerprints == [hashlib.sha256(bytes.fromhex(c)).hexdigest() for c in seed_certificates]
    bits = [line[3] for line in lines if line[0] == "ITEM" and line[2] == "tpost.cert.key.bits"]
    assert bits == ["2048"] * 4
    offered = [line[2] for line in lines if line[0] == "EXPERT" and "sigalg_not_offered" in line[2]]
    assert offered[0].endswith("offered: rsa_pkcs1_sha256, rsa_pkcs1_sha384, rsa_pkcs1_sha1")


@pytest.mark.parametrize(("lua", "seed"), [("lua5.2", 1), ("lua5.4", 2)])
def test_mutated_certificates_never_raise(lua: str, seed: int, plugin: Path, seed_certificates: list[str],
                                          tmp_path: Path) -> None:
    # Given 150 handshakes whose certificates are truncated or have random bytes overwritten, then every
    # certificate still gets a summary item, broken ones a malformed_certificate note, and nothing raises.
    lines = run_harness(lua, plugin, seed_certificates, tmp_path, mutations=seed)
    checks = [line[2].split(":")[0] for line in lines if line[0] == "EXPERT"]
    assert "plugin_error" not in checks
    assert checks.count("malformed_certificate") >= 150
    summaries = [line for line in lines if line[0] == "ITEM" and line[2] == "tpost.cert"]
    assert len(summaries) == 150 * len(seed_certificates)


def test_reversed_chain_breaks_order_and_name(plugin: Path, seed_certificates: list[str], tmp_path: Path) -> None:
    # Given the seed chain sent root first, then every adjacent pair is out of order and the "leaf"
    # (the root) does not carry the SNI name.
    lines = run_harness("lua5.2", plugin, list(reversed(seed_certificates)), tmp_path)
    experts = [line[2] for line in lines if line[0] == "EXPERT"]
    assert [e.split(":")[0] for e in experts] == [
        "weak_signature", "sigalg_not_offered", "chain_order", "chain_order", "chain_order", "name_mismatch"]
    assert experts[2] == (
        "chain_order: certificate #0 (Example Legacy Root CA) was issued by 'CN=Example Legacy Root CA,"
        "O=Example Trust Services,C=US', but the next certificate #1 is 'CN=Example Policy CA 1,"
        "O=Example Trust Services,C=US': the chain is out of order or carries a foreign certificate "
        "(RFC 5246 §7.4.2), which strict clients reject")
    assert experts[5] == (
        "name_mismatch: leaf certificate #0 (Example Legacy Root CA) does not match the SNI 'shop.example.net': "
        "it names Example Legacy Root CA in its subject CN, having no SAN dNSName; clients reject it as a possible "
        "impersonation (RFC 6125 §6.4)")
