-- luacheck configuration for lua/tsharkpost.lua (run by scripts/check-lua).
-- The plugin targets the Lua subset common to 5.2-5.4 and must define no globals:
-- everything Wireshark provides is read-only here.
std = "lua52"
max_line_length = 120
read_globals = {
    -- Wireshark Lua API used by the plugin
    "get_version", "Proto", "ProtoField", "ProtoExpert", "Pref", "Field",
    "register_postdissector", "base", "expert", "frametype", "ftypes",
}
