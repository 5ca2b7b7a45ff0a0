--[[
bench/outside_find.lua: a MEASURED PROTOTYPE (issue 13), not product code. See bench/OUTSIDE.md.

What of the plugin stays inside tshark when the analysis runs outside it: only "TLS found by content"
(lua/tsharkpost.lua section 13: TLS on ports Wireshark gives to another protocol, after STARTTLS or RDP's
negotiation), which must change tshark's own dissection and so cannot run outside. Its text is read from
the plugin (from the section 13 marker to the end), not copied, with the few things it uses from earlier
sections defined here. Loaded with: tshark -X lua_script:bench/outside_find.lua -X lua_script1:PLUGIN_DIR
]]

local plugin_dir = "lua"
for _, arg in ipairs({ ... }) do plugin_dir = arg end

local function read(path)
    local handle = assert(io.open(path, "rb"))
    local text = handle:read("*a")
    handle:close()
    return text
end

local source = read(plugin_dir .. "/tsharkpost.lua")
local start = assert(string.find(source, "\n%-%- 13%. TLS found by content"), "section 13 marker not found")
local sniff = assert(load(read(plugin_dir .. "/tpost/tpost_sniff.lua"), "@tpost_sniff.lua", "t"))()

local prelude = [[
local sniff, settings = ...
local PT_TCP = 2
local tcp_stream = Field.new("tcp.stream")
local stream_value
local function forget_frame_fields() stream_value = nil end
local function tcp_value(name)
    if stream_value == nil then
        local fi = tcp_stream()
        stream_value = fi and fi.value or false
    end
    return stream_value
end
local reset_found, watch_tcp
]]
local epilogue = [[

local find_post = Proto("tpost_find_post", "tsharkpost prototype: TLS found by content, watch")
function find_post.init() reset_found() end
function find_post.dissector(tvb, pinfo, tree)
    forget_frame_fields()
    if settings.find_tls then pcall(watch_tcp, pinfo) end
end
register_postdissector(find_post)
]]
local chunk = assert(load(prelude .. string.sub(source, start) .. epilogue, "@" .. plugin_dir .. "/tsharkpost.lua#13",
    "t"))
chunk(sniff, { find_tls = true })
