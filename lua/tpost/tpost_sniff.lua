--[[
tpost_sniff.lua: does a TCP payload start like TLS? Wireshark-free (tpost_ws_find.lua, TLS found by content, feeds
it the first bytes of a segment on a port Wireshark gives to another protocol).

  sniff.hello(s)   true when s starts with a hello: a TLS handshake record (type 22, version 3.x, a length
                   that fits one record) whose first message is a ClientHello or ServerHello with a 3.x
                   version, or an SSL 2.0 CLIENT-HELLO record (RFC 6101 E.1; 2-byte header, message 1,
                   version 0x0002 or 3.x)
  sniff.record(s)  true when s starts with any TLS record header (types 20-23, version 3.x) or an SSL 2.0
                   SERVER-HELLO: what the peer of a hello answers with
  sniff.http_connect(s)  true when s starts with "CONNECT ": an HTTP proxy's tunnel request (RFC 9110 §9.3.6),
                   whose tunnel Wireshark's HTTP dissector hands to the tunnelled port's dissector itself
  sniff.text(s)    true when every byte of s is printable ASCII, a tab, CR or LF: the start of a text protocol's
                   line (a refusal such as "500 ..." or "HTTP/1.1 400"), never the middle of a TLS record but by
                   chance (about one in 15,000 for 10 random bytes)

Strict on purpose: only a hello opens a connection, so bulk data on the port (an HTTP body, a file)
is claimed only if it begins with these 10 bytes exactly.
]]

local byte = string.byte

local sniff = {}

local MAX_RECORD = 16384 + 2048   -- RFC 5246 6.2.3: TLSCiphertext.length at most 2^14 + 2048

-- 10 bytes: record header (5), handshake type (1) and length (3), the hello's version major (1).
sniff.HEAD = 10

function sniff.hello(s)
    local n = #s
    if n < 6 then return false end
    local b0, b1, b2, l1, l2, kind = byte(s, 1, 6)
    if b0 == 22 then
        local length = l1 * 256 + l2
        if b1 ~= 3 or b2 > 4 or length < 4 or length > MAX_RECORD then return false end
        if kind ~= 1 and kind ~= 2 then return false end
        return n < 10 or byte(s, 10) == 3
    end
    if b0 >= 128 then   -- SSL 2.0 record header: 2 bytes, the high bit set, 15 bits of length
        local length = (b0 - 128) * 256 + b1
        return b2 == 1 and length >= 9 and ((l1 == 0 and l2 == 2) or (l1 == 3 and l2 <= 4))
    end
    return false
end

function sniff.record(s)
    if #s < 5 then return false end
    local b0, b1, b2 = byte(s, 1, 3)
    if b0 >= 20 and b0 <= 23 then return b1 == 3 and b2 <= 4 end
    return b0 >= 128 and b2 == 4   -- SSL 2.0 SERVER-HELLO
end

local CONNECT = "CONNECT "

function sniff.http_connect(s)
    return string.sub(s, 1, #CONNECT) == CONNECT
end

function sniff.text(s)
    return #s > 0 and not string.find(s, "[^\t\n\r\32-\126]")
end

return sniff
