--[[
Test driver for lua/tpost/tpost_sniff.lua under plain Lua (tests/test_plugin_modules.py runs it).

    lua5.x tests/lua/sniff.lua LUA_DIR < lines

Each input line is the hex of a segment's first bytes; writes "hello<TAB>record<TAB>http_connect<TAB>text" for it,
each true or false.
]]

local lua_dir = assert(arg[1], "usage: sniff.lua LUA_DIR < lines")
local sniff = dofile(lua_dir .. "/tpost/tpost_sniff.lua")

local function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end

for line in io.lines() do
    local s = unhex(line)
    io.write(tostring(sniff.hello(s)), "\t", tostring(sniff.record(s)), "\t", tostring(sniff.http_connect(s)), "\t",
        tostring(sniff.text(s)), "\n")
end
