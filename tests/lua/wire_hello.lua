--[[
Test driver for tpost_wire.lua's hello_facts under plain Lua (tests/test_plugin_modules.py runs it).

    lua5.x tests/lua/wire_hello.lua LUA_DIR < messages

Each input line is "client_hello" or "server_hello", a tab, and the hex of one whole handshake message (type and
length header included). Writes one line per message: "nil" when hello_facts does not vouch for it, else its facts
as tab-separated "field=value", numbers in decimal and bytes (random, session id, names) in lowercase hex.
]]

local lua_dir = assert(arg[1], "usage: wire_hello.lua LUA_DIR < lines")
local wire = dofile(lua_dir .. "/tpost/tpost_wire.lua")

local function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end
local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

for line in io.lines() do
    local kind, data = line:match("^([%w_]+)\t(%x*)$")
    assert(kind == "client_hello" or kind == "server_hello", "bad line: " .. line)
    local facts = wire.hello_facts(unhex(data), kind == "server_hello")
    if not facts then
        io.write("nil\n")
    else
        local out = {}
        for i = 1, #facts, 2 do
            local value = facts[i + 1]
            out[#out + 1] = facts[i] .. "=" .. (type(value) == "number" and tostring(value) or hex(value))
        end
        io.write(table.concat(out, "\t"), "\n")
    end
end
