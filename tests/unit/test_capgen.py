"""The generator's own crypto: MD2 against RFC 1319's test suite, and the signatures it writes."""

from __future__ import annotations

import datetime as dt
import sys

import pytest
from conftest import CAPTURES

sys.path.insert(0, str(CAPTURES))
from capgen import der  # noqa: E402
from capgen.md2 import md2  # noqa: E402
from capgen.pki import Certificate, RsaKey  # noqa: E402


@pytest.mark.parametrize("message, digest", [
    (b"", "8350e5a3e24c153df2275c9f80692773"),
    (b"a", "32ec01ec4a6dac72c0ab96fb34c0b5d1"),
    (b"abc", "da853b0d3f88d99b30283a69e6ded6bb"),
    (b"message digest", "ab4f496bfb2a530b219ff33031fe06b0"),
    (b"abcdefghijklmnopqrstuvwxyz", "4e8ddff3650292ab5a4108c3aa47940b"),
    (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "da33def2a42df13975352846c30338cd"),
    (b"1234567890" * 8, "d5976f79d83d3a0dc9806c3c66f3efd8"),
])
def test_md2_matches_rfc_1319_test_suite(message: bytes, digest: str) -> None:
    assert md2(message).hex() == digest


def test_der_integers_stay_positive_and_minimal() -> None:
    assert der.integer(0) == bytes.fromhex("020100")
    assert der.integer(127) == bytes.fromhex("02017f")
    assert der.integer(128) == bytes.fromhex("02020080")
    assert der.integer(0x5005) == bytes.fromhex("02025005")


def test_der_oid_and_long_length() -> None:
    assert der.oid("1.2.840.113549.1.1.2") == bytes.fromhex("06092a864886f70d010102")
    assert der.tlv(0x04, b"x" * 300)[:4] == bytes.fromhex("0482012c")


def test_generated_md2_signature_verifies_with_the_public_key(tmp_path) -> None:
    # Given a self-signed certificate signed with MD2 by the generator
    key = RsaKey.generate(tmp_path / "root.key", 1024)
    now = dt.datetime(2026, 11, 27, tzinfo=dt.timezone.utc)
    cert = Certificate({"CN": "Test Root"}, key, now, now + dt.timedelta(days=1), 1, algorithm="md2",
                       is_ca=True).build()
    # When the signature is opened with the public exponent (65537)
    _, body, _ = der.read(cert.der)
    (_, tbs), (_, algorithm), (_, bits) = list(der.children(body))
    tbs_der = der.tlv(der.SEQUENCE, tbs)
    opened = pow(int.from_bytes(bits[1:], "big"), 65537, key.modulus).to_bytes(key.size, "big")
    # Then it is PKCS#1 v1.5 padding around an MD2 DigestInfo of the TBSCertificate
    digest_info = der.sequence(der.sequence(der.oid("1.2.840.113549.2.2"), der.null()),
                               der.octet_string(md2(tbs_der)))
    assert opened.startswith(b"\x00\x01\xff") and opened.endswith(b"\x00" + digest_info)
    assert algorithm == der.oid("1.2.840.113549.1.1.2") + der.null()
