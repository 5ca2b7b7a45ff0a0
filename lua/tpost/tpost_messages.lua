--[[
tpost_messages.lua: message templates (tables/messages.tsv) filled in, for tsharkpost.lua.

One table of templates holds every sentence the plugin shows (the Diagnosis column, finding labels,
expert items) and the tsharkpost package shows (probable causes); tsharkpost/plugin/messages.py
is the Python twin of this module and must fill a template to the same bytes.
Side-effect free: returns a table of functions, defines no globals, reads no file (Wireshark
loads every .lua under its plugins folder, this one included: that is harmless). Lua 5.2 to 5.4.

    messages.catalogue(rows)            -> catalogue of {id, text} rows (ids must be unique)
    catalogue:get(id)                   -> the template, or nil
    catalogue:pick(check, form, variants) -> template of <check>.<variant>.<form> for the first
                                           variant that has one, else of <check>.<form>, else nil
    messages.fill(template, values)     -> {name} replaced by values[name]; {Name} by the same value
                                           with a capital first letter; an unknown name raises
    messages.placeholders(template)     -> the names a template uses, in order
    messages.cut(text, max_bytes)       -> text, or its longest prefix that keeps whole UTF-8
                                           characters followed by "…", at most max_bytes long
]]

local byte, sub, upper = string.byte, string.sub, string.upper

local messages = {}

local ELLIPSIS = "\226\128\166"   -- U+2026, 3 bytes
local PLACEHOLDER = "{(%a[%w_]*)}"

local Catalogue = {}
Catalogue.__index = Catalogue

function messages.catalogue(rows)
    local texts = {}
    for _, row in ipairs(rows) do
        if texts[row.id] then error(("tsharkpost: message %s is defined twice"):format(row.id), 0) end
        texts[row.id] = row.text
    end
    return setmetatable({ texts = texts }, Catalogue)
end

function Catalogue:get(id)
    return self.texts[id]
end

function Catalogue:pick(check, form, variants)
    local texts = self.texts
    for _, variant in ipairs(variants or {}) do
        local text = texts[check .. "." .. variant .. "." .. form]
        if text then return text end
    end
    return texts[check .. "." .. form]
end

local function value_of(values, name)
    local value = values[name]
    if value == nil then
        local lower = string.lower(sub(name, 1, 1)) .. sub(name, 2)
        if lower ~= name and values[lower] ~= nil then
            value = tostring(values[lower])
            return upper(sub(value, 1, 1)) .. sub(value, 2)
        end
        error(("tsharkpost: message placeholder {%s} has no value"):format(name), 0)
    end
    return tostring(value)
end

function messages.fill(template, values)
    return (string.gsub(template, PLACEHOLDER, function(name) return value_of(values, name) end))
end

function messages.placeholders(template)
    local names = {}
    for name in string.gmatch(template, PLACEHOLDER) do names[#names + 1] = name end
    return names
end

-- Bytes a UTF-8 sequence starting with `lead` takes (1 for a stray continuation byte).
local function sequence_length(lead)
    if lead >= 0xF0 then return 4 end
    if lead >= 0xE0 then return 3 end
    if lead >= 0xC0 then return 2 end
    return 1
end

function messages.cut(text, max_bytes)
    if #text <= max_bytes then return text end
    local s = sub(text, 1, math.max(0, max_bytes - #ELLIPSIS))
    local i = #s
    while i > 0 and byte(s, i) >= 0x80 and byte(s, i) < 0xC0 and #s - i < 3 do i = i - 1 end
    if i > 0 and byte(s, i) >= 0xC0 and #s - i + 1 < sequence_length(byte(s, i)) then
        s = sub(s, 1, i - 1)
    end
    return s .. ELLIPSIS
end

return messages
