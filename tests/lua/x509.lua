--[[
Test driver for lua/tpost/tpost_x509.lua under plain Lua (tests/test_plugin_modules.py runs it).

    lua5.x tests/lua/x509.lua LUA_DIR < certificates

LUA_DIR is the plugin's folder (tpost/ and tables/ inside). Reads one certificate per line as
hex DER and writes, for each, "cert" and then "field<TAB>value" lines, or one "error<TAB>reason"
line when the parser refuses it. Ranges are written as "offset,length".
]]

local lua_dir = assert(arg[1], "usage: x509.lua LUA_DIR < hex lines")
local function module(name) return dofile(lua_dir .. "/tpost/" .. name .. ".lua") end
local tsv, bytes, x509 = module("tpost_tsv"), module("tpost_bytes"), module("tpost_x509")

-- The fact tables, keyed as the plugin keys them.
local function rows(name, required) return tsv.read(lua_dir .. "/tables/" .. name, required) end
local facts = { attributes = {}, key_algorithms = {}, curves = {} }
for _, row in ipairs(rows("name_attributes.tsv", { "oid", "short_name" })) do
    facts.attributes[row.oid] = row.short_name
end
for _, row in ipairs(rows("public_key_algorithms.tsv", { "oid", "key_type" })) do
    facts.key_algorithms[row.oid] = row
end
for _, row in ipairs(rows("ec_curves.tsv", { "oid", "name", "bits" })) do
    facts.curves[row.oid] = { name = row.name, bits = tonumber(row.bits) }
end
local parse = x509.certificate_parser(bytes, facts)

local FIELDS = { "subject", "issuer", "cn", "issuer_cn", "serial", "sig_oid", "pss_hash", "key_oid", "key_type",
    "key_bits", "curve", "not_before", "not_after", "san", "basic_constraints", "ca", "path_len", "key_usage",
    "self_signed", "len",
    "r_sigalg", "r_issuer", "r_validity", "r_subject", "r_spki", "r_san" }

local function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end

for line in io.lines() do
    local ok, info = pcall(parse, unhex(line))
    if not ok then
        io.write("error\t", type(info) == "string" and info or ("not a string: " .. tostring(info)), "\n")
    else
        io.write("cert\n")
        for _, name in ipairs(FIELDS) do
            local value = info[name]
            if type(value) == "table" then value = table.concat(value, ",") end
            if value ~= nil then io.write(name, "\t", tostring(value), "\n") end
        end
    end
end
