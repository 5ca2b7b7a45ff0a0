--[[
Test driver: what Wireshark does to each lua/tpost/*.lua it finds under its plugins folder,
under plain Lua (tests/test_plugin_modules.py runs it).

    lua5.x tests/lua/standalone.lua FILE...

Runs each file twice as a plugin chunk with no arguments: once in a fresh environment whose
reads fall through to _G (what Wireshark 4.0+ gives a personal plugin) and once in _G itself
(what -X lua_script gives). Writes, per file, "FILE<TAB>result type<TAB>names it wrote into
its environment<TAB>names it added to _G<TAB>names it added to package.loaded" (comma-separated,
empty when none), or "FILE<TAB>error<TAB>message".
]]

local function keys(t)
    local out = {}
    for k in pairs(t) do out[#out + 1] = tostring(k) end
    table.sort(out)
    return out
end

local function added(before, after)
    local seen, out = {}, {}
    for _, k in ipairs(before) do seen[k] = true end
    for _, k in ipairs(after) do
        if not seen[k] then out[#out + 1] = k end
    end
    return table.concat(out, ",")
end

for _, path in ipairs(arg) do
    local handle = assert(io.open(path, "rb"))
    local source = handle:read("*a")
    handle:close()
    local globals_before, loaded_before = keys(_G), keys(package.loaded)
    local env = setmetatable({}, { __index = _G })
    local results = {}
    for _, chunk_env in ipairs({ env, _G }) do
        local chunk = assert(load(source, "@" .. path, "t", chunk_env))
        local ok, result = pcall(chunk)
        results[#results + 1] = ok and type(result) or ("error\t" .. tostring(result))
    end
    local failed
    for _, result in ipairs(results) do
        if result:sub(1, 6) == "error\t" then failed = result end
    end
    if failed then
        io.write(path, "\t", failed, "\n")
    else
        io.write(path, "\t", table.concat(results, "+"), "\t", table.concat(keys(env), ","), "\t",
            added(globals_before, keys(_G)), "\t", added(loaded_before, keys(package.loaded)), "\n")
    end
end
