--[[
bench/outside_driver.lua: a MEASURED PROTOTYPE (issue 13), not product code. See bench/OUTSIDE.md.

Runs the plugin's own analysis (the core modules lua/tpost/tpost_facts, tpost_checks, tpost_state and tpost_frame,
which lua/tsharkpost.lua runs inside Wireshark) OUTSIDE tshark, fed by plain `tshark -T fields` lines on stdin (the
columns of bench/outside_columns.txt, in that order, with -E occurrence=a -E aggregator='|'), and writes one JSON
line per TLS connection at the end.

    tshark -n -r F -Y FILTER -T fields ... | lua5.4 bench/outside_driver.lua PLUGIN_DIR SUITES_TSV

This file is the core's second adapter (the plugin is the first): it turns each line into the plain values the
core's per-frame interface takes (record types, certificate DER, alert bytes, endpoints) and calls
tpost_frame's analyse_kind and teardown. The one input -T fields cannot give is a handshake message's BYTES
(tls.handshake is FT_NONE, which -T fields prints as "1"), which the core's on_handshake parses: this adapter
builds the same hello table from the hello's fields instead, makes the same state changes and calls the core's
check_version, check_suite and check_dh; or, with OUTSIDE_BYTES=1, it hands the core's own on_handshake the
bytes of the hellos and key exchanges that bench/outside_find.lua carried ("bytes"). Record bytes (a Certificate
message of 64 KiB or more that tshark leaves undecoded) are not available either: that reassembly does not run
here.
]]
local PLUGIN_DIR, SUITES_TSV = arg[1], arg[2]
-- Run in a host (lupa, bench/outside_prototype.py): it sets OUTSIDE_LINES (an iterator of the lines) and
-- OUTSIDE_WRITE (takes each JSON line) before running this file; standalone, stdin and stdout.
local input_lines = rawget(_G, "OUTSIDE_LINES") or io.lines
local write_line = rawget(_G, "OUTSIDE_WRITE") or function(text) io.stdout:write(text, "\n") end

-- The columns of each line, in order: bench/outside_columns.txt, which bench/outside_prototype.py reads too.
local COLUMNS = {}
for name in io.lines(PLUGIN_DIR .. "/../bench/outside_columns.txt") do
    if name ~= "" and name:sub(1, 1) ~= "#" then COLUMNS[#COLUMNS + 1] = name end
end
-- OUTSIDE_BYTES=1 (bench/outside_find.lua's "bytes"): two more columns, the bytes of each hello and key exchange
-- and its place among the frame's messages, which the core's own on_handshake parses (no hello from fields).
local CARRIED_BYTES = os.getenv("OUTSIDE_BYTES") == "1"
if CARRIED_BYTES then
    COLUMNS[#COLUMNS + 1] = "tpost_find_post.k"
    COLUMNS[#COLUMNS + 1] = "tpost_find_post.msg"
end
-- Columns after these (the record's other hello facts: ALPN, groups, session id, ...) are read by nobody here:
-- they are in the tshark run so that its cost is the cost of a complete record's facts.
local COL = {}
for i, name in ipairs(COLUMNS) do COL[name] = i end

------------------------------------------------------------------------------
-- The core, loaded from lua/tpost/ by path (as the plugin's load_module does)
------------------------------------------------------------------------------

-- Anchors name the bytes a finding points at by the adapter's keys: the column names here.
local built = dofile(PLUGIN_DIR .. "/tpost/tpost_core.lua").assemble(PLUGIN_DIR,
    { tls = { hs = "tls.handshake", cert = "tls.handshake.certificate", alert = "tls.alert_message" },
      dtls = { hs = "dtls.handshake", cert = "dtls.handshake.certificate", alert = "dtls.alert_message" },
      sslv2 = "tls.handshake.type", quic_close = "quic.cc.error_code" })
local core, checks, S, facts, settings = built.frame, built.checks, built.state, built.facts, built.settings
local bytelib, x509, handshake, msglib = built.bytes, built.x509, built.handshake, built.messages
local rules_family = handshake.rules_family

local SUITE_NAMES = {}   -- cipher suite code -> Wireshark's name (tshark -G values, SUITES_TSV)
for row in io.lines(SUITES_TSV) do
    local code, name = string.match(row, "^(%d+)\t(.*)$")
    if code then SUITE_NAMES[tonumber(code)] = name end
end

------------------------------------------------------------------------------
-- The current line's columns as plain values
------------------------------------------------------------------------------

local line = {}        -- the current line's columns
local frame_cache = {} -- column index -> its values split at "|", for the current line
local EMPTY = {}

local function split(s, out)   -- plain find: certificate columns are kilobytes of hex
    local n, pos, find, sub = 0, 1, string.find, string.sub
    if s == "" then return out end
    while true do
        local bar = find(s, "|", pos, true)
        n = n + 1
        if not bar then out[n] = sub(s, pos) return out end
        out[n] = sub(s, pos, bar - 1)
        pos = bar + 1
    end
end

-- A column's values (strings), split once per line.
local function values(name)
    local idx = COL[name]
    local list = frame_cache[idx]
    if not list then
        local s = line[idx]
        list = (s == nil or s == "") and EMPTY or split(s, {})
        frame_cache[idx] = list
    end
    return list
end

-- Bytes from tshark's lowercase hex: one table lookup per byte inside string.gsub.
local BYTE_OF = {}
for c = 0, 255 do BYTE_OF[string.format("%02x", c)] = string.char(c) end
local function unhex(hex) return (string.gsub(hex, "%x%x", BYTE_OF)) end

-- DER from hex, memoised (bounded) by the hex: a server's chain repeats on every connection.
local der_memo, der_memo_size = {}, 0
local function der_of(hex)
    local der = der_memo[hex]
    if der then return der end
    der = unhex(hex)
    if der_memo_size >= 2000 then der_memo, der_memo_size = {}, 0 end
    der_memo[hex], der_memo_size = der, der_memo_size + 1
    return der
end

-- The record types of the column as numbers (the core's record_types reads them).
local function numbers(name)
    local list = {}
    for i, v in ipairs(values(name)) do list[i] = tonumber(v) end
    return list
end

------------------------------------------------------------------------------
-- The adapter's hello: the hello table from the hello's fields (what the core parses from bytes)
------------------------------------------------------------------------------

local scheme_lists = {}   -- shared lists by text, as tpost_handshake shares them by bytes (read-only)
local function scheme_list(list, from, to)
    local key = table.concat(list, ",", from, to)
    local found = scheme_lists[key]
    if found then return found end
    found = {}
    for i = from, to do found[#found + 1] = tonumber(list[i]) end
    scheme_lists[key] = found
    return found
end

local function client_hello_facts()
    local hello = {}
    local sni = line[COL["tls.handshake.extensions_server_name"]]
    -- tshark writes the name's bytes as they are (control characters too); the plugin cleans the hello's bytes
    if sni ~= "" then hello.sni = bytelib.clean_text(sni) end
    local types = values("tls.handshake.extension.type")
    local lens = values("tls.handshake.sig_hash_alg_len")
    local algs = values("tls.handshake.sig_hash_alg")
    local li, ai = 0, 1
    for _, t in ipairs(types) do
        -- tshark 4.0 gives delegated_credentials (34) the same length and scheme fields as signature_algorithms
        -- (13) and signature_algorithms_cert (50): each one's schemes are cut out by its length, in order.
        if t == "13" or t == "50" or t == "34" then
            li = li + 1
            local n = math.floor((tonumber(lens[li]) or 0) / 2)
            local list = scheme_list(algs, ai, ai + n - 1)
            ai = ai + n
            if t == "13" then hello.sigalgs = list elseif t == "50" then hello.sigalgs_cert = list end
        end
    end
    return hello
end

local function server_hello_facts()
    local versions = values("tls.handshake.extensions.supported_version")
    local legacy = values("tls.handshake.version")
    local suites = values("tls.handshake.ciphersuite")
    local hello = { version = tonumber(versions[#versions] or legacy[1]), version_at = 0, version_len = 2,
        suite = tonumber(suites[1]), suite_at = 0 }
    -- tpost_handshake reads no extension of an early TLS 1.3 draft's ServerHello (before draft 22); tshark does
    if hello.version and math.floor(hello.version / 256) == 0x7f and hello.version % 256 < 22 then return hello end
    for _, t in ipairs(values("tls.handshake.extension.type")) do
        if t == "41" then hello.psk = true end
    end
    return hello
end

-- The same state changes as the core's on_handshake (types 1, 2 and 12), from fields instead of bytes.
local function on_handshake(ctx, conn, k, msg_type)
    if msg_type == 1 then
        conn.client = ctx.src
        conn.hello, conn.hello_time = client_hello_facts(), ctx.time
        conn.version, conn.suite_name, conn.chain, conn.encrypted_noted = nil, nil, nil, nil
        conn.client_chain, conn.reassembly = nil, nil
    elseif msg_type == 2 then
        if not conn.client then conn.client = ctx.dst end
        local hello = server_hello_facts()
        if not hello.version then return end
        conn.version, conn.suite, conn.psk = hello.version, hello.suite, hello.psk
        if rules_family(hello.version) == 13 then S.seen_tls13 = true end
        conn.suite_name = nil
        if hello.suite then conn.suite_name = SUITE_NAMES[hello.suite] or "Unknown" end
        local anchor = { k = k }
        checks.check_version(ctx, hello, anchor)
        if hello.suite then checks.check_suite(ctx, conn, hello, anchor) end
    elseif msg_type == 12 and conn.suite_name and core.side_of(ctx, conn) == "server" then
        -- ServerKeyExchange of a (PSK-)DHE suite: the group's bit length from tshark's tls.handshake.p
        local tokens = checks.suite_tokens(conn.suite_name)
        local p = line[COL["tls.handshake.p"]]
        if (tokens.DHE or (tokens.DH and tokens.anon)) and p ~= "" then
            local bytes = der_of(p)
            checks.check_dh(ctx, bytelib.integer_bits(bytes, 1, #bytes), { k = k }, 0, #bytes + 2)
        end
    end
end

-- A cipher suite's name as Wireshark displays it (the plugin reads the field's display; here tshark -G values)
local function suite_name_of(_, code) return SUITE_NAMES[code] or "Unknown" end

------------------------------------------------------------------------------
-- What the core's per-frame interface asks of the frame (tpost_frame's io)
------------------------------------------------------------------------------

local pinfo = {}   -- the current line's addresses, ports and time
local NO_CERTS = {}
local io_adapter = {
    -- "address/port" of the frame's source and destination, as the plugin's endpoints writes them
    endpoints = function(ctx)
        if ctx.src then return end
        ctx.src = pinfo.src .. "/" .. pinfo.src_port
        ctx.dst = pinfo.dst .. "/" .. pinfo.dst_port
    end,
    -- Handshake types paired with the messages by position (-T fields has no offsets); the certificates' DER
    handshakes = function(ctx, conn)
        local types, messages = values("tls.handshake.type"), values("tls.handshake")
        if #types == 0 then return NO_CERTS, #messages > 0 end
        if CARRIED_BYTES then   -- the core's own parsers, on the bytes the find plugin carried
            local places, carried = values("tpost_find_post.k"), values("tpost_find_post.msg")
            for i = 1, math.min(#places, #carried) do
                local k = tonumber(places[i])
                if core.wants_handshake(ctx, conn, tonumber(types[k])) then
                    core.on_handshake(ctx, conn, "tls", unhex(carried[i]), k, suite_name_of)
                end
            end
        else
            for k = 1, math.min(#types, #messages) do on_handshake(ctx, conn, k, tonumber(types[k])) end
        end
        local ders = {}
        for k, hex in ipairs(values("tls.handshake.certificate")) do ders[k] = der_of(hex) end
        return ders, #messages > #types
    end,
    records = function() return nil end,   -- record bytes: not in -T fields
    -- FT_NONE: presence only; the 2-byte raw alert comes from level/desc (an encrypted one has neither)
    alerts = function()
        local levels, descs = values("tls.alert_message.level"), values("tls.alert_message.desc")
        local raws = {}
        for k = 1, #values("tls.alert_message") do
            raws[k] = (levels[k] and descs[k]) and string.char(tonumber(levels[k]), tonumber(descs[k])) or ""
        end
        return raws
    end,
}

------------------------------------------------------------------------------
-- Per line: the plugin's analyse() for TCP frames, through the core; per connection: what was found
------------------------------------------------------------------------------

local records = {}   -- stream -> {certs = {...}, findings = {...}}
local ctx = core.context()

local function record_of(stream)
    local r = records[stream]
    if not r then
        r = { certs = {}, findings = {} }
        records[stream] = r
    end
    return r
end

local ncol = #COLUMNS
local find, sub = string.find, string.sub
local function read_line(s)   -- the driver's columns only: the record's other facts are not split here
    local i, pos = 0, 1
    while i < ncol do
        local tab = find(s, "\t", pos, true)
        i = i + 1
        if not tab then line[i] = sub(s, pos) break end
        line[i] = sub(s, pos, tab - 1)
        pos = tab + 1
    end
    for j = i + 1, ncol do line[j] = "" end
end

local record_types, analyse_kind, teardown = core.record_types, core.analyse_kind, core.teardown

-- OUTSIDE_PROFILE=1: the CPU seconds (os.clock) the core's analysis takes, alone, written to stderr at the end.
-- It is what any adapter pays for the analysis whatever feeds it: the lower bound of the plugin's own work
-- (bench/OUTSIDE.md, ninth step).
-- The adapter's own decoding of the hex it hands the core (hello and key exchange bytes, certificate DER) runs
-- inside analyse_kind: it is timed apart, since the plugin reads those bytes from the frame instead.
local PROFILE = os.getenv("OUTSIDE_PROFILE") == "1" and { analyse = 0, teardown = 0, unhex = 0 } or nil
if PROFILE then
    local clock, analyse0, teardown0, unhex0 = os.clock, analyse_kind, teardown, unhex
    unhex = function(hex)
        local started = clock()
        local bytes = unhex0(hex)
        PROFILE.unhex = PROFILE.unhex + clock() - started
        return bytes
    end
    analyse_kind = function(...)
        local started = clock()
        analyse0(...)
        PROFILE.analyse = PROFILE.analyse + clock() - started
    end
    teardown = function(...)
        local started = clock()
        teardown0(...)
        PROFILE.teardown = PROFILE.teardown + clock() - started
    end
end

-- The last value of a column, as a number (the innermost layer's, as the plugin's last_of reads it).
local function last_number(name)
    local list = values(name)
    return tonumber(list[#list])
end

-- A FIN or RST of a connection whose chain is watched: the plugin's analyse_teardown.
local function analyse_teardown()
    local flags = last_number("tcp.flags")
    if not flags then return end
    local fin, rst = flags % 2 == 1, math.floor(flags / 4) % 2 == 1
    if not (fin or rst) then return end
    local stream = last_number("tcp.stream")
    local conn = stream and S.conns[stream]
    if not conn or not conn.watch or conn.torn then return end
    conn.torn = true
    io_adapter.endpoints(ctx, conn)
    teardown(ctx, conn, rst)
end

local bytes_by = {}   -- stream -> {[source port] = TCP payload bytes}: the record's byte counts (every frame)
local last_time = {}  -- stream -> epoch time of its last frame
local LEN, STREAM, SRCPORT = COL["tcp.len"], COL["tcp.stream"], COL["tcp.srcport"]
local FRAME, TIME, DSTPORT = COL["frame.number"], COL["frame.time_epoch"], COL["tcp.dstport"]
local SRC4, SRC6, DST4, DST6 = COL["ip.src"], COL["ipv6.src"], COL["ip.dst"], COL["ipv6.dst"]

for s in input_lines() do
    read_line(s)
    local stream = line[STREAM]
    if stream ~= "" then
        local n = tonumber(line[LEN])
        if n and n > 0 then
            local by = bytes_by[stream]
            if not by then by = {}; bytes_by[stream] = by end
            local port = line[SRCPORT]
            by[port] = (by[port] or 0) + n
        end
        last_time[stream] = line[TIME]
    end
    for k in pairs(frame_cache) do frame_cache[k] = nil end
    local has = record_types(numbers("tls.record.content_type"))
    if not has and S.seen_tls13 then has = record_types(numbers("tls.record.opaque_type")) end
    local time = tonumber(line[TIME])
    local watching = false
    local deadline = S.teardown_deadline
    if deadline then
        if time <= deadline then watching = true else S.teardown_deadline = nil end
    end
    if has or watching then
        local num = tonumber(line[FRAME])
        pinfo.src = line[SRC4] ~= "" and line[SRC4] or line[SRC6]
        pinfo.dst = line[DST4] ~= "" and line[DST4] or line[DST6]
        pinfo.src_port, pinfo.dst_port = tonumber(line[SRCPORT]), tonumber(line[DSTPORT])
        ctx:start(num, time)
        local key = has and last_number("tcp.stream")
        if key then analyse_kind(ctx, "tls", key, has, io_adapter) end
        if watching then analyse_teardown() end
        if #ctx.out > 0 then
            local r = record_of(tonumber(line[STREAM]))
            for _, item in ipairs(ctx.out) do
                if item.summary then
                    r.certs[#r.certs + 1] = item   -- encoded once per distinct entry (cert_json)
                elseif item.check then
                    r.findings[#r.findings + 1] = { frame = num, check = item.check, sev = item.sev,
                        message = item.msg }
                end
            end
        end
    end
end

------------------------------------------------------------------------------
-- One JSON line per connection
------------------------------------------------------------------------------

local RAW = {}   -- json() writes a {[RAW] = text} table as its text
local function json(v)
    local t = type(v)
    if t == "string" then
        return '"' .. string.gsub(v, '[%c"\\]', function(c)
            return string.format("\\u%04x", string.byte(c))
        end) .. '"'
    elseif t == "number" then
        return (math.type and math.type(v) == "integer" or v % 1 == 0) and string.format("%d", v)
            or string.format("%.17g", v)
    elseif t == "boolean" then
        return tostring(v)
    elseif t == "table" then
        if v[RAW] then return v[RAW] end
        if #v > 0 or next(v) == nil then
            local parts = {}
            for i, item in ipairs(v) do parts[i] = json(item) end
            return "[" .. table.concat(parts, ",") .. "]"
        end
        local keys = {}
        for key in pairs(v) do keys[#keys + 1] = key end
        table.sort(keys)
        local parts = {}
        for i, key in ipairs(keys) do parts[i] = json(key) .. ":" .. json(v[key]) end
        return "{" .. table.concat(parts, ",") .. "}"
    end
    return "null"
end

-- A certificate entry's JSON, once per distinct entry (a server's chain repeats on every connection).
local cert_json_memo = setmetatable({}, { __mode = "k" })
local function cert_json(item)
    local text = cert_json_memo[item]
    if not text then
        local info = item.info
        text = json({ index = item.index, sender = item.sender, subject = info.subject, issuer = info.issuer,
            sha256 = info.sha256, sha1 = info.sha1, sigalg = info.sig_name, key_type = info.key_type,
            key_bits = info.key_bits, not_after = info.not_after, error = info.error })
        cert_json_memo[item] = text
    end
    return text
end
local conns = S.conns
local streams = {}
for stream in pairs(conns) do streams[#streams + 1] = stream end
for stream in pairs(records) do if not conns[stream] then streams[#streams + 1] = stream end end
table.sort(streams)
for _, stream in ipairs(streams) do
    local conn = conns[stream] or {}
    local r = records[stream] or { certs = {}, findings = {} }
    local certs = {}
    for i, item in ipairs(r.certs) do certs[i] = { [RAW] = cert_json(item) } end
    write_line(json({ stream = stream, client = conn.client, sni = conn.hello and conn.hello.sni,
        version = conn.version, suite = conn.suite_name, chain_frame = conn.chain and conn.chain.frame,
        diagnosis = conn.chain and conn.chain.diagnosis, certs = certs, findings = r.findings,
        torn = conn.torn or false, payload_bytes = bytes_by[tostring(stream)],
        last_time = last_time[tostring(stream)] }))
end
if PROFILE then
    io.stderr:write(string.format("analysis %.3f s (analyse_kind %.3f less hex decoding %.3f, teardown %.3f), "
        .. "driver %.3f s CPU\n", PROFILE.analyse - PROFILE.unhex + PROFILE.teardown, PROFILE.analyse,
        PROFILE.unhex, PROFILE.teardown, os.clock()))
end
