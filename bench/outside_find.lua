--[[
bench/outside_find.lua: a MEASURED PROTOTYPE (issue 13), not product code. See bench/OUTSIDE.md.

What of the plugin stays inside tshark when the analysis runs outside it: only "TLS found by content"
(lua/tpost/tpost_ws_find.lua, which lua/tsharkpost.lua installs in its section 13: TLS on ports Wireshark
gives to another protocol, after STARTTLS or RDP's negotiation), which must change tshark's own dissection and
so cannot run outside. The module is loaded from the plugin's folder, not copied, and installed with the few
things it takes from the plugin's earlier sections defined here. Loaded with:
tshark -X lua_script:bench/outside_find.lua -X lua_script1:PLUGIN_DIR
]]

-- Arguments (-X lua_script1:...): the plugin's folder, and "bytes" to carry the bytes of hellos and key exchanges
-- too (below).
local plugin_dir, carry_bytes, carry_records = "lua", false, false
for _, arg in ipairs({ ... }) do
    if arg == "bytes" then carry_bytes = true
    elseif arg == "records" then carry_records = true
    else plugin_dir = arg end
end

local function read(path)
    local handle = assert(io.open(path, "rb"))
    local text = handle:read("*a")
    handle:close()
    return text
end

local function load_module(name)
    local path = plugin_dir .. "/tpost/" .. name .. ".lua"
    return assert(load(read(path), "@" .. path, "t"))()
end

local settings = { find_tls = true }
local tcp_stream = Field.new("tcp.stream")
local stream_value
local function forget_frame_fields() stream_value = nil end
local function tcp_value()
    if stream_value == nil then
        local fi = tcp_stream()
        stream_value = fi and fi.value or false
    end
    return stream_value
end
local find = load_module("tpost_ws_find").install({ settings = settings, sniff = load_module("tpost_sniff"),
    tcp_value = tcp_value, forget_frame_fields = forget_frame_fields, PT_TCP = 2 })

local find_post = Proto("tpost_find_post", "tsharkpost prototype: TLS found by content, watch")

-- With "bytes": the bytes of each ClientHello, ServerHello and ServerKeyExchange (the messages the core's
-- on_handshake parses) as a bytes field, which tshark writes in hex itself, and the message's place among the
-- frame's messages. The driver then parses them with the core's own parsers: no hello rebuilt from -T fields.
local F_MESSAGE = ProtoField.bytes("tpost_find_post.msg", "Handshake message")
local F_PLACE = ProtoField.uint16("tpost_find_post.k", "Place among the frame's messages")
-- With "records" (measured only: no driver reads it yet): the bytes of every record that is not application data,
-- what the plugin's tpost.tls line is read from (lua/tpost/tpost_wire_bytes.lua).
local F_RECORD = ProtoField.bytes("tpost_find_post.record", "TLS record")
find_post.fields = { F_MESSAGE, F_PLACE, F_RECORD }
local record_field, record_type_field = Field.new("tls.record"), Field.new("tls.record.content_type")
local CARRIED_RECORDS = { [20] = true, [21] = true, [22] = true }
local function carry_record_bytes(tree)
    local types = { record_type_field() }
    if #types == 0 then return end
    local records = { record_field() }
    if #records ~= #types then return end
    for i = 1, #records do
        if CARRIED_RECORDS[types[i].value] then tree:add(F_RECORD, records[i].range) end
    end
end
local hs_field, hs_type_field = Field.new("tls.handshake"), Field.new("tls.handshake.type")
local CARRIED = { [1] = true, [2] = true, [12] = true }
local function carry(tvb, tree)
    local types = { hs_type_field() }
    if #types == 0 then return end
    local messages = { hs_field() }
    for k = 1, math.min(#types, #messages) do
        if CARRIED[types[k].value] then
            tree:add(F_MESSAGE, messages[k].range)
            tree:add(F_PLACE, tvb(0, 0), k)
        end
    end
end

function find_post.init() find.reset() end
function find_post.dissector(tvb, pinfo, tree)
    forget_frame_fields()
    if settings.find_tls then pcall(find.watch, pinfo) end
    if carry_bytes and tree then pcall(carry, tvb, tree) end
    if carry_records and tree then pcall(carry_record_bytes, tree) end
end
register_postdissector(find_post)
