"""The "TLS Troubleshooting" Wireshark profile, written from the presets (presets.py).

Four files in the formats Wireshark 4.0 and later read from a profile folder:
dfilter_buttons (filter toolbar buttons), dfilters (saved filters), colorfilters
(colouring rules) and preferences (packet-list columns). Rules and buttons that
need the plugin name tpost fields; without the plugin Wireshark logs a warning
and disables those colour rules, rejects those buttons' filters, and leaves the
tpost columns empty, while everything else keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass

from tsharkpost.wireshark.presets import PRESETS, Preset, preset

PROFILE_NAME = "TLS Troubleshooting"
PLUGIN_NOTE = "needs the tsharkpost plugin"


@dataclass(frozen=True)
class Column:
    """A packet-list column: a built-in format (%m, %t, ...) or a field (a custom column)."""

    title: str
    format: str = ""
    field: str = ""

    @property
    def spec(self) -> str:
        # Custom column: field, occurrence 0 (all of them), R = show resolved values (names, not numbers).
        return f"%Cus:{self.field}:0:R" if self.field else self.format


COLUMNS: tuple[Column, ...] = (
    Column("No.", "%m"),
    Column("Time", "%t"),
    Column("Source", "%s"),
    Column("Destination", "%d"),
    Column("Protocol", "%p"),
    Column("SNI", field="tls.handshake.extensions_server_name"),
    Column("Alert", field="tls.alert_message.desc"),
    Column("Severity", field="tpost.max_severity"),
    Column("Check", field="tpost.check"),
    Column("Info", "%i"),
)


@dataclass(frozen=True)
class ColourRule:
    """Rows matching a preset get these colours (#rrggbb); the first matching rule wins."""

    name: str
    preset: str
    background: str
    foreground: str


# Errors and fatal alerts stand out (deep red), warnings less (amber), the rest is a hint.
COLOUR_RULES: tuple[ColourRule, ...] = (
    ColourRule("tsharkpost error", "errors", "#b71c1c", "#ffffff"),
    ColourRule("TLS fatal alert", "fatal-alerts", "#b71c1c", "#ffffff"),
    ColourRule("tsharkpost warning", "warnings", "#ffc94d", "#000000"),
    ColourRule("TCP reset", "resets", "#ffb199", "#000000"),
    ColourRule("tsharkpost note", "findings", "#cfe3ff", "#000000"),
    ColourRule("TLS hello", "hellos", "#e4ddf4", "#000000"),
)

HEADER = f"# {PROFILE_NAME} profile written by tsharkpost (tsharkpost wireshark install); edits are kept.\n"


def _uat_field(text: str) -> str:
    """A quoted UAT field: quote, backslash and control characters as \\xNN, as Wireshark writes them."""
    escaped = "".join(f"\\x{ord(c):02x}" if c in '"\\' or ord(c) < 0x20 else c for c in text)
    return f'"{escaped}"'


def _tooltip(item: Preset) -> str:
    return f"{item.finds} ({PLUGIN_NOTE})" if item.needs_plugin else item.finds


def dfilter_buttons() -> str:
    rows = [",".join(_uat_field(value) for value in ("TRUE", item.label, item.filter, _tooltip(item)))
            for item in PRESETS if item.button]
    return HEADER + "\n".join(rows) + "\n"


def dfilters() -> str:
    # Saved filters: "name" filter, one a line; the name may not hold a quote.
    rows = [f'"{item.label}{" (plugin)" if item.needs_plugin else ""}" {item.filter}' for item in PRESETS]
    return HEADER + "\n".join(rows) + "\n"


def _colour(hex_rgb: str) -> str:
    # colorfilters spells a colour as 16-bit channels: [r,g,b] with 0..65535.
    channels = [int(hex_rgb[i:i + 2], 16) * 257 for i in (1, 3, 5)]
    return "[" + ",".join(map(str, channels)) + "]"


def colorfilters() -> str:
    rows = [f"@{rule.name}@{preset(rule.preset).filter}@{_colour(rule.background)}{_colour(rule.foreground)}"
            for rule in COLOUR_RULES]
    return HEADER + "\n".join(rows) + "\n"


def preferences() -> str:
    specs = [f'\t"{column.title}", "{column.spec}"' for column in COLUMNS]
    return HEADER + "\n# Packet list columns: SNI, alert, and the plugin's highest severity and check ids\n" \
        + "gui.column.format:\n" + ",\n".join(specs) + "\n"


def files() -> dict[str, str]:
    """File name in the profile folder -> its content."""
    return {"dfilter_buttons": dfilter_buttons(), "dfilters": dfilters(), "colorfilters": colorfilters(),
            "preferences": preferences()}
