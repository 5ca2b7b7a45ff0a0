"""SMTP submission with STARTTLS: a tiny Python ssl server and smtplib as the client."""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .peers import ServerIdentity, connect


def _serve_one(listener: socket.socket, identity: ServerIdentity, hostname: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # A client hanging up without close_notify is normal for SMTP after QUIT;
    # without this OpenSSL answers the FIN with a decode_error alert.
    context.options |= ssl.OP_IGNORE_UNEXPECTED_EOF
    chain = identity.cert.read_text() + (identity.chain.read_text() if identity.chain else "")
    chain_file = identity.cert.with_suffix(".fullchain.pem")
    chain_file.write_text(chain)
    context.load_cert_chain(str(chain_file), str(identity.key))
    conn, _ = listener.accept()
    conn.settimeout(10)
    stream: socket.socket = conn
    reader = conn.makefile("rb")

    def reply(text: str) -> None:
        stream.sendall(text.encode() + b"\r\n")

    reply(f"220 {hostname} ESMTP ready")
    while line := reader.readline():
        verb = line.split()[0].upper() if line.split() else b""
        if verb == b"EHLO":
            features = [hostname, "SIZE 10485760", "8BITMIME"] + (["STARTTLS"] if stream is conn else [])
            reply("\r\n".join(f"250-{item}" for item in features[:-1]) + f"\r\n250 {features[-1]}")
        elif verb == b"STARTTLS":
            reply("220 2.0.0 Ready to start TLS")
            stream = context.wrap_socket(conn, server_side=True)
            reader = stream.makefile("rb")
        elif verb == b"QUIT":
            reply("221 2.0.0 Bye")
            stream.recv(1)  # wait for the client to hang up first
            break
        else:
            reply("250 2.0.0 OK")
    # Like the client, close TCP without close_notify: one sent after the
    # client's FIN would only draw a RST.
    stream.shutdown(socket.SHUT_RDWR)
    stream.close()


@contextmanager
def smtp_starttls_server(address: str, port: int, identity: ServerIdentity, hostname: str) -> Iterator[None]:
    """Accept one SMTP connection on address:port that upgrades to TLS on STARTTLS."""
    listener = socket.create_server((address, port))  # sets SO_REUSEADDR on POSIX
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            _serve_one(listener, identity, hostname)
        except (OSError, ssl.SSLError) as error:
            errors.append(error)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
        thread.join(timeout=10)
        if errors:
            raise RuntimeError(f"SMTP server on {address}:{port} failed: {errors[0]}")
    finally:
        listener.close()


class _PinnedPortSMTP(smtplib.SMTP):
    """smtplib's client on a pinned source port that reruns may reuse while it is in TIME_WAIT."""

    def __init__(self, source_port: int) -> None:
        self.source_port = source_port
        super().__init__(local_hostname="client.example.net", timeout=10)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return connect(host, port, self.source_port)


def smtp_starttls_client(address: str, port: int, source_port: int, server_name: str,
                         context: ssl.SSLContext) -> None:
    """EHLO, STARTTLS, EHLO again, QUIT: what a mail client does before it sends anything."""
    client = _PinnedPortSMTP(source_port)
    client.connect(address, port)
    # starttls() verifies and sends as SNI the host given to connect(), here an
    # address; name the server as a mail client configured by name would.
    client._host = server_name
    client.ehlo()
    client.starttls(context=context)
    client.ehlo()
    client.quit()
