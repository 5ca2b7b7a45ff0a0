"""Keys from the openssl CLI, certificates written and signed here (any hash, MD2 included).

OpenSSL 3 refuses to sign with MD2 and cannot back-date a certificate from the
command line, so the generator writes every certificate itself: a DER
TBSCertificate, an EMSA-PKCS1-v1_5 DigestInfo over it (RFC 8017 section 9.2)
and raw RSA with the key's private exponent. The keys come from openssl.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import der
from .md2 import md2

# Signature algorithm name -> (signature OID, digest OID, digest function)
SIGNATURE_ALGORITHMS = {
    "md2": ("1.2.840.113549.1.1.2", "1.2.840.113549.2.2", md2),
    "md5": ("1.2.840.113549.1.1.4", "1.2.840.113549.2.5", lambda b: hashlib.md5(b).digest()),
    "sha1": ("1.2.840.113549.1.1.5", "1.3.14.3.2.26", lambda b: hashlib.sha1(b).digest()),
    "sha256": ("1.2.840.113549.1.1.11", "2.16.840.1.101.3.4.2.1", lambda b: hashlib.sha256(b).digest()),
}

ATTRIBUTE_OIDS = {"C": "2.5.4.6", "O": "2.5.4.10", "OU": "2.5.4.11", "CN": "2.5.4.3"}

EXT_BASIC_CONSTRAINTS = "2.5.29.19"
EXT_KEY_USAGE = "2.5.29.15"
EXT_EXTENDED_KEY_USAGE = "2.5.29.37"
EXT_SUBJECT_ALT_NAME = "2.5.29.17"
EXT_SUBJECT_KEY_ID = "2.5.29.14"
EXT_AUTHORITY_KEY_ID = "2.5.29.35"
SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"


def openssl(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], input=data, check=True, capture_output=True).stdout


@dataclass(frozen=True)
class RsaKey:
    """An RSA key pair made by `openssl genpkey`, with the numbers raw signing needs."""

    pem_path: Path
    modulus: int
    private_exponent: int
    spki_der: bytes  # SubjectPublicKeyInfo, as it goes into a certificate

    @classmethod
    def generate(cls, path: Path, bits: int) -> "RsaKey":
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}", "-out", str(path))
        pkcs1 = openssl("pkey", "-in", str(path), "-traditional", "-outform", "DER")
        _, body, _ = der.read(pkcs1)
        numbers = [int.from_bytes(value, "big") for _, value in der.children(body)]
        # RSAPrivateKey: version, n, e, d, p, q, dp, dq, qinv (RFC 8017 appendix A.1.2)
        spki = openssl("pkey", "-in", str(path), "-pubout", "-outform", "DER")
        return cls(path, numbers[1], numbers[3], spki)

    @property
    def size(self) -> int:
        return (self.modulus.bit_length() + 7) // 8

    def key_id(self) -> bytes:
        """RFC 5280 section 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits."""
        _, spki, _ = der.read(self.spki_der)
        parts = list(der.children(spki))
        return hashlib.sha1(parts[1][1][1:]).digest()

    def sign(self, message: bytes, algorithm: str) -> bytes:
        """RSASSA-PKCS1-v1_5 with the named digest, by hand so that MD2 works too."""
        _, digest_oid, digest = SIGNATURE_ALGORITHMS[algorithm]
        digest_info = der.sequence(der.sequence(der.oid(digest_oid), der.null()), der.octet_string(digest(message)))
        padding = b"\xff" * (self.size - len(digest_info) - 3)
        encoded = int.from_bytes(b"\x00\x01" + padding + b"\x00" + digest_info, "big")
        return pow(encoded, self.private_exponent, self.modulus).to_bytes(self.size, "big")


def name(**attributes: str) -> bytes:
    """An X.501 Name, attributes in the order given (C, O, CN ...)."""
    rdns = []
    for attribute, value in attributes.items():
        kind = der.PRINTABLE_STRING if attribute == "C" else der.UTF8_STRING
        rdns.append(der.set_of(der.sequence(der.oid(ATTRIBUTE_OIDS[attribute]), der.tlv(kind, value.encode()))))
    return der.sequence(*rdns)


def extension(oid: str, value: bytes, critical: bool = False) -> bytes:
    parts = [der.oid(oid)]
    if critical:
        parts.append(der.boolean(True))
    parts.append(der.octet_string(value))
    return der.sequence(*parts)


@dataclass
class Certificate:
    """A certificate to write: who it is, who signs it, for how long, with what."""

    subject: dict[str, str]
    key: RsaKey
    not_before: dt.datetime
    not_after: dt.datetime
    serial: int
    issuer: "Certificate | None" = None  # None: self-signed
    algorithm: str = "sha256"
    is_ca: bool = False
    dns_names: list[str] = field(default_factory=list)
    der: bytes = b""
    purpose: str = SERVER_AUTH  # the leaf's extendedKeyUsage: SERVER_AUTH, or CLIENT_AUTH for mutual TLS

    @property
    def signer(self) -> "Certificate":
        return self.issuer or self

    def build(self) -> "Certificate":
        signature_oid = der.sequence(der.oid(SIGNATURE_ALGORITHMS[self.algorithm][0]), der.null())
        tbs = der.sequence(
            der.explicit(0, der.integer(2)),  # v3
            der.integer(self.serial),
            signature_oid,
            name(**self.signer.subject),
            der.sequence(der.time(self.not_before), der.time(self.not_after)),
            name(**self.subject),
            self.key.spki_der,
            der.explicit(3, der.sequence(*self._extensions())),
        )
        signature = self.signer.key.sign(tbs, self.algorithm)
        self.der = der.sequence(tbs, signature_oid, der.bit_string(signature))
        return self

    def _extensions(self) -> list[bytes]:
        if self.is_ca:
            constraints = der.sequence(der.boolean(True))
            usage = der.tlv(der.BIT_STRING, b"\x01\x06")  # keyCertSign, cRLSign
        else:
            constraints = der.sequence()
            usage = der.tlv(der.BIT_STRING, b"\x05\xa0")  # digitalSignature, keyEncipherment
        extensions = [
            extension(EXT_BASIC_CONSTRAINTS, constraints, critical=True),
            extension(EXT_KEY_USAGE, usage, critical=True),
            extension(EXT_SUBJECT_KEY_ID, der.octet_string(self.key.key_id())),
        ]
        if self.issuer is not None:
            extensions.append(extension(EXT_AUTHORITY_KEY_ID,
                                        der.sequence(der.implicit(0, self.issuer.key.key_id()))))
        if not self.is_ca:
            extensions.append(extension(EXT_EXTENDED_KEY_USAGE, der.sequence(der.oid(self.purpose))))
        if self.dns_names:
            sans = [der.implicit(2, dns.encode()) for dns in self.dns_names]
            extensions.append(extension(EXT_SUBJECT_ALT_NAME, der.sequence(*sans)))
        return extensions

    def pem(self) -> str:
        body = base64.encodebytes(self.der).decode().replace("\n", "")
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def write_pem(path: Path, certificates: list[Certificate]) -> Path:
    path.write_text("".join(cert.pem() for cert in certificates))
    return path
