--[[
tpost_lines.lua: each certificate summary and each finding as one line of its own (tpost.certline,
tpost.findline), for the tsharkpost post-processor.

summarize reads tshark's `-T fields` output, where a field that occurs several times in a frame becomes one
column of values joined by an aggregator character: a frame's several certificates and findings, each with
optional parts, cannot be paired back from per-field lists (tpost.cert.issuer of which certificate?). So with
the bridge preference the plugin writes each of them also as one line, beside the tree it already shows
(with the wire preference too, in tsharkpost's own runs, it writes the lines alone: no subtree, no expert item).

A line is a list of tokens separated by single spaces, in a fixed order, each one letter and an escaped value
(every byte outside 0x21-0x7e, and "%", as %XX, as tpost_wire.lua does): no value can split a token, a line
or tshark's columns, and the aggregator summarize chooses (a control character) never occurs in a line.
Nothing is cut: the tree's own fields are not either. A token is written exactly when the tree has the field.

    certificate:  i<index> w<sender>, then unless the certificate could not be parsed: s<subject> c<subject CN>
                  I<issuer> n<serial> o<signature algorithm OID> a<its name> t<key type> A<key algorithm>
                  b<key bits> v<key curve> f<not before> F<not after> N<SAN dNSNames, comma-separated>
                  h<SHA-256> H<SHA-1> x<self-signed 1/0> C<basicConstraints cA 1/0> L<pathLenConstraint>
                  u<key usage names, comma-separated>
    finding:      c<check> s<severity number> m<message> i<chain index of its certificate>

Wireshark-free (fed the plugin's own certificate entries and findings); Lua 5.2 to 5.4, no globals.
]]

local byte, fmt, gsub = string.byte, string.format, string.gsub
local concat, floor = table.concat, math.floor

local lines = {}

local function escape_byte(c)
    return fmt("%%%02X", byte(c))
end

-- s with every byte outside 0x21-0x7e, and "%", as %XX.
function lines.escape(s)
    return (gsub(s, "[^\33-\36\38-\126]", escape_byte))
end
local escape = lines.escape

-- A value as the tree shows it: numbers as integers, booleans as 1 or 0, strings escaped.
local function text(value)
    local kind = type(value)
    if kind == "number" then return fmt("%d", floor(value)) end
    if kind == "boolean" then return value and "1" or "0" end
    return escape(tostring(value))
end

local function put(out, letter, value)
    if value ~= nil then out[#out + 1] = letter .. text(value) end
end

-- The part of a certificate's line that depends on the certificate alone, built once per parsed
-- certificate (entries of the same certificate share their info). `info`: tpost_x509's summary.
local function info_tokens(info)
    local tail = info.line_tail
    if tail then return tail end
    local out = {}
    put(out, "s", info.subject)
    put(out, "c", info.cn)
    put(out, "I", info.issuer)
    put(out, "n", info.serial)
    put(out, "o", info.sig_oid)
    put(out, "a", info.sig_name)
    put(out, "t", info.key_type)
    put(out, "A", info.key_alg)
    put(out, "b", info.key_bits)
    put(out, "v", info.curve)
    put(out, "f", info.not_before)
    put(out, "F", info.not_after)
    if info.san and #info.san > 0 then put(out, "N", concat(info.san, ",")) end
    put(out, "h", info.sha256)
    put(out, "H", info.sha1)
    put(out, "x", info.self_signed)
    if info.basic_constraints then
        put(out, "C", info.ca)
        put(out, "L", info.path_len)
    end
    if info.key_usage then put(out, "u", concat(info.key_usage, ",")) end
    tail = concat(out, " ")
    info.line_tail = tail
    return tail
end

-- The line of one certificate entry ({index, sender, info}), kept with the entry.
function lines.certificate(cert)
    local line = cert.line
    if line then return line end
    local info = cert.info
    line = "i" .. text(cert.index) .. " w" .. text(cert.sender)
    if not info.error then
        local tail = info_tokens(info)
        if tail ~= "" then line = line .. " " .. tail end
    end
    cert.line = line
    return line
end

-- The line of one finding ({check, msg, cert?}; `level`: its severity's number), kept with the finding.
function lines.finding(f, level)
    local line = f.line
    if line then return line end
    local out = {}
    put(out, "c", f.check)
    put(out, "s", level)
    put(out, "m", f.msg)
    if f.cert then put(out, "i", f.cert.index) end
    line = concat(out, " ")
    f.line = line
    return line
end

return lines
