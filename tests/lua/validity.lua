--[[
Test driver for tpost_x509's validity helpers under plain Lua (tests/test_plugin_modules.py runs it).

    lua5.x tests/lua/validity.lua LUA_DIR < cases

Each input line is NOT_BEFORE<TAB>NOT_AFTER<TAB>WHEN (ISO 8601 UTC times, an epoch time); each output line is
the epoch of NOT_BEFORE, of NOT_AFTER ("nil" when unreadable), the ISO time of WHEN and the verdict of
x509.validity ("expired", "not_yet_valid" or "nil"), tab-separated.
]]

local lua_dir = assert(arg[1], "usage: validity.lua LUA_DIR < cases")
local x509 = dofile(lua_dir .. "/tpost/tpost_x509.lua")

for line in io.lines() do
    local first, last, when = string.match(line, "^([^\t]*)\t([^\t]*)\t([^\t]*)$")
    when = assert(tonumber(when), "bad time " .. tostring(when))
    local info = { not_before = first, not_after = last }
    local e1, e2 = x509.epoch(first), x509.epoch(last)
    io.write(e1 and string.format("%d", e1) or "nil", "\t", e2 and string.format("%d", e2) or "nil", "\t",
        x509.iso(when), "\t", tostring(x509.validity(info, when)), "\n")
end
