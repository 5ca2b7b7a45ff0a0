"""The display-filter presets: the one list behind `tsharkpost filters` and the Wireshark profile.

Check ids are those of lua/tables/checks.tsv and fields those of lua/tsharkpost.lua;
the tests compile every filter with the plugin loaded and check the frames each one
selects on captures/ against the captures' ground truth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tsharkpost.errors import UnknownPreset
from tsharkpost.plugin.tables import Severity, read_table

# Fields of the tsharkpost post-dissector: a filter naming one does not compile without the plugin.
_PLUGIN_FIELD = re.compile(r"\btpost\b")


@dataclass(frozen=True)
class Preset:
    """One named display filter.

    Attributes:
        name: stable id for `tsharkpost filters NAME` (lower case, dashes).
        label: the filter button's text in Wireshark (short).
        filter: the display filter, valid for Wireshark 4.0 and later.
        finds: what the filter selects, in one line.
        button: whether the profile shows it as a filter button (all are saved filters).
    """

    name: str
    label: str
    filter: str
    finds: str
    button: bool = True

    @property
    def needs_plugin(self) -> bool:
        """True when the filter names a tpost field: without the plugin Wireshark rejects it."""
        return bool(_PLUGIN_FIELD.search(self.filter))


def _old_versions_filter() -> str:
    """ServerHellos choosing a version that lua/tables/protocol_versions.tsv rates weak (the plugin's own list)."""
    weak = [row for row in read_table("protocol_versions") if row["weakness"]]
    terms = []
    for proto, dtls in (("tls", False), ("dtls", True)):
        codes = ", ".join(f"0x{row['code']}" for row in weak if row["name"].startswith("DTLS") == dtls)
        terms.append(f"({proto}.handshake.type == 2 && {proto}.handshake.version in {{{codes}}})")
    return " || ".join(terms)


PRESETS: tuple[Preset, ...] = (
    Preset("fatal-alerts", "Fatal alerts", "tls.alert_message.level == 2",
           "plaintext fatal TLS alerts from either side (the Alert column names them)"),
    Preset("failed-handshakes", "Failed handshakes",
           'tls.alert_message.level == 2 || tpost.check in {"silent_teardown", "encrypted_alert"}',
           "the frame that ended each handshake that never completed: a fatal alert, an encrypted alert "
           "before any application data, or a silent FIN/RST after the certificate flight"),
    Preset("silent-teardown", "Silent teardown", 'tpost.check == "silent_teardown"',
           "FIN or RST right after the server's certificate flight with no alert (the Schannel case)"),
    Preset("findings", "Findings", "tpost.finding",
           "every frame with a tsharkpost finding, any check, any severity"),
    Preset("errors", "Errors", f"tpost.severity == {Severity.ERROR.value}",
           "frames with a finding of severity error", button=False),
    Preset("warnings", "Warnings", f"tpost.severity == {Severity.WARNING.value}",
           "frames with a finding of severity warning", button=False),
    Preset("sigalg-not-offered", "Sigalg not offered", 'tpost.check == "sigalg_not_offered"',
           "chain certificates signed with an algorithm the ClientHello did not offer (RFC 5246 7.4.2)"),
    Preset("weak-signatures", "Weak signatures", 'tpost.check == "weak_signature"',
           "certificates signed with md2/md4/md5 (error) or sha1 (warning); a self-signed certificate's own "
           "signature only a note"),
    Preset("weak-keys", "Weak keys",
           'tpost.check in {"weak_rsa_key", "weak_dsa_key", "weak_ec_key", "weak_dh_group"}',
           "short RSA, DSA or EC certificate keys and short ephemeral DH groups"),
    Preset("old-versions", "Old versions", _old_versions_filter(),
           "ServerHellos that chose SSL 2.0/3.0, TLS 1.0, TLS 1.1 or DTLS 1.0 (what old_protocol_version rates)"),
    Preset("hellos", "Hellos", "tls.handshake.type in {1, 2}",
           "ClientHello and ServerHello only: who offered what, and what was chosen"),
    Preset("resets", "Resets", "tcp.flags.reset == 1", "TCP resets (RST) from either side"),
    Preset("dtls-fatal-alerts", "DTLS alerts", "dtls.alert_message.level == 2",
           "plaintext fatal DTLS alerts from either side"),
    Preset("quic-crypto-errors", "QUIC crypto errors", "quic.cc.error_code in {256..511}",
           "QUIC CONNECTION_CLOSE frames whose error is CRYPTO_ERROR (0x0100 + a TLS alert, an unassigned one too; "
           "readable without keys when sent in an Initial packet)"),
)


def preset(name: str) -> Preset:
    for candidate in PRESETS:
        if candidate.name == name:
            return candidate
    raise UnknownPreset(name)
