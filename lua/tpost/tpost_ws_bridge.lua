--[[
tpost_ws_bridge.lua: the bridge's packet facts (tpost.pkt, preference "bridge"), one line per frame that matters
to a connection record, TCP, DTLS or QUIC, with the counts they carry. Part of the Wireshark plugin
lua/tsharkpost.lua, which builds it in its section 10, while Wireshark loads the plugin.

  bridge.new(deps)  creates the extractors of the QUIC and UDP fields the lines read and returns
                    {line = function(pinfo, num, noted) (the frame's line, whether it is the first application
                    data of its direction, and a DTLS 1.3 datagram's ciphertext bytes; nil for a frame that
                    matters to no record), reset = function() (tpost.init: forget the counts)}
  deps: settings (max_connections), X and KINDS (the plugin's extractors, section 6), dtls13_bytes
  (tpost_frame's: the bytes of a datagram's DTLS 1.3 records), the plugin's per-frame field reads (section 9:
  tcp_value, tls_values, values_of, last_of, list_of), PT_UDP (pinfo.port_type of UDP).

Wireshark runs this file on its own too (it runs every .lua under its plugins folder): loaded, it only returns a
table of functions and touches no global. Wireshark's API (Field) is used only inside new and the functions it
returns, which the plugin calls. Lua 5.2 to 5.4.
]]

local fmt, concat, floor = string.format, table.concat, math.floor

local bridge = {}

function bridge.new(deps)
    local settings, X, KINDS, dtls13_bytes = deps.settings, deps.X, deps.KINDS, deps.dtls13_bytes
    local tcp_value, tls_values, values_of, last_of, list_of = deps.tcp_value, deps.tls_values, deps.values_of,
        deps.last_of, deps.list_of
    local PT_UDP = deps.PT_UDP

    local bridge_bytes, bridge_queue, bridge_first
    local function reset()
        -- bridge_bytes: tcp.stream -> endpoint -> application data bytes it sent so far (bounded FIFO, bridge_queue)
        -- bridge_first: frame number -> true when it carries the first application data of its direction
        bridge_bytes, bridge_queue, bridge_first = {}, { head = 1, tail = 0 }, {}
    end
    reset()

    -- The bridge (preference "bridge"): one compact line of packet facts per TCP frame that matters to a
    -- connection record: SYN, FIN or RST, any TLS record other than application data, the first application
    -- data of each direction, and any frame with findings. With it the tsharkpost post-processor asks
    -- tshark for neither the IP/TCP trees nor the application data frames, the bulk of any output. Plain
    -- ACKs and later application data only add to the counts: formatting a line and a tree item for each
    -- of them was most of the plugin's cost on bulk captures. Byte counts are summed on the first visit
    -- only (pinfo.visited), so a later visit shows the final count, never a double one.
    local function bridge_counts(stream)
        local counts = bridge_bytes[stream]
        if counts then return counts end
        local queue = bridge_queue
        while queue.tail - queue.head + 1 >= math.max(1, settings.max_connections) do
            bridge_bytes[queue[queue.head]] = nil
            queue[queue.head] = nil
            queue.head = queue.head + 1
        end
        counts = {}
        bridge_bytes[stream] = counts
        queue.tail = queue.tail + 1
        queue[queue.tail] = stream
        return counts
    end

    -- Application data bytes of the frame's TLS records, and whether it has a record of another type.
    local function application_bytes()
        local lengths = list_of(X.tls_record_len())
        if not lengths then return 0, X.tls_record() ~= nil end   -- SSL 2.0's encrypted records: not counted
        local types = tls_values("ct")
        if #types < #lengths then   -- TLS 1.3 records without keys follow any plaintext record of the frame
            local plain, opaque = types, tls_values("opaque")
            types = {}
            for i = 1, #plain do types[i] = plain[i] end
            for i = #opaque - (#lengths - #plain) + 1, #opaque do
                if i >= 1 then types[#types + 1] = opaque[i] end
            end
        end
        local bytes, other = 0, false
        for i, fi in ipairs(lengths) do
            if types[i] == 23 then bytes = bytes + fi.value else other = true end
        end
        return bytes, other
    end

    -- tcp.flags % 32 -> the letters of SYN, ACK, FIN and RST in that order, "-" for none of them.
    local FLAG_LETTERS = {}
    for f = 0, 31 do
        local letters = (floor(f / 2) % 2 == 1 and "S" or "") .. (floor(f / 16) % 2 == 1 and "A" or "")
            .. (f % 2 == 1 and "F" or "") .. (floor(f / 4) % 2 == 1 and "R" or "")
        FLAG_LETTERS[f] = letters ~= "" and letters or "-"
    end

    -- tcp.flags % 32 values with SYN, FIN or RST set: such a frame gets a line whatever it carries.
    local EDGE_FLAGS = {}
    for f = 0, 31 do EDGE_FLAGS[f] = f % 8 ~= 0 end

    local udp_line   -- the line of a DTLS or QUIC frame (below, with the QUIC and DTLS extractors)

    -- The frame's line and whether it is the first application data of its direction (and, for a DTLS 1.3
    -- datagram, its ciphertext bytes); nil for a frame that matters to no record (`noted`: the frame has findings
    -- or certificate summaries).
    local function bridge_line(pinfo, num, noted)
        local stream = tcp_value("tcp_stream")
        if not stream then return udp_line(pinfo, num, noted) end
        local flags = (tcp_value("tcp_flags") or 0) % 32
        local counts = bridge_counts(stream)
        local bytes, other = application_bytes()
        -- No bytes to count and nothing to say (a plain ACK, the bulk of most captures): no string built.
        if bytes == 0 and not (noted or other or EDGE_FLAGS[flags]) then return nil end
        -- "address port" of both ends, kept by port (counts.ends) when the stream's two ports differ
        local sport, dport = pinfo.src_port, pinfo.dst_port
        local ends = counts.ends
        local src, dst
        if ends and sport ~= dport and ends[sport] then
            src, dst = ends[sport], ends[dport]
        else
            src = tostring(pinfo.src) .. " " .. tostring(sport)
            dst = tostring(pinfo.dst) .. " " .. tostring(dport)
            if sport ~= dport then counts.ends = { [sport] = src, [dport] = dst } end
        end
        if bytes > 0 and not pinfo.visited then
            if not counts[src] then bridge_first[num] = true end
            counts[src] = (counts[src] or 0) + bytes
            counts.last_frame, counts.last_time = num, pinfo.abs_ts
        end
        local first = bridge_first[num]
        if not (noted or other or first or EDGE_FLAGS[flags]) then return nil end
        return fmt("%d %s %s %s %d %d %d %.9f", stream, src, dst, FLAG_LETTERS[flags],
            counts[src] or 0, counts[dst] or 0, counts.last_frame or 0, counts.last_time or 0), first
    end

    -- The bridge's line for a UDP frame of a DTLS or QUIC flow that matters to its record, nil for any other frame
    -- (DNS and the like get nothing). Its stream is udp.stream after the transport's letter, "d" (DTLS) or "q"
    -- (QUIC), where TCP's is a bare number; in place of TCP's flags, letters TCP never uses: "o" a 1-RTT (short
    -- header) QUIC packet, "h" QUIC's HANDSHAKE_DONE, "e" a Handshake packet tshark could not decrypt (no key
    -- log: the server's holds its chain), "x" a CONNECTION_CLOSE, "a" an application close, "r" a Retry, "n" a
    -- Version Negotiation, then ":" and the close's error code when tshark read one, then "/" and the versions (a
    -- Version Negotiation's list, else the first long header's version); "-" for none. A DTLS frame has a line
    -- for any record (application data too, as a TCP segment with data has: the flow's last line carries its byte
    -- totals), QUIC's for handshake messages (in CRYPTO frames), HANDSHAKE_DONE, closes, Retry and Version
    -- Negotiation; both for the first frame of each direction and the first 1-RTT packet (QUIC) of each. DTLS
    -- application data bytes are counted as TCP's (DTLS 1.3's ciphertext as TLS 1.3's without keys); QUIC's stay 0
    -- (its streams are encrypted). A DTLS line's flags are "^" when the flow's first datagram came from the other
    -- side (its receiver), else "-".
    do
        local quic_form = Field.new("quic.header_form")
        local quic_frame_type = Field.new("quic.frame_type")
        local quic_close_code = Field.new("quic.cc.error_code")   -- a transport close's (frame type 0x1c)
        local quic_app_close_code = Field.new("quic.cc.error_code.app")   -- an application close's (0x1d)
        local quic_version = Field.new("quic.version")
        local quic_supported = Field.new("quic.supported_version")
        local quic_packet_type = Field.new("quic.long.packet_type")
        -- QUIC v2 (RFC 9369 3.2) numbers its long header types anew and tshark shows them in a field of their own
        local quic_packet_type_v2 = Field.new("quic.long.packet_type_v2")
        local quic_undecrypted = Field.new("quic.remaining_payload")   -- the payload of a packet not decrypted
        local RETRY = 3   -- a Retry's long header packet type (QUIC v1, RFC 9000 17.2.5; v2's read as v1's)
        local HANDSHAKE_PACKET = 2   -- a Handshake packet's (RFC 9000 17.2.4)
        local MAX_VERSIONS = 8   -- a Version Negotiation packet's versions kept (the list is the sender's to make long)
        local dtls_len = Field.new("dtls.record.length")
        local udp_payload = Field.new("data.data")   -- a datagram no dissector took: DTLS 1.3's ciphertext for one
        local CLOSES = { [0x1c] = true, [0x1d] = true }   -- CONNECTION_CLOSE (transport, application)
        local HANDSHAKE_DONE = 0x1e
        local APPLICATION_CLOSE = 0x1d

        local function number(v)
            return tonumber(tostring(v))
        end

        -- The frame's long headers as {offset, v1 type}: a v2 type (Initial 1, 0-RTT 2, Handshake 3, Retry 0) as
        -- v1's of the same packet (Initial 0, 0-RTT 1, Handshake 2, Retry 3), in the datagram's order
        local function long_types()
            local found = {}
            for _, fi in ipairs({ quic_packet_type() }) do
                found[#found + 1] = { fi.offset, number(fi.value) }
            end
            for _, fi in ipairs({ quic_packet_type_v2() }) do
                local kind = number(fi.value)
                found[#found + 1] = { fi.offset, kind and (kind + 3) % 4 }
            end
            return found
        end

        -- Whether a Handshake packet of the frame failed to decrypt: the failure belongs to the packet whose long
        -- header type precedes it (a datagram may hold an Initial, a Handshake and a 1-RTT packet).
        local function handshake_undecrypted()
            local failures = { quic_undecrypted() }
            if #failures == 0 then return false end
            local types = long_types()
            for _, failure in ipairs(failures) do
                local at, kind, from = failure.offset, nil, -1
                for _, header in ipairs(types) do
                    if header[1] <= at and header[1] > from then kind, from = header[2], header[1] end
                end
                if kind == HANDSHAKE_PACKET then return true end
            end
            return false
        end

        -- A field's integer value (a UInt64 for 64-bit fields) as decimal digits, "0" for anything else.
        local function decimal(v)
            local text = tostring(v)
            return string.match(text, "^%d+$") and text or "0"
        end

        -- letter, flags, application data bytes, whether the frame matters whatever it is, whether it is a 1-RTT
        -- QUIC packet, and a DTLS 1.3 datagram's ciphertext bytes (for the tpost.tls line: one encrypted record)
        local function udp_facts()
            local cts = values_of(KINDS.dtls.record_ct())
            if #cts > 0 then
                local lengths = values_of(dtls_len())
                local bytes, other = 0, false
                for i, ct in ipairs(cts) do
                    if ct == 23 then bytes = bytes + (lengths[i] or 0) else other = true end
                end
                return "d", "-", bytes, other, false
            end
            local forms = values_of(quic_form())
            if #forms == 0 then
                -- A datagram of a DTLS flow that tshark left undissected: DTLS 1.3 ciphertext, counted as TLS 1.3's
                -- encrypted records over TCP are (application data as far as anyone without keys can tell).
                local payload, stream = udp_payload(), last_of(X.udp_stream)
                if not (payload and stream and bridge_bytes["d" .. stream.value]) then return nil end
                local bytes = dtls13_bytes(payload.range:raw())   -- its DTLS 1.3 ciphertext records (tpost_frame)
                if not bytes then return nil end
                return "d", "-", bytes, false, false, bytes
            end
            local short = false
            for _, form in ipairs(forms) do
                if number(form) == 0 then short = true end
            end
            local done, close, application = false, false, false
            for _, fi in ipairs({ quic_frame_type() }) do
                local t = number(fi.value)
                if t == HANDSHAKE_DONE then
                    done = true
                elseif CLOSES[t] and not close then   -- the frame's first close says which kind it is
                    close, application = true, t == APPLICATION_CLOSE
                end
            end
            local retry, initial = false, false
            for _, header in ipairs(long_types()) do
                local kind = header[2]
                if kind == RETRY then retry = true elseif kind == 0 then initial = true end
            end
            -- The versions: a Version Negotiation packet's (version 0) list, else the first long header's version
            local version, versions = quic_version(), {}
            if version and number(version.value) == 0 then
                for i, fi in ipairs({ quic_supported() }) do
                    if i > MAX_VERSIONS then break end
                    versions[i] = decimal(fi.value)
                end
            elseif version then
                versions[1] = decimal(version.value)
            end
            local negotiation = version ~= nil and number(version.value) == 0
            -- The error code of the close that says the kind: tshark shows an application close's in a field of its own
            local code = quic_close_code()
            if application then code = quic_app_close_code() end
            local sealed = handshake_undecrypted()
            local flags = (short and "o" or "") .. (done and "h" or "") .. (sealed and "e" or "")
                .. ((close or code) and "x" or "") .. (application and "a" or "") .. (retry and "r" or "")
                .. (negotiation and "n" or "")
            -- The code as all its digits: a 62-bit code through a Lua number would print as "1e+14" under Lua 5.2.
            if code then flags = flags .. ":" .. decimal(code.value) end
            if #versions > 0 then flags = flags .. "/" .. concat(versions, ",") end
            -- Every Initial packet gets a line (the handshake's first datagrams, few): a client's probes that no server
            -- answers are its evidence
            local other = done or sealed or close or retry or negotiation or initial or code ~= nil
                or KINDS.tls.hs_type() ~= nil
            return "q", flags ~= "" and flags or "-", 0, other, short
        end

        -- udp.stream -> "address port" of its first datagram's sender, whatever the datagram was (Zeek's originator:
        -- a WebRTC DTLS server may speak first, in STUN); a FIFO of at most max_connections flows, made anew with
        -- each reading's bridge_bytes (reset).
        local openers, openers_for
        local function note_opener(stream, pinfo)
            if openers_for ~= bridge_bytes then openers, openers_for = { head = 1, tail = 0 }, bridge_bytes end
            if openers[stream] then return end
            while openers.tail - openers.head + 1 >= math.max(1, settings.max_connections) do
                openers[openers[-openers.head]] = nil
                openers[-openers.head] = nil
                openers.head = openers.head + 1
            end
            openers[stream] = tostring(pinfo.src) .. " " .. tostring(pinfo.src_port)
            openers.tail = openers.tail + 1
            openers[-openers.tail] = stream   -- the queue at negative indexes, apart from the streams (0 and up)
        end

        function udp_line(pinfo, num, noted)
            if pinfo.port_type ~= PT_UDP then return nil end
            local stream = last_of(X.udp_stream)
            if not stream then return nil end
            note_opener(stream.value, pinfo)
            local letter, flags, bytes, other, short, ciphertext = udp_facts()
            if not letter then return nil end
            local counts = bridge_counts(letter .. stream.value)
            local src = tostring(pinfo.src) .. " " .. tostring(pinfo.src_port)
            local dst = tostring(pinfo.dst) .. " " .. tostring(pinfo.dst_port)
            -- DTLS: "^" when the flow was opened by the other side (Zeek then flips its row: "^" in ssl_history)
            if letter == "d" and openers[stream.value] == dst then flags = "^" end
            if not pinfo.visited then
                -- bridge_first[num]: true, the first application data (1-RTT packet) of its direction; false, the
                -- direction's first frame otherwise
                if not counts["f " .. src] then
                    counts["f " .. src] = true
                    bridge_first[num] = false
                end
                if bytes > 0 or short then
                    if not counts["o " .. src] then bridge_first[num] = true end
                    counts["o " .. src] = true
                    counts[src] = (counts[src] or 0) + bytes
                    counts.last_frame, counts.last_time = num, pinfo.abs_ts
                end
            end
            local mark = bridge_first[num]
            -- Application data bytes get a line, as over TCP: the last line of a flow carries its totals (no FIN here)
            if not (noted or other or mark ~= nil or bytes > 0) then return nil end
            return fmt("%s%d %s %s %s %d %d %d %.9f", letter, stream.value, src, dst, flags,
                counts[src] or 0, counts[dst] or 0, counts.last_frame or 0, counts.last_time or 0), mark == true,
                ciphertext
        end
    end

    return { line = bridge_line, reset = reset }
end

return bridge
