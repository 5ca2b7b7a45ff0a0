--[[
tpost_sha1.lua: SHA-1 (FIPS 180-4) in plain Lua, for tsharkpost.lua's certificate fingerprints.

SHA-1 is what Suricata, nDPI and browsers show as a certificate's fingerprint; it sits beside the
SHA-256 (Zeek's cert_chain_fps) and is bounded the same way (tpost.max_hash_kib).
Wireshark 4.0-4.2 embed Lua 5.2, which has bit32; Wireshark 4.4 and later embed Lua 5.4, which
has bit operators instead. The operators must not appear in this source (it must also compile
on 5.2), so without bit32 they are compiled from strings at load time.
Side-effect free: returns a table, defines no globals, reads no file (Wireshark loads every .lua
under its plugins folder, this one included: that is harmless).

    sha1.hex(message)  -> lowercase hex digest of a Lua string
    sha1.bit_ops       -> "bit32" or "operators": which 32-bit operations this Lua gave
]]

local byte, char, fmt, concat = string.byte, string.char, string.format, table.concat
local floor = math.floor

local sha1 = {}

local band, bor, bxor, bnot, lrotate
if type(bit32) == "table" then
    band, bor, bxor, bnot, lrotate = bit32.band, bit32.bor, bit32.bxor, bit32.bnot, bit32.lrotate
    sha1.bit_ops = "bit32"
else
    local function compile(src)
        return assert(load("return " .. src, "=tpost_sha1.bitops"))()
    end
    band = compile("function(a, b) return (a & b) & 0xffffffff end")
    bor = compile("function(a, b) return (a | b) & 0xffffffff end")
    bxor = compile("function(a, b, c, d) return (a ~ b ~ (c or 0) ~ (d or 0)) & 0xffffffff end")
    bnot = compile("function(a) return (~a) & 0xffffffff end")
    lrotate = compile("function(a, n) a = a & 0xffffffff return ((a << n) | (a >> (32 - n))) & 0xffffffff end")
    sha1.bit_ops = "operators"
end

local MOD32 = 4294967296

function sha1.hex(msg)
    local len = #msg
    local bitlen = len * 8
    local tail = {}
    for i = 8, 1, -1 do
        tail[i] = char(bitlen % 256)
        bitlen = floor(bitlen / 256)
    end
    msg = msg .. "\128" .. string.rep("\0", (55 - len) % 64) .. concat(tail)
    local h0, h1, h2, h3, h4 = 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0
    local w = {}
    for chunk = 1, #msg, 64 do
        for i = 0, 15 do
            local a, b, c, d = byte(msg, chunk + i * 4, chunk + i * 4 + 3)
            w[i] = ((a * 256 + b) * 256 + c) * 256 + d
        end
        for i = 16, 79 do
            w[i] = lrotate(bxor(w[i - 3], w[i - 8], w[i - 14], w[i - 16]), 1)
        end
        local a, b, c, d, e = h0, h1, h2, h3, h4
        for i = 0, 79 do
            local f, k
            if i < 20 then
                f, k = bor(band(b, c), band(bnot(b), d)), 0x5a827999
            elseif i < 40 then
                f, k = bxor(b, c, d), 0x6ed9eba1
            elseif i < 60 then
                f, k = bor(bor(band(b, c), band(b, d)), band(c, d)), 0x8f1bbcdc
            else
                f, k = bxor(b, c, d), 0xca62c1d6
            end
            local t = (lrotate(a, 5) + f + e + k + w[i]) % MOD32
            e, d, c, b, a = d, c, lrotate(b, 30), a, t
        end
        h0, h1, h2 = (h0 + a) % MOD32, (h1 + b) % MOD32, (h2 + c) % MOD32
        h3, h4 = (h3 + d) % MOD32, (h4 + e) % MOD32
    end
    return fmt("%08x%08x%08x%08x%08x", h0, h1, h2, h3, h4)
end

return sha1
