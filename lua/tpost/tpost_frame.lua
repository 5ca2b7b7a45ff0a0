--[[
tpost_frame.lua: the per-frame analysis, Wireshark-free: routes a frame's TLS/DTLS records, handshake
messages, certificate chains and alerts to their checks and keeps each connection's state, for tsharkpost.lua
and any other driver of the core. What the frame holds comes in as plain values (record types, message bytes,
certificate DER, alert bytes) from an adapter: the plugin's reads Wireshark's fields, another may read
`tshark -T fields`.

Side-effect free: returns a table of functions, defines no globals, reads no file (Wireshark loads every .lua
under its plugins folder, this one included: that is harmless). Lua 5.2 to 5.4.

    frame.new(facts, settings, checks, S, lib, keys) -> F: facts (tpost_facts), settings, checks (tpost_checks),
        S (tpost_state), lib = {bytes = tpost_bytes, x509 = tpost_x509, handshake = tpost_handshake}; keys: the
        adapter's opaque keys that findings' anchors name the bytes by (the plugin's are its field extractors):
        keys.tls and keys.dtls = {hs = handshake message, cert = certificate, alert = alert message},
        keys.sslv2 (an SSL 2.0 message type), keys.quic_close (a QUIC CONNECTION_CLOSE error code).

The frame's context (F.context()): one table per adapter, reset by ctx:start(num, time) for each frame.
    ctx.num, ctx.time      frame number, its absolute time (seconds)
    ctx.src, ctx.dst       "address/port" of the frame's source and destination, set by the adapter's
                           endpoints(ctx, conn) (nil until it runs)
    ctx.out                the frame's findings and certificate entries, in order (ctx:add(item))

    F.analyse_kind(ctx, kind, key, has, io)   one frame's "tls" or "dtls" records of connection `key`;
        has = F.record_types(...); io = the adapter: io.endpoints(ctx, conn), io.handshakes(ctx, conn, kind)
        -> list of certificate DER, whether a message was left undecoded (it calls F.on_handshake for each
        message it reads), io.records() -> the frame's TLS records: their content types, their lengths after
        the 5-byte header and body(i, n), the first n bytes after record i's header (nil: cannot tell),
        io.alerts(ctx, kind) -> the raw bytes of each alert message
    F.wants_handshake(ctx, conn, msg_type), F.on_handshake(ctx, conn, kind, s, k, suite_name_of)
    F.on_chain(ctx, conn, kind, ders, sender), F.side_of(ctx, conn), F.record_types(values), F.no_types()
    F.teardown(ctx, conn, rst)                a FIN (rst false) or RST of a watched connection
    F.sslv2_server_hello(ctx, conn, version, k) -> the anchor of an SSL 2.0 SERVER-HELLO's version
    F.quic_closes(ctx, conn, closes)          QUIC CRYPTO_ERROR closes {k, alert}
    F.dtls13_bytes(payload)                   bytes of DTLS 1.3 unified-header records in a datagram, or nil
]]

local byte, sub, fmt, concat = string.byte, string.sub, string.format, table.concat
local floor = math.floor

local frame = {}

local NO_FINDINGS, NO_CERTS = {}, {}   -- shared empty lists, never written to

-- The frame being analysed: one table, reset for every frame. `out` stays the shared
-- NO_FINDINGS (never written to) until the frame's first finding.
local Context = {}
Context.__index = Context
function Context:add(item)
    local out = self.out
    if out == NO_FINDINGS then
        out = {}
        self.out = out
    end
    out[#out + 1] = item
end
function Context:start(num, time)
    self.num, self.time, self.src, self.dst, self.out = num, time, nil, nil, NO_FINDINGS
end

function frame.new(facts, settings, checks, S, lib, keys)
    local x509 = lib.x509
    local u24 = lib.bytes.u24
    local rules_family = lib.handshake.rules_family
    local hello_parsers = lib.handshake.parsers(lib.bytes)
    local parse_client_hello, parse_server_hello = hello_parsers.client_hello, hello_parsers.server_hello
    local parse_dh_params = hello_parsers.dh_params
    local MESSAGES, ALERTS, SEVERITY_LEVEL = facts.MESSAGES, facts.ALERTS, facts.SEVERITY_LEVEL
    local fill, cut = lib.messages.fill, lib.messages.cut
    local finding, cert_values, chain_text, diagnosis_of = checks.finding, checks.cert_values, checks.chain_text,
        checks.diagnosis_of
    local suite_tokens, check_version, check_suite, check_dh = checks.suite_tokens, checks.check_version,
        checks.check_suite, checks.check_dh
    local get_conn, certificate_info = S.get_conn, S.certificate_info
    local ALERT_SENT, CCS_SENT = S.ALERT_SENT, S.CCS_SENT
    local CERT_ALERTS = { [42] = true, [43] = true, [44] = true, [45] = true, [46] = true, [48] = true }
    local F = {}

    function F.context() return setmetatable({ out = NO_FINDINGS }, Context) end

    local function side_of(ctx, conn)
        if not conn.client then return nil end
        return ctx.src == conn.client and "client" or "server"
    end
    F.side_of = side_of

    -- The server's certificate flight lasts until its last frame before the client answers;
    -- FIN/RST frames are looked at only while one could still be "right after" a flight.
    local function extend_flight(conn, time)
        conn.flight_end = time
        local deadline = time + settings.teardown_window_ms / 1000
        local teardown_deadline = S.teardown_deadline
        if not teardown_deadline or deadline > teardown_deadline then S.teardown_deadline = deadline end
    end

    -- Anchors ({field = the adapter's key, k = position in the frame}) and certificate entries are the same
    -- for every frame that has them, so they are shared: findings stored for replay stay small.
    local anchors = {}
    local function anchor_for(field, k)
        local by_k = anchors[field]
        if not by_k then
            by_k = {}
            anchors[field] = by_k
        end
        local anchor = by_k[k]
        if not anchor then
            anchor = { field = field, k = k }
            by_k[k] = anchor
        end
        return anchor
    end

    -- The certificate entry (a finding anchor and its own summary item) for `info` at position k of
    -- a frame's certificates, sent by `sender`: kept with the parsed certificate. Read-only. A certificate the
    -- core reassembled itself (reassemble, below) has no field of tshark's to point at: its items carry no bytes.
    local function cert_entry(info, kind, k, sender, reassembled)
        local entries = info.entries
        if not entries then
            entries = {}
            info.entries = entries
        end
        local key = (k * 4 + (kind == "tls" and 0 or 2) + (sender == "server" and 0 or 1)) * (reassembled and -1 or 1)
        local cert = entries[key]
        if not cert then
            cert = { index = k - 1, info = info, field = not reassembled and keys[kind].cert, k = k, sender = sender,
                summary = true }
            entries[key] = cert
        end
        return cert
    end

    -- The list of a ClientHello's signature schemes as a key ("-" for none).
    local function list_key(list)
        if not list then return "-" end
        return concat(list, ",")
    end

    -- Everything the chain checks below read, as one string: the certificates (by id, and whether the plugin
    -- reassembled them: their entries differ), who sent them, each one's validity at this frame's time (and, when
    -- one is out of date, that time and whether the capture's clock stood still, which its finding says) and, for
    -- a server's chain, the rules' family and the ClientHello's offered schemes and SNI (settings are not in it:
    -- a change of preference empties the memo). A check that reads more must add it here.
    local function chain_key(ctx, conn, kind, sender, chain)
        local parts = { kind, sender }
        local dated = false
        for i, cert in ipairs(chain) do
            local validity = not cert.info.error and x509.validity(cert.info, ctx.time) or nil
            if validity then dated = true end
            parts[i + 2] = cert.info.id .. (cert.field and "" or "r") .. (validity and (":" .. validity) or "")
        end
        if dated then parts[#parts + 1] = x509.iso(ctx.time) .. (conn.hello_time == ctx.time and "=" or "") end
        if sender == "server" then
            local hello = conn.hello
            parts[#parts + 1] = rules_family(conn.version) or "-"
            if hello then
                local key = hello.memo_key
                if not key then
                    local sni = hello.sni
                    key = list_key(hello.sigalgs) .. ";" .. list_key(hello.sigalgs_cert) .. ";"
                        .. (sni and (#sni .. ":" .. sni) or "-")
                    hello.memo_key = key
                end
                parts[#parts + 1] = key
            end
        end
        return concat(parts, "|")
    end

    -- The findings of a chain's checks (read-only, shared by every frame whose chain has the same key)
    -- and, for a server's chain, the diagnosis of its warnings and errors.
    local function chain_checks(ctx, conn, chain, sender)
        local before = #ctx.out
        for _, cert in ipairs(chain) do
            if cert.info.error then
                ctx:add(finding({ check = "malformed_certificate", sev = "note", cert = cert },
                    { index = cert.index, bytes = cert.info.len, error = cut(cert.info.error, 100) }))
            else
                if cert.info.hash_skipped then
                    local values = cert_values(cert)
                    values.bytes, values.limit = cert.info.hash_skipped, settings.max_hash_kib
                    ctx:add(finding({ check = "fingerprint_skipped", sev = "note", cert = cert }, values))
                end
                checks.check_weak_signature(ctx, cert)
                checks.check_weak_key(ctx, cert)
                checks.check_validity(ctx, conn, cert)
                if sender == "server" then checks.check_sigalg_offered(ctx, conn, cert) end
            end
        end
        checks.check_chain_order(ctx, chain)
        if sender == "server" and chain[1] and not chain[1].info.error then checks.check_name(ctx, conn, chain[1]) end
        local found, serious = {}, {}
        for i = before + 1, #ctx.out do
            local f = ctx.out[i]
            found[#found + 1] = f
            if f.check and f.cert and SEVERITY_LEVEL[f.sev] >= SEVERITY_LEVEL.warning then
                serious[#serious + 1] = f
            end
        end
        return { found = found, diagnosis = diagnosis_of(serious) }
    end

    -- The checks of a chain (its certificate entries, already added to the frame's output), replayed from the
    -- memo when the same chain was judged under the same conditions, and the connection's state after the chain.
    local function check_chain(ctx, conn, kind, chain, sender)
        local key = chain_key(ctx, conn, kind, sender, chain)
        local memo = S.chain_memo_get(key)
        if memo then
            for _, f in ipairs(memo.found) do ctx:add(f) end
        else
            memo = chain_checks(ctx, conn, chain, sender)
            S.chain_memo_put(key, memo)
        end
        local judged = { frame = ctx.num, diagnosis = memo.diagnosis }
        if sender ~= "server" then
            conn.client_chain = judged   -- mutual TLS: what a server's certificate alert answers
            return
        end
        conn.chain = judged
        conn.client_replied, conn.server_replied = false, false
        if kind == "tls" then
            conn.watch = true
            extend_flight(conn, ctx.time)
        end
    end

    -- A Certificate message's chain: the DER of each certificate, in order.
    local function on_chain(ctx, conn, kind, ders, sender)
        local chain = {}
        for k, der in ipairs(ders) do
            local cert = cert_entry(certificate_info(der), kind, k, sender)
            chain[#chain + 1] = cert
            ctx:add(cert)
        end
        check_chain(ctx, conn, kind, chain, sender)
    end
    F.on_chain = on_chain

    ----------------------------------------------------------------------------------------------------------
    -- Certificate messages tshark leaves undecoded
    ----------------------------------------------------------------------------------------------------------
    -- tshark 4.0 takes a handshake message whose length is 64 KiB or more, at the start of a record, for
    -- ciphertext ("Encrypted Handshake Message": packet-tls.c, is_encrypted_handshake_message, "Assume handshake
    -- messages are below 64K"); no preference changes that. A TLS 1.2 (or older) Certificate message that large
    -- is reassembled here from the bytes of its records, up to max_handshake_kib per connection and side, and its
    -- chain checked like any other. Anything past the message in its last record is left alone, as tshark does.
    local TSHARK_HANDSHAKE_LIMIT = 0x10000
    -- All reassemblies under way together keep at most this many times max_handshake_kib.
    local REASSEMBLIES_AT_ONCE = 4

    -- Whether this side's records could still start or continue such a message: after its ChangeCipherSpec,
    -- or in TLS 1.3, an encrypted handshake message really is one.
    local function reassembly_open(conn, sender)
        local held = conn.reassembly and conn.reassembly[sender]
        if held ~= nil then return held ~= false end
        return rules_family(conn.version) ~= 13 and not conn[CCS_SENT[sender]]
    end

    -- Ends this side's reassembly (for good: one Certificate message per side and handshake).
    local function reassembly_done(conn, sender)
        local held = conn.reassembly[sender]
        if held then S.reassembly_held = S.reassembly_held - held.have end
        conn.reassembly[sender] = false
    end

    local function reassembly_note(ctx, conn, sender, reason_id, values)
        reassembly_done(conn, sender)
        values.side, values.limit = sender, settings.max_handshake_kib
        values.reason = fill(MESSAGES:get(reason_id), values)
        ctx:add(finding({ check = "chain_not_decoded", sev = "note" }, values))
    end

    -- TLS 1.2 Certificate body: certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>; the DER of each.
    local function certificate_list(msg)
        local ders = {}
        if #msg < 7 then return ders end
        local list_last = math.min(#msg, 7 + u24(msg, 5))
        local p = 8
        while p + 2 <= list_last do
            local n = u24(msg, p)
            local last = p + 2 + n
            if n == 0 or last > list_last then break end
            ders[#ders + 1] = sub(msg, p + 3, last)
            p = last + 1
        end
        return ders
    end

    local function reassembled_chain(ctx, conn, sender, held)
        reassembly_done(conn, sender)
        local msg = concat(held.parts)
        ctx:add(finding({ check = "chain_reassembled", sev = "note" },
            { side = sender, bytes = #msg, count = held.records, limit = settings.max_handshake_kib }))
        local chain = {}
        for k, der in ipairs(certificate_list(msg)) do
            local cert = cert_entry(certificate_info(der), "tls", k, sender, true)
            chain[#chain + 1] = cert
            ctx:add(cert)
        end
        if #chain > 0 then check_chain(ctx, conn, "tls", chain, sender) end
    end

    -- The frame's TLS records from `sender`, read while a reassembly may start or is under way: `cts` their content
    -- types, `lengths` the byte counts after each one's 5-byte header, body(i, n) the first n of those bytes of
    -- record i (read only when needed: most frames that come here hold no Certificate message). `decoded`: tshark
    -- decoded a Certificate message of this side in the frame itself (then it is not reassembled twice).
    local function reassemble(ctx, conn, sender, decoded, cts, lengths, body)
        conn.reassembly = conn.reassembly or {}
        local reassembly = conn.reassembly
        for i, ct in ipairs(cts) do
            local held = reassembly[sender]
            if held == false then return end
            local length = lengths[i]
            if held then
                if ct ~= 22 or decoded or length <= 0 then
                    if not decoded then
                        reassembly_note(ctx, conn, sender, "reassembly.cut_short",
                            { bytes = held.need, count = held.records, frame = ctx.num })
                    end
                    reassembly_done(conn, sender)
                    return
                end
                local take = math.min(length, held.need - held.have)
                held.parts[#held.parts + 1] = body(i, take)
                held.have, held.records = held.have + take, held.records + 1
                S.reassembly_held = S.reassembly_held + take
                if held.have == held.need then reassembled_chain(ctx, conn, sender, held) end
            elseif ct == 20 then
                return                              -- this side's records after its ChangeCipherSpec are encrypted
            elseif ct == 22 and length >= 4 then
                local head = body(i, 4)
                if byte(head, 1) == 11 then
                    local need = 4 + u24(head, 2)
                    if need - 4 >= TSHARK_HANDSHAKE_LIMIT and not decoded then
                        local bound = settings.max_handshake_kib * 1024
                        if need > bound then
                            reassembly_note(ctx, conn, sender, "reassembly.over_limit", { bytes = need })
                            return
                        end
                        if S.reassembly_held + need > REASSEMBLIES_AT_ONCE * bound then
                            reassembly_note(ctx, conn, sender, "reassembly.busy",
                                { bytes = need, count = REASSEMBLIES_AT_ONCE })
                            return
                        end
                        local take = math.min(length, need)
                        reassembly[sender] = { need = need, have = take, records = 1, parts = { body(i, take) } }
                        S.reassembly_held = S.reassembly_held + take
                    end
                end
            end
        end
    end

    ----------------------------------------------------------------------------------------------------------
    -- Alerts and handshake messages
    ----------------------------------------------------------------------------------------------------------

    -- The k-th alert message of the frame, `raw` its bytes (2 in plaintext; any other length is encrypted).
    local function on_alert(ctx, conn, kind, raw, k)
        local sender = side_of(ctx, conn) or "unknown"
        local known = sender ~= "unknown"
        local side = known and sender or MESSAGES:get("side.peer")
        if known then conn[ALERT_SENT[sender]] = true end
        if #raw ~= 2 then
            -- In TLS 1.2 and older an encrypted alert sent before both sides switched
            -- to encryption means the handshake failed; afterwards it is usually close_notify.
            if not (conn.client_ccs and conn.server_ccs) and rules_family(conn.version) ~= 13 then
                ctx:add(finding({ check = "encrypted_alert", sev = "note", alert = anchor_for(keys[kind].alert, k),
                    alert_sender = sender, related = conn.chain and conn.chain.frame,
                    expert = known and sender or nil },
                    { side = side }))
            end
            return
        end
        local level, code = byte(raw, 1, 2)
        local tls13 = rules_family(conn.version) == 13
        if not (level == 2 or (tls13 and code ~= 0 and code ~= 90)) then return end
        local row = ALERTS[code]
        local name = row and row.name or ("unassigned_" .. code)
        -- A server's certificate alert after the client sent its own chain (mutual TLS) answers that chain.
        local judged = (sender == "server" and conn.client_chain) or conn.chain
        local f = finding({ check = "fatal_alert", sev = "error", alert = anchor_for(keys[kind].alert, k),
            alert_code = code, alert_name = name, alert_sender = sender,
            related = judged and judged.frame, expert = (known and row) and (sender .. "." .. code) or nil },
            { side = side, code = code, name = name, frame = ctx.num, meaning = row and row.meaning },
            not row and { "unassigned" } or nil)
        if CERT_ALERTS[code] and judged then f.chain = chain_text(judged) end
        ctx:add(f)
    end

    -- Handshake types whose bytes on_handshake parses: the others need no copy of the message.
    local PARSED_HANDSHAKES = { [1] = true, [2] = true, [12] = true }

    -- Whether a message of type `msg_type` (known from its type field) needs its bytes read at all.
    function F.wants_handshake(ctx, conn, msg_type)
        if not PARSED_HANDSHAKES[msg_type] then return false end
        if msg_type == 12 then   -- only an ephemeral DH group is judged: any other key exchange needs no copy
            if not (conn.suite_name and side_of(ctx, conn) == "server") then return false end
            local tokens = suite_tokens(conn.suite_name)
            if not (tokens.DHE or (tokens.DH and tokens.anon)) then return false end
        end
        return true
    end

    -- The k-th handshake message of the frame, `s` its bytes (header included). suite_name_of(kind, code): the
    -- name of cipher suite `code` as the adapter's dissector names it in this frame, or nil.
    function F.on_handshake(ctx, conn, kind, s, k, suite_name_of)
        local header = kind == "tls" and 4 or 12
        if #s < header then return end
        local msg_type, length = byte(s, 1), u24(s, 2)
        if kind == "dtls" and (u24(s, 7) ~= 0 or u24(s, 10) ~= length) then return end   -- a fragment
        local b, last = header + 1, math.min(#s, header + length)
        local anchor = anchor_for(keys[kind].hs, k)
        if msg_type == 1 then
            conn.client = ctx.src
            conn.hello, conn.hello_time = parse_client_hello(s, b, last, kind == "dtls"), ctx.time
            conn.version, conn.suite_name, conn.chain, conn.encrypted_noted = nil, nil, nil, nil
            conn.client_chain, conn.reassembly = nil, nil
        elseif msg_type == 2 then
            if not conn.client then conn.client = ctx.dst end
            local hello = parse_server_hello(s, b, last)
            if not hello then return end
            conn.version, conn.suite, conn.psk = hello.version, hello.suite, hello.psk
            if rules_family(hello.version) == 13 then S.seen_tls13 = true end
            conn.suite_name = nil
            if hello.suite then conn.suite_name = suite_name_of(kind, hello.suite) end
            check_version(ctx, hello, anchor)
            if hello.suite then check_suite(ctx, conn, hello, anchor) end
        elseif msg_type == 12 and conn.suite_name and side_of(ctx, conn) == "server" then
            local tokens = suite_tokens(conn.suite_name)
            if tokens.DHE or (tokens.DH and tokens.anon) then
                local bits, at, len = parse_dh_params(s, b, last, tokens.PSK)
                if bits then check_dh(ctx, bits, anchor, at, len) end
            end
        end
    end

    ----------------------------------------------------------------------------------------------------------
    -- One frame's records
    ----------------------------------------------------------------------------------------------------------

    -- Which of the content types 20-23 (ChangeCipherSpec, alert, handshake, application data)
    -- the given record type values hold, in a table reused for every frame; nil when there is no record.
    local frame_types = {}
    function F.record_types(values)
        local n = #values
        if n == 0 then return nil end
        local has = frame_types
        has[20], has[21], has[22], has[23] = false, false, false, false
        for i = 1, n do
            local value = values[i]
            if value >= 20 and value <= 23 then has[value] = true end
        end
        return has
    end

    -- The same table with none of the four (SSL 2.0 records carry no content type).
    function F.no_types()
        local has = frame_types
        has[20], has[21], has[22], has[23] = false, false, false, false
        return has
    end

    -- Does a frame with only ChangeCipherSpec/application data records still matter to this connection?
    local function wants_records(conn)
        if conn.chain then return not (conn.client_replied and conn.server_replied) end
        return not conn.encrypted_noted and rules_family(conn.version) == 13
    end

    -- Connection key: tcp.stream for TLS, -1 - udp.stream for DTLS (the adapter's to give).
    function F.analyse_kind(ctx, kind, key, has, io)
        local conn = S.conns[key]
        if not (has[21] or has[22] or has[20]) and not (conn and wants_records(conn)) then
            return                                  -- application data only: the common, cheap case
        end
        conn = conn or get_conn(ctx, key)
        io.endpoints(ctx, conn)

        local certs, undecoded = NO_CERTS, false
        if has[22] then certs, undecoded = io.handshakes(ctx, conn, kind) end

        local sender = side_of(ctx, conn)
        if #certs > 0 and sender then on_chain(ctx, conn, kind, certs, sender) end
        if kind == "tls" and sender and (undecoded or (conn.reassembly and conn.reassembly[sender]))
                and reassembly_open(conn, sender) then
            local cts, lengths, body = io.records()
            if cts then reassemble(ctx, conn, sender, #certs > 0, cts, lengths, body) end
        end

        if sender then
            if has[20] then conn[CCS_SENT[sender]] = true end
            if conn.chain and #certs == 0 then
                if sender == "server" and not conn.client_replied then
                    extend_flight(conn, ctx.time)   -- rest of the server's flight (ServerHelloDone, ...)
                elseif sender == "client" then
                    conn.client_replied = true
                else
                    conn.server_replied = true
                end
            end
        end

        if has[21] then
            for k, raw in ipairs(io.alerts(ctx, kind)) do on_alert(ctx, conn, kind, raw, k) end
        end

        -- By the client's first encrypted record (its Finished) a decryptable server
        -- Certificate would have been seen; PSK resumption sends none.
        if (has[23] or has[20]) and sender == "client" and not conn.chain and not conn.encrypted_noted
                and not conn.psk and rules_family(conn.version) == 13 then
            conn.encrypted_noted = true
            ctx:add(finding({ check = "chain_encrypted", sev = "note" }, {}))
        end
    end

    -- An SSL 2.0 SERVER-HELLO (the k-th message type of the frame) names the version the server chose:
    -- SSL 2.0 (0x0002), checked like a ServerHello's. Returns the finding's anchor.
    function F.sslv2_server_hello(ctx, conn, version, k)
        if not conn.client then conn.client = ctx.dst end
        conn.version = version
        local anchor = anchor_for(keys.sslv2, k)
        check_version(ctx, { version = version, version_at = 3, version_len = 2 }, anchor)
        return anchor
    end

    -- A FIN or RST (rst) of a connection whose chain is watched (conn.watch, not yet conn.torn); the adapter
    -- marks it torn and sets the frame's endpoints first.
    function F.teardown(ctx, conn, rst)
        local closer = side_of(ctx, conn)
        if not closer or not conn.chain then return end
        -- An alert from either side explains the teardown; ChangeCipherSpec means the closer accepted the chain.
        if conn.client_alert or conn.server_alert or conn[CCS_SENT[closer]] then return end
        -- "Right after" the flight: the closing side sent no TLS record since it.
        if (closer == "client" and conn.client_replied) or (closer == "server" and conn.server_replied) then
            return
        end
        local ms = floor((ctx.time - conn.flight_end) * 1000 + 0.5)
        if ms > settings.teardown_window_ms then return end
        local f = finding({ check = "silent_teardown", sev = "warning", related = conn.chain.frame, expert = closer },
            { side = closer, how = rst and "RST" or "FIN", delay = checks.delay_text(ms), frame = ctx.num,
                chain = fill(MESSAGES:get("chain.in_frame"), { frame = conn.chain.frame }) },
            { rst and "rst" or "fin" })
        f.chain = chain_text(conn.chain)
        ctx:add(f)
    end

    -- QUIC (RFC 9000 §20.1, RFC 9001 §4.8): a CONNECTION_CLOSE whose error code is CRYPTO_ERROR, 0x0100 + a TLS
    -- alert, is QUIC's fatal alert. `closes`: the frame's CRYPTO_ERROR closes as {k = position among the error
    -- codes, alert = code - 0x0100}. The sender is named from the side that sent the ClientHello.
    function F.quic_closes(ctx, conn, closes)
        local sender = side_of(ctx, conn) or "unknown"
        local known = sender ~= "unknown"
        local seen = {}
        for _, close in ipairs(closes) do
            local code = close.alert
            -- A close is sent in every packet number space the sender has keys for: one finding per alert.
            if not seen[code] then
                seen[code] = true
                local row = ALERTS[code]
                local name = row and row.name or ("unassigned_" .. code)
                local judged = (sender == "server" and conn.client_chain) or conn.chain
                local f = finding({ check = "quic_crypto_error", sev = "error",
                    alert = anchor_for(keys.quic_close, close.k),
                    alert_code = code, alert_name = name, alert_sender = sender,
                    related = judged and judged.frame, expert = (known and row) and (sender .. "." .. code) or nil },
                    { side = known and sender or MESSAGES:get("side.peer"), code = code, name = name,
                      frame = ctx.num, meaning = row and row.meaning, error = fmt("0x%04x", 0x100 + code) },
                    not row and { "unassigned" } or nil)
                if CERT_ALERTS[code] and judged then f.chain = chain_text(judged) end   -- as on_alert does
                ctx:add(f)
            end
        end
    end

    -- DTLS 1.3's ciphertext records (RFC 9147 4): a unified header, first byte 001CSLEE, which tshark 4.0 does
    -- not dissect (the datagram stays data). Their bytes after the headers, as far as the headers can be read
    -- (a connection ID's length is the handshake's to say: with one, the rest of the datagram counts); nil when
    -- the payload (a byte string) does not start with such a header.
    function F.dtls13_bytes(payload)
        local bytes, at, n = 0, 0, #payload
        if n == 0 or floor(byte(payload, 1) / 32) ~= 1 then return nil end
        while at < n do
            local first = byte(payload, at + 1)
            if floor(first / 32) ~= 1 then break end
            local cid, wide, sized = floor(first / 16) % 2 == 1, floor(first / 8) % 2 == 1, floor(first / 4) % 2 == 1
            if cid then return bytes + n - at - 1 end
            local header = 1 + (wide and 2 or 1) + (sized and 2 or 0)
            if at + header > n then break end
            local length = n - at - header
            if sized then length = byte(payload, at + header - 1) * 256 + byte(payload, at + header) end
            bytes = bytes + math.min(length, n - at - header)
            at = at + header + length
        end
        return bytes
    end

    return F
end

return frame
