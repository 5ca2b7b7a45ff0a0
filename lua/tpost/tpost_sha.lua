--[[
tpost_sha.lua: SHA-256 and SHA-1 (FIPS 180-4) in plain Lua, for tsharkpost.lua's certificate fingerprints.

SHA-256 is Zeek's cert_chain_fps; SHA-1 is what Suricata, nDPI and browsers show as a certificate's
fingerprint. Both are bounded by the plugin (tpost.max_hash_kib) and computed once per distinct
certificate (its parse cache). Wireshark's Lua API offers no hash to use instead: 4.0 has none, and
later versions add only symmetric ciphers (GcryptCipher); tshark has no certificate fingerprint field.
Wireshark 4.0-4.2 embed Lua 5.2, which has bit32; Wireshark 4.4 and later embed Lua 5.4, which
has bit operators instead. The operators must not appear in this source (it must also compile
on 5.2), so without bit32 they are compiled from strings at load time, once for both hashes.
Side-effect free: returns a table, defines no globals, reads no file (Wireshark loads every .lua
under its plugins folder, this one included: that is harmless).

    sha.sha256(message) -> lowercase hex SHA-256 digest of a Lua string
    sha.sha1(message)   -> lowercase hex SHA-1 digest of a Lua string
    sha.bit_ops         -> "bit32" or "operators": which 32-bit operations this Lua gave
]]

local byte, char, fmt, concat = string.byte, string.char, string.format, table.concat
local floor = math.floor

local sha = {}

-- The 32-bit operations both hashes use; bxor takes two to four arguments.
local band, bor, bxor, bnot, rshift, rrotate, lrotate
if type(bit32) == "table" then
    band, bor, bxor, bnot = bit32.band, bit32.bor, bit32.bxor, bit32.bnot
    rshift, rrotate, lrotate = bit32.rshift, bit32.rrotate, bit32.lrotate
    sha.bit_ops = "bit32"
else
    local function compile(src)
        return assert(load("return " .. src, "=tpost_sha.bitops"))()
    end
    band = compile("function(a, b) return (a & b) & 0xffffffff end")
    bor = compile("function(a, b) return (a | b) & 0xffffffff end")
    bxor = compile("function(a, b, c, d) return (a ~ b ~ (c or 0) ~ (d or 0)) & 0xffffffff end")
    bnot = compile("function(a) return (~a) & 0xffffffff end")
    rshift = compile("function(a, n) return (a & 0xffffffff) >> n end")
    rrotate = compile("function(a, n) a = a & 0xffffffff return ((a >> n) | (a << (32 - n))) & 0xffffffff end")
    lrotate = compile("function(a, n) a = a & 0xffffffff return ((a << n) | (a >> (32 - n))) & 0xffffffff end")
    sha.bit_ops = "operators"
end

local MOD32 = 4294967296

-- Message padding (FIPS 180-4 5.1.1): the same for both hashes.
local function padded(msg)
    local len = #msg
    local bitlen = len * 8
    local tail = {}
    for i = 8, 1, -1 do
        tail[i] = char(bitlen % 256)
        bitlen = floor(bitlen / 256)
    end
    return msg .. "\128" .. string.rep("\0", (55 - len) % 64) .. concat(tail)
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
function sha.sha256(msg)
    msg = padded(msg)
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

function sha.sha1(msg)
    msg = padded(msg)
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

return sha
