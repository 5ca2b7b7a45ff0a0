--[[
Test driver for lua/tpost/tpost_handshake.lua under plain Lua (tests/test_plugin_modules.py runs it).

    lua5.x tests/lua/handshake.lua LUA_DIR < messages

Each input line is "KIND<TAB>hex of one whole handshake message" (type and length header
included), KIND one of client_hello, client_hello_dtls, server_hello, server_key_exchange,
server_key_exchange_psk. The body is found as tsharkpost.lua finds it: after a 4-byte (TLS)
or 12-byte (DTLS) header, up to the length the header gives or the end of the bytes.
Writes one line per message: "name=value" pairs separated by tabs ("nil" when the parser
returned nothing, "nothing" when a ClientHello has none of the extensions read), lists as
comma-separated hex codes.

A line "prefixes<TAB>KIND<TAB>hex" instead parses every prefix of the message and writes
"prefixes<TAB>N" (N prefixes parsed) or the first "error<TAB>length<TAB>message".
]]

local lua_dir = assert(arg[1], "usage: handshake.lua LUA_DIR < lines")
local function module(name) return dofile(lua_dir .. "/tpost/" .. name .. ".lua") end
local bytes, handshake = module("tpost_bytes"), module("tpost_handshake")
local parsers = handshake.parsers(bytes)

local function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end

local function codes(list)
    local out = {}
    for i, code in ipairs(list) do out[i] = string.format("%04x", code) end
    return table.concat(out, ",")
end

-- The parser's results for one message, as "name=value" strings; nil when it is too short to parse.
local function parse(kind, s)
    local header = kind == "client_hello_dtls" and 12 or 4
    if #s < header then return nil end
    local b, last = header + 1, math.min(#s, header + bytes.u24(s, 2))
    if kind == "client_hello" or kind == "client_hello_dtls" then
        local hello = parsers.client_hello(s, b, last, kind == "client_hello_dtls")
        local out = {}
        if hello.sni then out[#out + 1] = "sni=" .. hello.sni end
        if hello.sigalgs then out[#out + 1] = "sigalgs=" .. codes(hello.sigalgs) end
        if hello.sigalgs_cert then out[#out + 1] = "sigalgs_cert=" .. codes(hello.sigalgs_cert) end
        if #out == 0 then out[1] = "nothing" end
        return out
    elseif kind == "server_hello" then
        local hello = parsers.server_hello(s, b, last)
        if not hello then return { "nil" } end
        local out = { string.format("version=%04x", hello.version), "version_at=" .. hello.version_at,
            "rules_family=" .. handshake.rules_family(hello.version) }
        if hello.suite then
            out[#out + 1] = string.format("suite=%04x", hello.suite)
            out[#out + 1] = "suite_at=" .. hello.suite_at
        end
        if hello.psk then out[#out + 1] = "psk=true" end
        return out
    elseif kind == "server_key_exchange" or kind == "server_key_exchange_psk" then
        local bits, at, len = parsers.dh_params(s, b, last, kind == "server_key_exchange_psk")
        if not bits then return { "nil" } end
        return { "bits=" .. bits, "at=" .. at, "len=" .. len }
    end
    error("unknown kind " .. kind)
end

for line in io.lines() do
    local first, second, third = line:match("^([^\t]+)\t([^\t]*)\t?([^\t]*)$")
    if first == "prefixes" then
        local s = unhex(third)
        local failure
        for n = 0, #s do
            local ok, problem = pcall(parse, second, s:sub(1, n))
            if not ok then
                failure = "error\t" .. n .. "\t" .. tostring(problem)
                break
            end
        end
        io.write(failure or ("prefixes\t" .. (#s + 1)), "\n")
    else
        io.write(table.concat(parse(first, unhex(second)) or { "nil" }, "\t"), "\n")
    end
end
