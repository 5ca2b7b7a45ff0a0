--[[
Test driver for lua/tpost/tpost_messages.lua under plain Lua (tests/test_plugin_modules.py runs it).

    lua5.x tests/lua/messages.lua LUA_DIR < cases

Each input line is one case, its text given as hex:
    cut<TAB>MAX_BYTES<TAB>TEXT                       -> the cut text
    fill<TAB>TEMPLATE<TAB>NAME=VALUE[,NAME=VALUE...] -> the filled template, or "error" when it raises
    pick<TAB>ID=TEXT[,ID=TEXT...]<TAB>CHECK<TAB>FORM<TAB>VARIANT[,VARIANT...] -> the template picked, or "nil"
and gives one output line, hex again (names, ids, checks, forms and variants are plain text).
]]

local lua_dir = assert(arg[1], "usage: messages.lua LUA_DIR < cases")
local messages = dofile(lua_dir .. "/tpost/tpost_messages.lua")

local function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end
local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

local function pairs_of(text)
    local list = {}
    for name, value in string.gmatch(text or "", "([^,=]+)=([^,]*)") do list[#list + 1] = { name, value } end
    return list
end

local function split(line)
    local out = {}
    for field in string.gmatch(line .. "\t", "([^\t]*)\t") do out[#out + 1] = field end
    return out
end

for line in io.lines() do
    local f = split(line)
    if f[1] == "cut" then
        io.write(hex(messages.cut(unhex(f[3]), tonumber(f[2]))), "\n")
    elseif f[1] == "fill" then
        local values = {}
        for _, pair in ipairs(pairs_of(f[3])) do values[pair[1]] = unhex(pair[2]) end
        local ok, result = pcall(messages.fill, unhex(f[2]), values)
        io.write(ok and hex(result) or "error", "\n")
    elseif f[1] == "pick" then
        local rows = {}
        for _, pair in ipairs(pairs_of(f[2])) do rows[#rows + 1] = { id = pair[1], text = unhex(pair[2]) } end
        local variants = {}
        for variant in string.gmatch(f[5] or "", "[^,]+") do variants[#variants + 1] = variant end
        local picked = messages.catalogue(rows):pick(f[3], f[4], variants)
        io.write(picked and hex(picked) or "nil", "\n")
    end
end
