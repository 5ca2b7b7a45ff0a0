--[[
tsharkpost.lua: Wireshark post-dissector "tpost" (tsharkpost TLS diagnostics).

What it does
  Judges what Wireshark only displays. For every TLS/DTLS connection it checks
  - each certificate of every Certificate message (server and client chains):
    weak signature hash (md2/md4/md5, sha1), short RSA/DSA/EC keys, and a
    signature algorithm that the ClientHello did not offer (RFC 5246 §7.4.2;
    RFC 8446 §4.4.2.2 with signature_algorithms_cert, self-signed exempt);
    validity against the time of the frame that carried it (expired, not yet
    valid: an error on a leaf, a warning on an intermediate, a note on a
    self-signed root sent in the chain); a client certificate's findings say so;
  - the chain: order (issuer of #n = subject of #n+1), leaf names against SNI;
    a TLS 1.2 Certificate message of 64 KiB or more, which tshark 4.0 leaves
    as "Encrypted Handshake Message", is reassembled from its records first
    (bounded by the max_handshake_kib preference);
  - the handshake: old protocol version, weak cipher suite, short DHE group;
  - the connection: every plaintext fatal alert (sender, code, name, meaning),
    and a FIN/RST that ends the connection right after the server's
    certificate flight with no alert (the Schannel "silent" failure);
  - on every TCP port: a connection Wireshark gives to another protocol is
    dissected as TLS from its first hello on (section 13, tpost.find_tls).
  Each finding is a subtree with check id, severity, its sentence, why it
  matters and an expert item (Analyze > Expert Information), whose expert field
  names the algorithm and the certificate's role, the alert or the version, so
  that Expert Information reads well grouped by summary. Every frame with
  findings gets tpost.diagnosis, short phrases for a packet-list column
  ("cert #3 signed MD2, not offered by client"). All this wording comes from
  tables/messages.tsv, which tsharkpost's probable causes use too; every label
  stays under Wireshark's 240-byte limit. Each certificate also gets a flat
  summary (tpost.cert.*) so tools need not walk the X.509 tree.

Files (keep them together: the plugin finds them from its own path)
  tsharkpost.lua   this post-dissector: everything that talks to Wireshark
  tpost/*.lua      its Wireshark-free parsers, each with one job:
                   tpost_bytes (byte and text helpers), tpost_sha (SHA-256
                   and SHA-1), tpost_x509 (certificates from DER), tpost_handshake (hello and
                   ServerKeyExchange bodies), tpost_tsv (fact table reader),
                   tpost_messages (message templates filled in), tpost_sniff
                   (does a segment start like a TLS hello?)
  tables/*.tsv     facts (alert names, OIDs, curves, severities, check ids, ...)
                   and the message templates, shared with the tsharkpost Python
                   package
  The modules are compiled from their exact paths next to this file (section 2),
  never through require or package.path. Wireshark itself also runs every .lua
  under its plugins folder, the modules included: run, each only builds and
  returns a table of functions (no globals, no registration, no file read), so
  that is harmless. Their names carry a tpost_ prefix because Wireshark loads only one
  personal plugin file of each name. They are tested under plain Lua 5.2-5.4.

How to run
  tshark -X lua_script:lua/tsharkpost.lua -r capture.pcapng -Y tpost -V
  tshark -X lua_script:lua/tsharkpost.lua -r capture.pcapng -T fields -e tpost.check
  tshark -X lua_script:lua/tsharkpost.lua -o tpost.rsa_warning_bits:3072 -r capture.pcapng ...
  wireshark -X lua_script:lua/tsharkpost.lua capture.pcapng
  To load it always: `tsharkpost wireshark install` (copies this file, tpost/ and
  tables/ into the personal Lua plugins folder shown by `tshark -G folders`, with
  the "TLS Troubleshooting" profile), or copy lua/ there by hand.
  Filters: tpost, tpost.check == "sigalg_not_offered", tpost.severity >= 3,
  tpost.diagnosis contains "MD2". Expert items are added through a second,
  field-less protocol named "tsharkpost", so that Expert Information's Protocol
  column says TSHARKPOST (a Lua protocol's short name is its name in capitals).

Requirements
  Wireshark 4.0 or later (checked below; older versions fail loudly).
  Lua 5.2 to 5.4 (no bit operators in the source, no setfenv, no unpack).

Sections, in this order:
   1 version guard         5 protocol, fields,     9 checks
   2 modules                 expert fields        10 per-frame analysis
   3 fact tables, messages 6 field extractors     11 rendering
   4 settings (prefs)      7 parsers (cached)     12 registration
                           8 findings in words,   13 TLS found by content
                             connection state
]]

------------------------------------------------------------------------------
-- 1. Version guard
------------------------------------------------------------------------------

local MIN_MAJOR, MIN_MINOR = 4, 0

do
    local version = type(get_version) == "function" and get_version() or "unknown"
    local major, minor = string.match(version, "^(%d+)%.(%d+)")
    major, minor = tonumber(major), tonumber(minor)
    if not major or major < MIN_MAJOR or (major == MIN_MAJOR and minor < MIN_MINOR) then
        error(("tsharkpost.lua needs Wireshark %d.%d or later; this is %s"):format(
            MIN_MAJOR, MIN_MINOR, version), 0)
    end
end

------------------------------------------------------------------------------
-- 2. Modules: the Wireshark-free parsers in tpost/ next to this script
------------------------------------------------------------------------------

local PLUGIN_DIR
do
    local source = debug.getinfo(1, "S").source
    if string.sub(source, 1, 1) ~= "@" then
        error("tsharkpost.lua must be loaded from a file (its tables/ and tpost/ folders sit next to it)", 0)
    end
    PLUGIN_DIR = string.match(string.sub(source, 2), "^(.*)[/\\]") or "."
end

-- Compiles tpost/<name>.lua by its exact path and returns the table it builds. Neither require
-- nor package.path: a module of the same name elsewhere is never picked up, and nothing global
-- changes. Not loadfile either: Wireshark replaces it with one that also searches its own folders.
local function load_module(name)
    local path = PLUGIN_DIR .. "/tpost/" .. name .. ".lua"
    local handle, open_error = io.open(path, "rb")
    if not handle then
        error(("tsharkpost: cannot read module %s (%s)"):format(path, tostring(open_error)), 0)
    end
    local source = handle:read("*a")
    handle:close()
    local chunk, compile_error = load(source, "@" .. path, "t")
    if not chunk then error("tsharkpost: " .. compile_error, 0) end
    local module = chunk()
    if type(module) ~= "table" then error(("tsharkpost: %s returned no table"):format(path), 0) end
    return module
end

local tsv = load_module("tpost_tsv")
local bytelib = load_module("tpost_bytes")
local sha = load_module("tpost_sha")
local x509 = load_module("tpost_x509")
local handshake = load_module("tpost_handshake")
local msglib = load_module("tpost_messages")
local sniff = load_module("tpost_sniff")

local byte, sub, fmt, concat = string.byte, string.sub, string.format, table.concat
local floor = math.floor
local u24, clean_text = bytelib.u24, bytelib.clean_text
local fill, cut = msglib.fill, msglib.cut
local rules_family = handshake.rules_family

------------------------------------------------------------------------------
-- 3. Fact tables (tables/*.tsv next to this script; loud failure when broken)
------------------------------------------------------------------------------

local TABLE_DIR = PLUGIN_DIR .. "/tables"

local function load_table(name, required, validate)
    return tsv.read(TABLE_DIR .. "/" .. name, required, validate)
end

local function is_oid(s) return string.match(s, "^%d+[%.%d]*%d$") ~= nil end
local WEAKNESS = { [""] = true, warning = true, error = true }

-- Severity names (findings' sev), their levels (tpost.severity) and expert severities: one vocabulary,
-- which the tsharkpost package reads from the same table.
local SEVERITY_LEVEL = {}    -- name -> level
local SEVERITY_NAMES = {}    -- level -> name
local EXPERT_SEVERITIES = {} -- name -> expert.severity value
for _, row in ipairs(load_table("severities.tsv", { "level", "name", "expert_severity", "meaning", "source" },
        function(r)
            local level = tonumber(r.level)
            if not level or level < 1 or level > 255 or floor(level) ~= level then return "level must be 1-255" end
            if not string.match(r.name, "^[a-z]+$") then return "bad name " .. r.name end
            if not expert.severity[r.expert_severity] then return "unknown expert severity " .. r.expert_severity end
        end)) do
    local level = tonumber(row.level)
    SEVERITY_LEVEL[row.name], SEVERITY_NAMES[level] = level, row.name
    EXPERT_SEVERITIES[row.name] = expert.severity[row.expert_severity]
end
for _, name in ipairs({ "note", "warning", "error" }) do
    if not SEVERITY_LEVEL[name] then
        error(("tsharkpost: %s/severities.tsv lacks severity %q"):format(TABLE_DIR, name), 0)
    end
end
local SEVERITY_TEXT          -- "1 note, 2 warning, 3 error", for the fields' descriptions
do
    local levels, parts = {}, {}
    for level in pairs(SEVERITY_NAMES) do levels[#levels + 1] = level end
    table.sort(levels)
    for i, level in ipairs(levels) do parts[i] = level .. " " .. SEVERITY_NAMES[level] end
    SEVERITY_TEXT = concat(parts, ", ")
end

local ALERTS = {}            -- code -> {name, windows_name, meaning}
for _, row in ipairs(load_table("tls_alerts.tsv", { "code", "name", "windows_name", "meaning", "source" },
        function(r)
            local code = tonumber(r.code)
            if not code or code < 0 or code > 255 or floor(code) ~= code then return "code must be 0-255" end
            if r.name == "" or r.meaning == "" or r.source == "" then return "name, meaning and source are required" end
        end)) do
    ALERTS[tonumber(row.code)] = row
end

local SIGALGS = {}           -- dotted OID -> {name, label, hash, weakness, schemes = {hex...}}
local SIGALG_ORDER = {}      -- the OIDs in the table's order
for _, row in ipairs(load_table("signature_algorithms.tsv",
        { "oid", "name", "label", "hash", "signature", "tls_schemes", "weakness", "source" },
        function(r)
            if not is_oid(r.oid) then return "bad oid " .. r.oid end
            if r.label == "" then return "label is required" end
            if not WEAKNESS[r.weakness] then return "weakness must be empty, warning or error" end
            for code in string.gmatch(r.tls_schemes, "%S+") do
                if not string.match(code, "^%x%x%x%x$") then return "bad TLS scheme " .. code end
            end
            if r.source == "" then return "source is required" end
        end)) do
    local schemes = {}
    for code in string.gmatch(row.tls_schemes, "%S+") do schemes[#schemes + 1] = tonumber(code, 16) end
    row.schemes = schemes
    SIGALGS[row.oid] = row
    SIGALG_ORDER[#SIGALG_ORDER + 1] = row.oid
end

local KEYALGS = {}           -- dotted OID -> {name, key_type}
for _, row in ipairs(load_table("public_key_algorithms.tsv", { "oid", "name", "key_type", "source" },
        function(r)
            if not is_oid(r.oid) then return "bad oid " .. r.oid end
            if r.key_type == "" then return "key_type is required" end
        end)) do
    KEYALGS[row.oid] = row
end

local CURVES = {}            -- dotted OID -> {name, bits}
for _, row in ipairs(load_table("ec_curves.tsv", { "oid", "name", "bits", "source" },
        function(r)
            if not is_oid(r.oid) then return "bad oid " .. r.oid end
            if not tonumber(r.bits) then return "bits must be a number" end
        end)) do
    row.bits = tonumber(row.bits)
    CURVES[row.oid] = row
end

local ATTRIBUTES = {}        -- dotted OID -> short name for RFC 4514 strings
for _, row in ipairs(load_table("name_attributes.tsv", { "oid", "short_name", "source" },
        function(r) if not is_oid(r.oid) then return "bad oid " .. r.oid end end)) do
    ATTRIBUTES[row.oid] = row.short_name
end

local SCHEME_NAMES = {}      -- TLS SignatureScheme code -> name
for _, row in ipairs(load_table("signature_schemes.tsv", { "code", "name", "source" },
        function(r) if not string.match(r.code, "^%x%x%x%x$") then return "bad code " .. r.code end end)) do
    SCHEME_NAMES[tonumber(row.code, 16)] = row.name
end

local VERSIONS = {}          -- protocol version code -> {name, weakness}
local VERSION_ORDER = {}     -- the codes in the table's order
for _, row in ipairs(load_table("protocol_versions.tsv", { "code", "name", "weakness", "source" },
        function(r)
            if not string.match(r.code, "^%x%x%x%x$") then return "bad code " .. r.code end
            if not WEAKNESS[r.weakness] then return "weakness must be empty, warning or error" end
        end)) do
    VERSIONS[tonumber(row.code, 16)] = row
    VERSION_ORDER[#VERSION_ORDER + 1] = tonumber(row.code, 16)
end

local SUITE_TOKENS = {}      -- cipher suite name token -> {weakness, reason, source}
local TOKEN_ORDER = {}       -- the tokens in the table's order
for _, row in ipairs(load_table("cipher_suite_weakness.tsv", { "token", "weakness", "reason", "source" },
        function(r)
            if r.weakness ~= "warning" and r.weakness ~= "error" then return "weakness must be warning or error" end
        end)) do
    SUITE_TOKENS[row.token] = row
    TOKEN_ORDER[#TOKEN_ORDER + 1] = row.token
end

local EXPERT_GROUPS = {
    security = expert.group.SECURITY, protocol = expert.group.PROTOCOL,
    sequence = expert.group.SEQUENCE, response_code = expert.group.RESPONSE_CODE,
    malformed = expert.group.MALFORMED, decryption = expert.group.DECRYPTION,
    debug = expert.group.DEBUG, reassemble = expert.group.REASSEMBLE,
}

local CHECKS = {}            -- check id -> row of checks.tsv (weight as a number)
local CHECK_ORDER = {}
for _, row in ipairs(load_table("checks.tsv", { "check", "severity", "severities", "group", "weight" },
        function(r)
            if not string.match(r.check, "^[a-z][a-z0-9_]*$") then return "bad check id " .. r.check end
            if not SEVERITY_LEVEL[r.severity] then return "severity must be a name from severities.tsv" end
            if not EXPERT_GROUPS[r.group] then return "unknown expert group " .. r.group end
            if not string.match(r.weight, "^%d+$") then return "weight must be a whole number" end
            for s in string.gmatch(r.severities, "%S+") do
                if not SEVERITY_LEVEL[s] then return "unknown severity " .. s end
            end
        end)) do
    row.weight = tonumber(row.weight)
    CHECKS[row.check] = row
    CHECK_ORDER[#CHECK_ORDER + 1] = row.check
end
for _, check in ipairs({ "weak_signature", "weak_rsa_key", "weak_dsa_key", "weak_ec_key", "sigalg_not_offered",
        "chain_order", "name_mismatch", "old_protocol_version", "weak_cipher_suite", "weak_dh_group",
        "fatal_alert", "encrypted_alert", "silent_teardown", "malformed_certificate", "fingerprint_skipped",
        "chain_encrypted", "chain_reassembled", "chain_not_decoded", "state_limit", "plugin_error",
        "expired_certificate", "not_yet_valid_certificate", "quic_crypto_error" }) do
    if not CHECKS[check] then
        error(("tsharkpost: %s/checks.tsv lacks check %q"):format(TABLE_DIR, check), 0)
    end
end

-- Message templates (messages.tsv): every sentence the plugin shows, shared with the tsharkpost package.
local MESSAGES = msglib.catalogue(load_table("messages.tsv", { "id", "text" }, function(r)
    if not string.match(r.id, "^[a-z][a-z0-9_]*[a-z0-9_.]*$") then return "bad message id " .. r.id end
    if r.text == "" then return "text is required" end
end))

-- Every placeholder a template the plugin uses may name (each is filled by the code below).
local PLACEHOLDERS = {}
for name in string.gmatch("index role name cert algorithm sigalg oid list bits limit curve next issuer subject sni "
        .. "names version source suite code reason side frame meaning how delay chain bytes error count diagnosis "
        .. "not_before not_after when phrase",
        "%S+") do
    PLACEHOLDERS[name] = true
end
-- Message variants each check looks up before its severity, by form; `every` when one of them is always given.
local MESSAGE_VARIANTS = {
    sigalg_not_offered = { text = { "tls13" }, why = { "tls13" } },
    silent_teardown = { text = { "fin", "rst", every = true } },
    fatal_alert = { why = { "unassigned" } },
    quic_crypto_error = { why = { "unassigned" } },
    expired_certificate = { text = { "still_clock" }, why = { "still_clock" } },
    not_yet_valid_certificate = { text = { "still_clock" }, why = { "still_clock" } },
}
-- Forms every check needs; expert_each is optional (then each value has the generic expert text).
local MESSAGE_FORMS = { "phrase", "text", "why", "expert" }
local FRAME_MESSAGES = { "cert", "role.leaf", "role.intermediate", "role.root", "role.client", "phrase.client",
    "name.none", "side.peer",
    "list.more", "list.none", "curve.unnamed", "chain.in_frame", "chain.diagnosis", "chain.clean", "diagnosis.more",
    "reassembly.over_limit", "reassembly.cut_short", "reassembly.busy" }

do
    local function need(id, template)
        if not template then
            error(("tsharkpost: %s/messages.tsv lacks message %s"):format(TABLE_DIR, id), 0)
        end
        for _, name in ipairs(msglib.placeholders(template)) do
            if not PLACEHOLDERS[string.lower(sub(name, 1, 1)) .. sub(name, 2)] then
                error(("tsharkpost: %s/messages.tsv: message %s names an unknown placeholder {%s}"):format(
                    TABLE_DIR, id, name), 0)
            end
        end
    end
    for _, id in ipairs(FRAME_MESSAGES) do need(id, MESSAGES:get(id)) end
    for _, check in ipairs(CHECK_ORDER) do
        for sev in string.gmatch(CHECKS[check].severities, "%S+") do
            for _, form in ipairs(MESSAGE_FORMS) do
                local variants = (MESSAGE_VARIANTS[check] or {})[form] or {}
                if not variants.every then
                    need(check .. "." .. sev .. "." .. form, MESSAGES:pick(check, form, { sev }))
                end
                for _, variant in ipairs(variants) do
                    need(check .. "." .. variant .. "." .. form, MESSAGES:pick(check, form, { variant, sev }))
                end
            end
            local each = MESSAGES:pick(check, "expert_each", { sev })
            if each then need(check .. "." .. sev .. ".expert_each", each) end
        end
    end
end

------------------------------------------------------------------------------
-- 4. Settings, mirrored by preferences (tpost.<name>) and refreshed in prefs_changed
------------------------------------------------------------------------------

local settings = {
    rsa_error_bits = 1024,     -- RSA below this is an error: factorable with modest resources
    rsa_warning_bits = 2048,   -- RSA below this is a warning: NIST SP 800-131A minimum since 2014
    dsa_min_bits = 2048,       -- DSA p below this is a warning (NIST SP 800-131A)
    ec_min_bits = 224,         -- EC curves below this are a warning (NIST SP 800-131A: 224 bits)
    dh_min_bits = 2048,        -- ephemeral DH group below this is a warning (RFC 7919 minimum group)
    dh_error_bits = 1024,      -- ...and below this an error (Logjam: 512/768-bit groups are broken)
    sha1_is_weak = true,       -- sha1 signatures are a warning (RFC 9155); off for legacy networks
    teardown_window_ms = 2000, -- a FIN/RST this soon after the server's certificate flight is "right after"
    max_connections = 10000,   -- connections kept in memory; the oldest is dropped (and noted) beyond this
    max_hash_kib = 256,        -- certificates larger than this get no SHA-256/SHA-1 (pure-Lua hashing: ~0.6 MB/s)
    max_handshake_kib = 1024,  -- a Certificate message tshark leaves undecoded is reassembled up to this size
    bridge = false,            -- per-packet tpost.pkt facts for the tsharkpost post-processor (off in the GUI)
    wire = false,              -- with bridge: the frame's TLS records as one tpost.tls line (tpost_wire.lua)
    find_tls = true,           -- TLS found by its first bytes on ports Wireshark gives to another protocol (13.)
}

local tpost = Proto("tpost", "tsharkpost TLS diagnostics")

tpost.prefs.rsa_error_bits = Pref.uint("RSA key error below (bits)", settings.rsa_error_bits,
    "a certificate's RSA key shorter than this is an error")
tpost.prefs.rsa_warning_bits = Pref.uint("RSA key warning below (bits)", settings.rsa_warning_bits,
    "a certificate's RSA key shorter than this is a warning")
tpost.prefs.dsa_min_bits = Pref.uint("DSA key warning below (bits)", settings.dsa_min_bits,
    "a certificate's DSA key (p) shorter than this is a warning")
tpost.prefs.ec_min_bits = Pref.uint("EC key warning below (bits)", settings.ec_min_bits,
    "a certificate's EC key on a curve shorter than this is a warning")
tpost.prefs.dh_min_bits = Pref.uint("DH group warning below (bits)", settings.dh_min_bits,
    "a server's ephemeral DH group shorter than this is a warning")
tpost.prefs.dh_error_bits = Pref.uint("DH group error below (bits)", settings.dh_error_bits,
    "a server's ephemeral DH group shorter than this is an error")
tpost.prefs.sha1_is_weak = Pref.bool("SHA-1 signatures are weak", settings.sha1_is_weak,
    "warn about certificates signed with SHA-1")
tpost.prefs.teardown_window_ms = Pref.uint("Silent teardown window (ms)", settings.teardown_window_ms,
    "a FIN or RST at most this long after the server's certificate flight, without an alert, is a silent teardown")
tpost.prefs.max_connections = Pref.uint("Maximum connections kept", settings.max_connections,
    "bound on per-connection state; beyond it the oldest connection is dropped, with a note")
tpost.prefs.max_hash_kib = Pref.uint("Largest certificate fingerprinted (KiB)", settings.max_hash_kib,
    "bound on the SHA-256 and SHA-1 of one certificate; a larger one gets no fingerprint, with a note")
tpost.prefs.max_handshake_kib = Pref.uint("Largest Certificate message reassembled (KiB)", settings.max_handshake_kib,
    "bound on the bytes kept per connection and side to reassemble a Certificate message that tshark leaves "
        .. "undecoded (64 KiB or more); a larger one is not decoded, with a note")
tpost.prefs.bridge = Pref.bool("Per-packet facts for tsharkpost", settings.bridge,
    "add tpost.pkt (stream, endpoints, TCP flags, application data bytes so far) to every TCP frame that "
        .. "matters to a connection (SYN/FIN/RST, TLS records other than application data, the first application "
        .. "data of each direction, findings), so that the tsharkpost post-processor needs neither the TCP tree "
        .. "nor the application data frames")
tpost.prefs.wire = Pref.bool("TLS records for tsharkpost", settings.wire,
    "with the per-packet facts: add tpost.tls, the frame's TLS records and the hello facts tsharkpost reads, "
        .. "so that the tsharkpost post-processor needs no TLS tree")
tpost.prefs.find_tls = Pref.bool("Find TLS on any TCP port", settings.find_tls,
    "dissect a TCP connection as TLS from the segment that starts with a ClientHello or ServerHello, on a port "
        .. "Wireshark gives to another protocol (TLS on port 80, after RDP's negotiation, after IRC's STARTTLS); "
        .. "Decode As (-d) still decides first")

local on_prefs_changed      -- set in section 7: what depends on the settings is forgotten

function tpost.prefs_changed()
    for name in pairs(settings) do
        settings[name] = tpost.prefs[name]
    end
    if on_prefs_changed then on_prefs_changed() end
end

------------------------------------------------------------------------------
-- 5. Protocol fields and expert items
------------------------------------------------------------------------------

local alert_names = {}
for code, row in pairs(ALERTS) do alert_names[code] = row.name end
-- Only what later sections use leaves the block (Lua allows 200 locals in the main chunk).
local F, ROLE_TEXT, slug, role_of, algorithm_key, EXPERTS, pending_experts, flush_experts
do

    F = {
        diagnosis = ProtoField.string("tpost.diagnosis", "Diagnosis", base.UNICODE,
            "The frame's findings in short phrases, the most severe and decisive first (one value per frame, for a "
                .. "column)"),
        finding = ProtoField.string("tpost.finding", "Finding", base.UNICODE, "One finding: the check id as value"),
        check = ProtoField.string("tpost.check", "Check", base.UNICODE, "Stable check id (see tables/checks.tsv)"),
        severity = ProtoField.uint8("tpost.severity", "Severity", base.DEC, SEVERITY_NAMES, nil, SEVERITY_TEXT),
        message = ProtoField.string("tpost.message", "Message", base.UNICODE, "What is wrong, in one sentence"),
        why = ProtoField.string("tpost.why", "Why it matters", base.UNICODE, "The rule or the consequence behind it"),
        offered = ProtoField.string("tpost.offered", "Offered by the client", base.UNICODE,
            "The signature algorithms the ClientHello offered (the first ones, when they are many)"),
        chain = ProtoField.string("tpost.chain", "Chain diagnosis", base.UNICODE,
            "The frame of the chain this finding refers to, and what was found in it"),
        max_severity = ProtoField.uint8("tpost.max_severity", "Highest severity", base.DEC, SEVERITY_NAMES, nil,
            "The highest severity of this frame's findings (one value per frame, for a column or a colour rule)"),
        related_frame = ProtoField.framenum("tpost.related_frame", "Related frame", base.NONE, nil, 0,
            "Frame holding the certificate chain this finding refers to"),
        alert_code = ProtoField.uint8("tpost.alert.code", "Alert code", base.DEC, alert_names),
        alert_name = ProtoField.string("tpost.alert.name", "Alert name"),
        alert_sender = ProtoField.string("tpost.alert.sender", "Alert sender", base.UNICODE, "client or server"),
        cert = ProtoField.string("tpost.cert", "Certificate", base.UNICODE, "Certificate summary: subject as value"),
        cert_index = ProtoField.uint8("tpost.cert.index", "Chain index", base.DEC, nil, nil,
            "Position in the Certificate message, 0 = leaf"),
        cert_sender = ProtoField.string("tpost.cert.sender", "Sent by", base.UNICODE, "server or client"),
        cert_subject = ProtoField.string("tpost.cert.subject", "Subject", base.UNICODE, "RFC 4514 string"),
        cert_subject_cn = ProtoField.string("tpost.cert.subject_cn", "Subject CN"),
        cert_issuer = ProtoField.string("tpost.cert.issuer", "Issuer", base.UNICODE, "RFC 4514 string"),
        cert_serial = ProtoField.string("tpost.cert.serial", "Serial number", base.UNICODE, "lowercase hex"),
        cert_sigalg_oid = ProtoField.string("tpost.cert.sigalg.oid", "Signature algorithm OID"),
        cert_sigalg_name = ProtoField.string("tpost.cert.sigalg.name", "Signature algorithm"),
        cert_key_type = ProtoField.string("tpost.cert.key.type", "Key type", base.UNICODE,
            "rsa, dsa, ec, ed25519, ..."),
        cert_key_alg = ProtoField.string("tpost.cert.key.alg", "Key algorithm", base.UNICODE,
            "the subjectPublicKeyInfo algorithm: its name (rsaEncryption, id-ecPublicKey, ...; Zeek's key_alg), "
                .. "else its OID"),
        cert_key_bits = ProtoField.uint32("tpost.cert.key.bits", "Key bits"),
        cert_key_curve = ProtoField.string("tpost.cert.key.curve", "Key curve"),
        cert_not_before = ProtoField.string("tpost.cert.not_before", "Not before", base.UNICODE, "ISO 8601 UTC"),
        cert_not_after = ProtoField.string("tpost.cert.not_after", "Not after", base.UNICODE, "ISO 8601 UTC"),
        cert_san = ProtoField.string("tpost.cert.san", "SAN dNSNames", base.UNICODE, "comma-separated"),
        cert_sha256 = ProtoField.string("tpost.cert.sha256", "SHA-256 fingerprint", base.UNICODE,
            "of the DER, lowercase hex"),
        cert_sha1 = ProtoField.string("tpost.cert.sha1", "SHA-1 fingerprint", base.UNICODE,
            "of the DER, lowercase hex (what Suricata, nDPI and browsers show)"),
        cert_self_signed = ProtoField.bool("tpost.cert.self_signed", "Self-signed (issuer = subject)"),
        cert_ca = ProtoField.bool("tpost.cert.ca", "basicConstraints cA", base.NONE, nil, nil,
            "only when the certificate has basicConstraints"),
        cert_path_len = ProtoField.uint32("tpost.cert.path_len", "basicConstraints pathLenConstraint"),
        cert_key_usage = ProtoField.string("tpost.cert.key_usage", "Key usage", base.UNICODE,
            "RFC 5280 names of the bits set, comma-separated; only when the certificate has keyUsage"),
        pkt = ProtoField.string("tpost.pkt", "Packet facts", base.UNICODE,
            "With the bridge preference: stream (tcp.stream; udp.stream after d for DTLS, q for QUIC), source "
                .. "address and port, destination address and port, TCP flags (S, A, F, R or -; QUIC: o 1-RTT, "
                .. "h HANDSHAKE_DONE, x CONNECTION_CLOSE with :code), application data bytes sent so far by the "
                .. "source and by the destination, frame number and epoch time of the stream's latest application "
                .. "data so far (0 if none)"),
        pkt_first_data = ProtoField.bool("tpost.pkt.first_data", "First application data of its direction"),
        tls = ProtoField.string("tpost.tls", "TLS records", base.ASCII,
            "With the wire preference: the frame's TLS records and hello facts, one token each (tpost_wire.lua)"),
        certline = ProtoField.string("tpost.certline", "Certificate summary line", base.ASCII,
            "With the bridge preference: one certificate summary as one line of tokens (tpost_lines.lua)"),
        findline = ProtoField.string("tpost.findline", "Finding line", base.ASCII,
            "With the bridge preference: one finding as one line of tokens (tpost_lines.lua)"),
    }
    local field_list = {}
    for _, key in ipairs({ "diagnosis", "finding", "check", "severity", "message", "why", "offered", "chain",
            "max_severity", "related_frame", "alert_code", "alert_name",
            "alert_sender", "cert", "cert_index", "cert_sender", "cert_subject", "cert_subject_cn", "cert_issuer",
            "cert_serial", "cert_sigalg_oid", "cert_sigalg_name", "cert_key_type", "cert_key_alg", "cert_key_bits",
            "cert_key_curve",
            "cert_not_before", "cert_not_after", "cert_san", "cert_sha256", "cert_sha1", "cert_self_signed",
            "cert_ca", "cert_path_len", "cert_key_usage", "pkt", "pkt_first_data", "tls", "certline", "findline" }) do
        field_list[#field_list + 1] = F[key]
    end
    tpost.fields = field_list

    -- Expert fields. Expert Information groups items by their field's registered summary, so besides one
    -- field per check and severity (tpost.expert.<check>.<severity>, the generic summary) a check gets one
    -- field per value of a bounded set from the fact tables (tpost.expert.<check>.<severity>.<value>), whose
    -- summary names it: the algorithm and the certificate's role, the alert code and its sender, the version,
    -- the cipher suite token, the sender. The per-item text (the finding's sentence) names the certificate.
    -- A certificate's role in its chain; a client certificate's role says so ("client leaf": role.client).
    local ROLES = { "leaf", "intermediate", "root", "client_leaf", "client_intermediate", "client_root" }
    local SIDES = { "client", "server" }

    ROLE_TEXT = {}         -- role key -> its words, e.g. client_leaf -> "client leaf"
    for _, role in ipairs(ROLES) do
        local own = string.match(role, "^client_(.*)$")
        ROLE_TEXT[role] = own and fill(MESSAGES:get("role.client"), { role = MESSAGES:get("role." .. own) })
            or MESSAGES:get("role." .. role)
    end

    function slug(text)
        return (string.gsub(string.gsub(string.lower(text), "[^a-z0-9]+", "_"), "^_*(.-)_*$", "%1"))
    end

    function role_of(index, self_signed, sender)
        local role = index == 0 and "leaf" or self_signed and "root" or "intermediate"
        return sender == "client" and "client_" .. role or role
    end

    function algorithm_key(role, alg) return role .. "." .. slug(alg.label) end

    -- Algorithm and certificate role, for the signature checks; `weakness` nil = every algorithm; `server_only`:
    -- the server's roles alone (sigalg_not_offered judges only the server's chain against the ClientHello).
    local function algorithm_values(weakness, server_only)
        local list, seen = {}, {}
        for _, oid in ipairs(SIGALG_ORDER) do
            local alg = SIGALGS[oid]
            if weakness == nil or alg.weakness == weakness then
                for _, role in ipairs(ROLES) do
                    local key = algorithm_key(role, alg)
                    if not seen[key] and not (server_only and sub(role, 1, 7) == "client_") then
                        seen[key] = true
                        list[#list + 1] = { key = key, values = { role = ROLE_TEXT[role], algorithm = alg.label } }
                    end
                end
            end
        end
        return list
    end

    -- The certificate role alone, for the validity checks.
    local function role_values()
        local list = {}
        for _, role in ipairs(ROLES) do list[#list + 1] = { key = role, values = { role = ROLE_TEXT[role] } } end
        return list
    end

    local function side_values()
        local list = {}
        for _, side in ipairs(SIDES) do list[#list + 1] = { key = side, values = { side = side } } end
        return list
    end

    -- One expert field per sender and alert (fatal_alert, and QUIC's CRYPTO_ERROR: 0x0100 + the alert).
    local function alert_values()
        local codes, list = {}, {}
        for code in pairs(ALERTS) do codes[#codes + 1] = code end
        table.sort(codes)
        for _, side in ipairs(SIDES) do
            for _, code in ipairs(codes) do
                list[#list + 1] = { key = side .. "." .. code, values = { side = side, code = code,
                    name = ALERTS[code].name, error = fmt("0x%04x", 0x100 + code) } }
            end
        end
        return list
    end

    local EXPERT_VALUES = {      -- check -> function(severity) -> list of {key, values}
        weak_signature = algorithm_values,
        sigalg_not_offered = function() return algorithm_values(nil, true) end,
        expired_certificate = role_values,
        not_yet_valid_certificate = role_values,
        fatal_alert = alert_values,
        quic_crypto_error = alert_values,
        old_protocol_version = function(sev)
            local list = {}
            for _, code in ipairs(VERSION_ORDER) do
                local row = VERSIONS[code]
                if row.weakness == sev then
                    list[#list + 1] = { key = slug(row.name), values = { version = row.name } }
                end
            end
            return list
        end,
        weak_cipher_suite = function(sev)
            local list = {}
            for _, token in ipairs(TOKEN_ORDER) do
                local row = SUITE_TOKENS[token]
                if row.weakness == sev then
                    list[#list + 1] = { key = slug(token), values = { reason = row.reason } }
                end
            end
            return list
        end,
        silent_teardown = side_values,
        encrypted_alert = side_values,
    }

    EXPERTS = {}           -- check -> severity name -> {generic = ProtoExpert, [value key] = ProtoExpert}
    local expert_list = {}
    for _, check in ipairs(CHECK_ORDER) do
        local row = CHECKS[check]
        EXPERTS[check] = {}
        for sev in string.gmatch(row.severities, "%S+") do
            local abbr = "tpost.expert." .. check .. "." .. sev
            local group, severity = EXPERT_GROUPS[row.group], EXPERT_SEVERITIES[sev]
            local by_value = {
                generic = ProtoExpert.new(abbr, MESSAGES:pick(check, "expert", { sev }), group, severity) }
            expert_list[#expert_list + 1] = by_value.generic
            local each = MESSAGES:pick(check, "expert_each", { sev })
            if each and EXPERT_VALUES[check] then
                for _, value in ipairs(EXPERT_VALUES[check](sev)) do
                    local e = ProtoExpert.new(abbr .. "." .. value.key, fill(each, value.values), group, severity)
                    by_value[value.key] = e
                    expert_list[#expert_list + 1] = e
                end
            end
            EXPERTS[check][sev] = by_value
        end
    end

    -- Expert items are added by a second protocol, "tsharkpost", that tpost's dissector calls once the tree is
    -- built: Expert Information names the protocol that added an item, and a Lua protocol's short name is its
    -- filter name in capitals ("TSHARKPOST", not "TPOST"). The fields, preferences and filters stay tpost's.
    local tsharkpost_proto = Proto("tsharkpost", "tsharkpost expert information")
    tsharkpost_proto.experts = expert_list
    pending_experts = {}   -- {item, expert, text} of the frame being rendered, added by the dissector below

    function flush_experts()
        for i = 1, #pending_experts do
            local p = pending_experts[i]
            pending_experts[i] = nil
            p[1]:add_proto_expert_info(p[2], p[3])
        end
    end

    function tsharkpost_proto.dissector()
        flush_experts()
    end

end
------------------------------------------------------------------------------
-- 6. Field extractors (created once, at load time)
------------------------------------------------------------------------------

local X = {
    tcp_stream = Field.new("tcp.stream"),
    tcp_flags = Field.new("tcp.flags"),
    udp_stream = Field.new("udp.stream"),
    tls_record_len = Field.new("tls.record.length"),
    -- a record's bytes: SSL 2.0 records without a message type have no length field, and a Certificate
    -- message tshark leaves undecoded is reassembled from them (section 10b)
    tls_record = Field.new("tls.record"),
}
local KINDS = {}             -- "tls" and "dtls": the same extractors under both names
for _, kind in ipairs({ "tls", "dtls" }) do
    KINDS[kind] = {
        name = kind,
        header = kind == "tls" and 4 or 12,
        record_ct = Field.new(kind .. ".record.content_type"),
        -- TLS 1.3 encrypted records carry their outer type in a field of its own
        record_opaque = kind == "tls" and Field.new("tls.record.opaque_type") or nil,
        hs = Field.new(kind .. ".handshake"),
        hs_type = Field.new(kind .. ".handshake.type"),
        cert = Field.new(kind .. ".handshake.certificate"),
        alert = Field.new(kind .. ".alert_message"),
        suite = Field.new(kind .. ".handshake.ciphersuite"),
    }
end

------------------------------------------------------------------------------
-- 7. Parsers: the modules over the fact tables; certificates cached per DER
------------------------------------------------------------------------------

local parse_der = x509.certificate_parser(bytelib,
    { attributes = ATTRIBUTES, key_algorithms = KEYALGS, curves = CURVES })
-- Only what later sections use leaves the block (Lua allows 200 locals in the main chunk).
local parse_client_hello, parse_server_hello, parse_dh_params, certificate_info
local chain_memo, chain_memo_size, CHAIN_MEMO_MAX, suite_tokens
do
    local hello_parsers = handshake.parsers(bytelib)
    parse_client_hello, parse_server_hello = hello_parsers.client_hello, hello_parsers.server_hello
    parse_dh_params = hello_parsers.dh_params

    -- One certificate: what tpost_x509 reads, its SHA-256 and SHA-1 fingerprints and its signature algorithm's name.
    -- Errors are plain strings (see certificate_info). The fingerprint is bounded: hashing in Lua costs about
    -- 1.6 s per MB, and a hostile capture can send megabyte certificates.
    local function parse_certificate(der)
        local info = parse_der(der)
        if #der <= settings.max_hash_kib * 1024 then
            info.sha256, info.sha1 = sha.sha256(der), sha.sha1(der)
        else
            info.sha256, info.sha1, info.hash_skipped = "", "", #der
        end
        local alg = SIGALGS[info.sig_oid]
        info.sig_name = alg and alg.name or info.sig_oid
        return info
    end

    -- Parsed certificates by DER, in two generations of at most CERT_CACHE_MAX each: when the current one
    -- is full it becomes the old one, and a certificate found there moves back. So a certificate seen again
    -- (a server's chain, on every connection) is parsed and hashed once per capture however many others
    -- pass by, and the cache holds at most 2 * CERT_CACHE_MAX certificates (with their DER).
    local cert_cache, cert_cache_old, cert_cache_size = {}, {}, 0
    local CERT_CACHE_MAX = 1000
    local cert_ids = 0           -- each parsed certificate's id (info.id): chain_memo's keys name certificates by it

    -- Parsed certificate or {error = reason}; cached by DER bytes (chains repeat).
    function certificate_info(der)
        local info = cert_cache[der]
        if info then return info end
        info = cert_cache_old[der]
        if not info then
            local ok, result = pcall(parse_certificate, der)
            if ok then
                info = result
            else
                info = { error = type(result) == "string" and result or tostring(result), len = #der }
            end
            cert_ids = cert_ids + 1
            info.id = cert_ids
        end
        if cert_cache_size >= CERT_CACHE_MAX then cert_cache_old, cert_cache, cert_cache_size = cert_cache, {}, 0 end
        cert_cache[der], cert_cache_size = info, cert_cache_size + 1
        return info
    end

    -- Chain checks by their inputs (chain_key): a chain seen again with the same ClientHello facts gets the
    -- very findings of its first check, which name no frame. Bounded like the certificate cache: at most
    -- CHAIN_MEMO_MAX chains, forgotten all at once when full. Emptied with the certificate cache when a
    -- preference changes, since the checks and the fingerprint bound read them.
    chain_memo, chain_memo_size = {}, 0
    CHAIN_MEMO_MAX = 1000

    local function forget_certificates()
        cert_cache, cert_cache_old, cert_cache_size = {}, {}, 0
        chain_memo, chain_memo_size = {}, 0
    end
    on_prefs_changed = forget_certificates

    local suite_token_sets = {}   -- cipher suite name -> set of its tokens (names are few: no bound needed)

    function suite_tokens(name)
        local tokens = suite_token_sets[name]
        if tokens then return tokens end
        tokens = {}
        for token in string.gmatch(name, "[^_]+") do tokens[token] = true end
        suite_token_sets[name] = tokens
        return tokens
    end
end

------------------------------------------------------------------------------
-- 8. Findings in words; connection state: created on first sight, bounded, reset by init()
------------------------------------------------------------------------------

-- Findings in words, from the message templates. Every text is bounded so that each tree label stays
-- under Wireshark's 240-byte limit (ITEM_LABEL_LENGTH) with its title: "Error: " + TEXT_BYTES, and
-- "Expert Info (Warning/Response code): " (37 bytes) + TEXT_BYTES for the expert item.
local PHRASE_BYTES, TEXT_BYTES, WHY_BYTES = 100, 200, 200
local NAME_BYTES, LIST_BYTES, DIAGNOSIS_BYTES, VALUE_BYTES = 64, 200, 160, 200
local NO_VARIANTS = {}

-- f (check, sev and what locates the finding) with its phrase (the Diagnosis column), sentence (msg) and
-- why filled in; the templates of `variants` win over the severity's, which wins over the check's own.
-- A finding on a certificate the client sent tries the variant "client" first, and its phrase says
-- whose certificate it is (phrase.client); its sentence does through {cert}'s role ("client leaf").
local function finding(f, values, variants)
    local order = {}
    local client = f.cert and f.cert.sender == "client"
    if client then order[1] = "client" end
    for _, variant in ipairs(variants or NO_VARIANTS) do order[#order + 1] = variant end
    order[#order + 1] = f.sev
    local phrase = fill(MESSAGES:pick(f.check, "phrase", order), values)
    if client then phrase = fill(MESSAGES:get("phrase.client"), { phrase = phrase }) end
    f.phrase = cut(phrase, PHRASE_BYTES)
    f.msg = cut(fill(MESSAGES:pick(f.check, "text", order), values), TEXT_BYTES)
    f.why = cut(fill(MESSAGES:pick(f.check, "why", order), values), WHY_BYTES)
    return f
end

-- "a, b, c and 2 more": the first `max_items` items, each cut to NAME_BYTES ("nothing" for none).
local function listed(items, max_items)
    if #items == 0 then return MESSAGES:get("list.none") end
    local shown = {}
    for i = 1, math.min(#items, max_items) do shown[i] = cut(items[i], NAME_BYTES) end
    local text = concat(shown, ", ")
    if #items > max_items then text = fill(MESSAGES:get("list.more"), { list = text, count = #items - max_items }) end
    return text
end

-- A delay as the messages say it: "2 ms", or "12.5 s" from 10 s on.
local function delay_text(ms)
    if ms < 10000 then return fmt("%d ms", ms) end
    return fmt("%.1f s", ms / 1000)
end

local conns, conn_count, conn_queue, queue_head, queue_tail
local results, analysed_upto, teardown_deadline, limit_noted, seen_tls13, reassembly_held
local bridge_bytes, bridge_queue, bridge_first

local function reset_state()
    conns, conn_count, conn_queue, queue_head, queue_tail = {}, 0, {}, 1, 0
    -- teardown_deadline: until when (abs time) a FIN/RST could still be a silent teardown; nil = no watch
    -- seen_tls13: TLS 1.3 records without a content type field (tls.record.opaque_type) matter from then on
    -- results: frame number -> its findings and summaries, replayed on every later visit
    results, analysed_upto, teardown_deadline, limit_noted, seen_tls13 = {}, 0, nil, false, false
    -- reassembly_held: bytes of Certificate messages being reassembled, all connections together (section 10b)
    reassembly_held = 0
    -- bridge_bytes: tcp.stream -> endpoint -> application data bytes it sent so far (bounded FIFO, bridge_queue)
    -- bridge_first: frame number -> true when it carries the first application data of its direction
    bridge_bytes, bridge_queue, bridge_first = {}, { head = 1, tail = 0 }, {}
end
reset_state()

-- Per-side flags live in the connection itself: conn[ALERT_SENT[side]], conn[CCS_SENT[side]].
local ALERT_SENT = { client = "client_alert", server = "server_alert" }
local CCS_SENT = { client = "client_ccs", server = "server_ccs" }

local function get_conn(ctx, key)
    local conn = conns[key]
    if conn then return conn end
    while conn_count >= math.max(1, settings.max_connections) and queue_head <= queue_tail do
        local old_key = conn_queue[queue_head]
        conn_queue[queue_head] = nil
        queue_head = queue_head + 1
        local old = conns[old_key]
        if old then
            for _, state in pairs(old.reassembly or {}) do
                if state then reassembly_held = reassembly_held - state.have end
            end
            conns[old_key] = nil
            conn_count = conn_count - 1
            if not limit_noted then
                limit_noted = true
                ctx:add(finding({ check = "state_limit", sev = "note" }, { limit = settings.max_connections }))
            end
        end
    end
    conn = { client = nil, client_alert = false, server_alert = false, client_ccs = false, server_ccs = false }
    conns[key] = conn
    conn_count = conn_count + 1
    queue_tail = queue_tail + 1
    conn_queue[queue_tail] = key
    return conn
end

------------------------------------------------------------------------------
-- 9. Checks: one function each; they call ctx:add(finding)
------------------------------------------------------------------------------

-- The values every certificate message names it by ({cert}, {index}, {role}, {name}), and its role.
local function cert_values(cert)
    local info = cert.info
    local name = info.cn
    if not name or name == "" then name = info.subject end
    if not name or name == "" then name = MESSAGES:get("name.none") end
    local role = role_of(cert.index, info.self_signed, cert.sender)
    local values = { index = cert.index, role = ROLE_TEXT[role], name = cut(name, NAME_BYTES) }
    values.cert = fill(MESSAGES:get("cert"), values)
    return values, role
end

-- The signature schemes of a ClientHello list by name, as many as fit in LIST_BYTES.
local function offered_text(list)
    local names, used = {}, 0
    for i, code in ipairs(list) do
        local name = SCHEME_NAMES[code] or fmt("0x%04x", code)
        if used + #name + 2 > LIST_BYTES - 20 then
            return fill(MESSAGES:get("list.more"), { list = concat(names, ", "), count = #list - i + 1 })
        end
        names[#names + 1], used = name, used + #name + 2
    end
    if #names == 0 then return MESSAGES:get("list.none") end
    return concat(names, ", ")
end

local function check_weak_signature(ctx, cert)
    local info = cert.info
    local alg = SIGALGS[info.sig_oid]
    if not alg or alg.weakness == "" then return end
    if alg.weakness == "warning" and not settings.sha1_is_weak then return end
    local values, role = cert_values(cert)
    values.algorithm, values.sigalg, values.oid = alg.label, info.sig_name, info.sig_oid
    -- A self-signed certificate (a root sent in the chain, or a self-signed leaf) is accepted only as a trust
    -- anchor, and clients never verify an anchor's own signature (DOMAIN.md; RFC 5280 §6.1.1): at most a note.
    -- Whether its algorithm was offered is sigalg_not_offered's question.
    local sev = info.self_signed and "note" or alg.weakness
    ctx:add(finding({ check = "weak_signature", sev = sev, cert = cert, range = info.r_sigalg,
        expert = algorithm_key(role, alg) }, values))
end

local function check_weak_key(ctx, cert)
    local info = cert.info
    local bits = info.key_bits
    if not bits then return end
    local check, sev, limit
    if info.key_type == "rsa" then
        if bits < settings.rsa_error_bits then
            check, sev, limit = "weak_rsa_key", "error", settings.rsa_error_bits
        elseif bits < settings.rsa_warning_bits then
            check, sev, limit = "weak_rsa_key", "warning", settings.rsa_warning_bits
        end
    elseif info.key_type == "dsa" and bits < settings.dsa_min_bits then
        check, sev, limit = "weak_dsa_key", "warning", settings.dsa_min_bits
    elseif info.key_type == "ec" and bits < settings.ec_min_bits then
        check, sev, limit = "weak_ec_key", "warning", settings.ec_min_bits
    end
    if not check then return end
    local values = cert_values(cert)
    values.bits, values.limit = bits, limit
    values.curve = info.curve or MESSAGES:get("curve.unnamed")
    ctx:add(finding({ check = check, sev = sev, cert = cert, range = info.r_spki }, values))
end

local function check_sigalg_offered(ctx, conn, cert)
    local info = cert.info
    local alg = SIGALGS[info.sig_oid]
    local hello = conn.hello
    local family = rules_family(conn.version)
    if not alg or not hello or not family or family < 12 then return end
    local list, list_name
    if family == 13 then
        if info.self_signed then return end          -- RFC 8446 §4.4.2.2: trust anchors are exempt
        if hello.sigalgs_cert then
            list, list_name = hello.sigalgs_cert, "signature_algorithms_cert"
        else
            list, list_name = hello.sigalgs, "signature_algorithms"
        end
    else
        list, list_name = hello.sigalgs, "signature_algorithms"
    end
    if not list then return end
    for _, offered in ipairs(list) do
        for _, scheme in ipairs(alg.schemes) do
            if offered == scheme then return end
        end
    end
    local values, role = cert_values(cert)
    values.algorithm, values.sigalg, values.oid, values.list = alg.label, info.sig_name, info.sig_oid, list_name
    local f = finding({ check = "sigalg_not_offered", sev = "error", cert = cert, range = info.r_sigalg,
        expert = algorithm_key(role, alg) }, values, family == 13 and { "tls13" } or nil)
    f.offered = offered_text(list)
    ctx:add(f)
end

-- Validity against the capture's clock: the time of the frame that carries the certificate (RFC 5280 §4.1.2.5),
-- never today's. How much it matters depends on the certificate's role: an expired or not yet valid leaf is
-- refused by every client that validates (alert 45), an intermediate breaks the path unless the client finds
-- another one (a cross-signed CA sent beside a newer path: a warning), and a self-signed root sent in the chain
-- is only a note: clients build the path to the root in their own trust store and ignore the copy sent.
-- A chain sent at the very instant of the ClientHello it answers (to the nanosecond) tells of a capture whose
-- clock did not run (a synthetic trace, every frame at one made-up time): the verdict is then only a note.
local function check_validity(ctx, conn, cert)
    local info = cert.info
    local state = x509.validity(info, ctx.time)
    if not state then return end
    local values, role = cert_values(cert)
    values.not_before, values.not_after = info.not_before or "?", info.not_after or "?"
    values.when = x509.iso(ctx.time)
    local sev = cert.index == 0 and "error" or info.self_signed and "note" or "warning"
    local still = conn.hello_time == ctx.time
    if still then sev = "note" end
    local check = "expired_certificate"
    if state == "not_yet_valid" then check = "not_yet_valid_certificate" end
    ctx:add(finding({ check = check, sev = sev, cert = cert, range = info.r_validity, expert = role }, values,
        still and { "still_clock" } or nil))
end

local function check_chain_order(ctx, chain)
    for i = 1, #chain - 1 do
        local this, nxt = chain[i], chain[i + 1]
        if not this.info.error and not nxt.info.error and this.info.issuer_der ~= nxt.info.subject_der
                and this.info.issuer ~= nxt.info.subject then
            local values = cert_values(this)
            values.next = nxt.index
            values.issuer, values.subject = cut(this.info.issuer, 60), cut(nxt.info.subject, 60)
            ctx:add(finding({ check = "chain_order", sev = "warning", cert = this, range = this.info.r_issuer },
                values))
        end
    end
end

-- RFC 6125 §6.4: exact match, or "*" as the whole left-most label matching one label.
local function dns_name_matches(pattern, host)
    pattern = string.lower(string.gsub(pattern, "%.$", ""))
    if pattern == host then return true end
    if sub(pattern, 1, 2) ~= "*." then return false end
    local suffix = sub(pattern, 2)
    if not string.find(sub(suffix, 2), ".", 1, true) then return false end   -- "*.com" never matches
    local dot = string.find(host, ".", 1, true)
    return dot ~= nil and dot > 1 and sub(host, dot) == suffix
end

local function check_name(ctx, conn, cert)
    local info = cert.info
    local sni = conn.hello and conn.hello.sni
    if not sni or sni == "" then return end
    local host = string.lower(string.gsub(sni, "%.$", ""))
    local names = info.san
    if not names or #names == 0 then names = { info.cn } end    -- no SAN dNSName: the subject CN, if any
    for _, name in ipairs(names) do
        if dns_name_matches(name, host) then return end
    end
    local values = cert_values(cert)
    values.sni, values.names = cut(sni, NAME_BYTES), listed(names, 3)
    ctx:add(finding({ check = "name_mismatch", sev = "error", cert = cert, range = info.r_san or info.r_subject },
        values))
end

local function check_version(ctx, hello, anchor)
    local row = VERSIONS[hello.version]
    if not row or row.weakness == "" then return end
    ctx:add(finding({ check = "old_protocol_version", sev = row.weakness, hs = anchor,
        range = { hello.version_at, hello.version_len }, expert = slug(row.name) },
        { version = row.name, source = row.source }))
end

local function check_suite(ctx, conn, hello, anchor)
    local name = conn.suite_name
    if not name then return end
    local worst
    for token in pairs(suite_tokens(name)) do
        local row = SUITE_TOKENS[token]
        if row and (not worst or SEVERITY_LEVEL[row.weakness] > SEVERITY_LEVEL[worst.weakness]
                or (row.weakness == worst.weakness and row.token < worst.token)) then
            worst = row
        end
    end
    if not worst then return end
    ctx:add(finding({ check = "weak_cipher_suite", sev = worst.weakness, hs = anchor, range = { hello.suite_at, 2 },
        expert = slug(worst.token) },
        { suite = cut(name, NAME_BYTES), code = fmt("%04x", hello.suite), reason = worst.reason,
            source = worst.source }))
end

local function check_dh(ctx, bits, anchor, at, len)
    local sev
    if bits < settings.dh_error_bits then sev = "error"
    elseif bits < settings.dh_min_bits then sev = "warning"
    else return end
    ctx:add(finding({ check = "weak_dh_group", sev = sev, hs = anchor, range = { at, len } },
        { bits = bits, limit = sev == "error" and settings.dh_error_bits or settings.dh_min_bits }))
end

-- The Diagnosis of a list of findings: their phrases, the most severe first and, among equals, the most
-- decisive check (checks.tsv weight); a finding on the very bytes of a certificate an earlier one points
-- at says nothing new (an MD2 signature not offered is also a broken hash), so it is left out. Phrases
-- that do not fit in DIAGNOSIS_BYTES are counted ("+1 more"). nil when there is no finding.
local function diagnosis_of(list)
    local order = {}
    for i, f in ipairs(list) do
        if f.check then order[#order + 1] = { f = f, i = i } end
    end
    if #order == 0 then return nil end
    table.sort(order, function(a, b)
        local sa, sb = SEVERITY_LEVEL[a.f.sev], SEVERITY_LEVEL[b.f.sev]
        if sa ~= sb then return sa > sb end
        local wa, wb = CHECKS[a.f.check].weight, CHECKS[b.f.check].weight
        if wa ~= wb then return wa < wb end
        return a.i < b.i
    end)
    local phrases, spots, used, left = {}, {}, 0, 0
    for _, entry in ipairs(order) do
        local f = entry.f
        local seen = f.cert and f.range and spots[f.cert]
        if not (seen and seen[f.range]) then
            if f.cert and f.range then
                spots[f.cert] = seen or {}
                spots[f.cert][f.range] = true
            end
            if #phrases > 0 and used + 2 + #f.phrase > DIAGNOSIS_BYTES then
                left = left + 1
            else
                phrases[#phrases + 1], used = f.phrase, used + (#phrases > 0 and 2 or 0) + #f.phrase
            end
        end
    end
    local text = concat(phrases, "; ")
    if left > 0 then text = fill(MESSAGES:get("diagnosis.more"), { diagnosis = text, count = left }) end
    return text
end

-- The Chain diagnosis sub-item of a finding that refers to the chain `chain` ({frame, diagnosis}).
local function chain_text(chain)
    return fill(MESSAGES:get("chain.diagnosis"),
        { frame = chain.frame, diagnosis = chain.diagnosis or MESSAGES:get("chain.clean") })
end

------------------------------------------------------------------------------
-- 10. Per-frame analysis: route each piece of the frame to its check
------------------------------------------------------------------------------

local CERT_ALERTS = { [42] = true, [43] = true, [44] = true, [45] = true, [46] = true, [48] = true }
local NO_FINDINGS, NO_CERTS = {}, {}   -- shared empty lists, never written to

local function side_of(ctx, conn)
    if not conn.client then return nil end
    return ctx.src == conn.client and "client" or "server"
end

-- The server's certificate flight lasts until its last frame before the client answers;
-- FIN/RST frames are looked at only while one could still be "right after" a flight.
local function extend_flight(conn, time)
    conn.flight_end = time
    local deadline = time + settings.teardown_window_ms / 1000
    if not teardown_deadline or deadline > teardown_deadline then teardown_deadline = deadline end
end

-- Anchors ({field = extractor, k = position in the frame}) and certificate entries are the same
-- for every frame that has them, so they are shared: findings stored for replay stay small.
local anchors = {}
local function anchor_for(field, k)
    local by_k = anchors[field]
    if not by_k then
        by_k = {}
        anchors[field] = by_k
    end
    local anchor = by_k[k]
    if not anchor then
        anchor = { field = field, k = k }
        by_k[k] = anchor
    end
    return anchor
end

-- The certificate entry (a finding anchor and its own summary item) for `info` at position k of
-- a frame's certificates, sent by `sender`: kept with the parsed certificate. Read-only. A certificate the
-- plugin reassembled itself (section 10b) has no field of tshark's to point at: its items carry no bytes.
local function cert_entry(info, kind, k, sender, reassembled)
    local entries = info.entries
    if not entries then
        entries = {}
        info.entries = entries
    end
    local key = (k * 4 + (kind == "tls" and 0 or 2) + (sender == "server" and 0 or 1)) * (reassembled and -1 or 1)
    local cert = entries[key]
    if not cert then
        cert = { index = k - 1, info = info, field = not reassembled and KINDS[kind].cert, k = k, sender = sender,
            summary = true }
        entries[key] = cert
    end
    return cert
end

-- Keeps what this dissection already fetched (an extractor's instances, an anchor's range)
-- for rendering, which runs in the same dissector call on a first visit.
local function remember(ctx, key, value)
    local fetched = ctx.fetched
    if not fetched then
        fetched = {}
        ctx.fetched = fetched
    end
    fetched[key] = value
end

-- The list of a ClientHello's signature schemes as a key ("-" for none).
local function list_key(list)
    if not list then return "-" end
    return concat(list, ",")
end

-- Everything the chain checks below read, as one string: the certificates (by id, and whether the plugin
-- reassembled them: their entries differ), who sent them, each one's validity at this frame's time (and, when one
-- is out of date, that time and whether the capture's clock stood still, which its finding says) and, for a
-- server's chain, the rules' family and the ClientHello's offered schemes and SNI (settings are not in it: a
-- change of preference empties the memo). A check that reads more must add it here.
local function chain_key(ctx, conn, kind, sender, chain)
    local parts = { kind, sender }
    local dated = false
    for i, cert in ipairs(chain) do
        local validity = not cert.info.error and x509.validity(cert.info, ctx.time) or nil
        if validity then dated = true end
        parts[i + 2] = cert.info.id .. (cert.field and "" or "r") .. (validity and (":" .. validity) or "")
    end
    if dated then parts[#parts + 1] = x509.iso(ctx.time) .. (conn.hello_time == ctx.time and "=" or "") end
    if sender == "server" then
        local hello = conn.hello
        parts[#parts + 1] = rules_family(conn.version) or "-"
        if hello then
            local key = hello.memo_key
            if not key then
                local sni = hello.sni
                key = list_key(hello.sigalgs) .. ";" .. list_key(hello.sigalgs_cert) .. ";"
                    .. (sni and (#sni .. ":" .. sni) or "-")
                hello.memo_key = key
            end
            parts[#parts + 1] = key
        end
    end
    return concat(parts, "|")
end

-- The findings of a chain's checks (read-only, shared by every frame whose chain has the same key)
-- and, for a server's chain, the diagnosis of its warnings and errors.
local function chain_checks(ctx, conn, chain, sender)
    local before = #ctx.out
    for _, cert in ipairs(chain) do
        if cert.info.error then
            ctx:add(finding({ check = "malformed_certificate", sev = "note", cert = cert },
                { index = cert.index, bytes = cert.info.len, error = cut(cert.info.error, 100) }))
        else
            if cert.info.hash_skipped then
                local values = cert_values(cert)
                values.bytes, values.limit = cert.info.hash_skipped, settings.max_hash_kib
                ctx:add(finding({ check = "fingerprint_skipped", sev = "note", cert = cert }, values))
            end
            check_weak_signature(ctx, cert)
            check_weak_key(ctx, cert)
            check_validity(ctx, conn, cert)
            if sender == "server" then check_sigalg_offered(ctx, conn, cert) end
        end
    end
    check_chain_order(ctx, chain)
    if sender == "server" and chain[1] and not chain[1].info.error then check_name(ctx, conn, chain[1]) end
    local found, serious = {}, {}
    for i = before + 1, #ctx.out do
        local f = ctx.out[i]
        found[#found + 1] = f
        if f.check and f.cert and SEVERITY_LEVEL[f.sev] >= SEVERITY_LEVEL.warning then serious[#serious + 1] = f end
    end
    return { found = found, diagnosis = diagnosis_of(serious) }
end

-- The checks of a chain (its certificate entries, already added to the frame's output), replayed from the memo
-- when the same chain was judged under the same conditions, and the connection's state after the chain.
local function check_chain(ctx, conn, kind, chain, sender)
    local key = chain_key(ctx, conn, kind, sender, chain)
    local memo = chain_memo[key]
    if memo then
        for _, f in ipairs(memo.found) do ctx:add(f) end
    else
        memo = chain_checks(ctx, conn, chain, sender)
        if chain_memo_size >= CHAIN_MEMO_MAX then chain_memo, chain_memo_size = {}, 0 end
        chain_memo[key], chain_memo_size = memo, chain_memo_size + 1
    end
    local judged = { frame = ctx.num, diagnosis = memo.diagnosis }
    if sender ~= "server" then
        conn.client_chain = judged   -- mutual TLS: what a server's certificate alert answers
        return
    end
    conn.chain = judged
    conn.client_replied, conn.server_replied = false, false
    if kind == "tls" then
        conn.watch = true
        extend_flight(conn, ctx.time)
    end
end

local function on_chain(ctx, conn, kind, certs, sender)
    local chain = {}
    for k, fi in ipairs(certs) do
        local range = fi.range
        local info = certificate_info(range:raw())
        local cert = cert_entry(info, kind, k, sender)
        remember(ctx, cert, range)
        chain[#chain + 1] = cert
        ctx:add(cert)
    end
    check_chain(ctx, conn, kind, chain, sender)
end

------------------------------------------------------------------------------
-- 10b. Certificate messages tshark leaves undecoded
------------------------------------------------------------------------------

-- Section 10b's own helpers stay in the block (Lua allows 200 locals in the main chunk).
local reassembly_open, reassemble
do
    -- tshark 4.0 takes a handshake message whose length is 64 KiB or more, at the start of a record, for
    -- ciphertext ("Encrypted Handshake Message": packet-tls.c, is_encrypted_handshake_message, "Assume handshake
    -- messages are below 64K"); no preference changes that. A TLS 1.2 (or older) Certificate message that large is
    -- reassembled here from the bytes of its records, up to max_handshake_kib per connection and side, and its
    -- chain checked like any other. Anything past the message in its last record is left alone, as tshark does.
    local TSHARK_HANDSHAKE_LIMIT = 0x10000
    local RECORD_HEADER = 5
    -- All reassemblies under way together keep at most this many times max_handshake_kib.
    local REASSEMBLIES_AT_ONCE = 4

    -- Whether this side's records could still start or continue such a message: after its ChangeCipherSpec,
    -- or in TLS 1.3, an encrypted handshake message really is one.
    function reassembly_open(conn, sender)
        local state = conn.reassembly and conn.reassembly[sender]
        if state ~= nil then return state ~= false end
        return rules_family(conn.version) ~= 13 and not conn[CCS_SENT[sender]]
    end

    -- Ends this side's reassembly (for good: one Certificate message per side and handshake).
    local function reassembly_done(conn, sender)
        local state = conn.reassembly[sender]
        if state then reassembly_held = reassembly_held - state.have end
        conn.reassembly[sender] = false
    end

    local function reassembly_note(ctx, conn, sender, reason_id, values)
        reassembly_done(conn, sender)
        values.side, values.limit = sender, settings.max_handshake_kib
        values.reason = fill(MESSAGES:get(reason_id), values)
        ctx:add(finding({ check = "chain_not_decoded", sev = "note" }, values))
    end

    -- TLS 1.2 Certificate body: certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>; the DER of each.
    local function certificate_list(msg)
        local ders = {}
        if #msg < 7 then return ders end
        local list_last = math.min(#msg, 7 + u24(msg, 5))
        local p = 8
        while p + 2 <= list_last do
            local n = u24(msg, p)
            local last = p + 2 + n
            if n == 0 or last > list_last then break end
            ders[#ders + 1] = sub(msg, p + 3, last)
            p = last + 1
        end
        return ders
    end

    local function reassembled_chain(ctx, conn, sender, state)
        reassembly_done(conn, sender)
        local msg = concat(state.parts)
        ctx:add(finding({ check = "chain_reassembled", sev = "note" },
            { side = sender, bytes = #msg, count = state.records, limit = settings.max_handshake_kib }))
        local chain = {}
        for k, der in ipairs(certificate_list(msg)) do
            local cert = cert_entry(certificate_info(der), "tls", k, sender, true)
            chain[#chain + 1] = cert
            ctx:add(cert)
        end
        if #chain > 0 then check_chain(ctx, conn, "tls", chain, sender) end
    end

    -- The frame's TLS records from `sender`, read while a reassembly may start or is under way. `decoded`: tshark
    -- decoded a Certificate message of this side in the frame itself (then it is not reassembled twice).
    function reassemble(ctx, conn, sender, decoded)
        local records, types = { X.tls_record() }, { KINDS.tls.record_ct() }
        if #records ~= #types then return end
        conn.reassembly = conn.reassembly or {}
        local reassembly = conn.reassembly
        for i, rfi in ipairs(records) do
            local state = reassembly[sender]
            if state == false then return end
            local range = rfi.range
            local length = range:len() - RECORD_HEADER
            if state then
                if types[i].value ~= 22 or decoded or length <= 0 then
                    if not decoded then
                        reassembly_note(ctx, conn, sender, "reassembly.cut_short",
                            { bytes = state.need, count = state.records, frame = ctx.num })
                    end
                    reassembly_done(conn, sender)
                    return
                end
                local take = math.min(length, state.need - state.have)
                state.parts[#state.parts + 1] = range:range(RECORD_HEADER, take):raw()
                state.have, state.records = state.have + take, state.records + 1
                reassembly_held = reassembly_held + take
                if state.have == state.need then reassembled_chain(ctx, conn, sender, state) end
            elseif types[i].value == 20 then
                return                              -- this side's records after its ChangeCipherSpec are encrypted
            elseif types[i].value == 22 and length >= 4 and range:range(RECORD_HEADER, 1):uint() == 11 then
                local need = 4 + range:range(RECORD_HEADER + 1, 3):uint()
                if need - 4 >= TSHARK_HANDSHAKE_LIMIT and not decoded then
                    local bound = settings.max_handshake_kib * 1024
                    if need > bound then
                        reassembly_note(ctx, conn, sender, "reassembly.over_limit", { bytes = need })
                        return
                    end
                    if reassembly_held + need > REASSEMBLIES_AT_ONCE * bound then
                        reassembly_note(ctx, conn, sender, "reassembly.busy",
                            { bytes = need, count = REASSEMBLIES_AT_ONCE })
                        return
                    end
                    local take = math.min(length, need)
                    reassembly[sender] = { need = need, have = take, records = 1,
                        parts = { range:range(RECORD_HEADER, take):raw() } }
                    reassembly_held = reassembly_held + take
                end
            end
        end
    end
end

local function on_alert(ctx, conn, kind, fi, k)
    local sender = side_of(ctx, conn) or "unknown"
    local raw = fi.range:raw()
    local known = sender ~= "unknown"
    local side = known and sender or MESSAGES:get("side.peer")
    if known then conn[ALERT_SENT[sender]] = true end
    if #raw ~= 2 then
        -- In TLS 1.2 and older an encrypted alert sent before both sides switched
        -- to encryption means the handshake failed; afterwards it is usually close_notify.
        if not (conn.client_ccs and conn.server_ccs) and rules_family(conn.version) ~= 13 then
            ctx:add(finding({ check = "encrypted_alert", sev = "note", alert = anchor_for(KINDS[kind].alert, k),
                alert_sender = sender, related = conn.chain and conn.chain.frame, expert = known and sender or nil },
                { side = side }))
        end
        return
    end
    local level, code = byte(raw, 1, 2)
    local tls13 = rules_family(conn.version) == 13
    if not (level == 2 or (tls13 and code ~= 0 and code ~= 90)) then return end
    local row = ALERTS[code]
    local name = row and row.name or ("unassigned_" .. code)
    -- A server's certificate alert after the client sent its own chain (mutual TLS) answers that chain.
    local judged = (sender == "server" and conn.client_chain) or conn.chain
    local f = finding({ check = "fatal_alert", sev = "error", alert = anchor_for(KINDS[kind].alert, k),
        alert_code = code, alert_name = name, alert_sender = sender,
        related = judged and judged.frame, expert = (known and row) and (sender .. "." .. code) or nil },
        { side = side, code = code, name = name, frame = ctx.num, meaning = row and row.meaning },
        not row and { "unassigned" } or nil)
    if CERT_ALERTS[code] and judged then f.chain = chain_text(judged) end
    ctx:add(f)
end

-- Handshake types whose bytes on_handshake parses: the others need no copy of the message.
local PARSED_HANDSHAKES = { [1] = true, [2] = true, [12] = true }

-- Kind -> cipher suite code -> its name as Wireshark displays it, without the " (0x....)" tail.
local suite_names = { tls = {}, dtls = {} }

local function suite_name(kind, sfi)
    local code = sfi.value
    local name = suite_names[kind][code]
    if not name then
        local display = sfi.display
        name = string.match(display, "^(.-) %(0x%x+%)$") or display
        suite_names[kind][code] = name
    end
    return name
end

-- `msg_type`, when the caller knows it from the type field, spares copying messages that need no parsing.
local function on_handshake(ctx, conn, kind, fi, k, msg_type)
    if msg_type and not PARSED_HANDSHAKES[msg_type] then return end
    if msg_type == 12 then   -- only an ephemeral DH group is judged: any other key exchange needs no copy
        if not (conn.suite_name and side_of(ctx, conn) == "server") then return end
        local tokens = suite_tokens(conn.suite_name)
        if not (tokens.DHE or (tokens.DH and tokens.anon)) then return end
    end
    local range = fi.range
    local s = range:raw()
    local header = KINDS[kind].header
    if #s < header then return end
    local length
    msg_type, length = byte(s, 1), u24(s, 2)
    if kind == "dtls" and (u24(s, 7) ~= 0 or u24(s, 10) ~= length) then return end   -- a fragment
    local b, last = header + 1, math.min(#s, header + length)
    local anchor = anchor_for(KINDS[kind].hs, k)
    remember(ctx, anchor, range)
    if msg_type == 1 then
        conn.client = ctx.src
        conn.hello, conn.hello_time = parse_client_hello(s, b, last, kind == "dtls"), ctx.time
        conn.version, conn.suite_name, conn.chain, conn.encrypted_noted = nil, nil, nil, nil
        conn.client_chain, conn.reassembly = nil, nil
    elseif msg_type == 2 then
        if not conn.client then conn.client = ctx.dst end
        local hello = parse_server_hello(s, b, last)
        if not hello then return end
        conn.version, conn.suite, conn.psk = hello.version, hello.suite, hello.psk
        if rules_family(hello.version) == 13 then seen_tls13 = true end
        conn.suite_name = nil
        if hello.suite then
            for _, sfi in ipairs({ KINDS[kind].suite() }) do
                if sfi.value == hello.suite then conn.suite_name = suite_name(kind, sfi) end
            end
        end
        check_version(ctx, hello, anchor)
        if hello.suite then check_suite(ctx, conn, hello, anchor) end
    elseif msg_type == 12 and conn.suite_name and side_of(ctx, conn) == "server" then
        local tokens = suite_tokens(conn.suite_name)
        if tokens.DHE or (tokens.DH and tokens.anon) then
            local bits, at, len = parse_dh_params(s, b, last, tokens.PSK)
            if bits then check_dh(ctx, bits, anchor, at, len) end
        end
    end
end

-- "address/port" of the frame's source and destination. A connection whose two ports differ
-- keeps both by port (conn.ends), so that only its first analysed frame formats addresses.
local function endpoints(ctx, conn)
    if ctx.src then return end
    local pinfo = ctx.pinfo
    local sport, dport = pinfo.src_port, pinfo.dst_port
    local ends = conn.ends
    if ends and sport ~= dport and ends[sport] then
        ctx.src, ctx.dst = ends[sport], ends[dport]
        return
    end
    ctx.src = tostring(pinfo.src) .. "/" .. tostring(sport)
    ctx.dst = tostring(pinfo.dst) .. "/" .. tostring(dport)
    if sport ~= dport then conn.ends = { [sport] = ctx.src, [dport] = ctx.dst } end
end

-- The last instance of a field (the innermost layer's), without a table in the usual one-instance case.
local function last_of(field)
    local first, second = field()
    if second == nil then return first end
    local all = { field() }
    return all[#all]
end

-- What the current dissector call read of the frame's fields, so that the analysis and the bridge read
-- each extractor once: the innermost tcp.stream and tcp.flags values (false: the frame has none) and the
-- values of the TLS record content types and opaque types (NO_VALUES: none). Reset for every call.
local frame_fields = {}
-- Called by every dissector of the plugin's that starts on a frame (tpost, tpost_find).
local function forget_frame_fields()
    frame_fields.tcp_stream, frame_fields.tcp_flags, frame_fields.ct, frame_fields.opaque = nil, nil, nil, nil
end
local function tcp_value(name)
    local value = frame_fields[name]
    if value == nil then
        local fi = last_of(X[name])
        value = fi and fi.value or false
        frame_fields[name] = value
    end
    return value
end

local NO_VALUES = {}         -- shared empty list, never written to
local function values_of(...)
    local n = select("#", ...)
    if n == 0 then return NO_VALUES end
    local values = {}
    for i = 1, n do values[i] = (select(i, ...)).value end
    return values
end

-- "ct" (tls.record.content_type) or "opaque" (tls.record.opaque_type): that field's values in this frame.
local function tls_values(name)
    local values = frame_fields[name]
    if values == nil then
        values = values_of((name == "ct" and KINDS.tls.record_ct or KINDS.tls.record_opaque)())
        frame_fields[name] = values
    end
    return values
end

-- A table of the arguments, or nil when there are none.
local function list_of(...)
    if select("#", ...) == 0 then return nil end
    return { ... }
end

-- Which of the content types 20-23 (ChangeCipherSpec, alert, handshake, application data)
-- the given record type values hold, in a table reused for every frame; nil when there is no record.
local frame_types = {}
local function record_types(values)
    local n = #values
    if n == 0 then return nil end
    local has = frame_types
    has[20], has[21], has[22], has[23] = false, false, false, false
    for i = 1, n do
        local value = values[i]
        if value >= 20 and value <= 23 then has[value] = true end
    end
    return has
end

-- Wireshark puts a decoded handshake message's type field at the message's first byte, and
-- gives an encrypted one none. Returns the type of each message (false: encrypted), matched by
-- offset, or nil when two messages share an offset (in different data sources): then only the
-- data sources can tell them apart.
local function handshake_types(types, messages)
    local n = #messages
    local by_k = {}
    if #types == n then
        for k = 1, n do
            local tfi = types[k]
            if tfi.offset ~= messages[k].offset then
                by_k = nil
                break
            end
            by_k[k] = tfi.value
        end
        if by_k then return by_k end
        by_k = {}
    end
    local by_offset = {}
    for _, tfi in ipairs(types) do by_offset[tfi.offset] = tfi.value end
    local seen = {}
    for k = 1, n do
        local offset = messages[k].offset
        if seen[offset] then return nil end
        seen[offset] = true
        by_k[k] = by_offset[offset] or false
    end
    return by_k
end

-- Does a frame with only ChangeCipherSpec/application data records still matter to this connection?
local function wants_records(conn)
    if conn.chain then return not (conn.client_replied and conn.server_replied) end
    return not conn.encrypted_noted and rules_family(conn.version) == 13
end

-- Connection key: tcp.stream for TLS, -1 - udp.stream for DTLS.
-- The frame's handshake messages through on_handshake: only those Wireshark decoded (a type field at the same
-- place). Returns the frame's certificate fields, and whether a message was left undecoded (no type field).
local function read_handshakes(ctx, conn, kind)
    local K = KINDS[kind]
    local types = { K.hs_type() }
    if #types == 0 then return NO_CERTS, K.hs() ~= nil end
    local messages = { K.hs() }
    remember(ctx, K.hs, messages)
    local msg_types = handshake_types(types, messages)
    if msg_types then
        for k, hfi in ipairs(messages) do
            if msg_types[k] then on_handshake(ctx, conn, kind, hfi, k, msg_types[k]) end
        end
    else
        local plain = {}
        for _, tfi in ipairs(types) do plain[tfi.offset .. "/" .. tfi.source:len()] = true end
        for k, hfi in ipairs(messages) do
            if plain[hfi.offset .. "/" .. hfi.source:len()] then on_handshake(ctx, conn, kind, hfi, k) end
        end
    end
    local certs = { K.cert() }
    remember(ctx, K.cert, certs)
    return certs, #messages > #types
end

local function analyse_kind(ctx, kind, has)
    local K = KINDS[kind]
    local key
    if kind == "tls" then
        key = tcp_value("tcp_stream")
        if not key then return end
    else
        local stream = last_of(X.udp_stream)
        if not stream then return end
        key = -1 - stream.value
    end
    local conn = conns[key]
    if not (has[21] or has[22] or has[20]) and not (conn and wants_records(conn)) then
        return                                  -- application data only: the common, cheap case
    end
    conn = conn or get_conn(ctx, key)
    endpoints(ctx, conn)

    local certs, undecoded = NO_CERTS, false
    if has[22] then certs, undecoded = read_handshakes(ctx, conn, kind) end

    local sender = side_of(ctx, conn)
    if #certs > 0 and sender then on_chain(ctx, conn, kind, certs, sender) end
    if kind == "tls" and sender and (undecoded or (conn.reassembly and conn.reassembly[sender]))
            and reassembly_open(conn, sender) then
        reassemble(ctx, conn, sender, #certs > 0)
    end

    if sender then
        if has[20] then conn[CCS_SENT[sender]] = true end
        if conn.chain and #certs == 0 then
            if sender == "server" and not conn.client_replied then
                extend_flight(conn, ctx.time)   -- rest of the server's flight (ServerHelloDone, ...)
            elseif sender == "client" then
                conn.client_replied = true
            else
                conn.server_replied = true
            end
        end
    end

    if has[21] then
        local alerts = { K.alert() }
        remember(ctx, K.alert, alerts)
        for k, afi in ipairs(alerts) do on_alert(ctx, conn, kind, afi, k) end
    end

    -- By the client's first encrypted record (its Finished) a decryptable server
    -- Certificate would have been seen; PSK resumption sends none.
    if (has[23] or has[20]) and sender == "client" and not conn.chain and not conn.encrypted_noted and not conn.psk
            and rules_family(conn.version) == 13 then
        conn.encrypted_noted = true
        ctx:add(finding({ check = "chain_encrypted", sev = "note" }, {}))
    end
end

-- An SSL 2.0 record has no content type: its message type is the record's tls.handshake.type. A
-- SERVER-HELLO (4) names the version the server chose: SSL 2.0 (0x0002), checked like a ServerHello's.
local SSL2_SERVER_HELLO = 4
local function analyse_sslv2(ctx, types)
    local key = tcp_value("tcp_stream")
    if not key then return end
    for k, tfi in ipairs(types) do
        local tvb, at = tfi.source, tfi.offset
        if tfi.value == SSL2_SERVER_HELLO and tvb and at + 5 <= tvb:len() then
            local conn = conns[key] or get_conn(ctx, key)
            endpoints(ctx, conn)
            if not conn.client then conn.client = ctx.dst end
            -- SERVER-HELLO: type, session id hit, certificate type, then the version
            local version = tvb:range(at + 3, 2):uint()
            conn.version = version
            local anchor = anchor_for(KINDS.tls.hs_type, k)
            remember(ctx, anchor, tfi.range)
            check_version(ctx, { version = version, version_at = 3, version_len = 2 }, anchor)
        end
    end
end

-- Returns true when the frame had TCP flags (so fields were visible).
local function analyse_teardown(ctx)
    local value = tcp_value("tcp_flags")
    if not value then return false end
    local fin, rst = value % 2 == 1, floor(value / 4) % 2 == 1
    if not (fin or rst) then return true end
    local stream = tcp_value("tcp_stream")
    if not stream then return true end
    local conn = conns[stream]
    if not conn or not conn.watch or conn.torn then return true end
    conn.torn = true
    endpoints(ctx, conn)
    local closer = side_of(ctx, conn)
    if not closer or not conn.chain then return true end
    -- An alert from either side explains the teardown; ChangeCipherSpec means the closer accepted the chain.
    if conn.client_alert or conn.server_alert or conn[CCS_SENT[closer]] then return true end
    -- "Right after" the flight: the closing side sent no TLS record since it.
    if (closer == "client" and conn.client_replied) or (closer == "server" and conn.server_replied) then
        return true
    end
    local ms = floor((ctx.time - conn.flight_end) * 1000 + 0.5)
    if ms > settings.teardown_window_ms then return true end
    local f = finding({ check = "silent_teardown", sev = "warning", related = conn.chain.frame, expert = closer },
        { side = closer, how = rst and "RST" or "FIN", delay = delay_text(ms), frame = ctx.num,
            chain = fill(MESSAGES:get("chain.in_frame"), { frame = conn.chain.frame }) },
        { rst and "rst" or "fin" })
    f.chain = chain_text(conn.chain)
    ctx:add(f)
    return true
end

-- The bridge (preference "bridge"): one compact line of packet facts per TCP frame that matters to a
-- connection record: SYN, FIN or RST, any TLS record other than application data, the first application
-- data of each direction, and any frame with findings. With it the tsharkpost post-processor asks
-- tshark for neither the IP/TCP trees nor the application data frames, the bulk of any output. Plain
-- ACKs and later application data only add to the counts: formatting a line and a tree item for each
-- of them was most of the plugin's cost on bulk captures. Byte counts are summed on the first visit
-- only (pinfo.visited), so a later visit shows the final count, never a double one.
local function bridge_counts(stream)
    local counts = bridge_bytes[stream]
    if counts then return counts end
    local queue = bridge_queue
    while queue.tail - queue.head + 1 >= math.max(1, settings.max_connections) do
        bridge_bytes[queue[queue.head]] = nil
        queue[queue.head] = nil
        queue.head = queue.head + 1
    end
    counts = {}
    bridge_bytes[stream] = counts
    queue.tail = queue.tail + 1
    queue[queue.tail] = stream
    return counts
end

-- Application data bytes of the frame's TLS records, and whether it has a record of another type.
local function application_bytes()
    local lengths = list_of(X.tls_record_len())
    if not lengths then return 0, X.tls_record() ~= nil end   -- SSL 2.0's encrypted records: not counted
    local types = tls_values("ct")
    if #types < #lengths then   -- TLS 1.3 records without keys follow any plaintext record of the frame
        local plain, opaque = types, tls_values("opaque")
        types = {}
        for i = 1, #plain do types[i] = plain[i] end
        for i = #opaque - (#lengths - #plain) + 1, #opaque do
            if i >= 1 then types[#types + 1] = opaque[i] end
        end
    end
    local bytes, other = 0, false
    for i, fi in ipairs(lengths) do
        if types[i] == 23 then bytes = bytes + fi.value else other = true end
    end
    return bytes, other
end

-- tcp.flags % 32 -> the letters of SYN, ACK, FIN and RST in that order, "-" for none of them.
local FLAG_LETTERS = {}
for f = 0, 31 do
    local letters = (floor(f / 2) % 2 == 1 and "S" or "") .. (floor(f / 16) % 2 == 1 and "A" or "")
        .. (f % 2 == 1 and "F" or "") .. (floor(f / 4) % 2 == 1 and "R" or "")
    FLAG_LETTERS[f] = letters ~= "" and letters or "-"
end

-- tcp.flags % 32 values with SYN, FIN or RST set: such a frame gets a line whatever it carries.
local EDGE_FLAGS = {}
for f = 0, 31 do EDGE_FLAGS[f] = f % 8 ~= 0 end

local udp_line   -- the line of a DTLS or QUIC frame (section 10, after QUIC)

-- The frame's line and whether it is the first application data of its direction; nil for a
-- frame that matters to no record (`noted`: the frame has findings or certificate summaries).
local function bridge_line(pinfo, num, noted)
    local stream = tcp_value("tcp_stream")
    if not stream then return udp_line(pinfo, num, noted) end
    local flags = (tcp_value("tcp_flags") or 0) % 32
    local counts = bridge_counts(stream)
    local bytes, other = application_bytes()
    -- No bytes to count and nothing to say (a plain ACK, the bulk of most captures): no string built.
    if bytes == 0 and not (noted or other or EDGE_FLAGS[flags]) then return nil end
    -- "address port" of both ends, kept by port (counts.ends) when the stream's two ports differ
    local sport, dport = pinfo.src_port, pinfo.dst_port
    local ends = counts.ends
    local src, dst
    if ends and sport ~= dport and ends[sport] then
        src, dst = ends[sport], ends[dport]
    else
        src = tostring(pinfo.src) .. " " .. tostring(sport)
        dst = tostring(pinfo.dst) .. " " .. tostring(dport)
        if sport ~= dport then counts.ends = { [sport] = src, [dport] = dst } end
    end
    if bytes > 0 and not pinfo.visited then
        if not counts[src] then bridge_first[num] = true end
        counts[src] = (counts[src] or 0) + bytes
        counts.last_frame, counts.last_time = num, pinfo.abs_ts
    end
    local first = bridge_first[num]
    if not (noted or other or first or EDGE_FLAGS[flags]) then return nil end
    return fmt("%d %s %s %s %d %d %d %.9f", stream, src, dst, FLAG_LETTERS[flags],
        counts[src] or 0, counts[dst] or 0, counts.last_frame or 0, counts.last_time or 0), first
end

-- QUIC (RFC 9000 §20.1, RFC 9001 §4.8): a CONNECTION_CLOSE whose error code is CRYPTO_ERROR, 0x0100 + a TLS
-- alert, is QUIC's fatal alert. tshark decrypts Initial packets without keys (their keys derive from public
-- salts), so a refusal sent at that level is readable in every capture; one sent in Handshake packets needs
-- the key log. The sender is named from the side that sent the ClientHello in the same UDP stream.
local analyse_quic
do
    local quic_code = Field.new("quic.cc.error_code")
    local quic_hs_type = KINDS.tls.hs_type    -- QUIC's CRYPTO frames carry TLS handshake messages, no records

    -- Only frames with TLS handshake messages (in CRYPTO frames: the hellos in Initial packets, the rest once
    -- the key log opens Handshake packets) or a CRYPTO_ERROR close matter; everything else returns at once.
    -- The CRYPTO_ERROR closes of the frame as {k = position among the error codes, alert = code - 0x0100}: read
    -- from the error code itself (0x0100-0x01ff), since tshark 4.0 leaves out its tls_alert field for alerts it
    -- cannot name (255).
    local function crypto_errors(codes)
        local found = {}
        for k, cfi in ipairs(codes) do
            local value = tonumber(tostring(cfi.value))
            if value and value >= 0x100 and value <= 0x1ff then found[#found + 1] = { k = k, alert = value - 0x100 } end
        end
        return found
    end

    function analyse_quic(ctx)
        local codes = { quic_code() }
        local has_messages = quic_hs_type() ~= nil
        if codes[1] == nil and not has_messages then return false end
        local closes = crypto_errors(codes)
        if closes[1] == nil and not has_messages then return false end
        local stream = last_of(X.udp_stream)
        if not stream then return false end
        local conn = get_conn(ctx, -1 - stream.value)
        endpoints(ctx, conn)
        if has_messages then
            -- The same reading as TLS over TCP: hello facts, the client named by its ClientHello, chain checks.
            local certs = read_handshakes(ctx, conn, "tls")
            local sender = side_of(ctx, conn)
            if #certs > 0 and sender then on_chain(ctx, conn, "tls", certs, sender) end
        end
        if closes[1] == nil then return true end
        local sender = side_of(ctx, conn) or "unknown"
        local known = sender ~= "unknown"
        local seen = {}
        for _, close in ipairs(closes) do
            local code = close.alert
            -- A close is sent in every packet number space the sender has keys for: one finding per alert.
            if not seen[code] then
                seen[code] = true
                local row = ALERTS[code]
                local name = row and row.name or ("unassigned_" .. code)
                local judged = (sender == "server" and conn.client_chain) or conn.chain
                local f = finding({ check = "quic_crypto_error", sev = "error", alert = anchor_for(quic_code, close.k),
                    alert_code = code, alert_name = name, alert_sender = sender,
                    related = judged and judged.frame, expert = (known and row) and (sender .. "." .. code) or nil },
                    { side = known and sender or MESSAGES:get("side.peer"), code = code, name = name,
                      frame = ctx.num, meaning = row and row.meaning, error = fmt("0x%04x", 0x100 + code) },
                    not row and { "unassigned" } or nil)
                if CERT_ALERTS[code] and judged then f.chain = chain_text(judged) end   -- as on_alert does
                ctx:add(f)
            end
        end
        return true
    end
end

-- The frame being analysed: one table, reset for every frame. `out` stays the shared
-- NO_FINDINGS (never written to) until the frame's first finding.
local Context = {}
Context.__index = Context
function Context:add(item)
    local out = self.out
    if out == NO_FINDINGS then
        out = {}
        self.out = out
    end
    out[#out + 1] = item
end
local frame_ctx = setmetatable({ out = NO_FINDINGS }, Context)

local PT_TCP, PT_UDP = 2, 3   -- pinfo.port_type of TCP and UDP (epan/address.h port_type)

-- The bridge's line for a UDP frame of a DTLS or QUIC flow that matters to its record, nil for any other frame
-- (DNS and the like get nothing). Its stream is udp.stream after the transport's letter, "d" (DTLS) or "q"
-- (QUIC), where TCP's is a bare number; in place of TCP's flags, letters TCP never uses: "o" a 1-RTT (short
-- header) QUIC packet, "h" QUIC's HANDSHAKE_DONE, "e" a Handshake packet tshark could not decrypt (no key
-- log: the server's holds its chain), "x" a CONNECTION_CLOSE, "a" an application close, "r" a Retry, "n" a
-- Version Negotiation, then ":" and the close's error code when tshark read one, then "/" and the versions (a
-- Version Negotiation's list, else the first long header's version); "-" for none. A DTLS frame has a line
-- for any record (application data too, as a TCP segment with data has: the flow's last line carries its byte
-- totals), QUIC's for handshake messages (in CRYPTO frames), HANDSHAKE_DONE, closes, Retry and Version
-- Negotiation; both for the first frame of each direction and the first 1-RTT packet (QUIC) of each. DTLS
-- application data bytes are counted as TCP's (DTLS 1.3's ciphertext as TLS 1.3's without keys); QUIC's stay 0
-- (its streams are encrypted). A DTLS line's flags are "^" when the flow's first datagram came from the other
-- side (its receiver), else "-".
do
    local quic_form = Field.new("quic.header_form")
    local quic_frame_type = Field.new("quic.frame_type")
    local quic_close_code = Field.new("quic.cc.error_code")
    local quic_version = Field.new("quic.version")
    local quic_supported = Field.new("quic.supported_version")
    local quic_packet_type = Field.new("quic.long.packet_type")
    local quic_undecrypted = Field.new("quic.remaining_payload")   -- the payload of a packet not decrypted
    local RETRY = 3   -- a Retry's long header packet type (QUIC v1, RFC 9000 17.2.5)
    local HANDSHAKE_PACKET = 2   -- a Handshake packet's (RFC 9000 17.2.4)
    local MAX_VERSIONS = 8   -- a Version Negotiation packet's versions kept (the list is the sender's to make long)
    local dtls_len = Field.new("dtls.record.length")
    local udp_payload = Field.new("data.data")   -- a datagram no dissector took: DTLS 1.3's ciphertext for one
    local CLOSES = { [0x1c] = true, [0x1d] = true }   -- CONNECTION_CLOSE (transport, application)
    local HANDSHAKE_DONE = 0x1e
    local APPLICATION_CLOSE = 0x1d

    local function number(v)
        return tonumber(tostring(v))
    end

    -- Whether a Handshake packet of the frame failed to decrypt: the failure belongs to the packet whose long
    -- header type precedes it (a datagram may hold an Initial, a Handshake and a 1-RTT packet).
    local function handshake_undecrypted()
        local failures = { quic_undecrypted() }
        if #failures == 0 then return false end
        local types = { quic_packet_type() }
        for _, failure in ipairs(failures) do
            local at, kind = failure.offset, nil
            for _, fi in ipairs(types) do
                if fi.offset <= at then kind = number(fi.value) end
            end
            if kind == HANDSHAKE_PACKET then return true end
        end
        return false
    end

    -- A field's integer value (a UInt64 for 64-bit fields) as decimal digits, "0" for anything else.
    local function decimal(v)
        local text = tostring(v)
        return string.match(text, "^%d+$") and text or "0"
    end

    -- DTLS 1.3's ciphertext records (RFC 9147 4): a unified header, first byte 001CSLEE, which tshark 4.0 does
    -- not dissect (the datagram stays data). Their bytes after the headers, as far as the headers can be read
    -- (a connection ID's length is the handshake's to say: with one, the rest of the datagram counts); nil when
    -- the payload does not start with such a header.
    local function unified_records(payload)
        local bytes, at, n = 0, 0, payload:len()
        if n == 0 or floor(payload:get_index(0) / 32) ~= 1 then return nil end
        while at < n do
            local first = payload:get_index(at)
            if floor(first / 32) ~= 1 then break end
            local cid, wide, sized = floor(first / 16) % 2 == 1, floor(first / 8) % 2 == 1, floor(first / 4) % 2 == 1
            if cid then return bytes + n - at - 1 end
            local header = 1 + (wide and 2 or 1) + (sized and 2 or 0)
            if at + header > n then break end
            local length = n - at - header
            if sized then length = payload:get_index(at + header - 2) * 256 + payload:get_index(at + header - 1) end
            bytes = bytes + math.min(length, n - at - header)
            at = at + header + length
        end
        return bytes
    end

    -- letter, flags, application data bytes, and whether the frame matters whatever it is
    local function udp_facts()
        frame_ctx.dtls13_bytes = nil
        local cts = values_of(KINDS.dtls.record_ct())
        if #cts > 0 then
            local lengths = values_of(dtls_len())
            local bytes, other = 0, false
            for i, ct in ipairs(cts) do
                if ct == 23 then bytes = bytes + (lengths[i] or 0) else other = true end
            end
            return "d", "-", bytes, other, false
        end
        local forms = values_of(quic_form())
        if #forms == 0 then
            -- A datagram of a DTLS flow that tshark left undissected: DTLS 1.3 ciphertext, counted as TLS 1.3's
            -- encrypted records over TCP are (application data as far as anyone without keys can tell).
            local payload, stream = udp_payload(), last_of(X.udp_stream)
            if not (payload and stream and bridge_bytes["d" .. stream.value]) then return nil end
            local bytes = unified_records(payload.value)
            if not bytes then return nil end
            frame_ctx.dtls13_bytes = bytes
            return "d", "-", bytes, false, false
        end
        local short = false
        for _, form in ipairs(forms) do
            if number(form) == 0 then short = true end
        end
        local done, close, application = false, false, false
        for _, fi in ipairs({ quic_frame_type() }) do
            local t = number(fi.value)
            if t == HANDSHAKE_DONE then
                done = true
            elseif CLOSES[t] and not close then   -- the frame's first close says which kind it is
                close, application = true, t == APPLICATION_CLOSE
            end
        end
        local retry, initial = false, false
        for _, t in ipairs(values_of(quic_packet_type())) do
            local kind = number(t)
            if kind == RETRY then retry = true elseif kind == 0 then initial = true end
        end
        -- The versions: a Version Negotiation packet's (version 0) list, else the first long header's version
        local version, versions = quic_version(), {}
        if version and number(version.value) == 0 then
            for i, fi in ipairs({ quic_supported() }) do
                if i > MAX_VERSIONS then break end
                versions[i] = decimal(fi.value)
            end
        elseif version then
            versions[1] = decimal(version.value)
        end
        local negotiation = version ~= nil and number(version.value) == 0
        local code = quic_close_code()
        local sealed = handshake_undecrypted()
        local flags = (short and "o" or "") .. (done and "h" or "") .. (sealed and "e" or "")
            .. ((close or code) and "x" or "") .. (application and "a" or "") .. (retry and "r" or "")
            .. (negotiation and "n" or "")
        -- The code as all its digits: a 62-bit code through a Lua number would print as "1e+14" under Lua 5.2.
        if code then flags = flags .. ":" .. decimal(code.value) end
        if #versions > 0 then flags = flags .. "/" .. concat(versions, ",") end
        -- Every Initial packet gets a line (the handshake's first datagrams, few): a client's probes that no server
        -- answers are its evidence
        local other = done or sealed or close or retry or negotiation or initial or code ~= nil
            or KINDS.tls.hs_type() ~= nil
        return "q", flags ~= "" and flags or "-", 0, other, short
    end

    -- udp.stream -> "address port" of its first datagram's sender, whatever the datagram was (Zeek's originator:
    -- a WebRTC DTLS server may speak first, in STUN); a FIFO of at most max_connections flows, made anew with
    -- each reading's bridge_bytes (reset_state).
    local openers, openers_for
    local function note_opener(stream, pinfo)
        if openers_for ~= bridge_bytes then openers, openers_for = { head = 1, tail = 0 }, bridge_bytes end
        if openers[stream] then return end
        while openers.tail - openers.head + 1 >= math.max(1, settings.max_connections) do
            openers[openers[-openers.head]] = nil
            openers[-openers.head] = nil
            openers.head = openers.head + 1
        end
        openers[stream] = tostring(pinfo.src) .. " " .. tostring(pinfo.src_port)
        openers.tail = openers.tail + 1
        openers[-openers.tail] = stream   -- the queue at negative indexes, apart from the streams (0 and up)
    end

    function udp_line(pinfo, num, noted)
        if pinfo.port_type ~= PT_UDP then return nil end
        local stream = last_of(X.udp_stream)
        if not stream then return nil end
        note_opener(stream.value, pinfo)
        local letter, flags, bytes, other, short = udp_facts()
        if not letter then return nil end
        local counts = bridge_counts(letter .. stream.value)
        local src = tostring(pinfo.src) .. " " .. tostring(pinfo.src_port)
        local dst = tostring(pinfo.dst) .. " " .. tostring(pinfo.dst_port)
        -- DTLS: "^" when the flow was opened by the other side (Zeek then flips its row: "^" in ssl_history)
        if letter == "d" and openers[stream.value] == dst then flags = "^" end
        if not pinfo.visited then
            -- bridge_first[num]: true, the first application data (1-RTT packet) of its direction; false, the
            -- direction's first frame otherwise
            if not counts["f " .. src] then
                counts["f " .. src] = true
                bridge_first[num] = false
            end
            if bytes > 0 or short then
                if not counts["o " .. src] then bridge_first[num] = true end
                counts["o " .. src] = true
                counts[src] = (counts[src] or 0) + bytes
                counts.last_frame, counts.last_time = num, pinfo.abs_ts
            end
        end
        local mark = bridge_first[num]
        -- Application data bytes get a line, as over TCP: the last line of a flow carries its totals (no FIN here)
        if not (noted or other or mark ~= nil or bytes > 0) then return nil end
        return fmt("%s%d %s %s %s %d %d %d %.9f", letter, stream.value, src, dst, flags,
            counts[src] or 0, counts[dst] or 0, counts.last_frame or 0, counts.last_time or 0), mark == true
    end
end

local reset_found, watch_tcp   -- section 13: TLS found by content

-- Returns the frame's findings, or nil when it saw no TLS/DTLS record and no TCP
-- flags: then nothing changed, which is also what a pass without fields sees
-- (the first pass of tshark -2 primes no fields).
local function analyse(pinfo, num)
    local kind = "tls"
    local has = record_types(tls_values("ct"))
    local sslv2
    if not has and pinfo.port_type == PT_TCP then
        sslv2 = list_of(KINDS.tls.hs_type())   -- handshake types without record types: SSL 2.0 records
        if sslv2 then
            has = frame_types
            has[20], has[21], has[22], has[23] = false, false, false, false
        end
    end
    if not has then
        if seen_tls13 then has = record_types(tls_values("opaque")) end   -- TLS 1.3 encrypted records only
        if not has and pinfo.port_type == PT_UDP then
            kind, has = "dtls", record_types(values_of(KINDS.dtls.record_ct()))
            if not has then    -- no DTLS record either: a QUIC hello or close, or nothing the plugin reads
                local ctx = frame_ctx
                ctx.pinfo, ctx.num, ctx.time, ctx.src, ctx.dst = pinfo, num, pinfo.abs_ts, nil, nil
                ctx.out = NO_FINDINGS
                return analyse_quic(ctx) and ctx.out or nil
            end
        end
    end
    local watching = false
    local time
    if teardown_deadline and kind == "tls" then
        time = pinfo.abs_ts
        if time <= teardown_deadline then watching = true else teardown_deadline = nil end
    end
    if not (has or watching) then return nil end
    local ctx = frame_ctx
    ctx.pinfo, ctx.num, ctx.time, ctx.src, ctx.dst, ctx.out = pinfo, num, time or pinfo.abs_ts, nil, nil, NO_FINDINGS
    local saw = has ~= nil
    if has then analyse_kind(ctx, kind, has) end
    if sslv2 then analyse_sslv2(ctx, sslv2) end
    if watching then saw = analyse_teardown(ctx) or saw end
    return saw and ctx.out or nil
end

------------------------------------------------------------------------------
-- 11. Rendering: the same items on the first visit and on every revisit
------------------------------------------------------------------------------

-- Only these three are used after this section; the rest stays in the block (Lua allows 200 locals
-- in the main chunk).
local render, add_experts, render_bridge
do
    local lines = load_module("tpost_lines")   -- certificate and finding lines (tpost.certline, tpost.findline)
    -- The bytes an anchor ({field = extractor, k = position}) points at in this dissection;
    -- `fetched` keeps each extractor's instances and each anchor's range for the frame.
    local function anchor_range(fetched, anchor)
        local range = fetched[anchor]
        if range then return range end
        local field = anchor.field
        if not field then return nil end    -- a certificate the plugin reassembled (section 10b)
        local list = fetched[field]
        if not list then
            list = { field() }
            fetched[field] = list
        end
        local fi = list[anchor.k]
        range = fi and fi.range
        fetched[anchor] = range
        return range
    end

    local function sub_range(base, span)
        if not base then return nil end
        if not span then return base end
        local off, len = span[1], span[2]
        if off < 0 or len <= 0 or off + len > base:len() then return base end
        return base:range(off, len)
    end

    -- One child of a finding or certificate item, on `range` when there is one; nothing for nil.
    local function add_child(item, field, range, value)
        if value == nil then return end
        if range then item:add(field, range, value) else item:add(field, value) end
    end


    local SEVERITY_TITLES = {}   -- "error" -> "Error": how a finding's label starts
    for name in pairs(SEVERITY_LEVEL) do SEVERITY_TITLES[name] = string.upper(sub(name, 1, 1)) .. sub(name, 2) end

    local function render_finding(root, fetched, f)
        local anchor = f.cert or f.hs or f.alert
        local range = sub_range(anchor and anchor_range(fetched, anchor), f.range)
        local check = f.check
        local label = SEVERITY_TITLES[f.sev] .. ": " .. f.msg
        local item
        if range then item = root:add(F.finding, range, check, label) else item = root:add(F.finding, check, label) end
        add_child(item, F.check, range, check)
        add_child(item, F.severity, range, SEVERITY_LEVEL[f.sev])
        add_child(item, F.message, range, f.msg)
        add_child(item, F.why, range, f.why)
        add_child(item, F.offered, range, f.offered)
        add_child(item, F.chain, range, f.chain)
        if f.cert then add_child(item, F.cert_index, range, f.cert.index) end
        if f.related then add_child(item, F.related_frame, range, f.related) end
        if f.alert_code then add_child(item, F.alert_code, range, f.alert_code) end
        if f.alert_name then add_child(item, F.alert_name, range, f.alert_name) end
        if f.alert_sender then add_child(item, F.alert_sender, range, f.alert_sender) end
        -- With the bridge, the finding again as one line: what summarize reads from tshark's -T fields.
        if settings.bridge then root:add(F.findline, lines.finding(f, SEVERITY_LEVEL[f.sev])) end
        local experts = EXPERTS[check][f.sev]
        pending_experts[#pending_experts + 1] = { item, f.expert and experts[f.expert] or experts.generic, f.msg }
    end

    -- A certificate's labels and lists as its summary shows them, built once per parsed certificate
    -- (certificate entries share their info) and kept with it: rendering a chain seen before builds no string.
    -- A value that may be long (a DN, a SAN list) keeps its whole self in its field, while its label shows
    -- the first VALUE_BYTES of it, so that the label stays under Wireshark's 240-byte limit.
    local function cert_texts(info)
        local texts = info.texts
        if texts then return texts end
        texts = {}
        local function label(key, title, value)
            if value ~= nil then texts[key] = title .. ": " .. cut(value, VALUE_BYTES) end
        end
        label("subject", "Subject", info.subject)
        label("cn", "Subject CN", info.cn)
        label("issuer", "Issuer", info.issuer)
        label("serial", "Serial number", info.serial)
        if info.san and #info.san > 0 then
            texts.san = concat(info.san, ",")
            label("san_label", "SAN dNSNames", texts.san)
        end
        if info.key_usage then texts.key_usage = concat(info.key_usage, ",") end
        info.texts = texts
        return texts
    end

    local function render_cert(root, fetched, cert)
        local info = cert.info
        -- With the bridge (tsharkpost's own runs) the summary carries no bytes: PDML would print the
        -- whole DER in hex for it, the largest part of the output the post-processor never reads.
        local base = not settings.bridge and anchor_range(fetched, cert) or nil
        local title = info.subject or "(unparsed)"
        local label = cert.label
        if not label then
            label = fmt("Certificate #%d from %s: %s", cert.index, cert.sender, cut(title, VALUE_BYTES - 40))
            cert.label = label
        end
        local item
        if base then item = root:add(F.cert, base, title, label) else item = root:add(F.cert, title, label) end
        item:add(F.cert_index, cert.index)
        item:add(F.cert_sender, cert.sender)
        -- With the bridge, the summary again as one line: what summarize reads from tshark's -T fields.
        if settings.bridge then root:add(F.certline, lines.certificate(cert)) end
        if info.error then return end
        local texts = cert_texts(info)
        -- Only the algorithm points at its bytes: summaries stay small in PDML (the
        -- certificate item itself spans the whole DER for the GUI's byte view).
        local sigalg = info.r_sigalg and sub_range(base, info.r_sigalg)
        if texts.subject then item:add(F.cert_subject, info.subject, texts.subject) end
        if texts.cn then item:add(F.cert_subject_cn, info.cn, texts.cn) end
        if texts.issuer then item:add(F.cert_issuer, info.issuer, texts.issuer) end
        if texts.serial then item:add(F.cert_serial, info.serial, texts.serial) end
        add_child(item, F.cert_sigalg_oid, sigalg, info.sig_oid)
        add_child(item, F.cert_sigalg_name, sigalg, info.sig_name)
        add_child(item, F.cert_key_type, nil, info.key_type)
        add_child(item, F.cert_key_alg, nil, info.key_alg)
        add_child(item, F.cert_key_bits, nil, info.key_bits)
        add_child(item, F.cert_key_curve, nil, info.curve)
        add_child(item, F.cert_not_before, nil, info.not_before)
        add_child(item, F.cert_not_after, nil, info.not_after)
        if texts.san then item:add(F.cert_san, texts.san, texts.san_label) end
        add_child(item, F.cert_sha256, nil, info.sha256)
        add_child(item, F.cert_sha1, nil, info.sha1)
        add_child(item, F.cert_self_signed, nil, info.self_signed)
        if info.basic_constraints then
            add_child(item, F.cert_ca, nil, info.ca)
            add_child(item, F.cert_path_len, nil, info.path_len)
        end
        if texts.key_usage then item:add(F.cert_key_usage, texts.key_usage) end
    end

    -- tsharkpost's own runs (bridge and wire on) read only the lines: each finding and certificate summary as
    -- one line, no subtree, no expert item (a third of the plugin's tree work in summarize's run).
    local function render_lines(out, tvb, tree)
        local root = tree:add(tpost, tvb())
        for _, item in ipairs(out) do
            if not item.summary then root:add(F.findline, lines.finding(item, SEVERITY_LEVEL[item.sev])) end
        end
        for _, item in ipairs(out) do
            if item.summary then root:add(F.certline, lines.certificate(item)) end
        end
        return root
    end

    -- `fetched`: what the analysis of this very dissection fetched, or nil on a revisit.
    function render(out, tvb, tree, fetched)
        if settings.bridge and settings.wire then return render_lines(out, tvb, tree) end
        local root = tree:add(tpost, tvb())
        fetched = fetched or {}
        local highest = 0
        for _, item in ipairs(out) do
            if not item.summary then highest = math.max(highest, SEVERITY_LEVEL[item.sev]) end
        end
        local diagnosis = diagnosis_of(out)
        if diagnosis then root:add(F.diagnosis, diagnosis) end
        if highest > 0 then root:add(F.max_severity, highest) end
        for _, item in ipairs(out) do
            if not item.summary then render_finding(root, fetched, item) end
        end
        for _, item in ipairs(out) do
            if item.summary then render_cert(root, fetched, item) end
        end
        return root
    end

    -- Adds the expert items rendering queued, through the "tsharkpost" protocol (see section 5); whatever it
    -- did not add (the protocol disabled in Enabled Protocols) is added here, under tpost's name.
    local expert_handle
    function add_experts(tvb, pinfo, tree)
        expert_handle = expert_handle or Dissector.get("tsharkpost")
        expert_handle:call(tvb, pinfo, tree)
    end

    local wire = load_module("tpost_wire")
    local wire_fields = {}   -- field name -> extractor, for every field tpost.tls carries
    for name in pairs(wire.FIELDS) do wire_fields[name] = Field.new(name) end
    local function wire_get(name)
        return { wire_fields[name]() }
    end
    -- The frame's TLS records (only on frames with a line): from the extractors of the fields it carries,
    -- or, when a field has no place among the frame's records (a message reassembled from several records),
    -- from every field of the frame's tree.
    -- DTLS's twins of those fields, extracted so that tshark builds them into the tree wire.udp_line reads (the
    -- names TLS has and DTLS lacks are left out)
    for name in pairs(wire.FIELDS) do
        local ok, field = pcall(Field.new, "d" .. name)
        if ok then wire_fields["d" .. name] = field end
    end
    for name in pairs(wire.DTLS_FRAGMENT_FIELDS) do wire_fields[name] = Field.new(name) end
    local function wire_line(udp)
        if udp and frame_ctx.dtls13_bytes then   -- DTLS 1.3 ciphertext: one encrypted record, as TLS 1.3's reads
            return "R o23 l" .. frame_ctx.dtls13_bytes
        end
        if udp then return wire.udp_line({ all_field_infos() }, udp) end
        local line = wire.structured(wire_get)
        if line == false then line = wire.line({ all_field_infos() }) end
        return line
    end

    function render_bridge(root, tvb, tree, line, first)
        root = root or tree:add(tpost, tvb())
        root:add(F.pkt, line)
        if first then root:add(F.pkt_first_data, true) end
        if settings.wire then
            local ok, records = pcall(wire_line, string.match(line, "^(%a)"))
            if ok and records then root:add(F.tls, records) end
        end
    end
end

------------------------------------------------------------------------------
-- 12. Registration: compute on the first visit that sees fields, replay after
------------------------------------------------------------------------------

function tpost.init()
    reset_state()
    reset_found()
end

function tpost.dissector(tvb, pinfo, tree)
    local num = pinfo.number
    local out, fetched
    forget_frame_fields()
    if settings.find_tls then pcall(watch_tcp, pinfo) end
    if num <= analysed_upto then
        out = results[num]
    else
        -- Frames arrive in order on the first visit that has fields (tshark's only
        -- pass, the second pass of -2, the GUI's first pass); later visits replay.
        frame_ctx.fetched = nil
        local ok, result = pcall(analyse, pinfo, num)
        fetched = frame_ctx.fetched
        frame_ctx.fetched = nil
        if not ok then
            result = { finding({ check = "plugin_error", sev = "note" },
                { error = cut(clean_text(tostring(result)), 120) }) }
        end
        if result then
            analysed_upto = num
            if #result > 0 then results[num], out = result, result end
        end
    end
    local root
    if out and tree then
        local ok, rendered = pcall(render, out, tvb, tree, fetched)
        if ok then
            root = rendered
        else
            for i = #pending_experts, 1, -1 do pending_experts[i] = nil end
            local f = finding({ check = "plugin_error", sev = "note" },
                { error = cut("rendering failed: " .. clean_text(tostring(rendered)), 120) })
            pending_experts[1] = { tree:add(tpost, tvb()), EXPERTS.plugin_error.note.generic, f.msg }
        end
        if #pending_experts > 0 then
            pcall(add_experts, tvb, pinfo, tree)
            pcall(flush_experts)
        end
    end
    if settings.bridge and tree then
        local ok, line, first = pcall(bridge_line, pinfo, num, out ~= nil)
        if ok and line then render_bridge(root, tvb, tree, line, first) end
    end
end

register_postdissector(tpost)

------------------------------------------------------------------------------
-- 13. TLS found by content, on every TCP port, in the same single pass
------------------------------------------------------------------------------
-- Wireshark tries its TLS heuristic only on ports no dissector claims, so TLS on port 80, after IRC's
-- STARTTLS (6667) or after RDP's X.224 negotiation (3389) stays undissected. A TCP connection whose ports
-- belong to another protocol gets `tpost_find` as its conversation dissector, which TCP asks before the
-- port's dissector: it declines (returns 0, and TCP goes on as if it were not there) unless the connection
-- has turned to TLS. From the segment that starts with a hello (tpost_sniff) on, the hello's sender is
-- TLS, its peer from its first segment that starts with a TLS record (a plaintext answer, "HTTP/1.1 400",
-- stays with the port's dissector). Decode As (-d) still decides: a port it changed is left alone.
-- A dissector that takes the connection over for itself (TPKT on 3389 does, as STARTTLS dissectors do
-- to hand it to TLS) would keep tpost_find from seeing later segments: after each frame of a watched
-- connection, tpost_find is made its conversation dissector again.

local tls_handle = Dissector.get("tls")
local find_proto = Proto("tpost_find", "tsharkpost: TLS found by content")
local tcp_ports = DissectorTable.get("tcp.port")
local TLS_NAME = tostring(tls_handle)

-- The tcp.port table as this script found it, before any Decode As (-d is applied after scripts run).
local default_port_name = {}
for port = 1, 65535 do
    local handle = tcp_ports:get_dissector(port)
    if handle then default_port_name[port] = tostring(handle) end
end

-- Dissectors that relay their connection's payload to the tcp.port table themselves: TLS behind them is
-- already found (through the tunnelled port), and intercepting it would change Wireshark's tcp.stream
-- numbers (SOCKS opens a conversation for the tunnel).
local RELAYS = { Socks = true }

-- tcp port -> "other" (a dissector that is not TLS, as by default), "tls", or false (none, a relay, or
-- changed by Decode As); filled on first use, once the options are applied.
local port_kinds = {}
local function port_kind(port)
    local kind = port_kinds[port]
    if kind == nil then
        local handle = tcp_ports:get_dissector(port)
        local name = handle and tostring(handle)
        if name == TLS_NAME then kind = "tls"
        elseif name and name == default_port_name[port] and not RELAYS[name] then kind = "other"
        else kind = false end
        port_kinds[port] = kind
    end
    return kind
end

local watched, found   -- tcp.stream -> true while tpost_find looks at it; tcp.stream -> where TLS starts

reset_found = function()
    watched, found = {}, {}
    port_kinds = {}   -- Decode As may have changed since the last file (Wireshark dissects again then)
end
reset_found()

-- The connection's key: tcp.stream, or where fields are not filled in (the first pass of tshark -2) its
-- addresses and ports, the same both ways.
local function connection_key(pinfo)
    local stream = tcp_value("tcp_stream")
    if stream then return stream end
    local a = tostring(pinfo.src) .. " " .. pinfo.src_port
    local b = tostring(pinfo.dst) .. " " .. pinfo.dst_port
    return a < b and a .. " " .. b or b .. " " .. a
end

-- TLS for this segment? Marks where the connection's TLS starts.
local function is_tls(tvb, pinfo)
    local stream = connection_key(pinfo)
    local num = pinfo.number
    local head = tvb:raw(0, math.min(tvb:len(), sniff.HEAD))
    local tls = found[stream]
    if (not tls or tls.frame > num) and sniff.hello(head) then
        tls = { frame = num, sender = pinfo.src_port, peer = nil }
        found[stream] = tls
    end
    if not tls or num < tls.frame then return false end
    if pinfo.src_port == tls.sender then return true end
    if (tls.peer and tls.peer <= num) or sniff.record(head) then
        if not tls.peer or tls.peer > num then tls.peer = num end
        return true
    end
    return false
end

-- Each dissector call lowers can_desegment by one: TCP offers its reassembly to the dissector right above
-- it only. Raised back, as SOCKS does, so that TLS, called from here, gets it.
local function offer_reassembly(pinfo)
    local level = pinfo.can_desegment
    if level > 0 then pinfo.can_desegment = level + 1 end
end

function find_proto.dissector(tvb, pinfo, tree)
    forget_frame_fields()
    if not settings.find_tls then return 0 end
    local ok, tls = pcall(is_tls, tvb, pinfo)
    if not (ok and tls) then return 0 end
    pcall(offer_reassembly, pinfo)
    -- A segment TLS cannot dissect is marked malformed by Wireshark; the error it raises here stops with it.
    local called, used = pcall(tls_handle.call, tls_handle, tvb, pinfo, tree)
    if not called then return tvb:len() end
    return used
end

local function set_conversation(pinfo)
    pinfo.conversation = find_proto
end

-- From the postdissector, on every visit of every TCP frame: starts watching a connection on its first frame
-- when one of its ports belongs to another protocol and neither to TLS, and makes tpost_find its
-- conversation dissector again after each of its frames, whoever took it over during the frame.
watch_tcp = function(pinfo)
    local stream = tcp_value("tcp_stream")
    local state
    if stream then
        state = watched[stream]
        if state == false then return end   -- the common case, first: a connection on a TLS or unclaimed port
    else
        if pinfo.port_type ~= PT_TCP then return end
        stream = connection_key(pinfo)
        state = watched[stream]
    end
    if state == nil then
        local a, b = port_kind(pinfo.src_port), port_kind(pinfo.dst_port)
        state = a ~= "tls" and b ~= "tls" and (a == "other" or b == "other")
        watched[stream] = state
    end
    if state then set_conversation(pinfo) end
end
