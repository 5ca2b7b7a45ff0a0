#!/usr/bin/env python3
"""Rebuild the QUIC captures (issue 14): aioquic's client and server on loopback, recorded by dumpcap.

Run as root on Debian 12 with aioquic installed in the Python that runs this script (it is a generator's tool,
not a dependency of tsharkpost):

    python3 -m venv /tmp/quic && /tmp/quic/bin/pip install aioquic
    /tmp/quic/bin/python captures/quic.py              # rewrite tests/data/quic/ in place
    /tmp/quic/bin/python captures/quic.py --out DIR

Each capture is one connection on UDP port 4433 of 127.0.0.1, with the TLS secrets both endpoints used written
beside it (NAME.keys, the NSS key log format tshark reads with -o tls.keylog_file:) when there were any.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aioquic.asyncio import connect, serve  # noqa: E402
from aioquic.quic.configuration import QuicConfiguration  # noqa: E402

from capgen.capture import dumpcap  # noqa: E402
from capgen.selfsigned import self_signed  # noqa: E402

ADDRESS, PORT = "127.0.0.1", 4433
NAME = "quic.example.test"


# The largest QUIC error code (a 62-bit varint, RFC 9000 §16): a Lua number would print it as 4.6116860184274e+18.
LARGEST_ERROR_CODE = 2**62 - 1


async def _exchange(server_alpn: list[str], client_alpn: list[str], trust: Path | None, cert: Path, key: Path,
                    keys: Path, close_code: int | None = None) -> str:
    """One connection attempt; what the client saw (ok, or the error it raised)."""
    with open(keys, "w", encoding="ascii") as secrets:
        served = QuicConfiguration(is_client=False, alpn_protocols=server_alpn, secrets_log_file=secrets)
        served.load_cert_chain(str(cert), str(key))
        server = await serve(ADDRESS, PORT, configuration=served)
        client = QuicConfiguration(is_client=True, alpn_protocols=client_alpn, server_name=NAME,
                                   secrets_log_file=secrets)
        if trust is not None:
            client.load_verify_locations(str(trust))
        try:
            async with connect(ADDRESS, PORT, configuration=client, wait_connected=True) as connection:
                await connection.ping()
                if close_code is not None:  # a transport CONNECTION_CLOSE (frame type given) with this code
                    connection._quic.close(error_code=close_code, frame_type=0, reason_phrase="largest code")
                    connection.transmit()
                said = "ok"
        except Exception as error:  # noqa: BLE001 - the refusal is the point of the capture
            said = f"{type(error).__name__}: {error}"
        await asyncio.sleep(0.5)  # let the last close reach the wire
        server.close()
    return said


def record(out: Path, name: str, comment: str, server_alpn: list[str], client_alpn: list[str],
           trust: bool, scratch: Path, close_code: int | None = None) -> None:
    cert, key = self_signed(scratch, NAME)
    with dumpcap(out / f"{name}.pcapng", [PORT], comment, transport="udp"):
        said = asyncio.run(_exchange(server_alpn, client_alpn, cert if trust else None, cert, key,
                                     out / f"{name}.keys", close_code))
    keys = out / f"{name}.keys"
    if keys.stat().st_size == 0:  # no secret was derived past the Initial keys (a refusal of the ClientHello)
        keys.unlink()
    print(f"{name}: client says {said}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent.parent / "tests" / "data" / "quic")
    args = parser.parse_args(argv)
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("openssl", "dumpcap")):
        sys.exit("quic.py: run as root with openssl and dumpcap installed")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tsharkpost-quic-") as name:
        scratch = Path(name)
        # The client does not trust the server's self-signed certificate: it closes with CRYPTO_ERROR
        # bad_certificate (0x012a), in the Handshake packets the key log opens.
        record(args.out, "quic-client-refuses-chain", "QUIC: the client refuses the server's certificate",
               ["h3"], ["h3"], False, scratch)
        # No common ALPN protocol: the server closes with CRYPTO_ERROR no_application_protocol (0x0178) in an
        # Initial packet, which tshark decrypts without keys (Initial keys derive from public salts).
        record(args.out, "quic-server-refuses-alpn", "QUIC: the server refuses the client's ALPN",
               ["h3"], ["hq-interop"], True, scratch)
        # The good twin: trusted certificate, common ALPN, a PING, then the client closes.
        record(args.out, "quic-good-twin", "QUIC: a handshake that completes", ["h3"], ["h3"], True, scratch)
        # A completed handshake the client ends with a transport close carrying the largest error code.
        record(args.out, "quic-largest-close-code", "QUIC: a transport close with error code 2^62-1", ["h3"], ["h3"],
               True, scratch, close_code=LARGEST_ERROR_CODE)
        # CRYPTO_ERROR with alert 255, which no registry assigns (tshark 4.0 then shows no alert field).
        record(args.out, "quic-unassigned-alert-close", "QUIC: CRYPTO_ERROR 0x01ff (an unassigned alert)", ["h3"],
               ["h3"], True, scratch, close_code=0x1FF)
    return 0


if __name__ == "__main__":
    sys.exit(main())
