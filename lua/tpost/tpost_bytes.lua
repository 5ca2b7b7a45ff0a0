--[[
tpost_bytes.lua: byte and text helpers for tsharkpost.lua's parsers (no Wireshark needed).

Big-endian integers at a 1-based position of a Lua string, hex, the bit length of an
unsigned big-endian integer, and any bytes turned into one printable line of UTF-8.
Side-effect free: returns a table of functions, defines no globals, reads no file
(Wireshark loads every .lua under its plugins folder, this one included: that is harmless).
Lua 5.2 to 5.4.
]]

local byte, char, find, fmt = string.byte, string.char, string.find, string.format
local floor = math.floor

local bytes = {}

function bytes.u16(s, i) local a, b = byte(s, i, i + 1) return a * 256 + b end
function bytes.u24(s, i) local a, b, c = byte(s, i, i + 2) return (a * 256 + b) * 256 + c end

-- Lowercase hex of any bytes: one table lookup per byte, inside string.gsub (no Lua call per byte).
local HEX_OF = {}
for c = 0, 255 do HEX_OF[char(c)] = fmt("%02x", c) end
function bytes.hex(s)
    return (string.gsub(s, ".", HEX_OF))
end

-- Bit length of the unsigned big-endian integer at [start, last]: leading zero bytes do not count.
function bytes.integer_bits(s, start, last)
    while start < last and byte(s, start) == 0 do start = start + 1 end
    if last < start then return 0 end
    local top, bits = byte(s, start), 0
    while top > 0 do bits, top = bits + 1, floor(top / 2) end
    return (last - start) * 8 + bits
end

-- One code point as UTF-8; "?" beyond U+10FFFF.
local function utf8_char(cp)
    if cp < 0x80 then return char(cp) end
    if cp < 0x800 then return char(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
    if cp < 0x10000 then
        return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
    end
    if cp < 0x110000 then
        return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64, 0x80 + floor(cp / 64) % 64,
            0x80 + cp % 64)
    end
    return "?"
end
bytes.utf8_char = utf8_char

local function valid_utf8(s)
    if not find(s, "[\128-\255]") then return true end   -- ASCII, the usual case: one scan in C
    local i, n = 1, #s
    while i <= n do
        local c = byte(s, i)
        local extra
        if c < 0x80 then extra = 0
        elseif c >= 0xC2 and c <= 0xDF then extra = 1
        elseif c >= 0xE0 and c <= 0xEF then extra = 2
        elseif c >= 0xF0 and c <= 0xF4 then extra = 3
        else return false end
        for j = i + 1, i + extra do
            local d = byte(s, j)
            if not d or d < 0x80 or d > 0xBF then return false end
        end
        i = i + extra + 1
    end
    return true
end
bytes.valid_utf8 = valid_utf8

local function latin1_to_utf8(s)
    return (string.gsub(s, "[\128-\255]", function(c) return utf8_char(byte(c)) end))
end

-- Any bytes -> printable one-line UTF-8 (read as Latin-1 unless valid UTF-8; control characters as \xx).
function bytes.clean_text(s)
    if not valid_utf8(s) then s = latin1_to_utf8(s) end
    return (string.gsub(s, "[%z\1-\31\127]", function(c) return fmt("\\%02x", byte(c)) end))
end

return bytes
