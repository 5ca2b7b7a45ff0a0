"""The "TLS Troubleshooting" Wireshark profile, written from the presets (presets.py).

Four files in the formats Wireshark 4.0 and later read from a profile folder:
dfilter_buttons (filter toolbar buttons), dfilters (saved filters), colorfilters
(colouring rules) and preferences (packet-list columns). Rules and buttons that
need the plugin name tpost fields; without the plugin Wireshark logs a warning
and disables those colour rules, rejects those buttons' filters, and leaves the
tpost columns empty, while everything else keeps working.

A fifth, `recent`, is Wireshark's own: it keeps column widths and pane sizes there
and rewrites the whole file when it exits. tsharkpost seeds it (installer.py writes
it only when absent) with the only keys that matter on a first start: the columns'
widths and the sizes of the main window and of Expert Information, which Wireshark
reads from a profile's recent while the user has no recent_common of their own yet
(a first start).
"""

from __future__ import annotations

from dataclasses import dataclass

from tsharkpost.wireshark.presets import PRESETS, Preset, preset

PROFILE_NAME = "TLS Troubleshooting"
PLUGIN_NOTE = "needs the tsharkpost plugin"


@dataclass(frozen=True)
class Column:
    """A packet-list column: a built-in format (%m, %t, ...) or a field (a custom column).

    Attributes:
        width: its width in pixels on a first start (the recent file; the user's resizing wins after).
    """

    title: str
    format: str = ""
    field: str = ""
    width: int = 100

    @property
    def spec(self) -> str:
        # Custom column: field, occurrence 0 (all of them), R = show resolved values (names, not numbers).
        return f"%Cus:{self.field}:0:R" if self.field else self.format

    @property
    def recent_format(self) -> str:
        """How Wireshark's recent file names the column: its format, a custom column by its field."""
        return f'"%Cus:{self.field}"' if self.field else self.format


# The diagnosis comes early, wide enough for one phrase ("cert #3 signed MD2, not offered by client"),
# so that it shows in a 1200-pixel window; Severity and Check, for filtering and sorting, come last.
COLUMNS: tuple[Column, ...] = (
    Column("No.", "%m", width=44),
    Column("Time", "%t", width=92),
    Column("Source", "%s", width=88),
    Column("Destination", "%d", width=88),
    Column("Protocol", "%p", width=64),
    Column("Diagnosis", field="tpost.diagnosis", width=340),
    Column("SNI", field="tls.handshake.extensions_server_name", width=150),
    Column("Alert", field="tls.alert_message.desc", width=120),
    Column("Info", "%i", width=520),
    Column("Severity", field="tpost.max_severity", width=64),
    Column("Check", field="tpost.check", width=240),
)
# The main window on a first start: room for the columns up to Info on a 1280x800 or 1366x768 screen.
WINDOW_WIDTH, WINDOW_HEIGHT = 1200, 700
# Expert Information on a first start (centred on the main window): wide enough for its Protocol and Count
# columns beside a summary such as "Root certificate signed with MD2, not offered by the client".
EXPERT_DIALOG_WIDTH, EXPERT_DIALOG_HEIGHT = 960, 520


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
    return HEADER + "\n# Packet list columns: the plugin's diagnosis, SNI, alert, and its highest severity and " \
        "check ids\n" + "gui.column.format:\n" + ",\n".join(specs) + "\n"


def recent() -> str:
    """The profile's recent file as tsharkpost seeds it: column widths and the first windows' sizes."""
    widths = [f"\t{column.recent_format}, {column.width}" for column in COLUMNS]
    return (f"# Recent settings of the {PROFILE_NAME} profile, seeded by tsharkpost (tsharkpost wireshark install)\n"
            "# when there was none: Wireshark rewrites this file as it exits, and tsharkpost never overwrites it.\n"
            "\n# Window sizes on a first start (then Wireshark keeps the user's own in recent_common).\n"
            f"gui.geometry_main_width: {WINDOW_WIDTH}\ngui.geometry_main_height: {WINDOW_HEIGHT}\n"
            f"gui.geom.ExpertInfoDialog.width: {EXPERT_DIALOG_WIDTH}\n"
            f"gui.geom.ExpertInfoDialog.height: {EXPERT_DIALOG_HEIGHT}\n"
            "\n# Packet list column pixel widths.\ncolumn.width:\n" + ",\n".join(widths) + "\n")


def files() -> dict[str, str]:
    """File name in the profile folder -> its content."""
    return {"dfilter_buttons": dfilter_buttons(), "dfilters": dfilters(), "colorfilters": colorfilters(),
            "preferences": preferences()}


def seeds() -> dict[str, str]:
    """Files written only when absent, which Wireshark then owns (installer.py): name -> content."""
    return {"recent": recent()}
