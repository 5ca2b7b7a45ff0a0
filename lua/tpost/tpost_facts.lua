--[[
tpost_facts.lua: the fact tables (tables/*.tsv) the plugin's checks read, built and checked once, for
tsharkpost.lua and for any other driver of the core (tpost_checks, tpost_state, tpost_frame).

Reads severities, alerts, signature and key algorithms, curves, name attributes, signature schemes,
protocol versions, cipher suite weaknesses, checks and the message templates, and fails loudly (a Lua
error naming the table) on a broken or incomplete one, so that a plugin with a missing fact never loads.
Side-effect free: returns a table of functions, defines no globals and reads a file only when facts.load
is called (Wireshark loads every .lua under its plugins folder, this one included: that is harmless).
Lua 5.2 to 5.4.

    facts.load(lib, dir, expert) -> the facts: lib = {tsv = tpost_tsv, messages = tpost_messages}, dir the
        tables/ folder, expert Wireshark's `expert` (or any table of the same shape: severity and group,
        name -> value), which maps severities and check groups to expert values. The facts hold
        SEVERITY_LEVEL (name -> level), SEVERITY_NAMES (level -> name), SEVERITY_TEXT, EXPERT_SEVERITIES,
        EXPERT_GROUPS, ALERTS, SIGALGS, SIGALG_ORDER, KEYALGS, CURVES, ATTRIBUTES, SCHEME_NAMES, VERSIONS,
        VERSION_ORDER, SUITE_TOKENS, TOKEN_ORDER, CHECKS, CHECK_ORDER, MESSAGES (a tpost_messages
        catalogue), ROLES, SIDES, ROLE_TEXT (role key -> its words) and the functions slug(text),
        role_of(index, self_signed, sender) and algorithm_key(role, alg).
]]

local sub, concat = string.sub, table.concat
local floor = math.floor

local facts = {}

function facts.load(lib, TABLE_DIR, expert)
    local tsv, msglib = lib.tsv, lib.messages
    local fill = msglib.fill

    local function load_table(name, required, validate)
        return tsv.read(TABLE_DIR .. "/" .. name, required, validate)
    end

    local function is_oid(s) return string.match(s, "^%d+[%.%d]*%d$") ~= nil end
    local WEAKNESS = { [""] = true, warning = true, error = true }

    -- Severity names (findings' sev), their levels (tpost.severity) and expert severities: one vocabulary,
    -- which the tsharkpost package reads from the same table.
    local SEVERITY_LEVEL = {}    -- name -> level
    local SEVERITY_NAMES = {}    -- level -> name
    local EXPERT_SEVERITIES = {} -- name -> expert.severity value
    for _, row in ipairs(load_table("severities.tsv", { "level", "name", "expert_severity", "meaning", "source" },
            function(r)
                local level = tonumber(r.level)
                if not level or level < 1 or level > 255 or floor(level) ~= level then return "level must be 1-255" end
                if not string.match(r.name, "^[a-z]+$") then return "bad name " .. r.name end
                if not expert.severity[r.expert_severity] then
                    return "unknown expert severity " .. r.expert_severity
                end
            end)) do
        local level = tonumber(row.level)
        SEVERITY_LEVEL[row.name], SEVERITY_NAMES[level] = level, row.name
        EXPERT_SEVERITIES[row.name] = expert.severity[row.expert_severity]
    end
    for _, name in ipairs({ "note", "warning", "error" }) do
        if not SEVERITY_LEVEL[name] then
            error(("tsharkpost: %s/severities.tsv lacks severity %q"):format(TABLE_DIR, name), 0)
        end
    end
    local SEVERITY_TEXT          -- "1 note, 2 warning, 3 error", for the fields' descriptions
    do
        local levels, parts = {}, {}
        for level in pairs(SEVERITY_NAMES) do levels[#levels + 1] = level end
        table.sort(levels)
        for i, level in ipairs(levels) do parts[i] = level .. " " .. SEVERITY_NAMES[level] end
        SEVERITY_TEXT = concat(parts, ", ")
    end

    local ALERTS = {}            -- code -> {name, windows_name, meaning}
    for _, row in ipairs(load_table("tls_alerts.tsv", { "code", "name", "windows_name", "meaning", "source" },
            function(r)
                local code = tonumber(r.code)
                if not code or code < 0 or code > 255 or floor(code) ~= code then return "code must be 0-255" end
                if r.name == "" or r.meaning == "" or r.source == "" then
                    return "name, meaning and source are required"
                end
            end)) do
        ALERTS[tonumber(row.code)] = row
    end

    local SIGALGS = {}           -- dotted OID -> {name, label, hash, weakness, schemes = {hex...}}
    local SIGALG_ORDER = {}      -- the OIDs in the table's order
    for _, row in ipairs(load_table("signature_algorithms.tsv",
            { "oid", "name", "label", "hash", "signature", "tls_schemes", "weakness", "source" },
            function(r)
                if not is_oid(r.oid) then return "bad oid " .. r.oid end
                if r.label == "" then return "label is required" end
                if not WEAKNESS[r.weakness] then return "weakness must be empty, warning or error" end
                for code in string.gmatch(r.tls_schemes, "%S+") do
                    if not string.match(code, "^%x%x%x%x$") then return "bad TLS scheme " .. code end
                end
                if r.source == "" then return "source is required" end
            end)) do
        local schemes = {}
        for code in string.gmatch(row.tls_schemes, "%S+") do schemes[#schemes + 1] = tonumber(code, 16) end
        row.schemes = schemes
        SIGALGS[row.oid] = row
        SIGALG_ORDER[#SIGALG_ORDER + 1] = row.oid
    end

    local KEYALGS = {}           -- dotted OID -> {name, key_type}
    for _, row in ipairs(load_table("public_key_algorithms.tsv", { "oid", "name", "key_type", "source" },
            function(r)
                if not is_oid(r.oid) then return "bad oid " .. r.oid end
                if r.key_type == "" then return "key_type is required" end
            end)) do
        KEYALGS[row.oid] = row
    end

    local CURVES = {}            -- dotted OID -> {name, bits}
    for _, row in ipairs(load_table("ec_curves.tsv", { "oid", "name", "bits", "source" },
            function(r)
                if not is_oid(r.oid) then return "bad oid " .. r.oid end
                if not tonumber(r.bits) then return "bits must be a number" end
            end)) do
        row.bits = tonumber(row.bits)
        CURVES[row.oid] = row
    end

    local ATTRIBUTES = {}        -- dotted OID -> short name for RFC 4514 strings
    for _, row in ipairs(load_table("name_attributes.tsv", { "oid", "short_name", "source" },
            function(r) if not is_oid(r.oid) then return "bad oid " .. r.oid end end)) do
        ATTRIBUTES[row.oid] = row.short_name
    end

    local SCHEME_NAMES = {}      -- TLS SignatureScheme code -> name
    for _, row in ipairs(load_table("signature_schemes.tsv", { "code", "name", "source" },
            function(r) if not string.match(r.code, "^%x%x%x%x$") then return "bad code " .. r.code end end)) do
        SCHEME_NAMES[tonumber(row.code, 16)] = row.name
    end

    local VERSIONS = {}          -- protocol version code -> {name, weakness}
    local VERSION_ORDER = {}     -- the codes in the table's order
    for _, row in ipairs(load_table("protocol_versions.tsv", { "code", "name", "weakness", "source" },
            function(r)
                if not string.match(r.code, "^%x%x%x%x$") then return "bad code " .. r.code end
                if not WEAKNESS[r.weakness] then return "weakness must be empty, warning or error" end
            end)) do
        VERSIONS[tonumber(row.code, 16)] = row
        VERSION_ORDER[#VERSION_ORDER + 1] = tonumber(row.code, 16)
    end

    local SUITE_TOKENS = {}      -- cipher suite name token -> {weakness, reason, source}
    local TOKEN_ORDER = {}       -- the tokens in the table's order
    for _, row in ipairs(load_table("cipher_suite_weakness.tsv", { "token", "weakness", "reason", "source" },
            function(r)
                if r.weakness ~= "warning" and r.weakness ~= "error" then return "weakness must be warning or error" end
            end)) do
        SUITE_TOKENS[row.token] = row
        TOKEN_ORDER[#TOKEN_ORDER + 1] = row.token
    end

    local EXPERT_GROUPS = {
        security = expert.group.SECURITY, protocol = expert.group.PROTOCOL,
        sequence = expert.group.SEQUENCE, response_code = expert.group.RESPONSE_CODE,
        malformed = expert.group.MALFORMED, decryption = expert.group.DECRYPTION,
        debug = expert.group.DEBUG, reassemble = expert.group.REASSEMBLE,
    }

    local CHECKS = {}            -- check id -> row of checks.tsv (weight as a number)
    local CHECK_ORDER = {}
    for _, row in ipairs(load_table("checks.tsv", { "check", "severity", "severities", "group", "weight" },
            function(r)
                if not string.match(r.check, "^[a-z][a-z0-9_]*$") then return "bad check id " .. r.check end
                if not SEVERITY_LEVEL[r.severity] then return "severity must be a name from severities.tsv" end
                if not EXPERT_GROUPS[r.group] then return "unknown expert group " .. r.group end
                if not string.match(r.weight, "^%d+$") then return "weight must be a whole number" end
                for s in string.gmatch(r.severities, "%S+") do
                    if not SEVERITY_LEVEL[s] then return "unknown severity " .. s end
                end
            end)) do
        row.weight = tonumber(row.weight)
        CHECKS[row.check] = row
        CHECK_ORDER[#CHECK_ORDER + 1] = row.check
    end
    for _, check in ipairs({ "weak_signature", "weak_rsa_key", "weak_dsa_key", "weak_ec_key", "sigalg_not_offered",
            "chain_order", "name_mismatch", "old_protocol_version", "weak_cipher_suite", "weak_dh_group",
            "fatal_alert", "encrypted_alert", "silent_teardown", "malformed_certificate", "fingerprint_skipped",
            "chain_encrypted", "chain_reassembled", "chain_not_decoded", "state_limit", "plugin_error",
            "expired_certificate", "not_yet_valid_certificate", "quic_crypto_error" }) do
        if not CHECKS[check] then
            error(("tsharkpost: %s/checks.tsv lacks check %q"):format(TABLE_DIR, check), 0)
        end
    end

    -- Message templates (messages.tsv): every sentence the plugin shows, shared with the tsharkpost package.
    local MESSAGES = msglib.catalogue(load_table("messages.tsv", { "id", "text" }, function(r)
        if not string.match(r.id, "^[a-z][a-z0-9_]*[a-z0-9_.]*$") then return "bad message id " .. r.id end
        if r.text == "" then return "text is required" end
    end))

    -- Every placeholder a template the plugin uses may name (each is filled by the code below).
    local PLACEHOLDERS = {}
    for name in string.gmatch("index role name cert algorithm sigalg oid list bits limit curve next issuer subject sni "
            .. "names version source suite code reason side frame meaning how delay chain bytes error count diagnosis "
            .. "not_before not_after when phrase",
            "%S+") do
        PLACEHOLDERS[name] = true
    end
    -- Message variants each check looks up before its severity, by form; `every` when one of them is always given.
    local MESSAGE_VARIANTS = {
        sigalg_not_offered = { text = { "tls13" }, why = { "tls13" } },
        silent_teardown = { text = { "fin", "rst", every = true } },
        fatal_alert = { why = { "unassigned" } },
        quic_crypto_error = { why = { "unassigned" } },
        expired_certificate = { text = { "still_clock" }, why = { "still_clock" } },
        not_yet_valid_certificate = { text = { "still_clock" }, why = { "still_clock" } },
    }
    -- Forms every check needs; expert_each is optional (then each value has the generic expert text).
    local MESSAGE_FORMS = { "phrase", "text", "why", "expert" }
    local FRAME_MESSAGES = { "cert", "role.leaf", "role.intermediate", "role.root", "role.client", "phrase.client",
        "name.none", "side.peer",
        "list.more", "list.none", "curve.unnamed", "chain.in_frame", "chain.diagnosis", "chain.clean", "diagnosis.more",
        "reassembly.over_limit", "reassembly.cut_short", "reassembly.busy" }

    do
        local function need(id, template)
            if not template then
                error(("tsharkpost: %s/messages.tsv lacks message %s"):format(TABLE_DIR, id), 0)
            end
            for _, name in ipairs(msglib.placeholders(template)) do
                if not PLACEHOLDERS[string.lower(sub(name, 1, 1)) .. sub(name, 2)] then
                    error(("tsharkpost: %s/messages.tsv: message %s names an unknown placeholder {%s}"):format(
                        TABLE_DIR, id, name), 0)
                end
            end
        end
        for _, id in ipairs(FRAME_MESSAGES) do need(id, MESSAGES:get(id)) end
        for _, check in ipairs(CHECK_ORDER) do
            for sev in string.gmatch(CHECKS[check].severities, "%S+") do
                for _, form in ipairs(MESSAGE_FORMS) do
                    local variants = (MESSAGE_VARIANTS[check] or {})[form] or {}
                    if not variants.every then
                        need(check .. "." .. sev .. "." .. form, MESSAGES:pick(check, form, { sev }))
                    end
                    for _, variant in ipairs(variants) do
                        need(check .. "." .. variant .. "." .. form, MESSAGES:pick(check, form, { variant, sev }))
                    end
                end
                local each = MESSAGES:pick(check, "expert_each", { sev })
                if each then need(check .. "." .. sev .. ".expert_each", each) end
            end
        end
    end

    -- A certificate's role in its chain; a client certificate's role says so ("client leaf": role.client).
    local ROLES = { "leaf", "intermediate", "root", "client_leaf", "client_intermediate", "client_root" }
    local SIDES = { "client", "server" }

    local ROLE_TEXT = {}         -- role key -> its words, e.g. client_leaf -> "client leaf"
    for _, role in ipairs(ROLES) do
        local own = string.match(role, "^client_(.*)$")
        ROLE_TEXT[role] = own and fill(MESSAGES:get("role.client"), { role = MESSAGES:get("role." .. own) })
            or MESSAGES:get("role." .. role)
    end

    local function slug(text)
        return (string.gsub(string.gsub(string.lower(text), "[^a-z0-9]+", "_"), "^_*(.-)_*$", "%1"))
    end

    local function role_of(index, self_signed, sender)
        local role = index == 0 and "leaf" or self_signed and "root" or "intermediate"
        return sender == "client" and "client_" .. role or role
    end

    local function algorithm_key(role, alg) return role .. "." .. slug(alg.label) end

    return {
        TABLE_DIR = TABLE_DIR,
        SEVERITY_LEVEL = SEVERITY_LEVEL, SEVERITY_NAMES = SEVERITY_NAMES, SEVERITY_TEXT = SEVERITY_TEXT,
        EXPERT_SEVERITIES = EXPERT_SEVERITIES, EXPERT_GROUPS = EXPERT_GROUPS,
        ALERTS = ALERTS, SIGALGS = SIGALGS, SIGALG_ORDER = SIGALG_ORDER, KEYALGS = KEYALGS, CURVES = CURVES,
        ATTRIBUTES = ATTRIBUTES, SCHEME_NAMES = SCHEME_NAMES, VERSIONS = VERSIONS, VERSION_ORDER = VERSION_ORDER,
        SUITE_TOKENS = SUITE_TOKENS, TOKEN_ORDER = TOKEN_ORDER, CHECKS = CHECKS, CHECK_ORDER = CHECK_ORDER,
        MESSAGES = MESSAGES, ROLES = ROLES, SIDES = SIDES, ROLE_TEXT = ROLE_TEXT,
        slug = slug, role_of = role_of, algorithm_key = algorithm_key,
    }
end

return facts
