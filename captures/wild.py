#!/usr/bin/env python3
"""Rebuild the "traffic from the wild" captures (issue 11): real stacks on loopback, some then cut or reordered.

Run as root on Debian 12 (dumpcap on `lo` needs capture rights):

    python3 captures/wild.py                 # rewrite tests/data/wild/ in place
    python3 captures/wild.py --out DIR       # write somewhere else

They live in tests/data/wild/, not in captures/: summarize reads captures/ as one directory in the tests, and
every file there is checked against expected.json's per-connection ground truth. These files show capture
realities (a reordered flight, a cut capture) that plain tshark reads differently with different options; the
ground truth of each is in tests/captures/test_wild_tcp.py and test_wild_chain.py, read from plain tshark (and
openssl). Ports 3249-3252 and 2443 are ones tshark maps to TLS by default and nobody else on a test machine uses;
mutual TLS is on 8883 (MQTT over TLS, where devices commonly log in with a client certificate), also mapped to TLS
by tshark. Its ground truth is in tests/captures/test_mutual_tls.py. tls-on-other-ports.pcapng uses 80, 6667
and 4433 (any_port), which must be free while it records.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capgen.capture import dumpcap  # noqa: E402
from capgen.pki import CLIENT_AUTH, Certificate, RsaKey, write_pem  # noqa: E402
from capgen.rawclient import connect_and_abort  # noqa: E402

ADDRESS = "127.0.0.1"
HRR_PORT, REUSE_PORT, PLAINTEXT_PORT, FULL_PORT = 3249, 3250, 3251, 3252
MTLS_PORT = 8883
KEYLOG_PORT, ODD_NAMES_PORT = 1300, 19999  # more ports tshark maps to TLS (H.323 over TLS, DNP3 over TLS)
# A server name and ALPN protocols holding control characters, DEL and a terminal escape sequence: what a hostile
# or broken client may send, and what every output must show escaped (OpenSSL sends the bytes as given).
ODD_SERVER_NAME = "a\x01b\x1b[31mred\x7f.example"
ODD_ALPN = "h2,x\x07y,\x1b[0m"
HUGE_CHAIN_PORT, HUGE_CHAIN_CLIENT_PORT = 2443, 40255   # 2443: another port tshark maps to TLS
HUGE_CHAIN_NAME = "huge-chain.example.test"
# Names in the leaf's subjectAltName and in the intermediate's nameConstraints: together about 330 KB, so the
# Certificate message spans 21 records of 16 KiB, as in Zeek's tls-fragmented-handshake.pcap (339,629 bytes).
HUGE_CHAIN_SANS, HUGE_CHAIN_SUBTREES = 4700, 5800
REUSED_CLIENT_PORT = 40250
# Between the refused SYN and the second connection from the same port: longer than summarize keeps a closed
# connection open for late packets (capture/analyze.py LINGER_SECONDS), as in the 13 s.
REUSE_PAUSE_SECONDS = 8.0
OPENSSL_ENV = {**os.environ, "OPENSSL_CONF": os.devnull}


def make_identity(folder: Path, name: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}", "-days", "3650",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, env=OPENSSL_ENV)
    return cert, key


def s_server(port: int, cert: Path, key: Path, *extra: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(["openssl", "s_server", "-accept", f"{ADDRESS}:{port}", "-naccept", "1",
                                "-cert", str(cert), "-key", str(key), "-www", "-ignore_unexpected_eof", *extra],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env=OPENSSL_ENV, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("ACCEPT"):
            break
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process


def s_client(port: int, name: str, *extra: str) -> None:
    """openssl s_client: handshake, an HTTP GET, the answer, then close (stdin held open for a moment)."""
    client = subprocess.Popen(["openssl", "s_client", "-connect", f"{ADDRESS}:{port}", "-servername", name,
                               "-quiet", *extra], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=OPENSSL_ENV)
    assert client.stdin is not None
    client.stdin.write(b"GET / HTTP/1.0\r\n\r\n")
    client.stdin.flush()
    time.sleep(1.0)
    client.stdin.close()
    client.wait(timeout=10)


def hello_retry(out: Path, scratch: Path) -> None:
    """TLS 1.3 with a HelloRetryRequest: the client's key share is X25519, the server only takes P-256."""
    cert, key = make_identity(scratch, "hrr.example.test")
    with dumpcap(out / "hello-retry-request.pcapng", [HRR_PORT], "TLS 1.3 HelloRetryRequest (X25519 -> P-256)"):
        server = s_server(HRR_PORT, cert, key, "-tls1_3", "-groups", "P-256")
        s_client(HRR_PORT, "hrr.example.test", "-tls1_3", "-groups", "X25519:P-256")
        server.wait(timeout=10)


def tls12_keylog(out: Path, scratch: Path) -> None:
    """TLS 1.2 with the client's key log beside the capture (tls12-keylog.keys): read with --keylog, tshark
    decrypts the Finished messages and the HTTP exchange; without it they stay encrypted."""
    cert, key = make_identity(scratch, "keylog.example.test")
    keys = out / "tls12-keylog.keys"
    keys.unlink(missing_ok=True)
    with dumpcap(out / "tls12-keylog.pcapng", [KEYLOG_PORT], "TLS 1.2, the client's key log in tls12-keylog.keys"):
        server = s_server(KEYLOG_PORT, cert, key, "-tls1_2")
        s_client(KEYLOG_PORT, "keylog.example.test", "-tls1_2", "-keylogfile", str(keys))
        server.wait(timeout=10)


def odd_names(out: Path, scratch: Path) -> None:
    """A TLS 1.2 ClientHello whose server name and ALPN list hold control characters (ODD_SERVER_NAME, ODD_ALPN)."""
    cert, key = make_identity(scratch, "odd.example.test")
    with dumpcap(out / "control-characters-in-sni-alpn.pcapng", [ODD_NAMES_PORT],
                 "server name and ALPN with control characters"):
        server = s_server(ODD_NAMES_PORT, cert, key, "-tls1_2")
        s_client(ODD_NAMES_PORT, ODD_SERVER_NAME, "-tls1_2", "-alpn", ODD_ALPN)
        server.wait(timeout=10)


def port_reuse(out: Path, scratch: Path) -> None:
    """One client port twice: a SYN refused with RST (no listener yet), then a full TLS connection."""
    cert, key = make_identity(scratch, "reuse.example.test")
    context = ssl.create_default_context(cafile=str(cert))
    with dumpcap(out / "port-reuse.pcapng", [REUSE_PORT], "client port reused: refused SYN, then TLS 1.2"):
        for attempt in range(2):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((ADDRESS, REUSED_CLIENT_PORT))
            if attempt == 0:
                try:
                    sock.connect((ADDRESS, REUSE_PORT))
                except ConnectionRefusedError:
                    pass
                sock.close()
                time.sleep(REUSE_PAUSE_SECONDS)
                continue
            server = s_server(REUSE_PORT, cert, key, "-tls1_2")
            sock.connect((ADDRESS, REUSE_PORT))
            with context.wrap_socket(sock, server_hostname="reuse.example.test") as tls:
                tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
                while tls.recv(65536):
                    pass
            server.wait(timeout=10)


HTTP_400 = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 50\r\nConnection: close\r\n\r\n"
            b"<html><body><h1>400 Bad Request</h1></body></html>")


def _answer_in_plaintext(listener: socket.socket) -> None:
    """What a plain HTTP server (nginx, Apache) does with a ClientHello: a 400 response, then close."""
    peer, _ = listener.accept()
    with peer:
        peer.recv(65536)
        peer.sendall(HTTP_400)


def plaintext_answer(out: Path) -> None:
    """A TLS client pointed at a plain HTTP server: the ClientHello is answered with HTTP/1.1 400."""
    listener = socket.create_server((ADDRESS, PLAINTEXT_PORT))
    thread = threading.Thread(target=_answer_in_plaintext, args=(listener,), daemon=True)
    thread.start()
    with dumpcap(out / "plaintext-http-answer.pcapng", [PLAINTEXT_PORT], "TLS client -> plain HTTP server"):
        client = subprocess.run(["openssl", "s_client", "-connect", f"{ADDRESS}:{PLAINTEXT_PORT}", "-servername",
                                 "plain.example.test"], stdin=subprocess.DEVNULL, capture_output=True,
                                env=OPENSSL_ENV, timeout=10, check=False)
        assert client.returncode != 0
        thread.join(timeout=10)
    listener.close()


# TLS on ports tshark gives to other protocols (HTTP's 80, IRC's 6667) and on one it gives to none (4433):
# summarize finds each by its ClientHello, without --decode-as.
ANY_PORTS = (("http80.example.test", 80, "-tls1_3"), ("irc6667.example.test", 6667, "-tls1_2"),
             ("plain4433.example.test", 4433, "-tls1_2"))


def any_port(out: Path, scratch: Path) -> None:
    """One OpenSSL TLS connection on each of ANY_PORTS, in one capture."""
    with dumpcap(out / "tls-on-other-ports.pcapng", [port for _, port, _ in ANY_PORTS],
                 "TLS on 80 (HTTP's port), 6667 (IRC's) and 4433 (nobody's)"):
        for name, port, version in ANY_PORTS:
            cert, key = make_identity(scratch, name)
            server = s_server(port, cert, key, version)
            s_client(port, name, version)
            server.wait(timeout=10)


def full_handshake(scratch: Path) -> Path:
    """A TLS 1.2 connection whose server flight is one segment: the source of the cut and reordered files."""
    cert, key = make_identity(scratch, "full.example.test")
    path = scratch / "full.pcapng"
    with dumpcap(path, [FULL_PORT], "TLS 1.2, server flight in one segment"):
        server = s_server(FULL_PORT, cert, key, "-tls1_2")
        s_client(FULL_PORT, "full.example.test", "-tls1_2")
        server.wait(timeout=10)
    return path


def _client_pki(scratch: Path) -> dict[str, Path]:
    """A client CA hierarchy dated from now: root (trusted by the server, never sent), issuing CA (sent by the
    clients), a valid leaf and a leaf that expired the day before."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    day = dt.timedelta(days=1)
    keys = {name: RsaKey.generate(scratch / f"{name}.key", 2048) for name in ("root", "issuing", "alice", "bob")}
    ca = {"C": "US", "O": "Example Device Services"}
    root = Certificate({**ca, "CN": "Example Device Root CA"}, keys["root"], now - 3650 * day, now + 7300 * day,
                       0x0D01, is_ca=True).build()
    issuing = Certificate({**ca, "CN": "Example Device Issuing CA"}, keys["issuing"], now - 1825 * day,
                          now + 1825 * day, 0x0D02, root, is_ca=True).build()
    alice = Certificate({"CN": "alice.devices.example.test"}, keys["alice"], now - day, now + 397 * day, 0x0D03,
                        issuing, dns_names=["alice.devices.example.test"], purpose=CLIENT_AUTH).build()
    bob = Certificate({"CN": "bob.devices.example.test"}, keys["bob"], now - 398 * day, now - day, 0x0D04,
                      issuing, dns_names=["bob.devices.example.test"], purpose=CLIENT_AUTH).build()
    return {"trust": write_pem(scratch / "device-root.pem", [root]),
            "chain": write_pem(scratch / "device-issuing.pem", [issuing]),
            "alice": write_pem(scratch / "alice.pem", [alice]), "alice_key": keys["alice"].pem_path,
            "bob": write_pem(scratch / "bob.pem", [bob]), "bob_key": keys["bob"].pem_path}


def mutual_tls(out: Path, scratch: Path) -> None:
    """TLS 1.2 with client certificates (openssl s_server -Verify): a device whose leaf and issuing CA the server
    accepts, then one whose leaf expired the day before, refused by the server with alert 45."""
    cert, key = make_identity(scratch, "mqtt.example.test")
    pki = _client_pki(scratch)
    with dumpcap(out / "mutual-tls.pcapng", [MTLS_PORT], "mutual TLS 1.2: a valid client chain, then an expired one"):
        server = s_server(MTLS_PORT, cert, key, "-tls1_2", "-Verify", "2", "-verify_return_error",
                          "-CAfile", str(pki["trust"]), "-naccept", "2")
        s_client(MTLS_PORT, "mqtt.example.test", "-tls1_2", "-cert", str(pki["alice"]), "-key",
                 str(pki["alice_key"]), "-cert_chain", str(pki["chain"]))
        refused = subprocess.run(["openssl", "s_client", "-connect", f"{ADDRESS}:{MTLS_PORT}", "-servername",
                                  "mqtt.example.test", "-tls1_2", "-cert", str(pki["bob"]), "-key",
                                  str(pki["bob_key"]), "-cert_chain", str(pki["chain"])],
                                 stdin=subprocess.DEVNULL, capture_output=True, env=OPENSSL_ENV, timeout=10,
                                 check=False)
        assert b"certificate expired" in refused.stdout + refused.stderr, refused.stdout + refused.stderr
        server.wait(timeout=10)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, env=OPENSSL_ENV)


def huge_chain_identity(folder: Path) -> tuple[Path, Path, Path]:
    """Leaf (thousands of subjectAltName dNSNames), its intermediate (thousands of nameConstraints subtrees) and
    their root, all RSA 2048 and SHA-256: the leaf, its key and the chain file s_server sends (intermediate only)."""
    config = folder / "huge.cnf"
    sans = ",".join(["DNS:" + HUGE_CHAIN_NAME] + [f"DNS:h{i:05d}.{HUGE_CHAIN_NAME}" for i in range(HUGE_CHAIN_SANS)])
    subtrees = ",".join(f"permitted;DNS:.customer{i:05d}.example.test" for i in range(HUGE_CHAIN_SUBTREES))
    config.write_text("[req]\ndistinguished_name = dn\n[dn]\n"
                      "[root]\nbasicConstraints = critical,CA:true\nkeyUsage = critical,keyCertSign,cRLSign\n"
                      "[intermediate]\nbasicConstraints = critical,CA:true,pathlen:0\n"
                      "keyUsage = critical,keyCertSign,cRLSign\n"
                      f"nameConstraints = critical,{subtrees}\n"
                      "[leaf]\nbasicConstraints = critical,CA:false\nkeyUsage = critical,digitalSignature,keyEncipherment\n"
                      f"extendedKeyUsage = serverAuth\nsubjectAltName = {sans}\n")
    paths = {name: (folder / f"huge-{name}.crt", folder / f"huge-{name}.key") for name in ("root", "intermediate", "leaf")}
    for name, (_, key) in paths.items():
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key))
    root_cert, root_key = paths["root"]
    _openssl("req", "-x509", "-new", "-key", str(root_key), "-subj", "/CN=Huge Chain Test Root CA", "-days", "3650",
             "-sha256", "-config", str(config), "-extensions", "root", "-out", str(root_cert))
    issuer = paths["root"]
    for name, subject in (("intermediate", "/CN=Huge Chain Constrained CA"), ("leaf", f"/CN={HUGE_CHAIN_NAME}")):
        cert, key = paths[name]
        request = folder / f"huge-{name}.csr"
        _openssl("req", "-new", "-key", str(key), "-subj", subject, "-config", str(config), "-out", str(request))
        _openssl("x509", "-req", "-in", str(request), "-CA", str(issuer[0]), "-CAkey", str(issuer[1]),
                 "-set_serial", str(0x1000 + len(name)), "-days", "3650", "-sha256", "-extfile", str(config),
                 "-extensions", name, "-out", str(cert))
        issuer = paths[name]
    return paths["leaf"][0], paths["leaf"][1], paths["intermediate"][0]


def huge_chain(out: Path, scratch: Path) -> None:
    """A TLS 1.2 Certificate message of about 330 KB in 21 records (some of them across TCP segments), answered by a client that reads the whole
    flight and hangs up without a word (capgen's Schannel-like raw client): tshark 4.0 leaves the message as
    "Encrypted Handshake Message" (it takes a handshake message of 64 KiB or more at a record's start for
    ciphertext; no preference changes that). The tests read the certificates back from the capture's bytes
    with openssl x509, independently of tshark and tsharkpost."""
    leaf, key, chain = huge_chain_identity(scratch)
    with dumpcap(out / "huge-certificate-chain.pcapng", [HUGE_CHAIN_PORT],
                 "TLS 1.2 Certificate message of about 330 KB over 21 records, client closes silently"):
        server = s_server(HUGE_CHAIN_PORT, leaf, key, "-tls1_2", "-cert_chain", str(chain))
        connect_and_abort(ADDRESS, HUGE_CHAIN_PORT, HUGE_CHAIN_CLIENT_PORT, HUGE_CHAIN_NAME, reset=False)
        server.wait(timeout=10)


# ---- pcap rewriting (classic pcap, Ethernet/IPv4/TCP as dumpcap writes lo) ----

def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _segment(frame: bytes, seq_delta: int, payload: bytes, ack_delta: int = 0) -> bytes:
    """The frame with its TCP payload replaced and sequence (acknowledgement) number moved; lengths and
    checksums redone."""
    ip_start = 14
    ihl = (frame[ip_start] & 0x0F) * 4
    tcp_start = ip_start + ihl
    tcp_len = (frame[tcp_start + 12] >> 4) * 4
    ip = bytearray(frame[ip_start:tcp_start])
    tcp = bytearray(frame[tcp_start:tcp_start + tcp_len])
    struct.pack_into("!H", ip, 2, ihl + tcp_len + len(payload))
    struct.pack_into("!H", ip, 10, 0)
    struct.pack_into("!H", ip, 10, _checksum(bytes(ip)))
    seq = (struct.unpack_from("!I", tcp, 4)[0] + seq_delta) & 0xFFFFFFFF
    struct.pack_into("!I", tcp, 4, seq)
    if ack_delta and tcp[13] & 0x10:
        struct.pack_into("!I", tcp, 8, (struct.unpack_from("!I", tcp, 8)[0] + ack_delta) & 0xFFFFFFFF)
    struct.pack_into("!H", tcp, 16, 0)
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, tcp_len + len(payload))
    struct.pack_into("!H", tcp, 16, _checksum(bytes(pseudo) + bytes(tcp) + payload))
    return frame[:ip_start] + bytes(ip) + bytes(tcp) + payload


def _read_pcap(path: Path) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    data = path.read_bytes()
    header, packets, at = data[:24], [], 24
    while at < len(data):
        record = data[at:at + 16]
        caplen = struct.unpack_from("<I", record, 8)[0]
        packets.append((record, data[at + 16:at + 16 + caplen]))
        at += 16 + caplen
    return header, packets


def _write_pcap(path: Path, header: bytes, packets: list[tuple[bytes, bytes]]) -> None:
    with path.open("wb") as out:
        out.write(header)
        for record, frame in packets:
            out.write(record[:8] + struct.pack("<II", len(frame), len(frame)) + frame)


def _tcp(frame: bytes) -> tuple[int, int, int]:
    """Source port, sequence number and flags of the frame's TCP header."""
    tcp_start = 14 + (frame[14] & 0x0F) * 4
    return (struct.unpack_from("!H", frame, tcp_start)[0], struct.unpack_from("!I", frame, tcp_start + 4)[0],
            frame[tcp_start + 13])


def same_stream_reuse(source: Path, out: Path, scratch: Path) -> None:
    """port-reuse with the second connection's sequence numbers moved onto the refused SYN's: tshark then
    sees one tcp.stream (a new SYN with the same initial sequence number is no port reuse to it), as in
    captures where a client retried a refused connection from the same port and sequence space."""
    plain = scratch / "reuse.pcap"
    subprocess.run(["editcap", "-F", "pcap", str(source), str(plain)], check=True)
    header, packets = _read_pcap(plain)
    syns = [index for index, (_, frame) in enumerate(packets) if _tcp(frame)[2] & 0x12 == 0x02]
    first, second = syns[0], syns[1]
    delta = (_tcp(packets[first][1])[1] - _tcp(packets[second][1])[1]) & 0xFFFFFFFF
    for index in range(second, len(packets)):
        record, frame = packets[index]
        sport, payload = _payload(frame)
        client = sport == REUSED_CLIENT_PORT
        packets[index] = (record, _segment(frame, delta if client else 0, payload, 0 if client else delta))
    _write_pcap(out / "port-reuse-same-stream.pcap", header, packets)


def _payload(frame: bytes) -> tuple[int, bytes]:
    ihl = (frame[14] & 0x0F) * 4
    tcp_start = 14 + ihl
    tcp_len = (frame[tcp_start + 12] >> 4) * 4
    total = struct.unpack_from("!H", frame, 16)[0]
    sport = struct.unpack_from("!H", frame, tcp_start)[0]
    return sport, frame[tcp_start + tcp_len:14 + total]


def reordered_flight(source: Path, out: Path, scratch: Path) -> None:
    """The server's flight split at its ServerHello's end into two segments, the second sent first."""
    plain = scratch / "full.pcap"
    subprocess.run(["editcap", "-F", "pcap", str(source), str(plain)], check=True)
    header, packets = _read_pcap(plain)
    for index, (record, frame) in enumerate(packets):
        sport, payload = _payload(frame)
        if sport == FULL_PORT and payload[:1] == b"\x16" and payload[5:6] == b"\x02":
            cut = 5 + struct.unpack_from("!H", payload, 3)[0]  # the ServerHello record alone
            first = (record, _segment(frame, 0, payload[:cut]))
            second = (record, _segment(frame, cut, payload[cut:]))
            packets[index:index + 1] = [second, first]
            break
    else:
        raise RuntimeError("no ServerHello segment to split")
    _write_pcap(out / "out-of-order-server-flight.pcap", header, packets)


def cut_captures(source: Path, out: Path) -> None:
    """The client's side alone (as a capture on the client's link with one direction lost), and a capture
    that starts at the client's close_notify."""
    subprocess.run(["tshark", "-n", "-r", str(source), "-Y", f"tcp.srcport != {FULL_PORT}", "-w",
                    str(out / "client-side-only.pcapng")], check=True, capture_output=True)
    listed = subprocess.run(["tshark", "-n", "-r", str(source), "-Y", "tls.record.content_type == 21",
                             "-T", "fields", "-e", "frame.number"], check=True, capture_output=True, text=True)
    first_alert = listed.stdout.split()[0]
    subprocess.run(["editcap", "-r", str(source), str(out / "starts-at-close-notify.pcapng"), f"{first_alert}-1000000"],
                   check=True, capture_output=True)


ALL = ["hrr", "reuse", "plaintext", "full", "mtls", "huge", "anyport", "keylog", "odd"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "tests" / "data" / "wild")
    parser.add_argument("--only", nargs="+",
                        choices=ALL, help="rebuild only these (full: the reordered and cut files)")
    args = parser.parse_args(argv)
    wanted = set(args.only or ALL)
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("openssl", "dumpcap", "editcap", "tshark")):
        sys.exit("wild.py: run as root with openssl, dumpcap, editcap and tshark installed")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tsharkpost-wild-") as name:
        scratch = Path(name)
        if "hrr" in wanted:
            hello_retry(args.out, scratch)
        if "reuse" in wanted:
            port_reuse(args.out, scratch)
            same_stream_reuse(args.out / "port-reuse.pcapng", args.out, scratch)
        if "plaintext" in wanted:
            plaintext_answer(args.out)
        if "anyport" in wanted:
            any_port(args.out, scratch)
        if "full" in wanted:
            source = full_handshake(scratch)
            reordered_flight(source, args.out, scratch)
            cut_captures(source, args.out)
        if "mtls" in wanted:
            mutual_tls(args.out, scratch)
        if "huge" in wanted:
            huge_chain(args.out, scratch)
        if "keylog" in wanted:
            tls12_keylog(args.out, scratch)
        if "odd" in wanted:
            odd_names(args.out, scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
