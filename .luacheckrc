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
-- The plugin's Wireshark-facing modules (lua/tpost/tpost_ws_*.lua): Wireshark's API, read-only, used only inside
-- the constructors and functions the plugin calls (loaded on their own, they only return a table).
files["lua/tpost/tpost_ws_*.lua"] = {
    read_globals = {
        "Proto", "Field", "Dissector", "DissectorTable", "all_field_infos",
    },
}
-- The other lua/tpost/*.lua (the plugin's Wireshark-free modules) and tests/lua/*.lua (their test drivers)
-- may use plain Lua only: a Wireshark global there fails the check.
