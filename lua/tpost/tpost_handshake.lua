--[[
tpost_handshake.lua: TLS/DTLS handshake message bodies, for tsharkpost.lua (no Wireshark needed).

Reads the few facts the checks need from the bytes of a ClientHello, ServerHello or
ServerKeyExchange. Positions are 1-based into the Lua string `s`: the body is [b, last], after
the 4-byte TLS or 12-byte DTLS handshake header, with last <= #s. Nothing is read past `last`
and nothing raises on a truncated body: what does not fit is left out.
Side-effect free: returns a table of functions, defines no globals, reads no file (Wireshark
loads every .lua under its plugins folder, this one included: that is harmless). Lua 5.2 to 5.4.

    handshake.rules_family(version)  -> 13, 12 or 11 (nil for nil)
    handshake.each_extension(s, pos, last, handler)   the walk over a hello's extensions (tpost_wire_bytes
                                                      walks with it too)
    handshake.parsers(bytes)         -> {client_hello, server_hello, dh_params}, given tpost_bytes
]]

local byte, sub = string.byte, string.sub
local floor = math.floor

local handshake = {}

-- Rules family: 13 = TLS/DTLS 1.3 rules, 12 = TLS 1.2 rules, 11 = older.
local function rules_family(v)
    if not v then return nil end
    if v == 0x0304 or v == 0xfefc or floor(v / 256) == 0x7f then return 13 end
    if v == 0x0303 or v == 0xfefd then return 12 end
    return 11
end
handshake.rules_family = rules_family

-- Walks the extensions block at [pos, last] of a hello body (its 2-byte length, then each extension's type,
-- length and data), calling handler(type, data_start, data_last) for each extension that fits in the block
-- and in [pos, last]. The walk stops at the first that does not fit, or when handler returns false. Returns
-- true when it stopped exactly at the block's end, every extension read and the handler never refusing one:
-- handshake.parsers read what fits of a cut or malformed hello, tpost_wire_bytes reads only exact ones.
local function each_extension(s, pos, last, handler)
    if pos + 1 > last then return false end
    local hi, lo = byte(s, pos, pos + 1)
    local total = hi * 256 + lo
    pos = pos + 2
    local limit = math.min(last, pos + total - 1)
    while pos + 3 <= limit do
        local t1, t2, l1, l2 = byte(s, pos, pos + 3)
        local d_start = pos + 4
        local d_last = d_start + l1 * 256 + l2 - 1
        if d_last > limit then return false end
        if handler(t1 * 256 + t2, d_start, d_last) == false then return false end
        pos = d_last + 1
    end
    return pos == limit + 1
end
handshake.each_extension = each_extension

-- The three message parsers over the byte helpers; the scheme lists they return are shared
-- between calls (see read_scheme_list), so callers must not change them.
function handshake.parsers(bytes)
    local u16, clean_text, integer_bits = bytes.u16, bytes.clean_text, bytes.integer_bits

    -- Scheme lists by their bytes: clients of one kind offer the same list, and each connection
    -- keeps its ClientHello's lists, so sharing them keeps per-connection state small. Read-only.
    local scheme_lists, scheme_lists_size = {}, 0
    local SCHEME_LISTS_MAX = 1000

    local function read_scheme_list(s, start, last)
        local key = sub(s, start, last)
        local list = scheme_lists[key]
        if list then return list end
        if scheme_lists_size >= SCHEME_LISTS_MAX then scheme_lists, scheme_lists_size = {}, 0 end
        scheme_lists[key], scheme_lists_size = {}, scheme_lists_size + 1
        list = scheme_lists[key]
        if start + 1 > last then return list end
        local n = u16(s, start)
        local p = start + 2
        local stop = math.min(last, p + n - 1)
        while p + 1 <= stop do
            list[#list + 1] = u16(s, p)
            p = p + 2
        end
        return list
    end

    -- ClientHello: SNI (cleaned to printable UTF-8), signature_algorithms and signature_algorithms_cert.
    local function parse_client_hello(s, b, last, dtls)
        local hello = {}
        local p = b + 34                          -- version(2) + random(32)
        if p > last then return hello end
        p = p + 1 + byte(s, p)                    -- session id
        if dtls then
            if p > last then return hello end
            p = p + 1 + byte(s, p)                -- cookie
        end
        if p + 1 > last then return hello end
        p = p + 2 + u16(s, p)                     -- cipher suites
        if p > last then return hello end
        p = p + 1 + byte(s, p)                    -- compression methods
        each_extension(s, p, last, function(etype, d_start, d_last)
            if etype == 0 and d_start + 4 <= d_last then
                local name_type, name_len = byte(s, d_start + 2), u16(s, d_start + 3)
                if name_type == 0 and d_start + 4 + name_len <= d_last then
                    hello.sni = clean_text(sub(s, d_start + 5, d_start + 4 + name_len))
                end
            elseif etype == 13 then
                hello.sigalgs = read_scheme_list(s, d_start, d_last)
            elseif etype == 50 then
                hello.sigalgs_cert = read_scheme_list(s, d_start, d_last)
            end
        end)
        return hello
    end

    -- ServerHello: negotiated version (supported_versions wins), cipher suite, whether a PSK was
    -- accepted; version_at and suite_at are 0-based offsets. nil when the random is cut off.
    local function parse_server_hello(s, b, last)
        if b + 34 > last then return nil end
        local hello = { version = u16(s, b), version_at = b - 1, version_len = 2 }
        local p = b + 34
        if floor(hello.version / 256) == 0x7f and hello.version % 256 < 22 then
            -- early TLS 1.3 drafts: no session id or compression
            if p + 1 > last then return hello end
            hello.suite, hello.suite_at = u16(s, p), p - 1
            return hello
        end
        p = p + 1 + byte(s, p)
        if p + 1 > last then return hello end
        hello.suite, hello.suite_at = u16(s, p), p - 1
        p = p + 3
        each_extension(s, p, last, function(etype, d_start, d_last)
            if etype == 43 and d_last - d_start == 1 then
                hello.version, hello.version_at = u16(s, d_start), d_start - 1
            elseif etype == 41 then
                hello.psk = true
            end
        end)
        return hello
    end

    -- ServerKeyExchange of a (PSK-)DHE suite: bit length of p, then 0-based offset and length of
    -- p with its length prefix; nil when p is cut off or empty.
    local function parse_dh_params(s, b, last, psk)
        local p = b
        if psk then
            if p + 1 > last then return nil end
            p = p + 2 + u16(s, p)
        end
        if p + 1 > last then return nil end
        local plen = u16(s, p)
        if plen == 0 or p + 1 + plen > last then return nil end
        return integer_bits(s, p + 2, p + 1 + plen), p - 1, plen + 2
    end

    return { client_hello = parse_client_hello, server_hello = parse_server_hello, dh_params = parse_dh_params }
end

return handshake
