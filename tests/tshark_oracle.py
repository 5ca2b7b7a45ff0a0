"""An independent reading of a capture with plain tshark fields, for checking captures/expected.json.

Deliberately separate from the tsharkpost package and its plugin: it is the
yardstick those are measured against, so it shares none of their code.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

VERSIONS = {"0x0300": "SSL 3.0", "0x0301": "TLS 1.0", "0x0302": "TLS 1.1", "0x0303": "TLS 1.2",
            "0x0304": "TLS 1.3"}
HANDSHAKE_NAMES = {1: "client_hello", 2: "server_hello", 4: "new_session_ticket", 8: "encrypted_extensions",
                   11: "certificate", 12: "server_key_exchange", 13: "certificate_request",
                   14: "server_hello_done", 15: "certificate_verify", 16: "client_key_exchange", 20: "finished"}
CONTENT_NAMES = {20: "change_cipher_spec", 21: "alert", 22: "encrypted_handshake", 23: "application_data"}
WEAK_SIGNATURES = {"md2WithRSAEncryption", "md4WithRSAEncryption", "md5WithRSAEncryption", "sha1WithRSAEncryption"}
FIELDS = ["frame.number", "frame.time_epoch", "tcp.stream", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport",
          "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset", "tls.record.content_type",
          "tls.record.opaque_type", "tls.record.length",
          "tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.version",
          "tls.handshake.extensions.supported_version", "tls.alert_message.level", "tls.alert_message.desc"]


@dataclass
class Endpoints:
    """Who talked to whom, and the hello facts every oracle reads (this one and udp_oracle.py)."""

    client: str = ""
    client_port: int = 0
    server: str = ""
    server_port: int = 0
    sni: str | None = None
    version: str | None = None


@dataclass
class Observed(Endpoints):
    """What tshark shows of one TCP connection, in the vocabulary of expected.json."""

    data_from: set[str] = field(default_factory=set)
    first_fatal_alert: dict | None = None
    teardown: dict | None = None
    teardown_frame: int = 0
    last_message: str = ""
    weak_certificates: list[dict] = field(default_factory=list)
    frames: list[tuple[int, float, str]] = field(default_factory=list)  # (frame, epoch, what)

    @property
    def established(self) -> bool:
        return self.data_from == {"client", "server"}


def _ints(value: str) -> list[int]:
    return [int(item, 0) for item in value.split(",") if item]


def alert_names(tshark: str, protocol: str = "tls") -> dict[int, str]:
    """Wireshark's names of TLS (or DTLS: protocol "dtls") alerts ("Bad Certificate"), spelled as IANA does
    (bad_certificate)."""
    out = subprocess.run([tshark, "-G", "values"], capture_output=True, text=True, check=True).stdout
    names = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[0] == "V" and parts[1] == f"{protocol}.alert_message.desc":
            names[int(parts[2])] = parts[3].lower().replace(" ", "_")
    return names


def read_connections(tshark: str, capture: Path, names: dict[int, str]) -> dict[int, Observed]:
    argv = [tshark, "-n", "-r", str(capture), "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
            "-E", "separator=\t"] + [arg for name in FIELDS for arg in ("-e", name)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    connections: dict[int, Observed] = defaultdict(Observed)
    for line in out.splitlines():
        row = dict(zip(FIELDS, line.split("\t")))
        if not row["tcp.stream"]:
            continue
        conn = connections[int(row["tcp.stream"])]
        if not conn.client:  # the first packet is the SYN: its sender is the client
            conn.client, conn.client_port = row["ip.src"], int(row["tcp.srcport"])
            conn.server, conn.server_port = row["ip.dst"], int(row["tcp.dstport"])
        side = "client" if (row["ip.src"], int(row["tcp.srcport"])) == (conn.client, conn.client_port) else "server"
        _read_records(conn, row, side, names)
        frame = int(row["frame.number"])
        if conn.teardown is None and (row["tcp.flags.fin"] in ("1", "True") or row["tcp.flags.reset"] in ("1", "True")):
            kind = "RST" if row["tcp.flags.reset"] in ("1", "True") else "FIN"
            conn.teardown = {"kind": kind, "by": side, "after": conn.last_message}
            conn.teardown_frame = frame
        conn.frames.append((frame, float(row["frame.time_epoch"]), conn.last_message))
    return dict(connections)


def _read_records(conn: Observed, row: dict[str, str], side: str, names: dict[int, str]) -> None:
    # A TLS 1.3 record that tshark decrypts shows its inner content type (and its outer
    # opaque type); one it cannot decrypt shows only the opaque type, always after any
    # plaintext record of the same packet.
    content_types = _ints(row["tls.record.content_type"])
    records = len(_ints(row["tls.record.length"]))
    if len(content_types) < records:
        content_types += _ints(row["tls.record.opaque_type"])[-(records - len(content_types)):]
    handshakes = _ints(row["tls.handshake.type"])
    if 1 in handshakes and row["tls.handshake.extensions_server_name"]:
        conn.sni = row["tls.handshake.extensions_server_name"].split(",")[0]
    if 2 in handshakes:
        supported = row["tls.handshake.extensions.supported_version"]
        versions = row["tls.handshake.version"].split(",")
        # A ClientHello in the same packet never happens here; the ServerHello's is the first.
        conn.version = VERSIONS.get(supported.split(",")[0] if supported else versions[0])
    levels, descriptions = _ints(row["tls.alert_message.level"]), _ints(row["tls.alert_message.desc"])
    for level, code in zip(levels, descriptions):
        if level == 2 and conn.first_fatal_alert is None:
            conn.first_fatal_alert = {"code": code, "name": names.get(code), "sender": side}
    for content_type in content_types:
        if content_type == 23:
            conn.data_from.add(side)
    if content_types:
        last = content_types[-1]
        conn.last_message = (HANDSHAKE_NAMES.get(handshakes[-1], "unknown")
                             if last == 22 and handshakes else CONTENT_NAMES.get(last, str(last)))


def _certificate_messages(tshark: str, capture: Path) -> Iterator[tuple[int, list[etree._Element]]]:
    """(tcp.stream, its certificates' PDML elements as sent) for every frame with a Certificate message."""
    argv = [tshark, "-n", "-r", str(capture), "-Y", "tls.handshake.type == 11", "-T", "pdml"]
    pdml = subprocess.run(argv, capture_output=True, check=True).stdout
    for packet in etree.fromstring(pdml).iter("packet"):
        stream = int(packet.find(".//field[@name='tcp.stream']").get("show"))
        yield stream, list(packet.iterfind(".//field[@name='tls.handshake.certificate']"))


def read_weak_certificates(tshark: str, capture: Path, connections: dict[int, Observed]) -> None:
    """Walk the X.509 tree of every Certificate message (PDML) and note weak signatures and keys."""
    for stream, certs in _certificate_messages(tshark, capture):
        found = connections[stream].weak_certificates
        for index, cert in enumerate(certs):
            cn = _subject_cn(cert)
            outer = cert.find("field[@name='x509af.algorithmIdentifier_element']/field[@name='x509af.algorithm.id']")
            algorithm = re.search(r"\((\S+)\)$", outer.get("showname")).group(1)
            issuer, subject = (cert.find(f".//field[@name='x509af.{part}']").get("value") for part in ("issuer", "subject"))
            self_signed = issuer == subject  # a trust anchor: its own signature is never checked
            if algorithm in WEAK_SIGNATURES:
                found.append({"index": index, "subject_cn": cn, "weakness": f"signature:{algorithm}",
                              "self_signed": self_signed})
            modulus = cert.find(".//field[@name='pkcs1.modulus']")
            bits = int(modulus.get("show").replace(":", ""), 16).bit_length()
            if bits < 2048:
                found.append({"index": index, "subject_cn": cn, "weakness": f"key:rsa-{bits}",
                              "self_signed": self_signed})


def _subject_cn(cert: etree._Element) -> str:
    subject = cert.find(".//field[@name='x509af.subject']/field[@name='x509af.rdnSequence']")
    return re.search(r"id-at-commonName=([^,)]+)", subject.get("showname")).group(1)


@dataclass(frozen=True)
class SentChain:
    """One Certificate message as plain tshark shows it: who sent it, and each certificate's DER and subject CN."""

    stream: int
    frame: int
    source_port: int
    ders: tuple[bytes, ...]
    subject_cns: tuple[str, ...]


def read_sent_chains(tshark: str, capture: Path) -> list[SentChain]:
    """Every Certificate message of a capture, server's and client's alike (mutual TLS), in frame order."""
    argv = [tshark, "-n", "-r", str(capture), "-Y", "tls.handshake.type == 11", "-T", "pdml"]
    pdml = subprocess.run(argv, capture_output=True, check=True).stdout
    chains = []
    for packet in etree.fromstring(pdml).iter("packet"):
        def show(name: str) -> str:
            return packet.find(f".//field[@name='{name}']").get("show")
        certs = list(packet.iterfind(".//field[@name='tls.handshake.certificate']"))
        chains.append(SentChain(int(show("tcp.stream")), int(show("frame.number")), int(show("tcp.srcport")),
                                tuple(bytes.fromhex(cert.get("value")) for cert in certs),
                                tuple(_subject_cn(cert) for cert in certs)))
    return chains


def read_chains(tshark: str, capture: Path) -> dict[int, list[str]]:
    """Stream -> subject CN of each certificate of its (first) Certificate message, as sent."""
    chains: dict[int, list[str]] = {}
    for stream, certs in _certificate_messages(tshark, capture):
        chains.setdefault(stream, [_subject_cn(cert) for cert in certs])
    return chains


def offered_suite_counts(tshark: str, capture: Path) -> dict[int, int]:
    """Stream -> number of cipher suites its ClientHello offers (GREASE values left out)."""
    argv = [tshark, "-n", "-r", str(capture), "-Y", "tls.handshake.type == 1", "-T", "fields", "-e", "tcp.stream",
            "-e", "tls.handshake.ciphersuite", "-E", "occurrence=a", "-E", "aggregator=,"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    counts: dict[int, int] = {}
    for line in out.splitlines():
        stream, suites = line.split("\t")
        codes = [int(code, 16) for code in suites.split(",") if code]
        counts.setdefault(int(stream), sum(1 for code in codes if code & 0x0F0F != 0x0A0A))
    return counts


# -- TLS fingerprints -------------------------------------------------------------------------------------------------

HELLO_FIELDS = ["tcp.stream", "tcp.srcport", "tcp.dstport", "tls.handshake.type", "tls.handshake.version",
                "tls.handshake.ja3_full", "tls.handshake.ja3", "tls.handshake.ja3s_full", "tls.handshake.ja3s",
                "tls.handshake.ciphersuite", "tls.handshake.extension.type",
                "tls.handshake.extensions.supported_version", "tls.handshake.extensions_alpn_str",
                "tls.handshake.sig_hash_alg_len", "tls.handshake.sig_hash_alg"]


@dataclass
class Hellos:
    """tshark's own JA3/JA3S of one connection's hellos, and a JA4 of its first ClientHello computed here."""

    client_port: int = 0
    server_port: int = 0
    ja3: list[tuple[str, str]] = field(default_factory=list)  # (full string, MD5) of each ClientHello, in order
    ja3s: list[tuple[str, str]] = field(default_factory=list)  # the same of each ServerHello
    ja4: str | None = None


def _grease(code: int) -> bool:
    return code & 0x0F0F == 0x0A0A and code >> 8 == code & 0xFF


def _codes(value: str) -> list[int]:
    return [int(item, 0) for item in value.split("|") if item]


def _ja3(full: str, md5: str) -> tuple[str, str]:
    """tshark's JA3 string and hash, GREASE taken out (some Wireshark versions keep it; JA3 never does)."""
    plain = ",".join("-".join(code for code in part.split("-") if code and not _grease(int(code)))
                     for part in full.split(","))
    return plain, md5 if plain == full else hashlib.md5(plain.encode()).hexdigest()


def _ja4(row: dict[str, str]) -> str:
    """JA4 from FoxIO's public specification (technical_details/JA4.md), written out once more from plain fields."""
    suites = [code for code in _codes(row["tls.handshake.ciphersuite"]) if not _grease(code)]
    extensions = [code for code in _codes(row["tls.handshake.extension.type"]) if not _grease(code)]
    versions = [code for code in _codes(row["tls.handshake.extensions.supported_version"]) if not _grease(code)]
    version = max(versions) if versions else _codes(row["tls.handshake.version"])[0]
    alpn = row["tls.handshake.extensions_alpn_str"].split("|")[0]
    # signature_algorithms (13), delegated_credentials (34) and signature_algorithms_cert (50) share a field:
    # split it by their lengths.
    lengths, algorithms = _codes(row["tls.handshake.sig_hash_alg_len"]), _codes(row["tls.handshake.sig_hash_alg"])
    signatures: list[int] = []
    for kind, length in zip([code for code in extensions if code in (13, 34, 50)], lengths):
        taken, algorithms = algorithms[:length // 2], algorithms[length // 2:]
        if kind == 13:
            signatures = [code for code in taken if not _grease(code)]
    names = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0002: "s2"}
    if not alpn:
        chars = "00"
    elif alpn[0].isascii() and alpn[0].isalnum() and alpn[-1].isascii() and alpn[-1].isalnum():
        chars = alpn[0] + alpn[-1]
    else:
        chars = alpn.encode().hex()[0] + alpn.encode().hex()[-1]
    head = (f"t{names.get(version, '00')}{'d' if 0 in extensions else 'i'}{min(len(suites), 99):02d}"
            f"{min(len(extensions), 99):02d}{chars}")
    ciphers = hashlib.sha256(",".join(f"{c:04x}" for c in sorted(suites)).encode()).hexdigest()[:12] \
        if suites else "0" * 12
    kept = ",".join(f"{c:04x}" for c in sorted(extensions) if c not in (0, 16))
    if signatures:
        kept += "_" + ",".join(f"{c:04x}" for c in signatures)
    return f"{head}_{ciphers}_" + (hashlib.sha256(kept.encode()).hexdigest()[:12] if kept.split("_")[0] else "0" * 12)


def read_hellos(tshark: str, capture: Path, decode_as: list[str] | tuple[str, ...] = ()) -> dict[int, Hellos]:
    """tcp.stream -> the JA3/JA3S tshark computes for its hellos, and the JA4 of its first ClientHello.

    Out-of-order segments are reassembled, as summarize does when a capture needs it: a hello in a segment that
    arrived out of order is still a hello the connection saw."""
    argv = [tshark, "-n", "-o", "tcp.reassemble_out_of_order:TRUE", "-r", str(capture),
            "-Y", "tls.handshake.type == 1 || tls.handshake.type == 2",
            "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=|"]
    for rule in decode_as:
        argv += ["-d", rule]
    for name in HELLO_FIELDS:
        argv += ["-e", name]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    found: dict[int, Hellos] = {}
    for line in out.splitlines():
        row = dict(zip(HELLO_FIELDS, line.split("\t")))
        if not row.get("tcp.stream"):
            continue
        types = _codes(row["tls.handshake.type"])
        hellos = found.setdefault(int(row["tcp.stream"]), Hellos())
        if row["tls.handshake.ja3_full"]:
            if not hellos.ja3:
                hellos.client_port, hellos.server_port = int(row["tcp.srcport"]), int(row["tcp.dstport"])
                if types.count(1) == 1:  # one ClientHello in the frame: its fields are its own
                    hellos.ja4 = _ja4(row)
            hellos.ja3 += [_ja3(full, md5) for full, md5 in
                           zip(row["tls.handshake.ja3_full"].split("|"), row["tls.handshake.ja3"].split("|"))]
        if row["tls.handshake.ja3s_full"]:
            hellos.ja3s += list(zip(row["tls.handshake.ja3s_full"].split("|"), row["tls.handshake.ja3s"].split("|")))
    return found
