--[[
tpost_core.lua: the plugin's analysis core put together for a driver that runs it outside Wireshark (the test
driver tests/lua/core.lua, the measured prototype bench/outside_driver.lua). tsharkpost.lua wires the same
modules itself, with Wireshark's expert values and the settings its preferences change.

    core.assemble(lua_dir, anchors) -> {frame, checks, state, facts, settings, bytes, x509, handshake, messages}

lua_dir is the folder holding tpost/ and tables/; anchors are the adapter's keys for the byte ranges findings
point at (tpost_frame.new). Expert severities and groups only matter to Wireshark's expert items: each name
stands for itself here. Side-effect free until called: returns a table of functions, defines no globals, reads
no file when run (Wireshark runs every .lua of its plugins folder, this one too). Lua 5.2 to 5.4.
]]

local core = {}

-- Compiles tpost/<name>.lua under lua_dir by its exact path (as the plugin's load_module does).
local function loader(lua_dir)
    return function(name)
        local path = lua_dir .. "/tpost/" .. name .. ".lua"
        local handle = assert(io.open(path, "rb"))
        local source = handle:read("*a")
        handle:close()
        return assert(load(source, "@" .. path, "t"))()
    end
end

function core.assemble(lua_dir, anchors)
    local load_module = loader(lua_dir)
    local tsv, bytes, sha = load_module("tpost_tsv"), load_module("tpost_bytes"), load_module("tpost_sha")
    local x509, handshake, messages = load_module("tpost_x509"), load_module("tpost_handshake"),
        load_module("tpost_messages")
    local checklib = load_module("tpost_checks")
    local names = setmetatable({}, { __index = function(_, name) return name end })
    local facts = load_module("tpost_facts").load({ tsv = tsv, messages = messages }, lua_dir .. "/tables",
        { severity = names, group = names })
    local settings = checklib.default_settings()
    local checks = checklib.new(facts, settings, { x509 = x509, messages = messages, handshake = handshake })
    local state = load_module("tpost_state").new(facts, settings, checks, { x509 = x509, sha = sha, bytes = bytes })
    local frame = load_module("tpost_frame").new(facts, settings, checks, state,
        { bytes = bytes, x509 = x509, handshake = handshake, messages = messages }, anchors)
    return { frame = frame, checks = checks, state = state, facts = facts, settings = settings, bytes = bytes,
        x509 = x509, handshake = handshake, messages = messages }
end

return core
