--[[
bench/outside_find.lua: a MEASURED PROTOTYPE (issue 13), not product code. See bench/OUTSIDE.md.

What of the plugin stays inside tshark when the analysis runs outside it: only "TLS found by content"
(lua/tpost/tpost_ws_find.lua, which lua/tsharkpost.lua installs in its section 13: TLS on ports Wireshark
gives to another protocol, after STARTTLS or RDP's negotiation), which must change tshark's own dissection and
so cannot run outside. The module is loaded from the plugin's folder, not copied, and installed with the few
things it takes from the plugin's earlier sections defined here. Loaded with:
tshark -X lua_script:bench/outside_find.lua -X lua_script1:PLUGIN_DIR
]]

local plugin_dir = "lua"
for _, arg in ipairs({ ... }) do plugin_dir = arg end

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
function find_post.init() find.reset() end
function find_post.dissector(_, pinfo)
    forget_frame_fields()
    if settings.find_tls then pcall(find.watch, pinfo) end
end
register_postdissector(find_post)
