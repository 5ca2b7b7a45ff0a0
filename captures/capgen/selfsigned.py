"""A self-signed P-256 identity made by openssl, for the captures whose servers are OpenSSL's or aioquic's."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# No system openssl.cnf: its defaults (and a distribution's changes to them) stay out of the certificates.
OPENSSL_ENV = {**os.environ, "OPENSSL_CONF": os.devnull}


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """Certificate and key files for CN=name with subjectAltName DNS:name, valid ten years from now."""
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}", "-days", "3650",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, env=OPENSSL_ENV)
    return cert, key
