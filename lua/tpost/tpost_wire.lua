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
(a final "!" token says it was cut). Wireshark-free: fed the frame's FieldInfo list (all_field_infos()).
Lua 5.2 to 5.4, no globals.
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

-- The token of one FieldInfo, or nil when tsharkpost does not read its field. Hidden fields are left out,
-- as tshark leaves them out of PDML.
local function token(fi)
    local spec = FIELDS[fi.name]
    if not spec or fi.hidden then return nil end
    local letter, how = spec[1], spec[2]
    if how == "" then return letter end
    if how == "n" then
        local value = fi.value
        return letter .. (type(value) == "number" and fmt("%d", value) or escape(tostring(value)))
    end
    if how == "d" then return letter .. escape(fi.display or "") end
    local value = fi.value
    if how == "h" then
        if value == nil then return letter end
        if type(value) == "userdata" and value.tohex then return letter .. escape(value:tohex(true)) end
        return letter .. escape(tostring(value))
    end
    return letter .. escape(value ~= nil and tostring(value) or "")
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
                if n >= wire.MAX_TOKENS then
                    out[n + 1] = "!"
                    break
                end
                n = n + 1
                out[n] = tok
            end
        end
    end
    if not records then return nil end
    return concat(out, " ")
end

return wire
