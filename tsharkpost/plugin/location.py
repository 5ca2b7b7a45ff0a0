"""Where the Wireshark plugin and its fact tables live, installed or in a source checkout."""

from __future__ import annotations

from pathlib import Path

PLUGIN_FILE = "tsharkpost.lua"
_PACKAGE = Path(__file__).resolve().parent.parent


def lua_dir() -> Path:
    """The folder holding tsharkpost.lua and tables/.

    An installed wheel carries it inside the package (tsharkpost/lua); a source
    checkout or an editable install has it beside the package (lua/).
    """
    packaged = _PACKAGE / "lua"
    if (packaged / PLUGIN_FILE).is_file():
        return packaged
    return _PACKAGE.parent / "lua"


def plugin_path() -> Path:
    """The post-dissector to pass to tshark as -X lua_script:PATH."""
    return lua_dir() / PLUGIN_FILE


def tables_dir() -> Path:
    """The fact tables (TSV) shared by the plugin and the Python package."""
    return lua_dir() / "tables"
