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
    dissected as TLS from its first hello on (tpost.find_tls: tpost_ws_find).
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
  tsharkpost.lua   this post-dissector: the protocol, its preferences, fields and
                   expert items; it reads the frame's fields into plain values
                   (numbers, strings, byte strings) for the core and registers
                   the dissectors
  tpost/tpost_ws_*.lua  the plugin's parts that talk to Wireshark, each built by a
                   constructor this file calls while Wireshark loads it and given
                   what it needs: tpost_ws_bridge (the bridge's tpost.pkt lines
                   of TCP, DTLS and QUIC frames; section 10), tpost_ws_render
                   (what the core found as tpost items, experts, the bridge's
                   items; section 11), tpost_ws_wire (the frame's tpost.tls line
                   from its fields and record bytes; section 11), tpost_ws_find
                   (TLS found by content, the tpost_find protocol; section 13)
  tpost/*.lua      the others: Wireshark-free modules, each with one job. The
                   core, the plugin's analysis, which any driver can run under
                   plain Lua: tpost_facts (the fact tables built and checked),
                   tpost_checks (the checks and findings in words, the settings'
                   defaults), tpost_state (bounded state: connections, parsed
                   certificates, judged chains), tpost_frame (the per-frame
                   analysis: records, hellos, chains, alerts, teardown,
                   reassembly routed to the checks); tpost_core puts them
                   together for a driver outside Wireshark. Under them: tpost_bytes (byte and text helpers),
                   tpost_sha (SHA-256 and SHA-1), tpost_x509 (certificates from
                   DER), tpost_handshake (hello and ServerKeyExchange bodies),
                   tpost_tsv (fact table reader), tpost_messages (message
                   templates filled in). The plugin's own: tpost_sniff (does a
                   segment start like a TLS hello?), tpost_lines (certificate
                   and finding lines), tpost_wire (the frame's TLS records line)
                   and tpost_wire_bytes (that line read from the records' bytes)
  tables/*.tsv     facts (alert names, OIDs, curves, severities, check ids, ...)
                   and the message templates, shared with the tsharkpost Python
                   package
  The modules are compiled from their exact paths next to this file (section 2),
  never through require or package.path. Wireshark itself also runs every .lua
  under its plugins folder, the modules included: run, each only builds and
  returns a table of functions (no globals, no registration, no file read; a
  module that needs the tables takes their folder in its constructor, which
  this file calls; a tpost_ws_ module uses Wireshark's API only in its
  constructor and the functions it returns), so that is harmless. Their names
  carry a tpost_ prefix because Wireshark loads only one personal plugin file
  of each name. They are tested under plain Lua 5.2-5.4, the core driven by a
  capture's real values (the tpost_ws_ ones through tshark, with this file).

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
   0 one copy per run      6 field extractors     10 per-frame analysis: the
   1 version guard         7 the core (checks,       fields read for the core;
   2 modules                 state, per frame)       the bridge (tpost_ws_bridge)
   3 fact tables           8 replay state         11 rendering (tpost_ws_render,
   4 settings (prefs)      9 field values, once      tpost_ws_wire)
   5 protocol, fields,       per frame            12 registration
     expert fields                                13 TLS found by content
                                                     (tpost_ws_find)
]]

------------------------------------------------------------------------------
-- 0. One copy per tsharkpost run
------------------------------------------------------------------------------
-- tsharkpost's own tshark runs load this file with -X lua_script, name that copy with the argument
-- "tsharkpost-run" (-X lua_script1:) and set TSHARKPOST_RUN in tshark's environment (tsharkpost/plugin/fields.py,
-- RUN_ARGUMENT and RUN_ENVIRONMENT). A copy tshark also finds in a plugins folder (one `tsharkpost wireshark
-- install` wrote, perhaps of another version) loads first, with no argument: in such a run it stands aside, where
-- it would register tpost twice and fail the run. Wireshark and plain tshark set no such variable.
if os.getenv("TSHARKPOST_RUN") and ... ~= "tsharkpost-run" then return end

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
-- 2. Modules: the Wireshark-free core and parsers in tpost/ next to this script
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
local checklib = load_module("tpost_checks")

local sub, fmt = string.sub, string.format
local floor = math.floor
local clean_text = bytelib.clean_text
local fill, cut = msglib.fill, msglib.cut

------------------------------------------------------------------------------
-- 3. Fact tables (tables/*.tsv next to this script; loud failure when broken: tpost_facts)
------------------------------------------------------------------------------

local TABLE_DIR = PLUGIN_DIR .. "/tables"
-- Read here, at load time, by the constructor (the module itself reads no file when Wireshark runs it).
local facts = load_module("tpost_facts").load({ tsv = tsv, messages = msglib }, TABLE_DIR, expert)
local SEVERITY_LEVEL, SEVERITY_NAMES, SEVERITY_TEXT = facts.SEVERITY_LEVEL, facts.SEVERITY_NAMES, facts.SEVERITY_TEXT
local ALERTS = facts.ALERTS
local MESSAGES, CHECKS, CHECK_ORDER = facts.MESSAGES, facts.CHECKS, facts.CHECK_ORDER

------------------------------------------------------------------------------
-- 4. Settings, mirrored by preferences (tpost.<name>) and refreshed in prefs_changed
------------------------------------------------------------------------------

-- The core's settings with their defaults and reasons (tpost_checks.default_settings), and this file's own three.
local settings = checklib.default_settings()
settings.bridge = false      -- per-packet tpost.pkt facts for the tsharkpost post-processor (off in the GUI)
settings.wire = false        -- with bridge: the frame's TLS records as one tpost.tls line (tpost_wire.lua)
settings.find_tls = true     -- TLS found by its first bytes on ports Wireshark gives to another protocol (13.)

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
    "bound on per-connection state (at least 1); beyond it the oldest connection is dropped, with a note")
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
local F, EXPERTS, pending_experts, flush_experts
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
        cert_index = ProtoField.uint32("tpost.cert.index", "Chain index", base.DEC, nil, nil,
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
    -- A certificate's role in its chain and its words (tpost_facts); the two sides
    local ROLES, SIDES, ROLE_TEXT = facts.ROLES, facts.SIDES, facts.ROLE_TEXT
    local slug, algorithm_key = facts.slug, facts.algorithm_key
    local SIGALGS, SIGALG_ORDER, VERSIONS, VERSION_ORDER = facts.SIGALGS, facts.SIGALG_ORDER, facts.VERSIONS,
        facts.VERSION_ORDER
    local SUITE_TOKENS, TOKEN_ORDER = facts.SUITE_TOKENS, facts.TOKEN_ORDER
    local EXPERT_GROUPS, EXPERT_SEVERITIES = facts.EXPERT_GROUPS, facts.EXPERT_SEVERITIES

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
    -- message tshark leaves undecoded is reassembled from them (tpost_frame)
    tls_record = Field.new("tls.record"),
    -- a QUIC CONNECTION_CLOSE's error code: CRYPTO_ERROR closes are QUIC's fatal alerts (section 10)
    quic_code = Field.new("quic.cc.error_code"),
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
-- 7. The core: checks, bounded state and the per-frame analysis, over the fact tables and the settings
------------------------------------------------------------------------------

-- Wireshark-free (tpost_checks, tpost_state, tpost_frame): this file only reads the frame's fields into plain
-- values for them (section 10) and builds the renderer of what they found (section 11: tpost_ws_render).
-- Findings' anchors name the bytes they point at by the extractors below, which rendering reads again.
local checks = checklib.new(facts, settings, { x509 = x509, messages = msglib,
    handshake = handshake })
local S = load_module("tpost_state").new(facts, settings, checks, { x509 = x509, sha = sha, bytes = bytelib })
local core = load_module("tpost_frame").new(facts, settings, checks, S,
    { bytes = bytelib, x509 = x509, handshake = handshake, messages = msglib },
    { tls = { hs = KINDS.tls.hs, cert = KINDS.tls.cert, alert = KINDS.tls.alert },
      dtls = { hs = KINDS.dtls.hs, cert = KINDS.dtls.cert, alert = KINDS.dtls.alert },
      sslv2 = KINDS.tls.hs_type, quic_close = X.quic_code })
local finding, diagnosis_of, VALUE_BYTES = checks.finding, checks.diagnosis_of, checks.VALUE_BYTES
local get_conn, record_types = S.get_conn, core.record_types
on_prefs_changed = S.forget_certificates   -- the checks and the fingerprint bound read the settings

------------------------------------------------------------------------------
-- 8. The plugin's own state: results replayed on revisits; reset by init() (the bridge's counts: tpost_ws_bridge)
------------------------------------------------------------------------------

local results, analysed_upto

local function reset_state()
    S.reset()
    -- results: frame number -> its findings and summaries, replayed on every later visit
    results, analysed_upto = {}, 0
end
reset_state()

------------------------------------------------------------------------------
-- 9. The frame's fields as plain values, each extractor read once per frame
------------------------------------------------------------------------------

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

------------------------------------------------------------------------------
-- 10. Per-frame analysis: the frame's fields read for the core (tpost_frame), which routes them to the checks
------------------------------------------------------------------------------

local NO_CERTS = {}   -- shared empty list, never written to
-- The frame being analysed (tpost_frame's context: num, time, src, dst, out), reset for every
-- frame; `pinfo` and `fetched` are this file's own.
local frame_ctx = core.context()

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

-- The name of cipher suite `code` among the frame's cipher suite fields, or nil (the core's suite_name_of).
local function frame_suite_name(kind, code)
    local name
    for _, sfi in ipairs({ KINDS[kind].suite() }) do
        if sfi.value == code then name = suite_name(kind, sfi) end
    end
    return name
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

-- The frame's handshake messages through the core's on_handshake, as bytes: only those Wireshark decoded (a type
-- field at the same place). Returns the DER of the frame's certificates, and whether a message was left
-- undecoded (no type field).
local function read_handshakes(ctx, conn, kind)
    local K = KINDS[kind]
    local types = { K.hs_type() }
    if #types == 0 then return NO_CERTS, K.hs() ~= nil end
    local messages = { K.hs() }
    remember(ctx, K.hs, messages)
    local msg_types = handshake_types(types, messages)
    local wants, on_handshake = core.wants_handshake, core.on_handshake
    if msg_types then
        for k, hfi in ipairs(messages) do
            local msg_type = msg_types[k]
            if msg_type and wants(ctx, conn, msg_type) then
                on_handshake(ctx, conn, kind, hfi.range:raw(), k, frame_suite_name)
            end
        end
    else
        local plain = {}
        for _, tfi in ipairs(types) do plain[tfi.offset .. "/" .. tfi.source:len()] = true end
        for k, hfi in ipairs(messages) do
            if plain[hfi.offset .. "/" .. hfi.source:len()] then
                on_handshake(ctx, conn, kind, hfi.range:raw(), k, frame_suite_name)
            end
        end
    end
    local certs = { K.cert() }
    remember(ctx, K.cert, certs)
    if #certs == 0 then return NO_CERTS, #messages > #types end
    local ders = {}
    for k, fi in ipairs(certs) do ders[k] = fi.range:raw() end
    return ders, #messages > #types
end

local RECORD_HEADER = 5
local frame_records = {}   -- the frame's tls.record instances, while the core reassembles from them
-- The first n bytes after the header of the frame's record i (the core's body(i, n))
local function record_body(i, n)
    return frame_records[i].range:range(RECORD_HEADER, n):raw()
end
-- What the core asks of a frame beyond its record types (tpost_frame's io).
local frame_io = {
    endpoints = endpoints,
    handshakes = read_handshakes,
    -- The frame's TLS records for a Certificate message tshark left undecoded: content types, lengths after the
    -- header, and a reader of their bytes; nil when the record fields do not pair with the content types
    records = function()
        local records, types = { X.tls_record() }, { KINDS.tls.record_ct() }
        if #records ~= #types then return nil end
        local cts, lengths = {}, {}
        for i, rfi in ipairs(records) do
            cts[i], lengths[i] = types[i].value, rfi.range:len() - RECORD_HEADER
        end
        frame_records = records
        return cts, lengths, record_body
    end,
    alerts = function(ctx, kind)
        local field = KINDS[kind].alert
        local alerts = { field() }
        remember(ctx, field, alerts)
        local raws = {}
        for k, afi in ipairs(alerts) do raws[k] = afi.range:raw() end
        return raws
    end,
}

-- Connection key: tcp.stream for TLS, -1 - udp.stream for DTLS.
local function analyse_kind(ctx, kind, has)
    local key
    if kind == "tls" then
        key = tcp_value("tcp_stream")
        if not key then return end
    else
        local stream = last_of(X.udp_stream)
        if not stream then return end
        key = -1 - stream.value
    end
    core.analyse_kind(ctx, kind, key, has, frame_io)
end

-- An SSL 2.0 record has no content type: its message type is the record's tls.handshake.type. A
-- SERVER-HELLO (4) names the version the server chose, read from its bytes.
local SSL2_SERVER_HELLO = 4
local function analyse_sslv2(ctx, types)
    local key = tcp_value("tcp_stream")
    if not key then return end
    for k, tfi in ipairs(types) do
        local tvb, at = tfi.source, tfi.offset
        if tfi.value == SSL2_SERVER_HELLO and tvb and at + 5 <= tvb:len() then
            local conn = S.conns[key] or get_conn(ctx, key)
            endpoints(ctx, conn)
            -- SERVER-HELLO: type, session id hit, certificate type, then the version
            remember(ctx, core.sslv2_server_hello(ctx, conn, tvb:range(at + 3, 2):uint(), k), tfi.range)
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
    local conn = S.conns[stream]
    if not conn or not conn.watch or conn.torn then return true end
    conn.torn = true
    endpoints(ctx, conn)
    core.teardown(ctx, conn, rst)
    return true
end

-- QUIC (RFC 9000 §20.1, RFC 9001 §4.8): a CONNECTION_CLOSE whose error code is CRYPTO_ERROR, 0x0100 + a TLS
-- alert, is QUIC's fatal alert. tshark decrypts Initial packets without keys (their keys derive from public
-- salts), so a refusal sent at that level is readable in every capture; one sent in Handshake packets needs
-- the key log. The sender is named from the side that sent the ClientHello in the same UDP stream.
local analyse_quic
do
    local quic_code = X.quic_code
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
            if value and value >= 0x100 and value <= 0x1ff then
                found[#found + 1] = { k = k, alert = value - 0x100 }
            end
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
            local sender = core.side_of(ctx, conn)
            if #certs > 0 and sender then core.on_chain(ctx, conn, "tls", certs, sender) end
        end
        if closes[1] == nil then return true end
        core.quic_closes(ctx, conn, closes)
        return true
    end
end

local PT_TCP, PT_UDP = 2, 3   -- pinfo.port_type of TCP and UDP (epan/address.h port_type)

-- The bridge's line of a TCP, DTLS or QUIC frame (preference "bridge"), with its counts (tpost_ws_bridge).
local bridge = load_module("tpost_ws_bridge").new({ settings = settings, X = X, KINDS = KINDS,
    dtls13_bytes = core.dtls13_bytes, tcp_value = tcp_value, tls_values = tls_values, values_of = values_of,
    last_of = last_of, list_of = list_of, PT_UDP = PT_UDP })
local bridge_line = bridge.line

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
        if sslv2 then has = core.no_types() end
    end
    if not has then
        if S.seen_tls13 then has = record_types(tls_values("opaque")) end   -- TLS 1.3 encrypted records only
        if not has and pinfo.port_type == PT_UDP then
            kind, has = "dtls", record_types(values_of(KINDS.dtls.record_ct()))
            if not has then    -- no DTLS record either: a QUIC hello or close, or nothing the plugin reads
                local ctx = frame_ctx
                ctx.pinfo = pinfo
                ctx:start(num, pinfo.abs_ts)
                return analyse_quic(ctx) and ctx.out or nil
            end
        end
    end
    local watching = false
    local time
    local deadline = S.teardown_deadline
    if deadline and kind == "tls" then
        time = pinfo.abs_ts
        if time <= deadline then watching = true else S.teardown_deadline = nil end
    end
    if not (has or watching) then return nil end
    local ctx = frame_ctx
    ctx.pinfo = pinfo
    ctx:start(num, time or pinfo.abs_ts)
    local saw = has ~= nil
    if has then analyse_kind(ctx, kind, has) end
    if sslv2 then analyse_sslv2(ctx, sslv2) end
    if watching then saw = analyse_teardown(ctx) or saw end
    return saw and ctx.out or nil
end

------------------------------------------------------------------------------
-- 11. Rendering: the same items on the first visit and on every revisit
------------------------------------------------------------------------------

-- What the dissector calls (section 12): the frame's tpost subtree, its expert items, the bridge's items.
local render, add_experts, render_bridge
do
    -- The frame's tpost.tls line (tpost_ws_wire, over tpost_wire and tpost_wire_bytes); its extractors are created here
    local wire_line = load_module("tpost_ws_wire").new({ wire = load_module("tpost_wire"),
        wire_bytes = load_module("tpost_wire_bytes").new({ bytes = bytelib, handshake = handshake }),
        conn_of = function(stream) return S.conns[stream] end,
        tcp_value = tcp_value, tls_values = tls_values, values_of = values_of })
    local rendering = load_module("tpost_ws_render").new({ tpost = tpost, F = F, EXPERTS = EXPERTS,
        pending_experts = pending_experts, settings = settings, SEVERITY_LEVEL = SEVERITY_LEVEL,
        diagnosis_of = diagnosis_of, VALUE_BYTES = VALUE_BYTES, cut = cut,
        lines = load_module("tpost_lines"),   -- certificate and finding lines (tpost.certline, tpost.findline)
        wire_line = wire_line })
    render, add_experts, render_bridge = rendering.render, rendering.add_experts, rendering.render_bridge
end

------------------------------------------------------------------------------
-- 12. Registration: compute on the first visit that sees fields, replay after
------------------------------------------------------------------------------

function tpost.init()
    reset_state()
    bridge.reset()
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
        local ok, line, first, ciphertext = pcall(bridge_line, pinfo, num, out ~= nil)
        if ok and line then render_bridge(root, tvb, tree, line, first, ciphertext) end
    end
end

register_postdissector(tpost)

------------------------------------------------------------------------------
-- 13. TLS found by content, on every TCP port, in the same single pass (tpost_ws_find)
------------------------------------------------------------------------------
-- A TCP connection whose ports Wireshark gives to another protocol is dissected as TLS from its first
-- hello on, by the tpost_find protocol that tpost_ws_find registers here, after tpost.

do
    local find = load_module("tpost_ws_find").install({ settings = settings, sniff = sniff,
        tcp_value = tcp_value, forget_frame_fields = forget_frame_fields, PT_TCP = PT_TCP })
    reset_found, watch_tcp = find.reset, find.watch
end
