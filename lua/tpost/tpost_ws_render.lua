--[[
tpost_ws_render.lua: the plugin's tree. What the core found in a frame (findings, certificate summaries) as tpost
items, the same on the first visit and on every revisit, their expert items, and the bridge's items (tpost.pkt,
tpost.tls). Part of the Wireshark plugin lua/tsharkpost.lua, which builds it in its section 11, while Wireshark
loads the plugin.

  rendering.new(deps)  returns {render = function(out, tvb, tree, fetched) (the frame's tpost subtree, returned),
                    add_experts = function(tvb, pinfo, tree) (the queued expert items, through the "tsharkpost"
                    protocol), render_bridge = function(root, tvb, tree, line, first, ciphertext) (tpost.pkt
                    and, with the wire preference, tpost.tls; the arguments after tree are the bridge line's)}
  deps: tpost (the protocol), F (its fields), EXPERTS and pending_experts (section 5: the expert fields, and the
  queue the dissector flushes), settings (bridge, wire), SEVERITY_LEVEL (tpost_facts), diagnosis_of and
  VALUE_BYTES (tpost_checks), cut (tpost_messages), lines (tpost_lines), wire_line (tpost_ws_wire: the frame's
  tpost.tls line).

Wireshark runs this file on its own too (it runs every .lua under its plugins folder): loaded, it only returns a
table of functions and touches no global. Wireshark's API (the tree, Dissector) is used only inside the functions
new returns, which the plugin calls. Lua 5.2 to 5.4.
]]

local sub, fmt, concat = string.sub, string.format, table.concat

local rendering = {}

function rendering.new(deps)
    local tpost, F, EXPERTS, pending_experts = deps.tpost, deps.F, deps.EXPERTS, deps.pending_experts
    local settings, SEVERITY_LEVEL, diagnosis_of, VALUE_BYTES = deps.settings, deps.SEVERITY_LEVEL,
        deps.diagnosis_of, deps.VALUE_BYTES
    local cut, lines, wire_line = deps.cut, deps.lines, deps.wire_line

    -- The bytes an anchor ({field = extractor, k = position}) points at in this dissection;
    -- `fetched` keeps each extractor's instances and each anchor's range for the frame.
    local function anchor_range(fetched, anchor)
        local range = fetched[anchor]
        if range then return range end
        local field = anchor.field
        if not field then return nil end    -- a certificate the core reassembled (tpost_frame)
        local list = fetched[field]
        if not list then
            list = { field() }
            fetched[field] = list
        end
        local fi = list[anchor.k]
        range = fi and fi.range
        fetched[anchor] = range
        return range
    end

    local function sub_range(base, span)
        if not base then return nil end
        if not span then return base end
        local off, len = span[1], span[2]
        if off < 0 or len <= 0 or off + len > base:len() then return base end
        return base:range(off, len)
    end

    -- One child of a finding or certificate item, on `range` when there is one; nothing for nil.
    local function add_child(item, field, range, value)
        if value == nil then return end
        if range then item:add(field, range, value) else item:add(field, value) end
    end


    local SEVERITY_TITLES = {}   -- "error" -> "Error": how a finding's label starts
    for name in pairs(SEVERITY_LEVEL) do SEVERITY_TITLES[name] = string.upper(sub(name, 1, 1)) .. sub(name, 2) end

    local function render_finding(root, fetched, f)
        local anchor = f.cert or f.hs or f.alert
        local range = sub_range(anchor and anchor_range(fetched, anchor), f.range)
        local check = f.check
        local label = SEVERITY_TITLES[f.sev] .. ": " .. f.msg
        local item
        if range then item = root:add(F.finding, range, check, label) else item = root:add(F.finding, check, label) end
        add_child(item, F.check, range, check)
        add_child(item, F.severity, range, SEVERITY_LEVEL[f.sev])
        add_child(item, F.message, range, f.msg)
        add_child(item, F.why, range, f.why)
        add_child(item, F.offered, range, f.offered)
        add_child(item, F.chain, range, f.chain)
        if f.cert then add_child(item, F.cert_index, range, f.cert.index) end
        if f.related then add_child(item, F.related_frame, range, f.related) end
        if f.alert_code then add_child(item, F.alert_code, range, f.alert_code) end
        if f.alert_name then add_child(item, F.alert_name, range, f.alert_name) end
        if f.alert_sender then add_child(item, F.alert_sender, range, f.alert_sender) end
        -- With the bridge, the finding again as one line: what summarize reads from tshark's -T fields.
        if settings.bridge then root:add(F.findline, lines.finding(f, SEVERITY_LEVEL[f.sev])) end
        local experts = EXPERTS[check][f.sev]
        pending_experts[#pending_experts + 1] = { item, f.expert and experts[f.expert] or experts.generic, f.msg }
    end

    -- A certificate's labels and lists as its summary shows them, built once per parsed certificate
    -- (certificate entries share their info) and kept with it: rendering a chain seen before builds no string.
    -- A value that may be long (a DN, a SAN list) keeps its whole self in its field, while its label shows
    -- the first VALUE_BYTES of it, so that the label stays under Wireshark's 240-byte limit.
    local function cert_texts(info)
        local texts = info.texts
        if texts then return texts end
        texts = {}
        local function label(key, title, value)
            if value ~= nil then texts[key] = title .. ": " .. cut(value, VALUE_BYTES) end
        end
        label("subject", "Subject", info.subject)
        label("cn", "Subject CN", info.cn)
        label("issuer", "Issuer", info.issuer)
        label("serial", "Serial number", info.serial)
        if info.san and #info.san > 0 then
            texts.san = concat(info.san, ",")
            label("san_label", "SAN dNSNames", texts.san)
        end
        if info.key_usage then texts.key_usage = concat(info.key_usage, ",") end
        info.texts = texts
        return texts
    end

    local function render_cert(root, fetched, cert)
        local info = cert.info
        -- With the bridge (tsharkpost's own runs) the summary carries no bytes: PDML would print the
        -- whole DER in hex for it, the largest part of the output the post-processor never reads.
        local base = not settings.bridge and anchor_range(fetched, cert) or nil
        local title = info.subject or "(unparsed)"
        local label = cert.label
        if not label then
            label = fmt("Certificate #%d from %s: %s", cert.index, cert.sender, cut(title, VALUE_BYTES - 40))
            cert.label = label
        end
        local item
        if base then item = root:add(F.cert, base, title, label) else item = root:add(F.cert, title, label) end
        item:add(F.cert_index, cert.index)
        item:add(F.cert_sender, cert.sender)
        -- With the bridge, the summary again as one line: what summarize reads from tshark's -T fields.
        if settings.bridge then root:add(F.certline, lines.certificate(cert)) end
        if info.error then return end
        local texts = cert_texts(info)
        -- Only the algorithm points at its bytes: summaries stay small in PDML (the
        -- certificate item itself spans the whole DER for the GUI's byte view).
        local sigalg = info.r_sigalg and sub_range(base, info.r_sigalg)
        if texts.subject then item:add(F.cert_subject, info.subject, texts.subject) end
        if texts.cn then item:add(F.cert_subject_cn, info.cn, texts.cn) end
        if texts.issuer then item:add(F.cert_issuer, info.issuer, texts.issuer) end
        if texts.serial then item:add(F.cert_serial, info.serial, texts.serial) end
        add_child(item, F.cert_sigalg_oid, sigalg, info.sig_oid)
        add_child(item, F.cert_sigalg_name, sigalg, info.sig_name)
        add_child(item, F.cert_key_type, nil, info.key_type)
        add_child(item, F.cert_key_alg, nil, info.key_alg)
        add_child(item, F.cert_key_bits, nil, info.key_bits)
        add_child(item, F.cert_key_curve, nil, info.curve)
        add_child(item, F.cert_not_before, nil, info.not_before)
        add_child(item, F.cert_not_after, nil, info.not_after)
        if texts.san then item:add(F.cert_san, texts.san, texts.san_label) end
        add_child(item, F.cert_sha256, nil, info.sha256)
        add_child(item, F.cert_sha1, nil, info.sha1)
        add_child(item, F.cert_self_signed, nil, info.self_signed)
        if info.basic_constraints then
            add_child(item, F.cert_ca, nil, info.ca)
            add_child(item, F.cert_path_len, nil, info.path_len)
        end
        if texts.key_usage then item:add(F.cert_key_usage, texts.key_usage) end
    end

    -- tsharkpost's own runs (bridge and wire on) read only the lines: each finding and certificate summary as
    -- one line, no subtree, no expert item (a third of the plugin's tree work in summarize's run).
    local function render_lines(out, tvb, tree)
        local root = tree:add(tpost, tvb())
        for _, item in ipairs(out) do
            if not item.summary then root:add(F.findline, lines.finding(item, SEVERITY_LEVEL[item.sev])) end
        end
        for _, item in ipairs(out) do
            if item.summary then root:add(F.certline, lines.certificate(item)) end
        end
        return root
    end

    -- `fetched`: what the analysis of this very dissection fetched, or nil on a revisit.
    local function render(out, tvb, tree, fetched)
        if settings.bridge and settings.wire then return render_lines(out, tvb, tree) end
        local root = tree:add(tpost, tvb())
        fetched = fetched or {}
        local highest = 0
        for _, item in ipairs(out) do
            if not item.summary then highest = math.max(highest, SEVERITY_LEVEL[item.sev]) end
        end
        local diagnosis = diagnosis_of(out)
        if diagnosis then root:add(F.diagnosis, diagnosis) end
        if highest > 0 then root:add(F.max_severity, highest) end
        for _, item in ipairs(out) do
            if not item.summary then render_finding(root, fetched, item) end
        end
        for _, item in ipairs(out) do
            if item.summary then render_cert(root, fetched, item) end
        end
        return root
    end

    -- Adds the expert items rendering queued, through the "tsharkpost" protocol (see tsharkpost.lua section 5);
    -- whatever it did not add (the protocol disabled in Enabled Protocols) is added here, under tpost's name.
    local expert_handle
    local function add_experts(tvb, pinfo, tree)
        expert_handle = expert_handle or Dissector.get("tsharkpost")
        expert_handle:call(tvb, pinfo, tree)
    end

    local function render_bridge(root, tvb, tree, line, first, ciphertext)
        root = root or tree:add(tpost, tvb())
        root:add(F.pkt, line)
        if first then root:add(F.pkt_first_data, true) end
        if settings.wire then
            local ok, records = pcall(wire_line, string.match(line, "^(%a)"), ciphertext)
            if ok and records then root:add(F.tls, records) end
        end
    end

    return { render = render, add_experts = add_experts, render_bridge = render_bridge }
end

return rendering
