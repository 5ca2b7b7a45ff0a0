"""Every tshark field tsharkpost reads, in one place.

Checked against tshark 4.0; a later rename gets an alias here, nowhere else.
"""

from __future__ import annotations

# tsharkpost's own tshark runs load the plugin with -X lua_script and name that copy with this argument
# (-X lua_script1:...), with RUN_ENVIRONMENT set in tshark's environment: another copy tshark finds in a plugins
# folder (one `tsharkpost wireshark install` wrote, perhaps of another version) stands aside in such a run instead
# of registering tpost a second time (lua/tsharkpost.lua, section 0).
RUN_ARGUMENT = "tsharkpost-run"
RUN_ENVIRONMENT = "TSHARKPOST_RUN"

# The plugin's per-packet bridge (tpost.pkt): stream, endpoints, flags and running
# application data counts, so that neither the IP/TCP trees nor the application
# data frames have to be in tshark's output.
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

# summarize's tshark run writes one line per shown frame (tshark -T fields), these columns separated by tabs
# (capture/fields_reader.py reads them in this order). A field that occurs several times in a frame gives its
# values joined by AGGREGATOR, a control character: the plugin's lines escape every byte outside 0x21-0x7e
# (lua/tpost/tpost_wire.lua, tpost_lines.lua), so it never occurs in them. Beside the plugin's fields: the
# endpoints and the first line of a plaintext answer (an HTTP message or undissected data; one frame per
# direction at most, by the display filter), which tshark's IP, TCP, HTTP and data fields give. The free
# texts (an HTTP request's URI, a response's phrase) come last, where a tab in them cannot move a column.
AGGREGATOR = "\x1f"
WIRE = "tpost.tls"  # the frame's TLS records as tokens (lua/tpost/tpost_wire.lua; read by capture/wire.py)
PACKET = "tpost.pkt"  # "stream src srcport dst dstport flags app_src app_dst last_data_frame last_data_time"
# A UDP frame's stream starts with its transport's letter (a TCP one is a bare number); its flags are QUIC's
# letters ("o" 1-RTT packet, "h" HANDSHAKE_DONE, "e" a Handshake packet tshark could not decrypt, "x"
# CONNECTION_CLOSE, "a" an application close (0x1d), "r" Retry, "n" Version Negotiation, then ":" and the error
# code, then "/" and the versions: a Version Negotiation's list, else the long header's) or "-".
UDP_TRANSPORTS = {"d": "udp-dtls", "q": "quic"}
CERT_LINE = "tpost.certline"  # one certificate summary as tokens (lua/tpost/tpost_lines.lua)
FINDING_LINE = "tpost.findline"  # one finding as tokens (lua/tpost/tpost_lines.lua)
COLUMNS = [
    "frame.number", "frame.time_epoch", PACKET, WIRE, CERT_LINE, FINDING_LINE,
    "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "data.data",
    "http.response.version", "http.response.code", "http.request.method", "http.request.version",
    "http.request.uri", "http.response.phrase",
]

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

# The letters of a certificate's line (tpost.certline, lua/tpost/tpost_lines.lua) -> Certificate's attributes;
# the same facts as the tree's tpost.cert.* fields.
CERT_TOKENS = {
    "i": "index", "w": "sender", "s": "subject", "c": "subject_cn", "I": "issuer", "n": "serial",
    "o": "sigalg_oid", "a": "sigalg_name", "t": "key_type", "A": "key_alg", "b": "key_bits", "v": "key_curve",
    "f": "not_before", "F": "not_after", "N": "san", "h": "sha256", "H": "sha1", "x": "self_signed", "C": "ca",
    "L": "path_len", "u": "key_usage",
}
# The letters of a finding's line (tpost.findline): check, severity, message, its certificate's chain index.
FINDING_TOKENS = {"c": "check", "s": "severity", "m": "message", "i": "cert_index"}
