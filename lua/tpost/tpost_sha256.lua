--[[
tpost_sha256.lua: SHA-256 (FIPS 180-4) in plain Lua, for tsharkpost.lua's certificate fingerprints.

Wireshark 4.0-4.2 embed Lua 5.2, which has bit32; Wireshark 4.4 and later embed Lua 5.4, which
has bit operators instead. The operators must not appear in this source (it must also compile
on 5.2), so without bit32 they are compiled from strings at load time.
Side-effect free: returns a table, defines no globals, reads no file (Wireshark loads every .lua
under its plugins folder, this one included: that is harmless).

    sha256.hex(message)  -> lowercase hex digest of a Lua string
    sha256.bit_ops       -> "bit32" or "operators": which 32-bit operations this Lua gave
]]

local byte, char, fmt, concat = string.byte, string.char, string.format, table.concat
local floor = math.floor

local sha256 = {}

local band, bxor, bnot, rshift, rrotate
if type(bit32) == "table" then
    band, bxor, bnot, rshift, rrotate = bit32.band, bit32.bxor, bit32.bnot, bit32.rshift, bit32.rrotate
    sha256.bit_ops = "bit32"
else
    local function compile(src)
        return assert(load("return " .. src, "=tpost_sha256.bitops"))()
    end
    band = compile("function(a, b) return (a & b) & 0xffffffff end")
    bxor = compile("function(a, b, c) return (a ~ b ~ (c or 0)) & 0xffffffff end")
    bnot = compile("function(a) return (~a) & 0xffffffff end")
    rshift = compile("function(a, n) return (a & 0xffffffff) >> n end")
    rrotate = compile("function(a, n) a = a & 0xffffffff return ((a >> n) | (a << (32 - n))) & 0xffffffff end")
    sha256.bit_ops = "operators"
end

local K256 = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
local MOD32 = 4294967296

function sha256.hex(msg)
    local len = #msg
    local bitlen = len * 8
    local tail = {}
    for i = 8, 1, -1 do
        tail[i] = char(bitlen % 256)
        bitlen = floor(bitlen / 256)
    end
    msg = msg .. "\128" .. string.rep("\0", (55 - len) % 64) .. concat(tail)
    local h0, h1, h2, h3 = 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a
    local h4, h5, h6, h7 = 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
    local w = {}
    for chunk = 1, #msg, 64 do
        for i = 0, 15 do
            local a, b, c, d = byte(msg, chunk + i * 4, chunk + i * 4 + 3)
            w[i + 1] = ((a * 256 + b) * 256 + c) * 256 + d
        end
        for i = 17, 64 do
            local x, y = w[i - 15], w[i - 2]
            local s0 = bxor(rrotate(x, 7), rrotate(x, 18), rshift(x, 3))
            local s1 = bxor(rrotate(y, 17), rrotate(y, 19), rshift(y, 10))
            w[i] = (w[i - 16] + s0 + w[i - 7] + s1) % MOD32
        end
        local a, b, c, d, e, f, g, h = h0, h1, h2, h3, h4, h5, h6, h7
        for i = 1, 64 do
            local s1 = bxor(rrotate(e, 6), rrotate(e, 11), rrotate(e, 25))
            local ch = bxor(band(e, f), band(bnot(e), g))
            local t1 = (h + s1 + ch + K256[i] + w[i]) % MOD32
            local s0 = bxor(rrotate(a, 2), rrotate(a, 13), rrotate(a, 22))
            local maj = bxor(band(a, b), band(a, c), band(b, c))
            h, g, f, e = g, f, e, (d + t1) % MOD32
            d, c, b, a = c, b, a, (t1 + s0 + maj) % MOD32
        end
        h0, h1, h2, h3 = (h0 + a) % MOD32, (h1 + b) % MOD32, (h2 + c) % MOD32, (h3 + d) % MOD32
        h4, h5, h6, h7 = (h4 + e) % MOD32, (h5 + f) % MOD32, (h6 + g) % MOD32, (h7 + h) % MOD32
    end
    return fmt("%08x%08x%08x%08x%08x%08x%08x%08x", h0, h1, h2, h3, h4, h5, h6, h7)
end

return sha256
