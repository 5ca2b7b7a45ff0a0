"""The plugin through tshark on a handshake the test writes: the chain checks no bundled capture shows."""

from __future__ import annotations

import calendar
import subprocess
import time
from pathlib import Path

import pytest

from handshake_support import certificate, client_hello, record, server_hello, tcp_frame, write_pcap
from plugin_support import plugin_output, run_tshark

CLIENT, SERVER = ("10.0.0.1", 50000), ("10.0.0.2", 443)


@pytest.fixture(scope="module")
def seed_chain(tshark: str, captures_dir: Path) -> list[bytes]:
    """The seed capture's server chain (leaf shop.example.net, two intermediates, md2 root), as DER."""
    out = subprocess.run([tshark, "-n", "-r", str(captures_dir / "md2-root-silent-fin.pcapng"), "-Y",
                          "frame.number == 6", "-T", "fields", "-e", "tls.handshake.certificate"],
                         capture_output=True, text=True, check=True).stdout
    return [bytes.fromhex(der) for der in out.strip().split(",")]


def valid_moment(chain: list[bytes]) -> float:
    """A minute after the latest notBefore of the chain (openssl reads it): when every certificate here is valid,
    so that these captures test what they are about, not the validity checks."""
    latest = 0.0
    for der in chain:
        shown = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-startdate"], input=der,
                               capture_output=True, check=True).stdout.decode().strip()
        latest = max(latest, calendar.timegm(time.strptime(shown.split("=", 1)[1], "%b %d %H:%M:%S %Y GMT")))
    return latest + 60


def handshake_capture(path: Path, sni: str, offered: list[int], chain: list[bytes]) -> Path:
    """A ClientHello, then one server record with ServerHello and Certificate, on one TCP connection."""
    hello = record(22, client_hello(sni.encode(), offered))
    flight = record(22, server_hello() + certificate(chain))
    return write_pcap(path, [tcp_frame(CLIENT, SERVER, 1, 1, hello),
                             tcp_frame(SERVER, CLIENT, 1, 1 + len(hello), flight)], start=valid_moment(chain))


def test_reversed_chain_breaks_order_and_name(tshark: str, plugin: Path, seed_chain: list[bytes],
                                             tmp_path: Path) -> None:
    # Given the seed chain sent root first to a client offering only rsa_pkcs1_sha256/384/sha1, then the
    # md2 root is flagged twice (its own signature only a note: it is self-signed, its algorithm unoffered an
    # error), every adjacent pair is out of order, and the "leaf" (the root) does not carry the SNI name, which
    # the plugin reads from its CN since it has no SAN.
    capture = handshake_capture(tmp_path / "reversed.pcap", "shop.example.net", [0x0401, 0x0501, 0x0201],
                                list(reversed(seed_chain)))
    out = plugin_output(tshark, plugin, capture)
    assert [(f.frame, f.check, f.severity, f.cert_index) for f in out.findings] == [
        (2, "weak_signature", 1, 0), (2, "sigalg_not_offered", 3, 0), (2, "chain_order", 2, 0),
        (2, "chain_order", 2, 1), (2, "chain_order", 2, 2), (2, "name_mismatch", 3, 0)]
    assert out.findings[2].message == ("leaf certificate #0 (Example Legacy Root CA) was not issued by the next "
                                       "certificate, #1: the chain is out of order")
    assert out.findings[2].why == (
        "issuer 'CN=Example Legacy Root CA,O=Example Trust Services,C=US' is not #1's subject 'CN=Example Policy "
        "CA 1,O=Example Trust Services,C=US': strict clients reject it (RFC 5246 §7.4.2)")
    assert out.findings[5].message == ("leaf certificate #0 (Example Legacy Root CA) does not name 'shop.example.net': "
                                       "it names Example Legacy Root CA")
    assert out.findings[1].offered == "rsa_pkcs1_sha256, rsa_pkcs1_sha384, rsa_pkcs1_sha1"



def test_short_dsa_key_is_named(tshark: str, plugin: Path, tmp_path: Path) -> None:
    # Given a self-signed leaf with a 1024-bit DSA key (openssl makes it), sent to a client offering DSA,
    # then the key is flagged in words, as no bundled or corpus capture shows.
    params, key = tmp_path / "dsa.params", tmp_path / "dsa.key"
    subprocess.run(["openssl", "dsaparam", "-out", str(params), "1024"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "req", "-x509", "-newkey", f"dsa:{params}", "-keyout", str(key), "-nodes",
                          "-subj", "/CN=dsa.example.net", "-days", "1", "-sha256", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    capture = handshake_capture(tmp_path / "dsa.pcap", "dsa.example.net", [0x0402, 0x0202], [der])
    out = plugin_output(tshark, plugin, capture)
    assert [(f.check, f.severity, f.cert_index) for f in out.findings] == [("weak_dsa_key", 2, 0)]
    assert out.findings[0].message == "leaf certificate #0 (dsa.example.net) has a 1024-bit DSA key, under current " \
                                      "policies"
    assert out.findings[0].why == "current policies require DSA keys of 2048 bits or more (NIST SP 800-131A)"


def test_a_chain_index_past_255_can_be_filtered(tshark: str, plugin: Path, tmp_path: Path) -> None:
    # Given a server chain of 300 entries (a five-byte DER INTEGER each: nothing the plugin can read as a certificate)
    chain = [b"\x30\x03\x02\x01" + bytes([i % 128]) for i in range(300)]
    hello = record(22, client_hello(b"long.example.net", [0x0401]))
    flight = record(22, server_hello() + certificate(chain))
    capture = write_pcap(tmp_path / "long-chain.pcap", [tcp_frame(CLIENT, SERVER, 1, 1, hello),
                                                        tcp_frame(SERVER, CLIENT, 1, 1 + len(hello), flight)])
    # When the last entry's index is the display filter
    out = run_tshark(tshark, plugin, capture, "-Y", "tpost.cert.index == 299", "-T", "fields", "-e", "frame.number",
                     "-e", "tpost.cert.index", "-E", "occurrence=l")
    # Then tshark takes the filter (a one-byte field refused it: "299 too big for this field") and finds the frame
    assert out.split() == ["2", "299"]


MYSQL_CLIENT, MYSQL_SERVER = ("10.0.0.1", 50001), ("10.0.0.2", 3306)


def _tls_frames(tshark: str, plugin: Path, capture: Path) -> list[str]:
    return run_tshark(tshark, plugin, capture, "-Y", "tls", "-T", "fields", "-e", "frame.number").split()


@pytest.mark.parametrize("request_first", [False, True])
def test_a_binary_answer_to_a_hello_is_tls_only_after_a_starttls_request(tshark: str, plugin: Path, tmp_path: Path,
                                                                         request_first: bool) -> None:
    # Given a connection to MySQL's port: the server's binary greeting, then (with request_first) the client's SSL
    # request packet, then a ClientHello, and the server's next segment, which is binary but starts no TLS record
    # (a MySQL error packet; or, after the request, a flight whose start was lost)
    greeting = b"\x0a\x00\x00\x00\x0a8.0.36\x00" + bytes(20)
    request = b"\x20\x00\x00\x01" + bytes(32)
    hello = record(22, client_hello(b"db.example.net", [0x0401]))
    answer = b"\x17\x00\x00\x02\xff\x13\x04#08S01Bad handshake"
    # (a bare ACK first, as the handshake's last would be: the plugin watches a connection from its first frame)
    frames = [tcp_frame(MYSQL_CLIENT, MYSQL_SERVER, 1, 1, b""), tcp_frame(MYSQL_SERVER, MYSQL_CLIENT, 1, 1, greeting)]
    seq = 1
    if request_first:
        frames.append(tcp_frame(MYSQL_CLIENT, MYSQL_SERVER, seq, 1 + len(greeting), request))
        seq += len(request)
    frames.append(tcp_frame(MYSQL_CLIENT, MYSQL_SERVER, seq, 1 + len(greeting), hello))
    frames.append(tcp_frame(MYSQL_SERVER, MYSQL_CLIENT, 1 + len(greeting), seq + len(hello), answer))
    capture = write_pcap(tmp_path / f"mysql-{request_first}.pcap", frames)
    # When the plugin reads it (TLS found by content: MySQL's port is not TLS's)
    shown = _tls_frames(tshark, plugin, capture)
    # Then the hello is TLS, and the answer is TLS only after the client's request: a server's error to a hello sent
    # right after its greeting stays MySQL's (a plaintext answer), the segment after a STARTTLS request is TLS
    hello_frame, answer_frame = str(len(frames) - 1), str(len(frames))
    assert shown == ([hello_frame, answer_frame] if request_first else [hello_frame])
