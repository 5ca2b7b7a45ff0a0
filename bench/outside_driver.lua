--[[
bench/outside_driver.lua: a MEASURED PROTOTYPE (issue 13), not product code. See bench/OUTSIDE.md.

Runs the plugin's own analysis (lua/tsharkpost.lua sections 1-10, unchanged, and lua/tpost/*.lua) OUTSIDE
tshark, fed by plain `tshark -T fields` lines on stdin (the columns of bench/outside_columns.txt, in that order, with
-E occurrence=a -E aggregator='|'), and writes one JSON line per TLS connection at the end.

    tshark -n -r F -Y FILTER -T fields ... | lua5.4 bench/outside_driver.lua PLUGIN_DIR SUITES_TSV

How the same rule code runs here: the plugin's source is read up to its bridge section (before "-- The bridge
(preference"), with a stub of the Wireshark API (Proto, ProtoField, Pref, expert: inert) and an adapter for
the one thing the analysis reads from Wireshark at run time: Field.new(name) returns an extractor that yields
FieldInfo-like tables made from the current line's column (value, range:raw(), display, offset). The one
function whose input -T fields cannot give is on_handshake (it parses the hello BYTES: tls.handshake is
FT_NONE, which -T fields prints as "1"), so the chunk's definition is renamed and this file's
on_handshake builds the same hello table from the hello's fields. A prototype: the chunk is cut out of the
plugin's text by its section markers, which a real split would replace by a core module (OUTSIDE.md).
]]

local PLUGIN_DIR, SUITES_TSV = arg[1], arg[2]
-- Run in a host (lupa, bench/outside_prototype.py): it sets OUTSIDE_LINES (an iterator of the lines) and
-- OUTSIDE_WRITE (takes each JSON line) before running this file; standalone, stdin and stdout.
local input_lines = rawget(_G, "OUTSIDE_LINES") or io.lines
local write_line = rawget(_G, "OUTSIDE_WRITE") or function(text) io.stdout:write(text, "\n") end
local unpack = table.unpack

-- The columns of each line, in order: bench/outside_columns.txt, which bench/outside_prototype.py reads too.
local COLUMNS = {}
for name in io.lines(PLUGIN_DIR .. "/../bench/outside_columns.txt") do
    if name ~= "" and name:sub(1, 1) ~= "#" then COLUMNS[#COLUMNS + 1] = name end
end
-- Columns after these (the record's other hello facts: ALPN, groups, session id, ...) are read by nobody here:
-- they are in the tshark run so that its cost is the cost of a complete record's facts.
local COL = {}
for i, name in ipairs(COLUMNS) do COL[name] = i end

------------------------------------------------------------------------------
-- The Wireshark API stub (load time only) and the field adapter (run time)
------------------------------------------------------------------------------

local inert = {}
setmetatable(inert, { __index = function() return inert end, __call = function() return inert end,
    __newindex = function() end })

local line = {}        -- the current line's columns
local frame_cache = {} -- column index -> list of FieldInfo-like tables, for the current line
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

-- DER from hex, memoised (bounded) by the hex: a server's chain repeats on every connection.
local der_memo, der_memo_size = {}, 0
local function der_of(hex)
    local der = der_memo[hex]
    if der then return der end
    der = (string.gsub(hex, "%x%x", function(h) return string.char(tonumber(h, 16)) end))
    if der_memo_size >= 2000 then der_memo, der_memo_size = {}, 0 end
    der_memo[hex], der_memo_size = der, der_memo_size + 1
    return der
end

local Range = {}
Range.__index = Range
function Range:raw() return self.bytes end
function Range:len() return #self.bytes end

local SUITE_NAMES = {}
local function build(name, idx)
    local s = line[idx]
    if s == nil or s == "" then return EMPTY end
    local parts = split(s, {})
    local list = {}
    if name == "tls.handshake.certificate" then
        for k, hex in ipairs(parts) do
            list[k] = { range = setmetatable({ bytes = der_of(hex) }, Range), offset = k }
        end
    elseif name == "tls.alert_message" then
        -- FT_NONE: presence only; the 2-byte raw alert comes from level/desc (an encrypted one has neither)
        local levels = split(line[COL["tls.alert_message.level"]] or "", {})
        local descs = split(line[COL["tls.alert_message.desc"]] or "", {})
        for k = 1, #parts do
            local raw = (levels[k] and descs[k]) and string.char(tonumber(levels[k]), tonumber(descs[k])) or ""
            list[k] = { range = setmetatable({ bytes = raw }, Range), offset = k }
        end
    elseif name == "tls.handshake" then
        for k = 1, #parts do list[k] = { offset = k } end
    elseif name == "tls.handshake.ciphersuite" then
        for k, v in ipairs(parts) do
            local code = tonumber(v)
            list[k] = { value = code, display = (SUITE_NAMES[code] or "Unknown") .. string.format(" (0x%04x)", code),
                offset = k }
        end
    else
        for k, v in ipairs(parts) do list[k] = { value = tonumber(v) or v, offset = k } end
    end
    return list
end

local function extractor(name)
    local idx = COL[name]
    if not idx then return function() end end
    return function()
        local list = frame_cache[idx]
        if not list then
            list = build(name, idx)
            frame_cache[idx] = list
        end
        return unpack(list)
    end
end

local env = setmetatable({
    get_version = function() return "4.0.17" end,
    Proto = function() return setmetatable({ prefs = {} }, getmetatable(inert)) end,
    ProtoField = inert, ProtoExpert = inert, Pref = inert, base = inert, expert = inert, DissectorTable = inert,
    Field = { new = extractor },
}, { __index = _G })

------------------------------------------------------------------------------
-- The plugin's sections 1-10 (up to the bridge), unchanged but for on_handshake's name
------------------------------------------------------------------------------

local path = PLUGIN_DIR .. "/tsharkpost.lua"
local handle = assert(io.open(path, "rb"))
local source = handle:read("*a")
handle:close()
local stop = assert(string.find(source, "\n-- The bridge (preference", 1, true), "bridge marker not found")
local chunk_text = string.sub(source, 1, stop)
local renamed
chunk_text, renamed = string.gsub(chunk_text, "local function on_handshake%(", "local function on_handshake_bytes(")
assert(renamed == 1, "on_handshake not found")
chunk_text = chunk_text .. [[
return {
    analyse_kind = analyse_kind, analyse_teardown = analyse_teardown, record_types = record_types,
    tls_values = tls_values, forget_frame_fields = forget_frame_fields, check_version = check_version,
    check_suite = check_suite, suite_name = suite_name, suite_tokens = suite_tokens, rules_family = rules_family,
    x509 = x509, KINDS = KINDS, side_of = side_of, check_dh = check_dh, bytelib = bytelib,
    state = function() return conns, teardown_deadline, seen_tls13 end,
    end_watch = function() teardown_deadline = nil end,
    saw_tls13 = function() seen_tls13 = true end,
}
]]
local chunk = assert(load(chunk_text, "@" .. path, "t", env))
local core = chunk()

for row in io.lines(SUITES_TSV) do
    local code, name = string.match(row, "^(%d+)\t(.*)$")
    if code then SUITE_NAMES[tonumber(code)] = name end
end

------------------------------------------------------------------------------
-- The adapter's on_handshake: the hello table from the hello's fields (what the plugin parses from bytes)
------------------------------------------------------------------------------

local rules_family = core.rules_family
local scheme_lists = {}   -- shared lists by text, as tpost_handshake shares them by bytes (read-only)
local function scheme_list(values, from, to)
    local key = table.concat(values, ",", from, to)
    local list = scheme_lists[key]
    if list then return list end
    list = {}
    for i = from, to do list[#list + 1] = tonumber(values[i]) end
    scheme_lists[key] = list
    return list
end

local function client_hello_facts()
    local hello = {}
    local sni = line[COL["tls.handshake.extensions_server_name"]]
    -- tshark writes the name's bytes as they are (control characters too); the plugin cleans the hello's bytes
    if sni ~= "" then hello.sni = core.bytelib.clean_text(sni) end
    local types = split(line[COL["tls.handshake.extension.type"]], {})
    local lens = split(line[COL["tls.handshake.sig_hash_alg_len"]], {})
    local algs = split(line[COL["tls.handshake.sig_hash_alg"]], {})
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
    local versions = split(line[COL["tls.handshake.extensions.supported_version"]], {})
    local legacy = split(line[COL["tls.handshake.version"]], {})
    local suites = split(line[COL["tls.handshake.ciphersuite"]], {})
    local hello = { version = tonumber(versions[#versions] or legacy[1]), version_at = 0, version_len = 2,
        suite = tonumber(suites[1]), suite_at = 0 }
    -- tpost_handshake reads no extension of an early TLS 1.3 draft's ServerHello (before draft 22); tshark does
    if hello.version and math.floor(hello.version / 256) == 0x7f and hello.version % 256 < 22 then return hello end
    for t in string.gmatch(line[COL["tls.handshake.extension.type"]], "[^|]+") do
        if t == "41" then hello.psk = true end
    end
    return hello
end

-- Same state changes as the plugin's on_handshake (types 1 and 2; ServerKeyExchange's DH group is left out).
function env.on_handshake(ctx, conn, kind, _, k, msg_type)
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
        if rules_family(hello.version) == 13 then core.saw_tls13() end
        conn.suite_name = nil
        if hello.suite then
            for _, sfi in ipairs({ core.KINDS[kind].suite() }) do
                if sfi.value == hello.suite then conn.suite_name = core.suite_name(kind, sfi) end
            end
        end
        local anchor = { k = k }
        core.check_version(ctx, hello, anchor)
        if hello.suite then core.check_suite(ctx, conn, hello, anchor) end
    elseif msg_type == 12 and conn.suite_name and core.side_of(ctx, conn) == "server" then
        -- ServerKeyExchange of a (PSK-)DHE suite: the group's bit length from tshark's tls.handshake.p
        local tokens = core.suite_tokens(conn.suite_name)
        local p = line[COL["tls.handshake.p"]]
        if (tokens.DHE or (tokens.DH and tokens.anon)) and p ~= "" then
            local bytes = der_of(p)
            core.check_dh(ctx, core.bytelib.integer_bits(bytes, 1, #bytes), { k = k }, 0, #bytes + 2)
        end
    end
end

------------------------------------------------------------------------------
-- Per line: the plugin's analyse() for TCP frames; per connection: what was found
------------------------------------------------------------------------------

local records = {}   -- stream -> {certs = {...}, findings = {...}}
local ctx = { out = {} }
function ctx:add(item) self.out[#self.out + 1] = item end
local pinfo = {}
ctx.pinfo = pinfo

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

local record_types, tls_values, analyse_kind, analyse_teardown = core.record_types, core.tls_values,
    core.analyse_kind, core.analyse_teardown

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
    core.forget_frame_fields()
    local _, deadline, seen13 = core.state()
    local has = record_types(tls_values("ct"))
    if not has and seen13 then has = record_types(tls_values("opaque")) end
    local time = tonumber(line[TIME])
    local watching = false
    if deadline then
        if time <= deadline then watching = true else core.end_watch() end
    end
    if has or watching then
        local num = tonumber(line[FRAME])
        pinfo.src = line[SRC4] ~= "" and line[SRC4] or line[SRC6]
        pinfo.dst = line[DST4] ~= "" and line[DST4] or line[DST6]
        pinfo.src_port, pinfo.dst_port, pinfo.abs_ts = tonumber(line[SRCPORT]), tonumber(line[DSTPORT]), time
        ctx.num, ctx.time, ctx.src, ctx.dst, ctx.out = num, time, nil, nil, {}
        if has then analyse_kind(ctx, "tls", has) end
        if watching then analyse_teardown(ctx) end
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
local conns = core.state()
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
