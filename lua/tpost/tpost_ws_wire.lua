--[[
tpost_ws_wire.lua: the frame's TLS records as one line (tpost.tls, the wire preference), read from Wireshark: the
adapter between the frame's fields and bytes and tpost_wire.lua / tpost_wire_bytes.lua, which build the line. Part
of the Wireshark plugin lua/tsharkpost.lua, which builds it in its section 11, while Wireshark loads the plugin
(the extractors of every field the line carries are created then).

  wire_line = ws_wire.new(deps)   wire_line(udp, ciphertext): the frame's line, or nil; `udp` is the bridge
                                  line's transport letter ("d" DTLS, "q" QUIC), nil over TCP; `ciphertext` a
                                  DTLS 1.3 datagram's ciphertext bytes, as the bridge read them
  deps: wire (tpost_wire), wire_bytes (tpost_wire_bytes), conn_of (tcp.stream -> the connection's state, whose
  version and suite the analysis read, or nil), tcp_value, tls_values and values_of (the plugin's per-frame field
  reads, section 9).

Wireshark runs this file on its own too (it runs every .lua under its plugins folder): loaded, it only returns a
table of functions and touches no global. Wireshark's API (Field, all_field_infos) is used only inside new and the
function it returns, which the plugin calls. Lua 5.2 to 5.4.
]]

local ws_wire = {}

function ws_wire.new(deps)
    local wire, wire_bytes, conn_of = deps.wire, deps.wire_bytes, deps.conn_of
    local tcp_value, tls_values, values_of = deps.tcp_value, deps.tls_values, deps.values_of

    local wire_fields = {}   -- field name -> extractor, for every field tpost.tls carries
    for name in pairs(wire.FIELDS) do wire_fields[name] = Field.new(name) end
    local function wire_get(name)
        return { wire_fields[name]() }
    end
    -- A record's bytes (only its 5-byte header unless whole) and its size
    local function record_bytes(fi, whole)
        local range = fi.range
        if whole then
            local s = range:raw()
            return s, #s
        end
        local size = range:len()
        return range:raw(0, math.min(size, 5)), size
    end
    -- The values of a carried field in the frame (the record types as the analysis read them)
    local function wire_values(name)
        if name == "tls.record.content_type" then return tls_values("ct") end
        if name == "tls.record.opaque_type" then return tls_values("opaque") end
        return values_of(wire_fields[name]())
    end
    -- The version and suite the frame's connection chose, as the analysis read its ServerHello
    local function session()
        local stream = tcp_value("tcp_stream")
        local conn = stream and conn_of(stream)
        if conn then return conn.version, conn.suite end
    end
    -- The frame's line read from its records' bytes, or nil (tpost_wire_bytes.lua)
    local function line_from_bytes(records)
        return wire_bytes.line(wire, records, record_bytes, wire_values, wire_get, session)
    end
    -- DTLS's twins of those fields, extracted so that tshark builds them into the tree wire.udp_line reads (the
    -- names TLS has and DTLS lacks are left out)
    for name in pairs(wire.FIELDS) do
        local ok, field = pcall(Field.new, "d" .. name)
        if ok then wire_fields["d" .. name] = field end
    end
    for name in pairs(wire.DTLS_FRAGMENT_FIELDS) do wire_fields[name] = Field.new(name) end
    -- The frame's TLS records (only on frames with a line): from the extractors of the fields it carries,
    -- or, when a field has no place among the frame's records (a message reassembled from several records),
    -- from every field of the frame's tree. udp: the bridge line's transport letter of a UDP frame (nil over
    -- TCP); ciphertext: a DTLS 1.3 datagram's ciphertext bytes, as the bridge read them.
    local function wire_line(udp, ciphertext)
        if udp and ciphertext then   -- DTLS 1.3 ciphertext: one encrypted record, as TLS 1.3's reads
            return "R o23 l" .. ciphertext
        end
        if udp then return wire.udp_line({ all_field_infos() }, udp) end
        local line = wire.structured(wire_get, line_from_bytes)
        if line == false then line = wire.line({ all_field_infos() }) end
        return line
    end

    return wire_line
end

return ws_wire
