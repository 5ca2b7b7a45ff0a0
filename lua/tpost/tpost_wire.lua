--[[
tpost_wire.lua: the frame's TLS records as one compact line (tpost.tls), for the tsharkpost post-processor.

With the "wire" preference, tsharkpost asks tshark for the plugin's fields only: no TLS or X.509 tree is
written, and what Python used to read from the TLS tree travels here instead. The line is a list of tokens
separated by single spaces, in tree order (the order of Wireshark's fields in the frame's tree); each token
is one letter and a value:

    R            a record starts              H            a handshake message starts
    c<n>         its content type             t<n>         the message type (or an SSLv2 record's)
    o<n>         its opaque (outer) type      A            an alert message starts
    l<n>         its length                   a<n> d<n>    the alert's level and description
    v<n>         its version                  x<text>      an extension's type, as Wireshark displays it
    V C P u g k n G e <text>   hello facts as displayed: version, cipher suite, SSLv2 cipher spec,
                 supported version, signature algorithm, key share group, named curve, supported group,
                 EC point format ("TLS 1.2 (0x0303)": Python takes the code and the name from it)
    N S <hex>    random and session id           s p <text>   server name and ALPN protocol

Text is escaped: every byte outside 0x21-0x7e and "%" becomes %XX, so a hostile server name can neither
split a token nor the line; each text is cut at MAX_TEXT bytes and the line at MAX_TOKENS tokens
(a final "!" token says it was cut). Wireshark-free, and three ways to the same line, each tried when the one
before cannot vouch for the frame: the records' bytes checked against the values tshark dissected (the common
case, line_from_record_bytes), each carried field's FieldInfo list placed by data source and offset
(wire.structured), the whole tree's FieldInfos (wire.line over all_field_infos()). Lua 5.2 to 5.4, no globals.
]]

local byte, find, fmt, gsub, sub = string.byte, string.find, string.format, string.gsub, string.sub
local concat = table.concat

local wire = {}

wire.MAX_TEXT = 512
wire.MAX_TOKENS = 4096

-- field name -> token letter, and how its value is written: "n" the number, "d" the display text,
-- "h" the bytes as hex, "s" the string's bytes, "" nothing (a token that only opens a subtree)
local FIELDS = {
    ["tls.record"] = { "R", "" },
    ["tls.record.content_type"] = { "c", "n" },
    ["tls.record.opaque_type"] = { "o", "n" },
    ["tls.record.length"] = { "l", "n" },
    ["tls.record.version"] = { "v", "n" },
    ["tls.handshake"] = { "H", "" },
    ["tls.handshake.type"] = { "t", "n" },
    ["tls.alert_message"] = { "A", "" },
    ["tls.alert_message.level"] = { "a", "n" },
    ["tls.alert_message.desc"] = { "d", "n" },
    ["tls.handshake.extension.type"] = { "x", "d" },
    ["tls.handshake.version"] = { "V", "d" },
    ["tls.handshake.ciphersuite"] = { "C", "d" },
    ["tls.handshake.cipherspec"] = { "P", "d" },
    ["tls.handshake.extensions.supported_version"] = { "u", "d" },
    ["tls.handshake.sig_hash_alg"] = { "g", "d" },
    ["tls.handshake.extensions_key_share_group"] = { "k", "d" },
    ["tls.handshake.server_named_curve"] = { "n", "d" },
    ["tls.handshake.extensions_supported_group"] = { "G", "d" },
    ["tls.handshake.extensions_ec_point_format"] = { "e", "d" },
    ["tls.handshake.random"] = { "N", "h" },
    ["tls.handshake.session_id"] = { "S", "h" },
    ["tls.handshake.extensions_server_name"] = { "s", "s" },
    ["tls.handshake.extensions_alpn_str"] = { "p", "s" },
}
wire.FIELDS = FIELDS

local function escape_byte(c)
    return fmt("%%%02X", byte(c))
end

-- s with every byte outside 0x21-0x7e, and "%", as %XX; cut at MAX_TEXT bytes first.
function wire.escape(s)
    if #s > wire.MAX_TEXT then s = sub(s, 1, wire.MAX_TEXT) end
    return (gsub(s, "[^\33-\36\38-\126]", escape_byte))
end
local escape = wire.escape

-- Tokens of displayed numbers, by field and value (a code is always displayed alike): bounded per field.
local shown = {}
local SHOWN_KEPT = 4096

-- The token of one FieldInfo of the field spec describes (FIELDS).
local function spec_token(spec, fi)
    local letter, how = spec[1], spec[2]
    if how == "d" then
        local value = fi.value
        local by_value = shown[spec]
        if not by_value or by_value.n >= SHOWN_KEPT then
            by_value = { n = 0 }
            shown[spec] = by_value
        end
        local tok = by_value[value]
        if not tok then
            tok = letter .. escape(fi.display or "")
            if type(value) == "number" then
                by_value[value] = tok
                by_value.n = by_value.n + 1
            end
        end
        return tok
    end
    if how == "" then return letter end
    if how == "n" then
        local value = fi.value
        return letter .. (type(value) == "number" and fmt("%d", value) or escape(tostring(value)))
    end
    local value = fi.value
    if how == "h" then
        if value == nil then return letter end
        if type(value) == "userdata" and value.tohex then return letter .. escape(value:tohex(true)) end
        return letter .. escape(tostring(value))
    end
    return letter .. escape(value ~= nil and tostring(value) or "")
end

-- The token of one FieldInfo, or nil when tsharkpost does not read its field. Hidden fields are left out,
-- as tshark leaves them out of PDML.
local function token(fi)
    local spec = FIELDS[fi.name]
    if not spec or fi.hidden then return nil end
    return spec_token(spec, fi)
end

-- Message types whose facts tsharkpost reads: ClientHello, ServerHello, ServerKeyExchange, and SSL 2.0's
-- SERVER-HELLO (4); any other message's facts are not written (capture/packet.py DETAILED).
local DETAILED = { [1] = true, [2] = true, [4] = true, [12] = true }

-- Field names by role, for wire.structured.
local RECORD_NUMBERS = { "tls.record.content_type", "tls.record.opaque_type", "tls.record.length",
    "tls.record.version" }
local FACTS = {}
for name, spec in pairs(FIELDS) do
    if spec[2] == "d" or spec[2] == "h" or spec[2] == "s" then FACTS[#FACTS + 1] = name end
end
table.sort(FACTS)   -- a fixed order: ties between fields at one offset are broken by it
wire.FACTS = FACTS

local function node(fi, rank)
    local off = fi.offset
    return { fi = fi, off = off, stop = off + fi.len, rank = rank, kids = {} }
end

-- The node of list holding the bytes at off (in data source src when sources matter), or nil.
local function holder(list, off, src, sources)
    for i = 1, #list do
        local n = list[i]
        if (off >= n.off and off < n.stop or off == n.off and n.stop == n.off)
                and (not sources or n.src == src) then
            return n
        end
    end
    return nil
end

local function by_offset(a, b)
    if a.off ~= b.off then return a.off < b.off end
    return a.rank < b.rank
end

-- A fact's sort key: its offset, then its field's rank, then the order it was read in. One number, so that
-- the facts of a hello (a hundred or more) sort without a Lua comparator; exact while off < 2^27.
local FACT_RANK_SPAN = 67108864   -- 2^26, above any rank * 65536 + seq

------------------------------------------------------------------------------------------------------------------
-- A hello's facts from its own bytes
------------------------------------------------------------------------------------------------------------------
-- Read from tshark's fields, each fact of a hello costs three or four calls into Wireshark, and a ClientHello has
-- 50 or more. A well-formed ClientHello or ServerHello is read from its bytes instead, and gives the same tokens in
-- the same order: the layouts below are the RFCs', which tshark 4.0 follows for these extensions, and a displayed
-- value's text is what tshark displayed for that code before (`shown`). Anything else sends the frame to the
-- fields, as before: an extension not listed here, a length that does not add up, a name with a byte outside
-- printable ASCII (tshark converts those), a code tshark has not displayed yet, a HelloRetryRequest or a
-- draft-era ServerHello. Tests compare both ways: the facts with tshark's own (tests/test_plugin_modules.py) and
-- the line with and without this reader (tests/captures/test_wire_hello_bytes.py).

local function u16(s, i)
    local a, b = byte(s, i, i + 1)
    return a * 256 + b
end

local HEX_OF = {}
for c = 0, 255 do HEX_OF[string.char(c)] = fmt("%02x", c) end

local SERVER_NAME, ALPN = "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str"

-- Appends a fact (its field's name and value) to facts, a flat list of names and values.
local function add(facts, name, value)
    local n = #facts
    facts[n + 1], facts[n + 2] = name, value
end

-- [a, z] holds a list with a 2-byte (or with one_byte, 1-byte) length covering the rest exactly: its items'
-- first and last positions, or nil.
local function list_bounds(s, a, z, one_byte)
    local head = one_byte and 1 or 2
    if z - a + 1 < head then return nil end
    local len = one_byte and byte(s, a) or u16(s, a)
    if len ~= z - a + 1 - head then return nil end
    return a + head, z
end

-- An extension of codes of `size` bytes (2, or 1), each its own fact of field `name`.
local function codes(name, one_byte_length, size)
    return function(s, a, z, facts)
        local first, last = list_bounds(s, a, z, one_byte_length)
        if not first or (last - first + 1) % size ~= 0 then return false end
        for i = first, last, size do add(facts, name, size == 2 and u16(s, i) or byte(s, i)) end
        return true
    end
end

-- An extension of names (ALPN's, each after a 1-byte length; SNI's, each after a type, which must be host_name (0),
-- and a 2-byte length): each name a fact of field `name`, in printable ASCII.
local function names(name, sni)
    return function(s, a, z, facts)
        local p, last = list_bounds(s, a, z)
        if not p then return false end
        while p <= last do
            local len, at
            if sni then
                if p + 2 > last or byte(s, p) ~= 0 then return false end
                len, at = u16(s, p + 1), p + 3
            else
                len, at = byte(s, p), p + 1
            end
            if len == 0 or at + len - 1 > last then return false end
            local text = sub(s, at, at + len - 1)
            if find(text, "[^\32-\126]") then return false end
            add(facts, name, text)
            p = at + len
        end
        return true
    end
end

local SIGNATURE_SCHEMES = codes("tls.handshake.sig_hash_alg", false, 2)
local NO_FACTS = function() return true end   -- an extension none of whose fields the line carries

-- Extension type -> its reader for a ClientHello and for a ServerHello: reader(s, a, z, facts), [a, z] the
-- extension's data; true when its layout is as expected.
local CLIENT_EXTENSIONS = {
    [0] = names(SERVER_NAME, true),
    [10] = codes("tls.handshake.extensions_supported_group", false, 2),
    [11] = codes("tls.handshake.extensions_ec_point_format", true, 1),
    [13] = SIGNATURE_SCHEMES, [34] = SIGNATURE_SCHEMES, [50] = SIGNATURE_SCHEMES,
    [16] = names(ALPN, false),
    [43] = codes("tls.handshake.extensions.supported_version", true, 2),
    [51] = function(s, a, z, facts)   -- key_share: KeyShareEntry list
        local p, last = list_bounds(s, a, z)
        if not p then return false end
        while p <= last do
            if p + 3 > last then return false end
            local key_end = p + 3 + u16(s, p + 2)
            if key_end > last then return false end
            add(facts, "tls.handshake.extensions_key_share_group", u16(s, p))
            p = key_end + 1
        end
        return true
    end,
}
local function empty(_, a, z) return a > z end
local SERVER_EXTENSIONS = {
    [0] = empty,   -- the server saw the name
    [11] = CLIENT_EXTENSIONS[11],
    [16] = CLIENT_EXTENSIONS[16],
    [43] = function(s, a, z, facts)   -- the version chosen
        if z - a + 1 ~= 2 then return false end
        add(facts, "tls.handshake.extensions.supported_version", u16(s, a))
        return true
    end,
    [51] = function(s, a, z, facts)   -- the server's KeyShareEntry
        if z - a + 1 < 4 or a + 3 + u16(s, a + 2) ~= z then return false end
        add(facts, "tls.handshake.extensions_key_share_group", u16(s, a))
        return true
    end,
}
-- A client's signed_certificate_timestamp is empty; a server's holds timestamps whose signature algorithms
-- tshark shows as sig_hash_alg, and sends the frame to the fields.
CLIENT_EXTENSIONS[18] = empty
-- status_request, heartbeat, status_request_v2, client_ and server_certificate_type, padding,
-- encrypt_then_mac, extended_master_secret, token_binding, compress_certificate, record_size_limit,
-- session_ticket, pre_shared_key, early_data, cookie, psk_key_exchange_modes, post_handshake_auth,
-- next_protocol_negotiation, channel_id, renegotiation_info
for _, t in ipairs({ 5, 15, 17, 19, 20, 21, 22, 23, 24, 27, 28, 35, 41, 42, 44, 45, 49, 13172, 30032,
        65281 }) do
    CLIENT_EXTENSIONS[t] = CLIENT_EXTENSIONS[t] or NO_FACTS
    SERVER_EXTENSIONS[t] = SERVER_EXTENSIONS[t] or NO_FACTS
end

-- GREASE (RFC 8701): 0x0a0a, 0x1a1a, ... 0xfafa, whose data means nothing
local function grease(t)
    return t % 16 == 10 and t % 256 == math.floor(t / 256)
end

-- ServerHello.random of a HelloRetryRequest (RFC 8446 4.1.3), whose key_share tshark reads differently
local HRR_RANDOM = "\207\33\173\116\229\154\97\17\190\29\140\2\30\101\184\145"
    .. "\194\162\17\22\122\187\140\94\7\158\9\226\200\168\51\156"

-- The facts of a ClientHello or (server) ServerHello, s its bytes with the 4-byte header: a flat list of field
-- names and values (numbers; bytes for the random and session id; text for names), or nil when s is not a
-- hello this reader vouches for.
local function hello_facts(s, server)
    if #s < 38 or byte(s, 2) * 65536 + u16(s, 3) ~= #s - 4 then return nil end
    local version = u16(s, 5)
    if server and (version < 0x0300 or version > 0x0303 or sub(s, 7, 38) == HRR_RANDOM) then return nil end
    local facts = {}
    add(facts, "tls.handshake.version", version)
    add(facts, "tls.handshake.random", sub(s, 7, 38))
    local last = #s
    local p = 39
    local id_len = byte(s, p)
    if not id_len or id_len > 32 or p + id_len > last then return nil end
    if id_len > 0 then add(facts, "tls.handshake.session_id", sub(s, p + 1, p + id_len)) end
    p = p + 1 + id_len
    if server then
        if p + 2 > last then return nil end
        add(facts, "tls.handshake.ciphersuite", u16(s, p))
        p = p + 3                                   -- and the compression method
    else
        if p + 1 > last then return nil end
        local suites_end = p + 1 + u16(s, p)
        if suites_end > last or (suites_end - p - 1) % 2 ~= 0 then return nil end
        for i = p + 2, suites_end, 2 do add(facts, "tls.handshake.ciphersuite", u16(s, i)) end
        p = suites_end + 1
        if p > last or p + byte(s, p) > last then return nil end
        p = p + 1 + byte(s, p)                      -- compression methods
    end
    if p > last then return facts end             -- no extensions
    if p + 1 > last or u16(s, p) ~= last - p - 1 then return nil end
    local readers = server and SERVER_EXTENSIONS or CLIENT_EXTENSIONS
    p = p + 2
    while p <= last do
        if p + 3 > last then return nil end
        local etype = u16(s, p)
        local z = p + 3 + u16(s, p + 2)
        if z > last then return nil end
        local reader = readers[etype]
        if not reader and not grease(etype) then return nil end
        add(facts, "tls.handshake.extension.type", etype)
        if reader and not reader(s, p + 4, z, facts) then return nil end
        p = z + 1
    end
    return facts
end
wire.hello_facts = hello_facts

-- The tokens of a hello's facts, or nil when a displayed code has not been displayed yet.
local function fact_tokens(facts)
    local tokens = {}
    for i = 1, #facts, 2 do
        local spec, value = FIELDS[facts[i]], facts[i + 1]
        local how = spec[2]
        local tok
        if how == "d" then
            local by_value = shown[spec]
            tok = by_value and by_value[value]
            if not tok then return nil end
        elseif how == "h" then
            tok = spec[1] .. gsub(value, ".", HEX_OF)
        else
            tok = spec[1] .. escape(value)
        end
        tokens[#tokens + 1] = tok
    end
    return tokens
end

------------------------------------------------------------------------------------------------------------------
-- The common frame read from its records' bytes
------------------------------------------------------------------------------------------------------------------
-- Placing every field by data source and offset (wire.structured, below) costs three or four calls into Wireshark
-- per field instance. A frame whose records are whole in its bytes is read from them instead: each record's header,
-- its handshake messages (type and length) and its alert, and the facts of its hellos and ECDHE key exchange. What
-- the bytes cannot say (whether tshark could read a message or an alert, or took it for ciphertext) is settled by the
-- values tshark dissected: the frame's content types, message types, alert levels and descriptions must be the
-- ones read from the bytes, in order, and its messages and alerts as many. Anything else sends the frame to the
-- fields, as before: a disagreement, a TLS 1.3 record, a record type other than 20-23, a message split across
-- records, a message whose facts the bytes reader does not read, a line past MAX_TOKENS.

-- Message types with none of the facts the line carries in a TLS 1.2 (or older) record: HelloRequest,
-- NewSessionTicket, Certificate, ServerHelloDone, ClientKeyExchange, Finished. But for one: tshark reads the signed
-- certificate timestamps in a certificate's X.509 extensions, and shows their signature algorithms as
-- sig_hash_alg, so a frame with a Certificate must have no more of those than the bytes read elsewhere.
local FACTLESS_PLAIN = { [0] = true, [4] = true, [11] = true, [14] = true, [16] = true, [20] = true }
local CERTIFICATE = 11
local SIGNATURE_ALGORITHM = "tls.handshake.sig_hash_alg"

-- The facts of a ServerKeyExchange whose ServerHello (its facts: server_facts) chose an ECDHE suite with an RSA or
-- ECDSA signature, in a TLS 1.0-1.2 session: the named curve and (TLS 1.2) the signature algorithm; nil otherwise.
local function key_exchange_facts(s, server_facts)
    if not server_facts then return nil end
    local version, suite
    for i = 1, #server_facts, 2 do
        local name = server_facts[i]
        if name == "tls.handshake.version" then version = server_facts[i + 1]
        elseif name == "tls.handshake.ciphersuite" then suite = server_facts[i + 1]
        elseif name == "tls.handshake.extensions.supported_version" then return nil end
    end
    local suite_token = suite and shown[FIELDS["tls.handshake.ciphersuite"]]
    suite_token = suite_token and suite_token[suite]
    if not (version and version >= 0x0301 and version <= 0x0303 and suite_token
            and (find(suite_token, "^CTLS_ECDHE_RSA_") or find(suite_token, "^CTLS_ECDHE_ECDSA_"))) then
        return nil
    end
    local last = #s
    if last < 8 or byte(s, 5) ~= 3 then return nil end            -- curve_type named_curve
    local facts = {}
    add(facts, "tls.handshake.server_named_curve", u16(s, 6))
    local p = 9 + byte(s, 8)                                      -- after the public point
    if version == 0x0303 then
        if p + 1 > last then return nil end
        add(facts, "tls.handshake.sig_hash_alg", u16(s, p))
        p = p + 2
    end
    if p + 1 > last or p + 1 + u16(s, p) ~= last then return nil end
    return facts
end

-- The line of a frame from its records, or nil when it cannot be read so. raw_of(fi, whole): a record's bytes (only
-- its header unless whole) and its size; values(name): the values of field `name` in the frame, in tree order;
-- count(name): its number of instances.
local function line_from_record_bytes(records, raw_of, values, count)
    local content_types = values("tls.record.content_type")
    if #content_types ~= #records or #values("tls.record.opaque_type") > 0 then return nil end
    local out, n = {}, 0
    local types = {}            -- message types read, in order
    local alerts = {}           -- levels and descriptions read, in order
    local messages, alert_count = 0, 0
    local detailed, factful = false, false   -- a message whose facts the line carries; one the bytes cannot give
    local hellos = {}           -- token lists of the frame's messages with facts, by place in `out`
    local server_facts
    local after_ccs, certificate = false, false
    local handshakes, alerts_seen = false, false
    for i = 1, #records do
        local said = content_types[i]                 -- what tshark says it is: only messages and alerts are read
        local s, size = raw_of(records[i], said == 21 or said == 22)
        if #s < 5 then return nil end
        local content, version, length = byte(s, 1), u16(s, 2), u16(s, 4)
        if content ~= said or length ~= size - 5 then return nil end
        out[n + 1], out[n + 2], out[n + 3], out[n + 4] = "R", "c" .. content, "l" .. length, "v" .. version
        n = n + 4
        if content == 22 then
            handshakes = true
            -- whole messages, or else (after a ChangeCipherSpec of this frame) one encrypted message
            local found, p = {}, 6
            while p <= size do
                if p + 3 > size then found = nil break end
                local stop = p + 3 + byte(s, p + 1) * 65536 + u16(s, p + 2)
                if stop > size then found = nil break end
                found[#found + 1] = { byte(s, p), p, stop }
                p = stop + 1
            end
            if not found then
                if not after_ccs then return nil end
                found = { false }
            end
            for _, m in ipairs(found) do
                n = n + 1
                out[n] = "H"
                messages = messages + 1
                if m then
                    local mtype = m[1]
                    types[#types + 1] = mtype
                    n = n + 1
                    out[n] = "t" .. mtype
                    local facts
                    if mtype == 1 or mtype == 2 then
                        detailed = true
                        facts = hello_facts(sub(s, m[2], m[3]), mtype == 2)
                        if mtype == 2 then server_facts = facts end
                        if not facts then return nil end
                    elseif mtype == 12 then
                        detailed = true
                        facts = key_exchange_facts(sub(s, m[2], m[3]), server_facts)
                        if not facts then return nil end
                    elseif not FACTLESS_PLAIN[mtype] then
                        factful = true
                    end
                    if mtype == CERTIFICATE then certificate = true end
                    if facts then hellos[n] = facts end
                end
            end
        elseif content == 21 then
            alerts_seen = true
            n = n + 1
            out[n] = "A"
            alert_count = alert_count + 1
            if length == 2 then
                local level, code = byte(s, 6), byte(s, 7)
                alerts[#alerts + 1], alerts[#alerts + 2] = level, code
                out[n + 1], out[n + 2] = "a" .. level, "d" .. code
                n = n + 2
            end
        elseif content == 20 then
            after_ccs = true
        elseif content ~= 23 then
            return nil
        end
    end
    if detailed and factful then return nil end
    if detailed and certificate then
        local read = 0
        for _, facts in pairs(hellos) do
            for k = 1, #facts, 2 do
                if facts[k] == SIGNATURE_ALGORITHM then read = read + 1 end
            end
        end
        if count(SIGNATURE_ALGORITHM) ~= read then return nil end
    end
    -- What tshark read must be what the bytes say (messages only in handshake records, alerts in alert records:
    -- the content types agree).
    if handshakes then
        if messages ~= count("tls.handshake") then return nil end
        local tshark_types = values("tls.handshake.type")
        if #tshark_types ~= #types then return nil end
        for i = 1, #types do
            if tshark_types[i] ~= types[i] then return nil end
        end
    end
    if alerts_seen then
        if alert_count ~= count("tls.alert_message") then return nil end
        local levels, descriptions = values("tls.alert_message.level"), values("tls.alert_message.desc")
        if #levels * 2 ~= #alerts or #descriptions * 2 ~= #alerts then return nil end
        for i = 1, #levels do
            if levels[i] ~= alerts[2 * i - 1] or descriptions[i] ~= alerts[2 * i] then return nil end
        end
    end
    -- The facts, in place (only when the frame has a message whose facts the line carries, as below).
    if detailed then
        local final, m = {}, 0
        for i = 1, n do
            m = m + 1
            final[m] = out[i]
            local facts = hellos[i]
            if facts then
                local tokens = fact_tokens(facts)
                if not tokens then return nil end
                for k = 1, #tokens do final[m + k] = tokens[k] end
                m = m + #tokens
            end
        end
        out, n = final, m
    end
    if n > wire.MAX_TOKENS then return nil end
    return concat(out, " ", 1, n)
end

-- The frame's line built from each field's FieldInfo list (get(name): the list in tree order), placing every
-- field in the record or message whose bytes hold it; nil when it holds no TLS record, false when a field
-- has no such place (a message reassembled from several records lives in a data source of its own): the
-- caller then builds the line from the whole tree (wire.line). raw_of(fi), when given, returns a record's bytes,
-- and values(name) the values of a field in the frame: then a frame of whole records is first read from their bytes
-- (line_from_record_bytes).
function wire.structured(get, raw_of, values)
    local records = get("tls.record")
    if #records == 0 then return nil end
    if raw_of and values then
        local line = line_from_record_bytes(records, raw_of, values, function(name) return #get(name) end)
        if line then return line end
    end
    local handshakes, alerts = get("tls.handshake"), get("tls.alert_message")
    local R, H, A = {}, {}, {}
    local first_src = records[1].source
    local sources = false
    for i = 1, #records do
        local n = node(records[i], i)
        n.src = records[i].source
        if n.src ~= first_src then sources = true end
        n.nums, n.own = {}, { facts = {} }
        R[i] = n
    end
    for i = 1, #handshakes do
        local n = node(handshakes[i], i)
        n.src = handshakes[i].source
        if n.src ~= first_src then sources = true end
        n.letter, n.facts = "H", {}
        H[i] = n
    end
    for i = 1, #alerts do
        local n = node(alerts[i], 100000 + i)
        n.src = alerts[i].source
        n.letter = "A"
        A[i] = n
    end
    for _, n in ipairs(H) do
        local r = holder(R, n.off, n.src, sources)
        if not r then return false end
        r.kids[#r.kids + 1] = n
    end
    for _, n in ipairs(A) do
        local r = holder(R, n.off, n.src, sources or n.src ~= first_src)
        if not r then return false end
        r.kids[#r.kids + 1] = n
        n.nums = {}
    end
    for k, name in ipairs(RECORD_NUMBERS) do
        for _, fi in ipairs(get(name)) do
            local r = holder(R, fi.offset, sources and fi.source, sources)
            if not r then return false end
            if not r.nums[k] and not fi.hidden then r.nums[k] = spec_token(FIELDS[name], fi) end
        end
    end
    for _, name in ipairs({ "tls.alert_message.level", "tls.alert_message.desc" }) do
        local letter = FIELDS[name][1]
        for _, fi in ipairs(get(name)) do
            local a = holder(A, fi.offset, sources and fi.source, sources)
            if not a then return false end
            if not a.nums[letter] and not fi.hidden then a.nums[letter] = spec_token(FIELDS[name], fi) end
        end
    end
    local detailed = false   -- a message whose facts tsharkpost reads (DETAILED: hellos, key exchange)
    local type_spec = FIELDS["tls.handshake.type"]
    for _, fi in ipairs(get("tls.handshake.type")) do
        local off, src = fi.offset, sources and fi.source
        local h = holder(H, off, src, sources)
        local target = h or holder(R, off, src, sources)
        if not target then return false end
        if not h then target = target.own end
        if not target.type and not fi.hidden then
            target.type = spec_token(type_spec, fi)
            if DETAILED[fi.value] then detailed = true end
        end
    end
    local fact_token = {}   -- sort key -> token, for every fact of the frame
    local seq = 0
    local last   -- the message that held the previous fact: a hello's facts are mostly its own
    for rank, name in ipairs(detailed and FACTS or {}) do
        local spec = FIELDS[name]
        for _, fi in ipairs(get(name)) do
            if not fi.hidden then
                local off, src = fi.offset, sources and fi.source
                local target
                if last and off >= last.off and off < last.stop and not sources then
                    target = last
                else
                    local h = holder(H, off, src, sources)
                    target = h or holder(R, off, src, sources)
                    if not target then return false end
                    last = h
                    if not h then target = target.own end
                end
                seq = seq + 1
                local key = off * FACT_RANK_SPAN + rank * 65536 + seq
                fact_token[key] = spec_token(spec, fi)
                local facts = target.facts
                facts[#facts + 1] = key
            end
        end
    end
    local out, n = {}, 0
    local function put_facts(facts)
        table.sort(facts)
        for i = 1, #facts do
            n = n + 1
            out[n] = fact_token[facts[i]]
        end
    end
    for _, r in ipairs(R) do
        n = n + 1
        out[n] = "R"
        local nums = r.nums
        for k = 1, #RECORD_NUMBERS do
            if nums[k] then
                n = n + 1
                out[n] = nums[k]
            end
        end
        if r.own.type then
            n = n + 1
            out[n] = r.own.type
        end
        put_facts(r.own.facts)
        if #r.kids > 1 then table.sort(r.kids, by_offset) end
        for _, kid in ipairs(r.kids) do
            n = n + 1
            out[n] = kid.letter
            if kid.letter == "H" then
                if kid.type then
                    n = n + 1
                    out[n] = kid.type
                end
                put_facts(kid.facts)
            else
                local kn = kid.nums
                if kn.a then
                    n = n + 1
                    out[n] = kn.a
                end
                if kn.d then
                    n = n + 1
                    out[n] = kn.d
                end
            end
        end
    end
    -- The cap is applied once the line is built: "!" in place of the first token past MAX_TOKENS.
    if n > wire.MAX_TOKENS then
        out[wire.MAX_TOKENS + 1] = "!"
        n = wire.MAX_TOKENS + 1
    end
    return concat(out, " ", 1, n)
end

-- tok as the line's next token after its n: the new count; nil once the line holds MAX_TOKENS, when "!" ends it
-- instead (the reader then knows the line was cut).
local function append(out, n, tok)
    if n >= wire.MAX_TOKENS then
        out[n + 1] = "!"
        return nil
    end
    out[n + 1] = tok
    return n + 1
end

-- The frame's line from its FieldInfo list, or nil when it holds no TLS record.
function wire.line(infos)
    local out, n, records = {}, 0, false
    for i = 1, #infos do
        local fi = infos[i]
        local name = fi.name
        if sub(name, 1, 4) == "tls." then
            local ok, tok = pcall(token, fi)
            if ok and tok then
                if tok == "R" then records = true end
                n = append(out, n, tok)
                if not n then break end
            end
        end
    end
    if not records then return nil end
    return concat(out, " ")
end

-- DTLS's handshake fragment fields (RFC 6347 4.2.3): a message travels in fragments, and Wireshark dissects the
-- reassembled message where its last fragment (offset + fragment length = length) is.
local FRAGMENT = { ["dtls.handshake.length"] = "len", ["dtls.handshake.fragment_offset"] = "off",
    ["dtls.handshake.fragment_length"] = "frag" }
wire.DTLS_FRAGMENT_FIELDS = FRAGMENT

-- A UDP frame's line from its FieldInfo list: DTLS's records (kind "d": dtls.* fields, the same tokens as
-- their tls.* twins; a handshake fragment other than a message's last is left out, so that a message counts
-- once however many datagrams carried it) or the TLS handshake messages of QUIC's CRYPTO frames (kind "q":
-- messages without records, written as one handshake record "R c22"); nil when it holds none.
function wire.udp_line(infos, kind)
    local prefix = kind == "d" and "dtls." or "tls."
    local plen = #prefix
    local out, n, seen = {}, 0, false
    if kind == "q" then out[1], out[2], n = "R", "c22", 2 end
    local message   -- DTLS: the current message's first token's place and fragment numbers
    local function close_message()
        if message and message.len and message.off and message.frag
                and message.off + message.frag ~= message.len then
            for i = message.at, n do out[i] = nil end
            n = message.at - 1
        end
        message = nil
    end
    for i = 1, #infos do
        local fi = infos[i]
        local name = fi.name
        local part = kind == "d" and FRAGMENT[name]
        if part then
            if message and not message[part] and type(fi.value) == "number" then message[part] = fi.value end
        elseif sub(name, 1, plen) == prefix then
            local spec = FIELDS["tls." .. sub(name, plen + 1)]
            if spec and not fi.hidden then
                local ok, tok = pcall(spec_token, spec, fi)
                if ok and tok then
                    if tok == "R" or tok == "H" or tok == "A" then close_message() end
                    if tok == "R" or tok == "H" then seen = true end
                    local count = append(out, n, tok)
                    if not count then break end
                    n = count
                    if tok == "H" and kind == "d" then message = { at = n } end
                end
            end
        end
    end
    close_message()
    if not seen then return nil end
    return concat(out, " ")
end

return wire
