--[[
Test driver: the plugin's core (lua/tpost/tpost_facts, tpost_checks, tpost_state, tpost_frame) under plain Lua,
with no Wireshark, fed one TCP connection's frames as plain values (tests/test_plugin_modules.py runs it).

    lua5.x tests/lua/core.lua LUA_DIR < events

Events, one per line, tab-separated, values in hex where they are bytes:
    F num time src dst flags   a frame (src and dst "address/port", flags tcp.flags as a number)
    R ct                       one of its TLS records' content type
    H hex                      one of its handshake messages, header included
    C hex                      one of its certificates (DER)
    A hex                      one of its alert messages (2 bytes in plaintext)
    E                          end of the frame: analysed as the plugin does
Writes, per item the core found:
    cert<TAB>frame<TAB>index<TAB>sender<TAB>sha256<TAB>signature algorithm
    finding<TAB>frame<TAB>check<TAB>severity<TAB>cert index or -<TAB>alert code or -<TAB>message
]]

local LUA_DIR = arg[1]

-- The core as the plugin wires it, with stand-ins for Wireshark's expert values (tpost_core.assemble).
local built = dofile(LUA_DIR .. "/tpost/tpost_core.lua").assemble(LUA_DIR,
    { tls = { hs = "hs", cert = "cert", alert = "alert" }, dtls = { hs = "dhs", cert = "dcert", alert = "dalert" },
      sslv2 = "sslv2", quic_close = "quic" })
local core, S = built.frame, built.state

local function unhex(hex)
    return (string.gsub(hex, "%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

local frame   -- the frame being read: {num, time, src, dst, flags, cts, messages, ders, alerts}
local ctx = core.context()

local io_adapter = {
    endpoints = function(c) c.src, c.dst = frame.src, frame.dst end,
    handshakes = function(c, conn, kind)
        for k, s in ipairs(frame.messages) do
            if core.wants_handshake(c, conn, string.byte(s, 1)) then
                core.on_handshake(c, conn, kind, s, k, function() return nil end)
            end
        end
        return frame.ders, false
    end,
    records = function() return nil end,
    alerts = function() return frame.alerts end,
}

local function analyse()
    ctx:start(frame.num, frame.time)
    local has = core.record_types(frame.cts)
    if has then core.analyse_kind(ctx, "tls", 0, has, io_adapter) end
    local fin, rst = frame.flags % 2 == 1, math.floor(frame.flags / 4) % 2 == 1
    local conn = S.conns[0]
    if (fin or rst) and conn and conn.watch and not conn.torn then
        conn.torn = true
        io_adapter.endpoints(ctx, conn)
        core.teardown(ctx, conn, rst)
    end
    for _, item in ipairs(ctx.out) do
        if item.summary then
            io.write(table.concat({ "cert", frame.num, item.index, item.sender, item.info.sha256 or "-",
                item.info.sig_name or "-" }, "\t"), "\n")
        else
            io.write(table.concat({ "finding", frame.num, item.check, item.sev,
                item.cert and item.cert.index or "-", item.alert_code or "-", item.msg }, "\t"), "\n")
        end
    end
end

for line in io.lines() do
    local fields = {}
    for field in string.gmatch(line, "[^\t]+") do fields[#fields + 1] = field end
    local tag = fields[1]
    if tag == "F" then
        frame = { num = tonumber(fields[2]), time = tonumber(fields[3]), src = fields[4], dst = fields[5],
            flags = tonumber(fields[6]), cts = {}, messages = {}, ders = {}, alerts = {} }
    elseif tag == "R" then
        frame.cts[#frame.cts + 1] = tonumber(fields[2])
    elseif tag == "H" then
        frame.messages[#frame.messages + 1] = unhex(fields[2])
    elseif tag == "C" then
        frame.ders[#frame.ders + 1] = unhex(fields[2])
    elseif tag == "A" then
        frame.alerts[#frame.alerts + 1] = unhex(fields[2])
    elseif tag == "E" then
        analyse()
    end
end
