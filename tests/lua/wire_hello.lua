--[[
Test driver for tpost_wire_bytes.lua's hello_facts and key_exchange_facts under plain Lua
(tests/test_plugin_modules.py runs it).

    lua5.x tests/lua/wire_hello.lua LUA_DIR < messages

Each input line is "client_hello" or "server_hello", a tab, and the hex of one whole handshake message (type and
length header included), or "key_exchange", a tab, the hex of a ServerHello, a tab and the hex of the
ServerKeyExchange that follows it. Writes one line per input: "nil" when hello_facts (key_exchange_facts) does not
vouch for the message, else its facts as tab-separated "field=value", numbers in decimal and bytes (random,
session id, names) in lowercase hex.
]]

local lua_dir = assert(arg[1], "usage: wire_hello.lua LUA_DIR < lines")
local function module(name) return dofile(lua_dir .. "/tpost/" .. name .. ".lua") end
local wire = module("tpost_wire_bytes").new({ bytes = module("tpost_bytes"), handshake = module("tpost_handshake") })

local function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end
local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

for line in io.lines() do
    local kind, data, more = line:match("^([%w_]+)\t(%x*)\t?(%x*)$")
    local facts
    if kind == "key_exchange" then
        local server_facts = wire.hello_facts(unhex(data), true)
        facts = server_facts and wire.key_exchange_facts(unhex(more), wire.session_of(server_facts))
    else
        assert(kind == "client_hello" or kind == "server_hello", "bad line: " .. line)
        facts = wire.hello_facts(unhex(data), kind == "server_hello")
    end
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
