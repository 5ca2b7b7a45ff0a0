--[[
tpost_checks.lua: the plugin's checks and its findings in words, for tsharkpost.lua and any other driver of
the core. Every check takes plain values (parsed certificates, hello tables, numbers, strings) and calls
ctx:add(finding) on the frame's context (tpost_frame's Context); nothing here reads Wireshark.

Side-effect free: returns a table of functions, defines no globals, reads no file (Wireshark loads every .lua
under its plugins folder, this one included: that is harmless). Lua 5.2 to 5.4.

    checks.default_settings()        -> the core's settings with their defaults (a new table)
    checks.new(facts, settings, lib) -> C: facts from tpost_facts.load, settings the plugin's settings table
        (read at each call, so a preference change applies at once), lib = {x509 = tpost_x509, messages =
        tpost_messages, handshake = tpost_handshake}. C holds:
    C.finding(f, values, variants)   f with its phrase, msg and why filled in from the templates
    C.listed(items, max_items), C.delay_text(ms), C.cert_values(cert), C.offered_text(list)
    C.suite_tokens(name)             set of the tokens of a cipher suite name (cached)
    C.check_weak_signature(ctx, cert), C.check_weak_key(ctx, cert), C.check_sigalg_offered(ctx, conn, cert),
    C.check_validity(ctx, conn, cert), C.check_chain_order(ctx, chain), C.check_name(ctx, conn, cert),
    C.check_version(ctx, hello, anchor), C.check_suite(ctx, conn, hello, anchor),
    C.check_dh(ctx, bits, anchor, at, len)
    C.diagnosis_of(list)             the Diagnosis text of a list of findings, nil when none
    C.chain_text(chain)              the Chain diagnosis of a judged chain ({frame, diagnosis})
    C.PHRASE_BYTES ... C.VALUE_BYTES the text bounds (each label stays under Wireshark's 240 bytes)
]]

local sub, fmt, concat = string.sub, string.format, table.concat

local checks = {}

-- The settings the core reads, with their defaults; a driver may change them (the plugin mirrors each by a
-- preference, tpost.<name>, and refreshes the table in place). A fresh table on every call.
function checks.default_settings()
    return {
        rsa_error_bits = 1024,     -- RSA below this is an error: factorable with modest resources
        rsa_warning_bits = 2048,   -- RSA below this is a warning: NIST SP 800-131A minimum since 2014
        dsa_min_bits = 2048,       -- DSA p below this is a warning (NIST SP 800-131A)
        ec_min_bits = 224,         -- EC curves below this are a warning (NIST SP 800-131A: 224 bits)
        dh_min_bits = 2048,        -- ephemeral DH group below this is a warning (RFC 7919 minimum group)
        dh_error_bits = 1024,      -- ...and below this an error (Logjam: 512/768-bit groups are broken)
        sha1_is_weak = true,       -- sha1 signatures are a warning (RFC 9155); off for legacy networks
        teardown_window_ms = 2000, -- a FIN/RST this soon after the server's certificate flight is "right after"
        max_connections = 10000,   -- connections kept in memory; the oldest is dropped (and noted) beyond this
        max_hash_kib = 256,        -- certificates larger than this get no SHA-256/SHA-1 (pure-Lua hashing: ~0.6 MB/s)
        max_handshake_kib = 1024,  -- a Certificate message tshark leaves undecoded is reassembled up to this size
    }
end

function checks.new(facts, settings, lib)
    local x509, msglib = lib.x509, lib.messages
    local fill, cut = msglib.fill, msglib.cut
    local rules_family = lib.handshake.rules_family
    local MESSAGES, SIGALGS, SCHEME_NAMES = facts.MESSAGES, facts.SIGALGS, facts.SCHEME_NAMES
    local VERSIONS, SUITE_TOKENS, SEVERITY_LEVEL, CHECKS = facts.VERSIONS, facts.SUITE_TOKENS,
        facts.SEVERITY_LEVEL, facts.CHECKS
    local ROLE_TEXT, slug, role_of, algorithm_key = facts.ROLE_TEXT, facts.slug, facts.role_of, facts.algorithm_key

    -- Findings in words, from the message templates. Every text is bounded so that each tree label stays
    -- under Wireshark's 240-byte limit (ITEM_LABEL_LENGTH) with its title: "Error: " + TEXT_BYTES, and
    -- "Expert Info (Warning/Response code): " (37 bytes) + TEXT_BYTES for the expert item.
    local PHRASE_BYTES, TEXT_BYTES, WHY_BYTES = 100, 200, 200
    local NAME_BYTES, LIST_BYTES, DIAGNOSIS_BYTES, VALUE_BYTES = 64, 200, 160, 200
    local NO_VARIANTS = {}

    -- f (check, sev and what locates the finding) with its phrase (the Diagnosis column), sentence (msg) and
    -- why filled in; the templates of `variants` win over the severity's, which wins over the check's own.
    -- A finding on a certificate the client sent tries the variant "client" first, and its phrase says
    -- whose certificate it is (phrase.client); its sentence does through {cert}'s role ("client leaf").
    local function finding(f, values, variants)
        local order = {}
        local client = f.cert and f.cert.sender == "client"
        if client then order[1] = "client" end
        for _, variant in ipairs(variants or NO_VARIANTS) do order[#order + 1] = variant end
        order[#order + 1] = f.sev
        local phrase = fill(MESSAGES:pick(f.check, "phrase", order), values)
        if client then phrase = fill(MESSAGES:get("phrase.client"), { phrase = phrase }) end
        f.phrase = cut(phrase, PHRASE_BYTES)
        f.msg = cut(fill(MESSAGES:pick(f.check, "text", order), values), TEXT_BYTES)
        f.why = cut(fill(MESSAGES:pick(f.check, "why", order), values), WHY_BYTES)
        return f
    end

    -- "a, b, c and 2 more": the first `max_items` items, each cut to NAME_BYTES ("nothing" for none).
    local function listed(items, max_items)
        if #items == 0 then return MESSAGES:get("list.none") end
        local shown = {}
        for i = 1, math.min(#items, max_items) do shown[i] = cut(items[i], NAME_BYTES) end
        local text = concat(shown, ", ")
        if #items > max_items then
            text = fill(MESSAGES:get("list.more"), { list = text, count = #items - max_items })
        end
        return text
    end

    -- A delay as the messages say it: "2 ms", or "12.5 s" from 10 s on.
    local function delay_text(ms)
        if ms < 10000 then return fmt("%d ms", ms) end
        return fmt("%.1f s", ms / 1000)
    end

    local suite_token_sets = {}   -- cipher suite name -> set of its tokens (names are few: no bound needed)

    local function suite_tokens(name)
        local tokens = suite_token_sets[name]
        if tokens then return tokens end
        tokens = {}
        for token in string.gmatch(name, "[^_]+") do tokens[token] = true end
        suite_token_sets[name] = tokens
        return tokens
    end

    -- The values every certificate message names it by ({cert}, {index}, {role}, {name}), and its role.
    local function cert_values(cert)
        local info = cert.info
        local name = info.cn
        if not name or name == "" then name = info.subject end
        if not name or name == "" then name = MESSAGES:get("name.none") end
        local role = role_of(cert.index, info.self_signed, cert.sender)
        local values = { index = cert.index, role = ROLE_TEXT[role], name = cut(name, NAME_BYTES) }
        values.cert = fill(MESSAGES:get("cert"), values)
        return values, role
    end

    -- The signature schemes of a ClientHello list by name, as many as fit in LIST_BYTES.
    local function offered_text(list)
        local names, used = {}, 0
        for i, code in ipairs(list) do
            local name = SCHEME_NAMES[code] or fmt("0x%04x", code)
            if used + #name + 2 > LIST_BYTES - 20 then
                return fill(MESSAGES:get("list.more"), { list = concat(names, ", "), count = #list - i + 1 })
            end
            names[#names + 1], used = name, used + #name + 2
        end
        if #names == 0 then return MESSAGES:get("list.none") end
        return concat(names, ", ")
    end

    local function check_weak_signature(ctx, cert)
        local info = cert.info
        local alg = SIGALGS[info.sig_oid]
        if not alg or alg.weakness == "" then return end
        if alg.weakness == "warning" and not settings.sha1_is_weak then return end
        local values, role = cert_values(cert)
        values.algorithm, values.sigalg, values.oid = alg.label, info.sig_name, info.sig_oid
        -- A self-signed certificate (a root sent in the chain, or a self-signed leaf) is accepted only as a trust
        -- anchor, and clients never verify an anchor's own signature (DOMAIN.md; RFC 5280 §6.1.1): at most a note.
        -- Whether its algorithm was offered is sigalg_not_offered's question.
        local sev = info.self_signed and "note" or alg.weakness
        ctx:add(finding({ check = "weak_signature", sev = sev, cert = cert, range = info.r_sigalg,
            expert = algorithm_key(role, alg) }, values))
    end

    local function check_weak_key(ctx, cert)
        local info = cert.info
        local bits = info.key_bits
        if not bits then return end
        local check, sev, limit
        if info.key_type == "rsa" then
            if bits < settings.rsa_error_bits then
                check, sev, limit = "weak_rsa_key", "error", settings.rsa_error_bits
            elseif bits < settings.rsa_warning_bits then
                check, sev, limit = "weak_rsa_key", "warning", settings.rsa_warning_bits
            end
        elseif info.key_type == "dsa" and bits < settings.dsa_min_bits then
            check, sev, limit = "weak_dsa_key", "warning", settings.dsa_min_bits
        elseif info.key_type == "ec" and bits < settings.ec_min_bits then
            check, sev, limit = "weak_ec_key", "warning", settings.ec_min_bits
        end
        if not check then return end
        local values = cert_values(cert)
        values.bits, values.limit = bits, limit
        values.curve = info.curve or MESSAGES:get("curve.unnamed")
        ctx:add(finding({ check = check, sev = sev, cert = cert, range = info.r_spki }, values))
    end

    local function check_sigalg_offered(ctx, conn, cert)
        local info = cert.info
        local alg = SIGALGS[info.sig_oid]
        local hello = conn.hello
        local family = rules_family(conn.version)
        if not alg or not hello or not family or family < 12 then return end
        local list, list_name
        if family == 13 then
            if info.self_signed then return end          -- RFC 8446 §4.4.2.2: trust anchors are exempt
            if hello.sigalgs_cert then
                list, list_name = hello.sigalgs_cert, "signature_algorithms_cert"
            else
                list, list_name = hello.sigalgs, "signature_algorithms"
            end
        else
            list, list_name = hello.sigalgs, "signature_algorithms"
        end
        if not list then return end
        for _, offered in ipairs(list) do
            for _, scheme in ipairs(alg.schemes) do
                if offered == scheme then return end
            end
        end
        local values, role = cert_values(cert)
        values.algorithm, values.sigalg, values.oid, values.list = alg.label, info.sig_name, info.sig_oid, list_name
        local f = finding({ check = "sigalg_not_offered", sev = "error", cert = cert, range = info.r_sigalg,
            expert = algorithm_key(role, alg) }, values, family == 13 and { "tls13" } or nil)
        f.offered = offered_text(list)
        ctx:add(f)
    end

    -- Validity against the capture's clock: the time of the frame that carries the certificate (RFC 5280 §4.1.2.5),
    -- never today's. How much it matters depends on the certificate's role: an expired or not yet valid leaf is
    -- refused by every client that validates (alert 45), an intermediate breaks the path unless the client finds
    -- another one (a cross-signed CA sent beside a newer path: a warning), and a self-signed root sent in the chain
    -- is only a note: clients build the path to the root in their own trust store and ignore the copy sent.
    -- A chain sent at the very instant of the ClientHello it answers (to the nanosecond) tells of a capture whose
    -- clock did not run (a synthetic trace, every frame at one made-up time): the verdict is then only a note.
    local function check_validity(ctx, conn, cert)
        local info = cert.info
        local state = x509.validity(info, ctx.time)
        if not state then return end
        local values, role = cert_values(cert)
        values.not_before, values.not_after = info.not_before or "?", info.not_after or "?"
        values.when = x509.iso(ctx.time)
        local sev = cert.index == 0 and "error" or info.self_signed and "note" or "warning"
        local still = conn.hello_time == ctx.time
        if still then sev = "note" end
        local check = "expired_certificate"
        if state == "not_yet_valid" then check = "not_yet_valid_certificate" end
        ctx:add(finding({ check = check, sev = sev, cert = cert, range = info.r_validity, expert = role }, values,
            still and { "still_clock" } or nil))
    end

    local function check_chain_order(ctx, chain)
        for i = 1, #chain - 1 do
            local this, nxt = chain[i], chain[i + 1]
            if not this.info.error and not nxt.info.error and this.info.issuer_der ~= nxt.info.subject_der
                    and this.info.issuer ~= nxt.info.subject then
                local values = cert_values(this)
                values.next = nxt.index
                values.issuer, values.subject = cut(this.info.issuer, 60), cut(nxt.info.subject, 60)
                ctx:add(finding({ check = "chain_order", sev = "warning", cert = this, range = this.info.r_issuer },
                    values))
            end
        end
    end

    -- RFC 6125 §6.4: exact match, or "*" as the whole left-most label matching one label.
    local function dns_name_matches(pattern, host)
        pattern = string.lower(string.gsub(pattern, "%.$", ""))
        if pattern == host then return true end
        if sub(pattern, 1, 2) ~= "*." then return false end
        local suffix = sub(pattern, 2)
        if not string.find(sub(suffix, 2), ".", 1, true) then return false end   -- "*.com" never matches
        local dot = string.find(host, ".", 1, true)
        return dot ~= nil and dot > 1 and sub(host, dot) == suffix
    end

    local function check_name(ctx, conn, cert)
        local info = cert.info
        local sni = conn.hello and conn.hello.sni
        if not sni or sni == "" then return end
        local host = string.lower(string.gsub(sni, "%.$", ""))
        local names = info.san
        if not names or #names == 0 then names = { info.cn } end    -- no SAN dNSName: the subject CN, if any
        for _, name in ipairs(names) do
            if dns_name_matches(name, host) then return end
        end
        local values = cert_values(cert)
        values.sni, values.names = cut(sni, NAME_BYTES), listed(names, 3)
        ctx:add(finding({ check = "name_mismatch", sev = "error", cert = cert, range = info.r_san or info.r_subject },
            values))
    end

    local function check_version(ctx, hello, anchor)
        local row = VERSIONS[hello.version]
        if not row or row.weakness == "" then return end
        ctx:add(finding({ check = "old_protocol_version", sev = row.weakness, hs = anchor,
            range = { hello.version_at, hello.version_len }, expert = slug(row.name) },
            { version = row.name, source = row.source }))
    end

    local function check_suite(ctx, conn, hello, anchor)
        local name = conn.suite_name
        if not name then return end
        local worst
        for token in pairs(suite_tokens(name)) do
            local row = SUITE_TOKENS[token]
            if row and (not worst or SEVERITY_LEVEL[row.weakness] > SEVERITY_LEVEL[worst.weakness]
                    or (row.weakness == worst.weakness and row.token < worst.token)) then
                worst = row
            end
        end
        if not worst then return end
        ctx:add(finding({ check = "weak_cipher_suite", sev = worst.weakness, hs = anchor, range = { hello.suite_at, 2 },
            expert = slug(worst.token) },
            { suite = cut(name, NAME_BYTES), code = fmt("%04x", hello.suite), reason = worst.reason,
                source = worst.source }))
    end

    local function check_dh(ctx, bits, anchor, at, len)
        local sev
        if bits < settings.dh_error_bits then sev = "error"
        elseif bits < settings.dh_min_bits then sev = "warning"
        else return end
        ctx:add(finding({ check = "weak_dh_group", sev = sev, hs = anchor, range = { at, len } },
            { bits = bits, limit = sev == "error" and settings.dh_error_bits or settings.dh_min_bits }))
    end

    -- The Diagnosis of a list of findings: their phrases, the most severe first and, among equals, the most
    -- decisive check (checks.tsv weight); a finding on the very bytes of a certificate an earlier one points
    -- at says nothing new (an MD2 signature not offered is also a broken hash), so it is left out. Phrases
    -- that do not fit in DIAGNOSIS_BYTES are counted ("+1 more"). nil when there is no finding.
    local function diagnosis_of(list)
        local order = {}
        for i, f in ipairs(list) do
            if f.check then order[#order + 1] = { f = f, i = i } end
        end
        if #order == 0 then return nil end
        table.sort(order, function(a, b)
            local sa, sb = SEVERITY_LEVEL[a.f.sev], SEVERITY_LEVEL[b.f.sev]
            if sa ~= sb then return sa > sb end
            local wa, wb = CHECKS[a.f.check].weight, CHECKS[b.f.check].weight
            if wa ~= wb then return wa < wb end
            return a.i < b.i
        end)
        local phrases, spots, used, left = {}, {}, 0, 0
        for _, entry in ipairs(order) do
            local f = entry.f
            local seen = f.cert and f.range and spots[f.cert]
            if not (seen and seen[f.range]) then
                if f.cert and f.range then
                    spots[f.cert] = seen or {}
                    spots[f.cert][f.range] = true
                end
                if #phrases > 0 and used + 2 + #f.phrase > DIAGNOSIS_BYTES then
                    left = left + 1
                else
                    phrases[#phrases + 1], used = f.phrase, used + (#phrases > 0 and 2 or 0) + #f.phrase
                end
            end
        end
        local text = concat(phrases, "; ")
        if left > 0 then text = fill(MESSAGES:get("diagnosis.more"), { diagnosis = text, count = left }) end
        return text
    end

    -- The Chain diagnosis sub-item of a finding that refers to the chain `chain` ({frame, diagnosis}).
    local function chain_text(chain)
        return fill(MESSAGES:get("chain.diagnosis"),
            { frame = chain.frame, diagnosis = chain.diagnosis or MESSAGES:get("chain.clean") })
    end

    return {
        finding = finding, listed = listed, delay_text = delay_text, cert_values = cert_values,
        offered_text = offered_text, suite_tokens = suite_tokens,
        check_weak_signature = check_weak_signature, check_weak_key = check_weak_key,
        check_sigalg_offered = check_sigalg_offered, check_validity = check_validity,
        check_chain_order = check_chain_order, check_name = check_name, check_version = check_version,
        check_suite = check_suite, check_dh = check_dh, diagnosis_of = diagnosis_of, chain_text = chain_text,
        PHRASE_BYTES = PHRASE_BYTES, TEXT_BYTES = TEXT_BYTES, WHY_BYTES = WHY_BYTES, NAME_BYTES = NAME_BYTES,
        LIST_BYTES = LIST_BYTES, DIAGNOSIS_BYTES = DIAGNOSIS_BYTES, VALUE_BYTES = VALUE_BYTES,
    }
end

return checks
