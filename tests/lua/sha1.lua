--[[
Test driver for the SHA-1 of lua/tpost/tpost_sha.lua under plain Lua (tests/test_plugin_modules.py runs it).

    lua5.x tests/lua/sha1.lua LUA_DIR [without-bit32] < messages

Writes "bit_ops<TAB>bit32|operators" (which 32-bit operations the module chose), then the
SHA-1 of each input line (hex bytes; an empty line is the empty message) as lowercase hex.
"without-bit32" hides the bit32 library first, as Lua 5.4 has none (Lua 5.3 has both).
]]

local lua_dir = assert(arg[1], "usage: sha1.lua LUA_DIR [without-bit32] < hex lines")
if arg[2] == "without-bit32" then rawset(_G, "bit32", nil) end
local sha = dofile(lua_dir .. "/tpost/tpost_sha.lua")

local function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end

io.write("bit_ops\t", sha.bit_ops, "\n")
for line in io.lines() do io.write(sha.sha1(unhex(line)), "\n") end
