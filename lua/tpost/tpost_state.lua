--[[
tpost_state.lua: what the plugin keeps between frames, each part bounded: connections, parsed certificates
and judged chains, for tsharkpost.lua and any other driver of the core.

Side-effect free: returns a table of functions, defines no globals, reads no file (Wireshark loads every .lua
under its plugins folder, this one included: that is harmless). Lua 5.2 to 5.4.

    state.new(facts, settings, checks, lib) -> S: facts from tpost_facts.load, settings the plugin's settings
        table, checks from tpost_checks.new (for the state_limit note), lib = {x509 = tpost_x509, sha =
        tpost_sha, bytes = tpost_bytes}. S holds:
    S.reset()                 forgets every connection (a new file): S.conns (key -> connection), and the
                              per-reading flags S.teardown_deadline (until when a FIN/RST could still be a
                              silent teardown; nil: no watch), S.seen_tls13 (TLS 1.3 seen: records without a
                              content type matter from then on), S.reassembly_held (bytes held by
                              reassemblies, all connections together)
    S.get_conn(ctx, key)      the connection of `key`, created on first sight; beyond settings.max_connections
                              the oldest is dropped, noted once per reading (state_limit) through ctx:add
    S.certificate_info(der)   a parsed certificate (tpost_x509, its SHA-256 and SHA-1, sig_name, a unique id),
                              or {error, len}; cached by DER in two generations of at most 1000 each
    S.chain_memo_get(key), S.chain_memo_put(key, memo)   judged chains by their inputs (at most 1000)
    S.forget_certificates()   empties the certificate cache and the chain memo (a preference changed)
    S.ALERT_SENT, S.CCS_SENT  side -> the connection's flag of that side's alert, ChangeCipherSpec
]]

local state = {}

function state.new(facts, settings, checks, lib)
    local x509, sha = lib.x509, lib.sha
    local SIGALGS = facts.SIGALGS
    local finding = checks.finding
    local S = {}

    local conn_count, conn_queue, queue_head, queue_tail, limit_noted

    function S.reset()
        S.conns, conn_count, conn_queue, queue_head, queue_tail = {}, 0, {}, 1, 0
        S.teardown_deadline, S.seen_tls13, limit_noted = nil, false, false
        S.reassembly_held = 0
    end
    S.reset()

    -- Per-side flags live in the connection itself: conn[ALERT_SENT[side]], conn[CCS_SENT[side]].
    S.ALERT_SENT = { client = "client_alert", server = "server_alert" }
    S.CCS_SENT = { client = "client_ccs", server = "server_ccs" }

    function S.get_conn(ctx, key)
        local conns = S.conns
        local conn = conns[key]
        if conn then return conn end
        local limit = math.max(1, settings.max_connections)   -- 0 would keep none: one is kept, and the note says 1
        while conn_count >= limit and queue_head <= queue_tail do
            local old_key = conn_queue[queue_head]
            conn_queue[queue_head] = nil
            queue_head = queue_head + 1
            local old = conns[old_key]
            if old then
                for _, held in pairs(old.reassembly or {}) do
                    if held then S.reassembly_held = S.reassembly_held - held.have end
                end
                conns[old_key] = nil
                conn_count = conn_count - 1
                if not limit_noted then
                    limit_noted = true
                    ctx:add(finding({ check = "state_limit", sev = "note" }, { limit = limit }))
                end
            end
        end
        conn = { client = nil, client_alert = false, server_alert = false, client_ccs = false, server_ccs = false }
        conns[key] = conn
        conn_count = conn_count + 1
        queue_tail = queue_tail + 1
        conn_queue[queue_tail] = key
        return conn
    end

    local parse_der = x509.certificate_parser(lib.bytes,
        { attributes = facts.ATTRIBUTES, key_algorithms = facts.KEYALGS, curves = facts.CURVES })

    -- One certificate: what tpost_x509 reads, its SHA-256 and SHA-1 fingerprints and its signature algorithm's
    -- name. Errors are plain strings (see certificate_info). The fingerprint is bounded: hashing in Lua costs
    -- about 1.6 s per MB, and a hostile capture can send megabyte certificates.
    local function parse_certificate(der)
        local info = parse_der(der)
        if #der <= settings.max_hash_kib * 1024 then
            info.sha256, info.sha1 = sha.sha256(der), sha.sha1(der)
        else
            info.sha256, info.sha1, info.hash_skipped = "", "", #der
        end
        local alg = SIGALGS[info.sig_oid]
        info.sig_name = alg and alg.name or info.sig_oid
        return info
    end

    -- Parsed certificates by DER, in two generations of at most CERT_CACHE_MAX each: when the current one
    -- is full it becomes the old one, and a certificate found there moves back. So a certificate seen again
    -- (a server's chain, on every connection) is parsed and hashed once per capture however many others
    -- pass by, and the cache holds at most 2 * CERT_CACHE_MAX certificates (with their DER).
    local cert_cache, cert_cache_old, cert_cache_size = {}, {}, 0
    local CERT_CACHE_MAX = 1000
    local cert_ids = 0           -- each parsed certificate's id (info.id): chain_memo's keys name certificates by it

    -- Parsed certificate or {error = reason}; cached by DER bytes (chains repeat).
    function S.certificate_info(der)
        local info = cert_cache[der]
        if info then return info end
        info = cert_cache_old[der]
        if not info then
            local ok, result = pcall(parse_certificate, der)
            if ok then
                info = result
            else
                info = { error = type(result) == "string" and result or tostring(result), len = #der }
            end
            cert_ids = cert_ids + 1
            info.id = cert_ids
        end
        if cert_cache_size >= CERT_CACHE_MAX then cert_cache_old, cert_cache, cert_cache_size = cert_cache, {}, 0 end
        cert_cache[der], cert_cache_size = info, cert_cache_size + 1
        return info
    end

    -- Chain checks by their inputs (tpost_frame's chain_key): a chain seen again with the same ClientHello facts
    -- gets the very findings of its first check, which name no frame. Bounded like the certificate cache: at
    -- most CHAIN_MEMO_MAX chains, forgotten all at once when full. Emptied with the certificate cache when a
    -- preference changes, since the checks and the fingerprint bound read them.
    local chain_memo, chain_memo_size = {}, 0
    local CHAIN_MEMO_MAX = 1000

    function S.chain_memo_get(key) return chain_memo[key] end

    function S.chain_memo_put(key, memo)
        if chain_memo_size >= CHAIN_MEMO_MAX then chain_memo, chain_memo_size = {}, 0 end
        chain_memo[key], chain_memo_size = memo, chain_memo_size + 1
    end

    function S.forget_certificates()
        cert_cache, cert_cache_old, cert_cache_size = {}, {}, 0
        chain_memo, chain_memo_size = {}, 0
    end

    return S
end

return state
