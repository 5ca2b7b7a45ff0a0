-- Test helper: one tap per display filter, so a single tshark pass shows which
-- frames each filter selects (Wireshark's own filter engine, as -Y uses it).
-- Filters come from PRESET_TAPS, one "name<TAB>filter" a line; each match is
-- printed as "name<TAB>frame number". The taps are made on the first init, when
-- every Lua plugin's fields are registered.
-- luacheck: read globals Proto Listener
local spec = os.getenv("PRESET_TAPS")
if not spec then error("preset_taps.lua: PRESET_TAPS is not set", 0) end
local made = false
local helper = Proto("presettaps", "preset taps (test helper)")
function helper.init()
    if made then return end
    made = true
    for line in string.gmatch(spec, "[^\n]+") do
        local name, filter = string.match(line, "^([^\t]+)\t(.+)$")
        local tap = Listener.new("frame", filter)
        function tap.packet(pinfo)
            io.write(name, "\t", pinfo.number, "\n")
        end
    end
end
