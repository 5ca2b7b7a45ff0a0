--[[
Test driver for lua/tpost/tpost_tsv.lua under plain Lua (tests/test_plugin_modules.py runs it).

    lua5.x tests/lua/tsv.lua LUA_DIR FILE [COLUMN...]

Reads FILE with the COLUMNs required and writes each row as its fields in header order,
tab-separated (the header first), or one "error<TAB>message" line when the reader refuses it.
]]

local lua_dir, path = assert(arg[1], "usage: tsv.lua LUA_DIR FILE [COLUMN...]"), assert(arg[2])
local tsv = dofile(lua_dir .. "/tpost/tpost_tsv.lua")
local required = {}
for i = 3, #arg do required[#required + 1] = arg[i] end

local ok, rows = pcall(tsv.read, path, required)
if not ok then
    io.write("error\t", tostring(rows), "\n")
    return
end
-- The header: the first line that is neither empty nor a comment, split as the reader splits it.
local header
for line in io.lines(path) do
    line = line:gsub("\r$", "")
    if line ~= "" and line:sub(1, 1) ~= "#" then
        header = tsv.split(line)
        break
    end
end
io.write(table.concat(header, "\t"), "\n")
for _, row in ipairs(rows) do
    local fields = {}
    for i, column in ipairs(header) do fields[i] = row[column] end
    io.write(table.concat(fields, "\t"), "\n")
end
