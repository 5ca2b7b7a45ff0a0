--[[
tpost_x509.lua: X.509 certificates from their DER bytes, for tsharkpost.lua (no Wireshark needed).

Bounds-checked: bad input raises a plain string naming the byte offset (the plugin turns it
into a malformed_certificate note). Names come out as RFC 4514 strings, times as ISO 8601.
Side-effect free: returns a table of functions, defines no globals, reads no file (Wireshark
loads every .lua under its plugins folder, this one included: that is harmless). Lua 5.2 to 5.4.

    x509.tlv(s, pos, limit)              -> tag, content start, content end, next position
    x509.oid(s, start, last)             -> dotted OID of the content at [start, last]
    x509.time(s, tag, start, last)       -> "YYYY-MM-DDThh:mm:ssZ" of a UTCTime/GeneralizedTime, or nil
    x509.epoch(iso)                      -> seconds since 1970-01-01T00:00:00Z of such a time, or nil
    x509.iso(seconds)                    -> the "YYYY-MM-DDThh:mm:ssZ" of an epoch time (whole seconds, UTC)
    x509.validity(info, when)            -> "expired", "not_yet_valid" or nil: a parsed certificate's
                                            notBefore/notAfter against an epoch time (the frame's); keeps
                                            their epochs in info (valid_from, valid_until)
    x509.certificate_parser(bytes, facts) -> parse(der) -> info (see below)

`bytes` is tpost_bytes; `facts` holds the fact tables it looks names up in: attributes (OID ->
short name), key_algorithms (OID -> {key_type}), curves (OID -> {name, bits}).
]]

local byte, sub, fmt, concat = string.byte, string.sub, string.format, table.concat
local floor = math.floor

local x509 = {}

-- One DER element at 1-based `pos`, not past `limit`: tag, content start,
-- content end (inclusive), next position. Raises a plain string on bad input.
local function tlv(s, pos, limit)
    if pos + 1 > limit then error(fmt("truncated at byte %d", pos - 1), 0) end
    local tag, len = byte(s, pos, pos + 1)
    if tag % 32 == 31 then error(fmt("multi-byte tag at byte %d", pos - 1), 0) end
    local start = pos + 2
    if len >= 128 then
        local n = len - 128
        if n == 0 or n > 4 then error(fmt("unsupported length form at byte %d", pos - 1), 0) end
        if start + n - 1 > limit then error(fmt("truncated length at byte %d", pos - 1), 0) end
        len = 0
        for i = start, start + n - 1 do len = len * 256 + byte(s, i) end
        start = start + n
    end
    local last = start + len - 1
    if last > limit then error(fmt("element at byte %d runs past its container", pos - 1), 0) end
    return tag, start, last, last + 1
end

local function expect(s, pos, limit, want, what)
    local tag, start, last, nxt = tlv(s, pos, limit)
    if tag ~= want then error(fmt("%s: expected tag 0x%02x at byte %d, found 0x%02x", what, want, pos - 1, tag), 0) end
    return start, last, nxt
end

local function oid_at(s, start, last)
    if last < start then error("empty OID", 0) end
    local parts, value, first = {}, 0, true
    for i = start, last do
        local b = byte(s, i)
        value = value * 128 + b % 128
        if b < 128 then
            if first then
                local arc = value < 40 and 0 or (value < 80 and 1 or 2)
                parts[1], parts[2] = arc, value - 40 * arc
                first = false
            else
                parts[#parts + 1] = value
            end
            value = 0
        end
    end
    if first or byte(s, last) >= 128 then error("unterminated OID", 0) end
    for i = 1, #parts do parts[i] = fmt("%.0f", parts[i]) end
    return concat(parts, ".")
end

local function parse_time(s, tag, start, last)
    local t = sub(s, start, last)
    local y, rest
    if tag == 0x17 then
        local yy
        yy, rest = string.match(t, "^(%d%d)(%d+Z)$")
        if not yy then return nil end
        y = tonumber(yy) < 50 and "20" .. yy or "19" .. yy
    elseif tag == 0x18 then
        y, rest = string.match(t, "^(%d%d%d%d)(%d+[%.%d]*Z)$")
        if not y then return nil end
    else
        return nil
    end
    local mo, d, h, mi, sec = string.match(rest, "^(%d%d)(%d%d)(%d%d)(%d%d)(%d?%d?)")
    if not mo then return nil end
    if sec == "" then sec = "00" end
    if #sec ~= 2 then return nil end
    return fmt("%s-%s-%sT%s:%s:%sZ", y, mo, d, h, mi, sec)
end

x509.tlv, x509.oid, x509.time = tlv, oid_at, parse_time

-- Days from 1970-01-01 to a proleptic Gregorian date, and back (whole-number arithmetic only,
-- so no os.time/os.date: those depend on the platform and fail before 1970 on some).
local function days_from_civil(y, m, d)
    if m <= 2 then y = y - 1 end
    local era = floor(y / 400)
    local yoe = y - era * 400
    local mp = (m + 9) % 12
    local doy = floor((153 * mp + 2) / 5) + d - 1
    local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
    return era * 146097 + doe - 719468
end

local function civil_from_days(z)
    z = z + 719468
    local era = floor(z / 146097)
    local doe = z - era * 146097
    local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
    local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
    local mp = floor((5 * doy + 2) / 153)
    local d = doy - floor((153 * mp + 2) / 5) + 1
    local m = mp < 10 and mp + 3 or mp - 9
    local y = yoe + era * 400 + (m <= 2 and 1 or 0)
    return y, m, d
end

function x509.epoch(iso)
    if type(iso) ~= "string" then return nil end
    local y, mo, d, h, mi, sec = string.match(iso, "^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)Z$")
    if not y then return nil end
    y, mo, d, h, mi, sec = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
    if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then return nil end
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec
end

function x509.iso(seconds)
    local whole = floor(seconds)
    local days = floor(whole / 86400)
    local rest = whole - days * 86400
    local y, m, d = civil_from_days(days)
    return fmt("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, floor(rest / 3600), floor(rest / 60) % 60, rest % 60)
end

-- RFC 5280 §4.1.2.5: valid from notBefore through notAfter, both inclusive, to the second (as
-- OpenSSL compares: the frame's whole second). A time the parser could not read (nil) judges nothing.
-- The epochs are kept in info (valid_from, valid_until; false when unreadable): a chain repeats.
function x509.validity(info, when)
    local first, last = info.valid_from, info.valid_until
    if first == nil then
        first, last = x509.epoch(info.not_before) or false, x509.epoch(info.not_after) or false
        info.valid_from, info.valid_until = first, last
    end
    local second = floor(when)
    if last and second > last then return "expired" end
    if first and second < first then return "not_yet_valid" end
    return nil
end

-- The certificate parser over the byte helpers and fact tables. Its result `info` holds
-- subject, issuer (RFC 4514), cn, issuer_cn, subject_der, issuer_der, serial (hex), sig_oid,
-- pss_hash, not_before, not_after, key_oid, key_alg (its name, else the OID), key_type, key_bits, curve,
-- san (dNSNames),
-- basic_constraints (true when the extension is there) with ca and path_len (nil: no limit),
-- key_usage (RFC 5280 names of the bits set; nil without the extension), self_signed and len;
-- r_sigalg, r_issuer, r_validity, r_subject, r_spki and r_san are 0-based {offset, length} ranges of parts of the
-- DER, for sub-ranges of its TvbRange.
function x509.certificate_parser(bytes, facts)
    local u16, hex, utf8_char, clean_text, integer_bits =
        bytes.u16, bytes.hex, bytes.utf8_char, bytes.clean_text, bytes.integer_bits
    local ATTRIBUTES, KEYALGS, CURVES = facts.attributes, facts.key_algorithms, facts.curves

    local function decode_string(s, tag, start, last)
        local raw = sub(s, start, last)
        if tag == 0x1e then                       -- BMPString: UCS-2 big endian
            local out = {}
            for i = 1, #raw - 1, 2 do out[#out + 1] = utf8_char(u16(raw, i)) end
            return concat(out)
        elseif tag == 0x1c then                   -- UniversalString: UCS-4 big endian
            local out = {}
            for i = 1, #raw - 3, 4 do
                local a, b, c, d = byte(raw, i, i + 3)
                out[#out + 1] = utf8_char(((a * 256 + b) * 256 + c) * 256 + d)
            end
            return concat(out)
        elseif tag == 0x0c or tag == 0x13 or tag == 0x16 or tag == 0x1a or tag == 0x14 or tag == 0x12 then
            return raw
        end
        return nil
    end

    -- RFC 4514 §2.4 escaping of one attribute value.
    local function escape_dn_value(v)
        v = clean_text(v)
        v = string.gsub(v, '[,+"\\<>;=]', "\\%0")
        v = string.gsub(v, "^([ #])", "\\%1")
        v = string.gsub(v, " $", "\\ ")
        return v
    end

    -- Name ::= SEQUENCE OF RelativeDistinguishedName; returns the RFC 4514 string
    -- (most specific RDN first) and the last CN value.
    local function parse_name(s, start, last)
        local rdns, cn = {}, nil
        local pos = start
        while pos <= last do
            local set_start, set_last, nxt = expect(s, pos, last, 0x31, "RDN")
            local atvs = {}
            local p = set_start
            while p <= set_last do
                local a_start, a_last, a_next = expect(s, p, set_last, 0x30, "attribute")
                local o_start, o_last, v_pos = expect(s, a_start, a_last, 0x06, "attribute type")
                local oid = oid_at(s, o_start, o_last)
                local v_tag, v_start, v_last = tlv(s, v_pos, a_last)
                local value = decode_string(s, v_tag, v_start, v_last)
                local text
                if value then
                    text = escape_dn_value(value)
                    if oid == "2.5.4.3" then cn = clean_text(value) end
                else
                    text = "#" .. hex(sub(s, v_pos, v_last))
                end
                atvs[#atvs + 1] = (ATTRIBUTES[oid] or oid) .. "=" .. text
                p = a_next
            end
            table.insert(rdns, 1, concat(atvs, "+"))
            pos = nxt
        end
        return concat(rdns, ","), cn
    end

    local function parse_spki(s, start, last, info)
        local alg_start, alg_last, key_pos = expect(s, start, last, 0x30, "subjectPublicKeyInfo algorithm")
        local o_start, o_last, params_pos = expect(s, alg_start, alg_last, 0x06, "key algorithm")
        local oid = oid_at(s, o_start, o_last)
        local k_start, k_last = expect(s, key_pos, last, 0x03, "subjectPublicKey")
        local key_start = k_start + 1            -- skip the unused-bits byte
        local known = KEYALGS[oid]
        info.key_oid = oid
        info.key_alg = known and known.name or oid
        info.key_type = known and known.key_type or "unknown"
        if info.key_type == "rsa" then
            local seq_start, seq_last = expect(s, key_start, k_last, 0x30, "RSAPublicKey")
            local n_start, n_last = expect(s, seq_start, seq_last, 0x02, "RSA modulus")
            info.key_bits = integer_bits(s, n_start, n_last)
        elseif info.key_type == "dsa" then
            if params_pos <= alg_last then
                local p_seq_start, p_seq_last = expect(s, params_pos, alg_last, 0x30, "DSA parameters")
                local p_start, p_last = expect(s, p_seq_start, p_seq_last, 0x02, "DSA p")
                info.key_bits = integer_bits(s, p_start, p_last)
            end
        elseif info.key_type == "ec" then
            local point = k_last - key_start + 1
            if params_pos <= alg_last and byte(s, params_pos) == 0x06 then
                local c_start, c_last = expect(s, params_pos, alg_last, 0x06, "named curve")
                local curve_oid = oid_at(s, c_start, c_last)
                local curve = CURVES[curve_oid]
                info.curve = curve and curve.name or curve_oid
                info.key_bits = curve and curve.bits
            else
                info.curve = "explicit parameters"
            end
            if not info.key_bits and point > 1 then
                local first = byte(s, key_start)
                info.key_bits = first == 4 and floor((point - 1) / 2) * 8 or (point - 1) * 8
            end
        else
            info.key_bits = (k_last - key_start + 1) * 8
        end
    end

    local function parse_san(s, start, last, info)
        local seq_start, seq_last = expect(s, start, last, 0x30, "subjectAltName")
        local names, pos = {}, seq_start
        while pos <= seq_last do
            local tag, v_start, v_last, nxt = tlv(s, pos, seq_last)
            if tag == 0x82 then names[#names + 1] = clean_text(sub(s, v_start, v_last)) end
            pos = nxt
        end
        info.san = names
    end

    -- BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }
    local function parse_basic_constraints(s, start, last, info)
        local seq_start, seq_last = expect(s, start, last, 0x30, "basicConstraints")
        local ca, path_len, pos = false, nil, seq_start
        if pos <= seq_last and byte(s, pos) == 0x01 then
            local b_start, b_last, nxt = expect(s, pos, seq_last, 0x01, "cA")
            if b_last ~= b_start then error("cA is not one byte", 0) end
            ca, pos = byte(s, b_start) ~= 0, nxt
        end
        if pos <= seq_last then
            local i_start, i_last = expect(s, pos, seq_last, 0x02, "pathLenConstraint")
            if i_last - i_start > 3 or byte(s, i_start) >= 128 then error("pathLenConstraint out of range", 0) end
            path_len = 0
            for i = i_start, i_last do path_len = path_len * 256 + byte(s, i) end
        end
        info.basic_constraints, info.ca, info.path_len = true, ca, path_len
    end

    -- KeyUsage ::= BIT STRING: the RFC 5280 names of the bits that are set, in bit order.
    local KEY_USAGE = { "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
        "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly" }
    local function parse_key_usage(s, start, last, info)
        local b_start, b_last = expect(s, start, last, 0x03, "keyUsage")
        if b_last < b_start or byte(s, b_start) > 7 then error("keyUsage has a bad unused-bits count", 0) end
        local names = {}
        for bit = 0, #KEY_USAGE - 1 do
            local at = b_start + 1 + floor(bit / 8)
            if at <= b_last and floor(byte(s, at) / 2 ^ (7 - bit % 8)) % 2 == 1 then
                names[#names + 1] = KEY_USAGE[bit + 1]
            end
        end
        info.key_usage = names
    end

    -- An extension the summary reports but no check needs: a damaged one is left out, never fatal.
    local function optional(parse, s, start, last, info)
        pcall(parse, s, start, last, info)
    end

    local function parse_extensions(s, start, last, info)
        local seq_start, seq_last = expect(s, start, last, 0x30, "extensions")
        local pos = seq_start
        while pos <= seq_last do
            local e_start, e_last, nxt = expect(s, pos, seq_last, 0x30, "extension")
            local o_start, o_last, p = expect(s, e_start, e_last, 0x06, "extension id")
            local oid = oid_at(s, o_start, o_last)
            local tag, v_start, v_last, after = tlv(s, p, e_last)
            if tag == 0x01 then tag, v_start, v_last = tlv(s, after, e_last) end
            if tag ~= 0x04 then error("extension value is not an OCTET STRING", 0) end
            if oid == "2.5.29.17" then
                parse_san(s, v_start, v_last, info)
                info.r_san = { pos - 1, nxt - pos }
            elseif oid == "2.5.29.19" then
                optional(parse_basic_constraints, s, v_start, v_last, info)
            elseif oid == "2.5.29.15" then
                optional(parse_key_usage, s, v_start, v_last, info)
            end
            pos = nxt
        end
    end

    local function parse_certificate(der)
        local info = {}
        local n = #der
        local c_start, c_last = expect(der, 1, n, 0x30, "Certificate")
        local t_start, t_last, alg_pos = expect(der, c_start, c_last, 0x30, "tbsCertificate")
        local a_start, a_last, sig_pos = expect(der, alg_pos, c_last, 0x30, "signatureAlgorithm")
        local o_start, o_last, params_pos = expect(der, a_start, a_last, 0x06, "signature algorithm")
        info.sig_oid = oid_at(der, o_start, o_last)
        info.r_sigalg = { alg_pos - 1, sig_pos - alg_pos }
        if info.sig_oid == "1.2.840.113549.1.1.10" and params_pos <= a_last then
            -- RSASSA-PSS-params: [0] hashAlgorithm (default sha1); recorded for the name only
            local ok, hash_oid = pcall(function()
                local ps, pl = expect(der, params_pos, a_last, 0x30, "PSS parameters")
                if ps <= pl and byte(der, ps) == 0xa0 then
                    local hs, hl = expect(der, ps, pl, 0xa0, "PSS hash")
                    local is, il = expect(der, hs, hl, 0x30, "PSS hash algorithm")
                    local os, ol = expect(der, is, il, 0x06, "PSS hash OID")
                    return oid_at(der, os, ol)
                end
            end)
            if ok then info.pss_hash = hash_oid end
        end
        expect(der, sig_pos, c_last, 0x03, "signatureValue")

        local pos = t_start
        local tag, v_start, v_last, nxt = tlv(der, pos, t_last)
        if tag == 0xa0 then pos = nxt tag, v_start, v_last, nxt = tlv(der, pos, t_last) end
        if tag ~= 0x02 then error("serialNumber is not an INTEGER", 0) end
        local serial_start = v_start
        while serial_start < v_last and byte(der, serial_start) == 0 do serial_start = serial_start + 1 end
        info.serial = hex(sub(der, serial_start, v_last))
        pos = nxt
        local _, _, after_sig = expect(der, pos, t_last, 0x30, "tbs signature")
        pos = after_sig
        local i_start, i_last, after_issuer = expect(der, pos, t_last, 0x30, "issuer")
        info.issuer, info.issuer_cn = parse_name(der, i_start, i_last)
        info.issuer_der = sub(der, pos, after_issuer - 1)
        info.r_issuer = { pos - 1, after_issuer - pos }
        pos = after_issuer
        local val_start, val_last, after_validity = expect(der, pos, t_last, 0x30, "validity")
        local nb_tag, nb_start, nb_last, na_pos = tlv(der, val_start, val_last)
        local na_tag, na_start, na_last = tlv(der, na_pos, val_last)
        info.not_before = parse_time(der, nb_tag, nb_start, nb_last)
        info.not_after = parse_time(der, na_tag, na_start, na_last)
        info.r_validity = { pos - 1, after_validity - pos }
        pos = after_validity
        local s_start, s_last, after_subject = expect(der, pos, t_last, 0x30, "subject")
        info.subject, info.cn = parse_name(der, s_start, s_last)
        info.subject_der = sub(der, pos, after_subject - 1)
        info.r_subject = { pos - 1, after_subject - pos }
        pos = after_subject
        local k_start, k_last, after_key = expect(der, pos, t_last, 0x30, "subjectPublicKeyInfo")
        parse_spki(der, k_start, k_last, info)
        info.r_spki = { pos - 1, after_key - pos }
        pos = after_key
        while pos <= t_last do
            local x_tag, x_start, x_last, x_next = tlv(der, pos, t_last)
            if x_tag == 0xa3 then parse_extensions(der, x_start, x_last, info) end
            pos = x_next
        end
        info.self_signed = info.issuer_der == info.subject_der
        info.len = n
        return info
    end

    return parse_certificate
end

return x509
