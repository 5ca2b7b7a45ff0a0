"""Every tshark field and PDML node tsharkpost reads, in one place.

Checked against tshark 4.0; a later rename gets an alias here, nowhere else.
"""

from __future__ import annotations

# The plugin's per-packet bridge (tpost.pkt): stream, endpoints, flags and running
# application data counts, so that neither the IP/TCP trees nor the application
# data frames have to be in the PDML.
PLUGIN_BRIDGE_PREF = "tpost.bridge:TRUE"

# Packets worth emitting: exactly those the plugin's bridge writes a line for (connection
# edges, every TLS record but application data, the first application data of each
# direction, anything with a finding or certificate summary). The plugin decides once,
# cheaper for tshark than evaluating a longer filter on every packet. Beside them, the first payload of a
# direction that is not TLS (an HTTP response or undissected data at relative sequence 1): one packet per
# direction at most, so that a server answering a ClientHello in plaintext can be named (tracker.py).
DISPLAY_FILTER = "tpost.pkt || ((http.response || data) && tcp.seq == 1 && tcp.len > 0)"

# The plugin's TLS records (tpost.tls, with the bridge): the frame's records and hello facts in one line, so
# that tshark writes no TLS or X.509 tree at all (issue 13).
PLUGIN_WIRE_PREF = "tpost.wire:TRUE"

# PDML nodes to keep (tshark -j): protocols bring their direct children, listed fields their subtrees. The
# plugin's tree carries everything from TLS (tpost.pkt, tpost.tls, tpost.cert, tpost.finding); "http" stays for
# the first line of a plaintext answer (one frame per direction at most, by the display filter).
PDML_NODES = ["tpost", "tpost.finding", "tpost.cert", "http"]

WIRE = "tpost.tls"  # the frame's TLS records as tokens (lua/tpost/tpost_wire.lua; read by capture/wire.py)
PACKET = "tpost.pkt"  # "stream src srcport dst dstport flags app_src app_dst last_data_frame last_data_time"

# tshark's TLS fields whose values the plugin's tpost.tls line carries (capture/wire.py maps its letters to these
# names): the names tracker.py looks values up by.
HANDSHAKE_VERSION = "tls.handshake.version"
SESSION_ID = "tls.handshake.session_id"
RANDOM = "tls.handshake.random"
CIPHER_SUITE = "tls.handshake.ciphersuite"
CIPHER_SPEC_V2 = "tls.handshake.cipherspec"  # 3-byte cipher specs of an SSLv2-format ClientHello
EXTENSION_TYPE = "tls.handshake.extension.type"
SERVER_NAME = "tls.handshake.extensions_server_name"
ALPN = "tls.handshake.extensions_alpn_str"
SUPPORTED_VERSION = "tls.handshake.extensions.supported_version"
SIGNATURE_ALGORITHM = "tls.handshake.sig_hash_alg"
KEY_SHARE_GROUP = "tls.handshake.extensions_key_share_group"
SUPPORTED_GROUP = "tls.handshake.extensions_supported_group"
NAMED_CURVE = "tls.handshake.server_named_curve"
EC_POINT_FORMAT = "tls.handshake.extensions_ec_point_format"  # JA3's last list

EXTENSION_SIGNATURE_ALGORITHMS = 13
EXTENSION_SUPPORTED_VERSIONS = 43
EXTENSION_PRE_SHARED_KEY = 41
EXTENSION_SIGNATURE_ALGORITHMS_CERT = 50

# The plugin's bridge (lua/tsharkpost.lua): one subtree per finding, one per certificate.
FINDING = "tpost.finding"
CERT = "tpost.cert"
CERT_FIELDS = {
    "tpost.cert.index": "index", "tpost.cert.sender": "sender", "tpost.cert.subject": "subject",
    "tpost.cert.subject_cn": "subject_cn", "tpost.cert.issuer": "issuer", "tpost.cert.serial": "serial",
    "tpost.cert.sigalg.oid": "sigalg_oid", "tpost.cert.sigalg.name": "sigalg_name",
    "tpost.cert.key.type": "key_type", "tpost.cert.key.bits": "key_bits", "tpost.cert.key.curve": "key_curve",
    "tpost.cert.key.alg": "key_alg",
    "tpost.cert.not_before": "not_before", "tpost.cert.not_after": "not_after", "tpost.cert.san": "san",
    "tpost.cert.sha256": "sha256", "tpost.cert.sha1": "sha1", "tpost.cert.self_signed": "self_signed",
    "tpost.cert.ca": "ca", "tpost.cert.path_len": "path_len", "tpost.cert.key_usage": "key_usage",
}
FINDING_CHECK, FINDING_SEVERITY, FINDING_MESSAGE = "tpost.check", "tpost.severity", "tpost.message"
FINDING_CERT_INDEX = "tpost.cert.index"
