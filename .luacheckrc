-- luacheck configuration for the Lua in this repository (run by scripts/check-lua).
-- Everything targets the Lua subset common to 5.2-5.4 and must define no globals.
std = "lua52"
max_line_length = 120

-- The plugin: everything Wireshark provides is read-only here.
files["lua/tsharkpost.lua"] = {
    read_globals = {
        "get_version", "Proto", "ProtoField", "ProtoExpert", "Pref", "Field",
        "register_postdissector", "base", "expert", "frametype", "ftypes", "Dissector", "DissectorTable",
        "all_field_infos",
    },
}
-- lua/tpost/*.lua (the plugin's Wireshark-free modules) and tests/lua/*.lua (their test drivers)
-- may use plain Lua only: a Wireshark global there fails the check.
