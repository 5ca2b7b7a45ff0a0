--[[
tpost_wire_bytes.lua: the tpost.tls line (tpost_wire.lua) of a frame, read from the bytes of its TLS records.

tpost_wire.lua places each field tshark dissected by data source and offset: three or four calls into Wireshark
per field instance, most of summarize's cost in the plugin on handshake-heavy captures. The common frame is read
here from its records' bytes instead, and gives the same line, token for token; where the bytes cannot vouch for
that, these functions return nil and tpost_wire.lua's own ways take over. Wireshark-free (the plugin hands over
the bytes and the values), side-effect free, no globals, Lua 5.2 to 5.4.

    reader = wire_bytes.new(lib)                    lib: {bytes = tpost_bytes, handshake = tpost_handshake}
    reader.hello_facts(s, server)                   the facts of a ClientHello or ServerHello, or nil
    reader.session_of(server_facts)                 the version and suite a ServerHello's facts chose
    reader.key_exchange_facts(s, version, suite)    the facts of an ECDHE ServerKeyExchange, or nil
    reader.line(wire, records, raw_of, values, get, session)   the frame's line, or nil
]]

local byte, find, sub = string.byte, string.find, string.sub
local concat = table.concat

local wire_bytes = {}

-- lib: {bytes = tpost_bytes (u16, hex), handshake = tpost_handshake (each_extension: the walk over a hello's
-- extensions, which the analysis's parsers walk with too)}.
function wire_bytes.new(lib)
    local u16, hex, each_extension = lib.bytes.u16, lib.bytes.hex, lib.handshake.each_extension

    ------------------------------------------------------------------------------------------------------------------
    -- A hello's facts from its own bytes
    ------------------------------------------------------------------------------------------------------------------
    -- Read from tshark's fields, each fact of a hello costs three or four calls into Wireshark, and a ClientHello has
    -- 50 or more. A well-formed ClientHello or ServerHello is read from its bytes instead (by line, below),
    -- and gives the same tokens in the same order: the layouts below are the RFCs', which tshark 4.0 follows for these
    -- extensions, and a displayed value's text is what tshark displayed for that code before (tpost_wire.lua's
    -- wire.shown_tokens). Anything else sends the frame to the fields, as before: an extension not listed here, a
    -- length that does not add up, a name with a byte outside printable ASCII (tshark converts those), a code tshark
    -- has not displayed yet, a HelloRetryRequest or a ServerHello of a TLS 1.3 draft. Tests compare both ways: the
    -- facts with tshark's own (tests/test_plugin_modules.py) and the line with and without this reader
    -- (tests/captures/test_wire_from_bytes.py).

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

    -- Appends the 2-byte codes of s[first, last] to facts, each a fact of field `name` (a hello's suites, groups and
    -- signature algorithms: one string.byte call per code, no call per fact).
    local function put_codes(facts, name, s, first, last)
        local n = #facts
        for i = first, last, 2 do
            local hi, lo = byte(s, i, i + 1)
            facts[n + 1], facts[n + 2] = name, hi * 256 + lo
            n = n + 2
        end
    end

    -- An extension of codes of `size` bytes (2, or 1), each its own fact of field `name`.
    local function codes(name, one_byte_length, size)
        return function(s, a, z, facts)
            local first, last = list_bounds(s, a, z, one_byte_length)
            if not first or (last - first + 1) % size ~= 0 then return false end
            if size == 2 then
                put_codes(facts, name, s, first, last)
            else
                for i = first, last do add(facts, name, byte(s, i)) end
            end
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
        [43] = function(s, a, z, facts)   -- the version chosen: TLS 1.3 (a draft's would change tshark's layout)
            if z - a + 1 ~= 2 or u16(s, a) ~= 0x0304 then return false end
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
            put_codes(facts, "tls.handshake.ciphersuite", s, p + 2, suites_end)
            p = suites_end + 1
            if p > last or p + byte(s, p) > last then return nil end
            p = p + 1 + byte(s, p)                      -- compression methods
        end
        if p > last then return facts end             -- no extensions
        if p + 1 > last or u16(s, p) ~= last - p - 1 then return nil end
        local readers = server and SERVER_EXTENSIONS or CLIENT_EXTENSIONS
        local exact = each_extension(s, p, last, function(etype, a, z)
            local reader = readers[etype]
            if not reader and not grease(etype) then return false end
            local n = #facts
            facts[n + 1], facts[n + 2] = "tls.handshake.extension.type", etype
            return not reader or reader(s, a, z, facts)
        end)
        return exact and facts or nil
    end

    -- Writes the tokens of a message's facts (wire: tpost_wire's table) into out after position m and returns the new
    -- last position, or nil when a displayed code has not been displayed yet. A run of facts of one field (a hello's
    -- suites, groups, signature algorithms) looks its field up once.
    local function put_fact_tokens(wire, facts, out, m)
        local fields, shown_tokens = wire.FIELDS, wire.shown_tokens
        -- A field's shown tokens are looked up once per run: nothing replaces that table while this loop runs (only
        -- tpost_wire's FieldInfo path adds to it), and a code's token never changes.
        local field, letter, how, by_value
        for i = 1, #facts, 2 do
            local name, value = facts[i], facts[i + 1]
            if name ~= field then
                local spec = fields[name]
                field, letter, how = name, spec[1], spec[2]
                by_value = how == "d" and shown_tokens(name)
            end
            local tok
            if how == "d" then
                tok = by_value and by_value[value]
                if not tok then return nil end
            elseif how == "h" then
                tok = letter .. hex(value)
            else
                tok = letter .. wire.escape(value)
            end
            m = m + 1
            out[m] = tok
        end
        return m
    end

    ------------------------------------------------------------------------------------------------------------------
    -- The common frame read from its records' bytes
    ------------------------------------------------------------------------------------------------------------------
    -- Placing every field by data source and offset (tpost_wire.lua, wire.structured) costs three or four calls into
    -- Wireshark per field instance. A frame whose records are whole in its bytes is read from them instead: each
    -- record's header, its handshake messages (type and length) and its alert, and the facts of its hellos and ECDHE
    -- key exchange. What the bytes cannot say (whether tshark could read a message or an alert, or took it for
    -- ciphertext) is settled by the values tshark dissected: the frame's content types, message types, alert levels and
    -- descriptions must be the ones read from the bytes, in order, its messages and alerts as many, and each in its
    -- record's data source. A hello's facts are not compared (that would cost what reading them from the fields costs):
    -- their reader follows tshark's layouts for the extensions it lists, and tests compare it with tshark's fields. A
    -- key exchange's are, and so are the signature algorithms of a Certificate's SCTs, taken from tshark's values
    -- (FACTLESS_PLAIN). Anything else sends the frame to the fields, as before: a disagreement, a TLS 1.3 record, a
    -- record type other than 20-23, a message split across records, a message whose facts the bytes reader does not
    -- read, a line past MAX_TOKENS.

    -- Message types with none of the facts the line carries in a TLS 1.2 (or older) record: HelloRequest,
    -- NewSessionTicket, Certificate, ServerHelloDone, ClientKeyExchange, Finished. But for one: tshark reads the signed
    -- certificate timestamps (SCTs) in a certificate's X.509 extensions and shows their signature algorithms as
    -- sig_hash_alg, facts of the Certificate message. Those are taken from tshark's values: in a frame with one
    -- Certificate and facts to write, tshark's sig_hash_alg must be those the bytes read before the Certificate, then
    -- any number of others (the SCTs'), then those read after it (the key exchange's, which tshark shows whenever this
    -- reader reads it: ECDHE_SUITES).
    local FACTLESS_PLAIN = { [0] = true, [4] = true, [11] = true, [14] = true, [16] = true, [20] = true }
    local CERTIFICATE = 11
    local SIGNATURE_ALGORITHM = "tls.handshake.sig_hash_alg"

    -- Cipher suites whose ServerKeyExchange tshark 4.0 reads as ECDHE_RSA or ECDHE_ECDSA parameters
    -- (packet-tls-utils.c, ssl_get_keyex_alg; the common ones only: a suite not listed here sends its frame to the
    -- fields). A suite named ECDHE that tshark does not list there (the ARIA ones, for instance) gets no parameters at
    -- all.
    local ECDHE_SUITES = {}
    for _, code in ipairs({ 0xc006, 0xc007, 0xc008, 0xc009, 0xc00a, 0xc010, 0xc011, 0xc012, 0xc013, 0xc014, 0xc023,
            0xc024, 0xc027, 0xc028, 0xc02b, 0xc02c, 0xc02f, 0xc030, 0xcca8, 0xcca9 }) do
        ECDHE_SUITES[code] = true
    end

    -- The version and cipher suite a ServerHello (its facts) chose; nothing when it chose through supported_versions
    -- (TLS 1.3, which has no ServerKeyExchange).
    local function session_of(server_facts)
        local version, suite
        for i = 1, #server_facts, 2 do
            local name = server_facts[i]
            if name == "tls.handshake.version" then version = server_facts[i + 1]
            elseif name == "tls.handshake.ciphersuite" then suite = server_facts[i + 1]
            elseif name == "tls.handshake.extensions.supported_version" then return nil end
        end
        return version, suite
    end

    -- The facts of a ServerKeyExchange in a session of `version` (TLS 1.0-1.2) whose ServerHello chose `suite`, one of
    -- ECDHE_SUITES: the named curve and (TLS 1.2) the signature algorithm; nil otherwise.
    local function key_exchange_facts(s, version, suite)
        if not (version and version >= 0x0301 and version <= 0x0303 and ECDHE_SUITES[suite]) then return nil end
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

    -- Whether each FieldInfo of list (a message or an alert) lies in the data source of its record (owners[k]: the
    -- record of the k-th, records: the frame's record FieldInfos, sources: their data sources, read once): a message
    -- tshark reassembled from several records lives in a data source of its own.
    local function in_their_records(list, owners, records, sources)
        for k = 1, #list do
            local i = owners[k]
            local src = sources[i]
            if src == nil then
                src = records[i].source
                sources[i] = src
            end
            if list[k].source ~= src then return false end
        end
        return true
    end

    -- The values of field `name` among the facts of the messages at `places` (facts_at: place -> facts), in order:
    -- those before place `split` and those after it (all before when there is no split).
    local function facts_of(name, facts_at, places, split)
        local before, after = {}, {}
        for _, place in ipairs(places) do
            local found = (split and place > split) and after or before
            local facts = facts_at[place]
            for k = 1, #facts, 2 do
                if facts[k] == name then found[#found + 1] = facts[k + 1] end
            end
        end
        return before, after
    end

    -- Whether two lists hold the same values in the same order.
    local function same(a, b)
        if #a ~= #b then return false end
        for i = 1, #a do
            if a[i] ~= b[i] then return false end
        end
        return true
    end

    local NAMED_CURVE = "tls.handshake.server_named_curve"

    -- The line of a frame (wire: tpost_wire's table) from its records, or nil when it cannot be read so. raw_of(fi,
    -- whole): a record's bytes (only its header unless whole) and its size; values(name): the values of field `name`
    -- in the frame, in tree order; get(name): its FieldInfos; session(): the version and cipher suite the connection's
    -- ServerHello chose, as the plugin read them, for a ServerKeyExchange whose ServerHello came in an earlier frame.
    local function line(wire, records, raw_of, values, get, session)
        local content_types = values("tls.record.content_type")
        if #content_types ~= #records or #values("tls.record.opaque_type") > 0 then return nil end
        local message_records, alert_records = {}, {}   -- the record of each message and of each alert, in order
        local out, n = {}, 0
        local types = {}            -- message types read, in order
        local levels, descriptions = {}, {}   -- of the plaintext alerts read, in order
        local detailed, factful = false, false   -- a message whose facts the line carries; one the bytes cannot give
        local facts_at, places = {}, {}   -- place of a message's type in `out` -> the message's facts; those places
        local server_facts
        local key_exchange = false   -- a ServerKeyExchange's facts were read
        local after_ccs = false
        local certificates, certificate_at = 0, nil   -- Certificate messages, and the place of the last one's type
        local handshakes = false   -- a handshake record (an empty one holds no message)
        for i = 1, #records do
            local said = content_types[i]                 -- what tshark says it is: only messages and alerts are read
            local s, size = raw_of(records[i], said == 21 or said == 22)
            if #s < 5 then return nil end
            local content, record_version, length = byte(s, 1), u16(s, 2), u16(s, 4)
            if content ~= said or length ~= size - 5 then return nil end
            out[n + 1], out[n + 2], out[n + 3], out[n + 4] = "R", "c" .. content, "l" .. length, "v" .. record_version
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
                    message_records[#message_records + 1] = i
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
                            detailed, key_exchange = true, true
                            local version, suite   -- as the ServerHello chose them, in this frame or before
                            if server_facts then
                                version, suite = session_of(server_facts)
                            elseif session then
                                version, suite = session()
                            end
                            facts = key_exchange_facts(sub(s, m[2], m[3]), version, suite)
                            if not facts then return nil end
                        elseif not FACTLESS_PLAIN[mtype] then
                            factful = true
                        end
                        if mtype == CERTIFICATE then certificates, certificate_at = certificates + 1, n end
                        if facts then facts_at[n], places[#places + 1] = facts, n end
                    end
                end
            elseif content == 21 then
                n = n + 1
                out[n] = "A"
                alert_records[#alert_records + 1] = i
                if length == 2 then
                    local level, code = byte(s, 6), byte(s, 7)
                    levels[#levels + 1], descriptions[#descriptions + 1] = level, code
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
        if detailed and certificates > 1 then return nil end
        -- tshark's signature algorithms must be those read before the Certificate, then its SCTs' (FACTLESS_PLAIN),
        -- then those read after it; with no Certificate, those read. Checked where tshark's values may differ: with a
        -- Certificate, or a key exchange (read with the session, which tshark's choice of layout depends on).
        local sct_tokens   -- the Certificate's own facts: its SCTs' signature algorithms
        if detailed and (certificates > 0 or key_exchange) then
            local before, after = facts_of(SIGNATURE_ALGORITHM, facts_at, places, certificate_at)
            local theirs = values(SIGNATURE_ALGORITHM)
            local extra = #theirs - #before - #after
            if extra < 0 or (extra > 0 and certificates == 0) then return nil end
            for k = 1, #before do
                if theirs[k] ~= before[k] then return nil end
            end
            for k = 1, #after do
                if theirs[#before + extra + k] ~= after[k] then return nil end
            end
            if extra > 0 then
                sct_tokens = {}
                local shown = wire.shown_tokens(SIGNATURE_ALGORITHM) or {}
                for k = #before + 1, #before + extra do
                    local tok = shown[theirs[k]]
                    if not tok then return nil end
                    sct_tokens[#sct_tokens + 1] = tok
                end
            end
        end
        -- And a key exchange's named curve must be tshark's.
        if key_exchange and not same(values(NAMED_CURVE), (facts_of(NAMED_CURVE, facts_at, places))) then return nil end
        -- What tshark read must be what the bytes say (messages only in handshake records, alerts in alert records:
        -- the content types agree).
        local sources = {}
        if handshakes then
            local found = get("tls.handshake")
            if #message_records ~= #found or not in_their_records(found, message_records, records, sources) then
                return nil
            end
            if not same(values("tls.handshake.type"), types) then return nil end
        end
        if #alert_records > 0 then
            local found = get("tls.alert_message")
            if #alert_records ~= #found or not in_their_records(found, alert_records, records, sources) then
                return nil
            end
            if not (same(values("tls.alert_message.level"), levels)
                    and same(values("tls.alert_message.desc"), descriptions)) then
                return nil
            end
        end
        -- The facts, in place: only when the frame has a message whose facts the line carries (wire.structured writes
        -- none otherwise).
        if detailed then
            local final, m = {}, 0
            for i = 1, n do
                m = m + 1
                final[m] = out[i]
                local facts = facts_at[i]
                if facts then
                    m = put_fact_tokens(wire, facts, final, m)
                    if not m then return nil end
                elseif i == certificate_at and sct_tokens then
                    for k = 1, #sct_tokens do final[m + k] = sct_tokens[k] end
                    m = m + #sct_tokens
                end
            end
            out, n = final, m
        end
        if n > wire.MAX_TOKENS then return nil end
        return concat(out, " ", 1, n)
    end

    return { hello_facts = hello_facts, session_of = session_of, key_exchange_facts = key_exchange_facts,
        line = line }
end

return wire_bytes
