--[[
tpost_ws_find.lua: TLS found by content, on every TCP port, in the same single pass (the tpost_find
protocol). Part of the Wireshark plugin lua/tsharkpost.lua, which installs it last, while Wireshark
loads the plugin.

Wireshark tries its TLS heuristic only on ports no dissector claims, so TLS on port 80, after IRC's
STARTTLS (6667) or after RDP's X.224 negotiation (3389) stays undissected. A TCP connection whose ports
belong to another protocol gets `tpost_find` as its conversation dissector, which TCP asks before the
port's dissector: it declines (returns 0, and TCP goes on as if it were not there) unless the connection
has turned to TLS. From the segment that starts with a hello (tpost_sniff) on, the hello's sender is
TLS, its peer from its first segment that starts with a TLS record (a plaintext answer, "HTTP/1.1 400",
stays with the port's dissector), or after a STARTTLS request (the hello's sender sent payload before the
hello) from its first segment that is not text: the start of the peer's TLS was lost or comes out of order,
and its first segment starts mid-record (the port's dissector, which had handed the connection to TLS,
would otherwise take it for its own protocol and wait for the rest of a message that never comes).
Decode As (-d) still decides: a port it changed is left alone. A connection that opens with an HTTP
CONNECT request is left to HTTP, which relays its tunnel itself (tpost_sniff.http_connect). A dissector
that takes the connection over for itself (TPKT on 3389 does, as STARTTLS dissectors do to hand it to
TLS) would keep tpost_find from seeing later segments: after each frame of a watched
connection, tpost_find is made its conversation dissector again.

  find.install(deps)  registers tpost_find and returns {reset = function() (tpost.init: forget the
                      connections and port kinds), watch = function(pinfo) (tpost's dissector, on every
                      frame while the find_tls preference is on)}
  deps: settings (find_tls), sniff (tpost_sniff), tcp_value and forget_frame_fields (the plugin's
  per-frame field cache, section 9), PT_TCP (pinfo.port_type of TCP).

Wireshark runs this file on its own too (it runs every .lua under its plugins folder): loaded, it only
returns a table of functions and touches no global. Wireshark's API (Dissector, Proto, DissectorTable)
is used only inside install and the functions it returns, which the plugin calls. Lua 5.2 to 5.4.
]]

local find = {}

function find.install(deps)
    local settings, sniff, tcp_value, forget_frame_fields = deps.settings, deps.sniff, deps.tcp_value,
        deps.forget_frame_fields
    local PT_TCP = deps.PT_TCP

    local tls_handle = Dissector.get("tls")
    local find_proto = Proto("tpost_find", "tsharkpost: TLS found by content")
    local tcp_ports = DissectorTable.get("tcp.port")
    local TLS_NAME = tostring(tls_handle)

    -- The tcp.port table as this script found it, before any Decode As (-d is applied after scripts run).
    local default_port_name = {}
    for port = 1, 65535 do
        local handle = tcp_ports:get_dissector(port)
        if handle then default_port_name[port] = tostring(handle) end
    end

    -- Dissectors that relay their connection's payload to the tcp.port table themselves: TLS behind them is
    -- already found (through the tunnelled port), and intercepting it would change Wireshark's tcp.stream
    -- numbers (SOCKS opens a conversation for the tunnel).
    local RELAYS = { Socks = true }

    -- tcp port -> "other" (a dissector that is not TLS, as by default), "tls", or false (none, a relay, or
    -- changed by Decode As); filled on first use, once the options are applied.
    local port_kinds = {}
    local function port_kind(port)
        local kind = port_kinds[port]
        if kind == nil then
            local handle = tcp_ports:get_dissector(port)
            local name = handle and tostring(handle)
            if name == TLS_NAME then kind = "tls"
            elseif name and name == default_port_name[port] and not RELAYS[name] then kind = "other"
            else kind = false end
            port_kinds[port] = kind
        end
        return kind
    end

    local watched, found   -- tcp.stream -> true while tpost_find looks at it; tcp.stream -> where TLS starts
    local opened           -- tcp.stream -> {tcp port -> the first frame whose payload tpost_find saw from it}

    local function reset_found()
        watched, found, opened = {}, {}, {}
        port_kinds = {}   -- Decode As may have changed since the last file (Wireshark dissects again then)
    end
    reset_found()

    -- The connection's key: tcp.stream, or where fields are not filled in (the first pass of tshark -2) its
    -- addresses and ports, the same both ways.
    local function connection_key(pinfo)
        local stream = tcp_value("tcp_stream")
        if stream then return stream end
        local a = tostring(pinfo.src) .. " " .. pinfo.src_port
        local b = tostring(pinfo.dst) .. " " .. pinfo.dst_port
        return a < b and a .. " " .. b or b .. " " .. a
    end

    -- A connection that opens with an HTTP CONNECT request: HTTP relays its tunnel to the tunnelled port's
    -- dissector itself (TLS, for CONNECT host:443), as SOCKS does. Taking the tunnel's segments from HTTP would
    -- leave HTTP's tunnel unstarted, and on every later visit (tshark -2, a click in Wireshark) HTTP would then
    -- read its own CONNECT request and answer as tunnel data: twice, with a false "Unencrypted HTTP" warning.
    local RELAYED = { relay = true }

    -- TLS for this segment? Marks where the connection's TLS starts.
    local function is_tls(tvb, pinfo)
        local stream = connection_key(pinfo)
        local num = pinfo.number
        local head = tvb:raw(0, math.min(tvb:len(), sniff.HEAD))
        local tls = found[stream]
        local sent = opened[stream]
        if not sent then
            sent = {}
            opened[stream] = sent
        end
        local port = pinfo.src_port
        if not sent[port] or sent[port] > num then sent[port] = num end
        if tls == RELAYED then return false end
        if not tls and sniff.http_connect(head) then
            found[stream] = RELAYED
            return false
        end
        if (not tls or tls.frame > num) and sniff.hello(head) then
            tls = { frame = num, sender = pinfo.src_port, peer = nil }
            found[stream] = tls
        end
        if not tls or num < tls.frame then return false end
        if pinfo.src_port == tls.sender then return true end
        -- A STARTTLS request came first (not a server's greeting alone: a binary answer to a hello sent right after
        -- one, as a MySQL server's error, stays with the port's dissector)
        local after_starttls = sent[tls.sender] ~= nil and sent[tls.sender] < tls.frame
        if (tls.peer and tls.peer <= num) or sniff.record(head) or (after_starttls and not sniff.text(head)) then
            if not tls.peer or tls.peer > num then tls.peer = num end
            return true
        end
        return false
    end

    -- Each dissector call lowers can_desegment by one: TCP offers its reassembly to the dissector right above
    -- it only. Raised back, as SOCKS does, so that TLS, called from here, gets it.
    local function offer_reassembly(pinfo)
        local level = pinfo.can_desegment
        if level > 0 then pinfo.can_desegment = level + 1 end
    end

    function find_proto.dissector(tvb, pinfo, tree)
        forget_frame_fields()
        if not settings.find_tls then return 0 end
        local ok, tls = pcall(is_tls, tvb, pinfo)
        if not (ok and tls) then return 0 end
        pcall(offer_reassembly, pinfo)
        -- A segment TLS cannot dissect is marked malformed by Wireshark; the error it raises here stops with it.
        local called, used = pcall(tls_handle.call, tls_handle, tvb, pinfo, tree)
        if not called then return tvb:len() end
        return used
    end

    local function set_conversation(pinfo)
        pinfo.conversation = find_proto
    end

    -- From the postdissector, on every visit of every TCP frame: starts watching a connection on its first frame
    -- when one of its ports belongs to another protocol and neither to TLS, and makes tpost_find its
    -- conversation dissector again after each of its frames, whoever took it over during the frame.
    local function watch_tcp(pinfo)
        local stream = tcp_value("tcp_stream")
        local state
        if stream then
            state = watched[stream]
            if state == false then return end   -- the common case, first: a connection on a TLS or unclaimed port
        else
            if pinfo.port_type ~= PT_TCP then return end
            stream = connection_key(pinfo)
            state = watched[stream]
        end
        if state == nil then
            local a, b = port_kind(pinfo.src_port), port_kind(pinfo.dst_port)
            state = a ~= "tls" and b ~= "tls" and (a == "other" or b == "other")
            watched[stream] = state
        end
        if state then set_conversation(pinfo) end
    end

    return { reset = reset_found, watch = watch_tcp }
end

return find
