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
case, tpost_wire_bytes.lua), each carried field's FieldInfo list placed by data source and offset
(wire.structured), the whole tree's FieldInfos (wire.line over all_field_infos()). Lua 5.2 to 5.4, no globals.
]]

local byte, fmt, gsub, sub = string.byte, string.format, string.gsub, string.sub
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

-- The tokens tshark's display of field `name` gave before, by value (each a letter and the escaped text; read
-- only: the table is the field's own until it is next replaced), or nil when none was shown yet.
function wire.shown_tokens(name)
    return shown[FIELDS[name]]
end

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
    if how == "h" then
        local value = fi.value
        if value == nil then return letter end
        if type(value) == "userdata" and value.tohex then return letter .. escape(value:tohex(true)) end
        return letter .. escape(tostring(value))
    end
    -- "s": the name's own bytes, where tshark's string value stops at a NUL and turns each byte above 0x7f into
    -- U+FFFD (a name "shop.example.net\0.attacker.example" would read as shop.example.net)
    local range = fi.range
    if range then return letter .. escape(range:raw()) end
    local value = fi.value
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

-- The frame's line built from each field's FieldInfo list (get(name): the list in tree order), placing every
-- field in the record or message whose bytes hold it; nil when it holds no TLS record, false when a field
-- has no such place (a message reassembled from several records lives in a data source of its own): the
-- caller then builds the line from the whole tree (wire.line). from_bytes(records), when given, is tried first: the
-- same line read from the records' bytes, or nil (tpost_wire_bytes.lua).
function wire.structured(get, from_bytes)
    local records = get("tls.record")
    if #records == 0 then return nil end
    if from_bytes then
        local ok, line = pcall(from_bytes, records)
        if ok and line then return line end
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
