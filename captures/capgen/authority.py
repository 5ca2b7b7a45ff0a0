"""The certificates of every scenario, dated relative to the moment of capture.

Two hierarchies: the legacy one of shop.example.net (an MD2-signed root from
the 1990s that the server needlessly sends, two SHA-256 intermediates) and a
modern "G2" one that issues everything else, plus the deliberately weak
certificates the scenarios need. Validity is always relative to `now` so that
a capture judged against its own timestamps stays right forever.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from .peers import ServerIdentity
from .pki import Certificate, RsaKey, write_pem

DAY = dt.timedelta(days=1)
ORG = "Example Trust Services"
SHOP = "shop.example.net"


@dataclass
class Authority:
    """All certificates and the server identities built from them."""

    folder: Path
    now: dt.datetime

    def build(self) -> "Authority":
        keys = {name: RsaKey.generate(self.folder / f"{name}.key", bits) for name, bits in [
            ("legacy_root", 2048), ("policy_ca", 2048), ("issuing_ca", 2048), ("root_g2", 2048),
            ("issuing_g2", 2048), ("md5_ca", 2048), ("leaf", 2048), ("weak_leaf", 1024)]}
        now = self.now

        def cert(cn: str, key: str, issuer: Certificate | None, start_days: int, end_days: int,
                 serial: int, **options) -> Certificate:
            subject = {"C": "US", "O": ORG, "CN": cn} if options.get("is_ca") else {"CN": cn}
            return Certificate(subject, keys[key], now + start_days * DAY, now + end_days * DAY,
                               serial, issuer, **options).build()

        self.legacy_root = cert("Example Legacy Root CA", "legacy_root", None, -7300, 3650, 0x01,
                                is_ca=True, algorithm="md2")
        self.policy_ca = cert("Example Policy CA 1", "policy_ca", self.legacy_root, -3650, 1825, 0x1001, is_ca=True)
        self.issuing_ca = cert("Example Issuing CA 2", "issuing_ca", self.policy_ca, -1825, 1095, 0x2002, is_ca=True)
        self.root_g2 = cert("Example Root CA G2", "root_g2", None, -3650, 7300, 0x02, is_ca=True)
        self.issuing_g2 = cert("Example Issuing CA G2", "issuing_g2", self.root_g2, -1825, 1825, 0x3003, is_ca=True)
        self.md5_ca = cert("Example Legacy MD5 CA", "md5_ca", self.root_g2, -3650, 1825, 0x4004,
                           is_ca=True, algorithm="md5")

        def leaf(cn: str, issuer: Certificate, serial: int, start: int = -1, end: int = 397,
                 key: str = "leaf", **options) -> Certificate:
            return cert(cn, key, issuer, start, end, serial, dns_names=[cn], **options)

        self.shop = leaf(SHOP, self.issuing_ca, 0x5005)
        self.legacy_app = leaf("legacy.example.net", self.md5_ca, 0x5006)
        self.expired = leaf("expired.example.net", self.issuing_g2, 0x5007, start=-398, end=-1)
        self.portal = leaf("portal.example.org", self.issuing_g2, 0x5008)
        self.weak = leaf("weak.example.net", self.issuing_g2, 0x5009, key="weak_leaf", algorithm="sha1")
        self.tls13 = leaf("tls13.example.net", self.issuing_g2, 0x500A)
        self.mail = leaf("mail.example.net", self.issuing_g2, 0x500B)

        self.legacy_trust = write_pem(self.folder / "legacy-trust.pem", [self.legacy_root])
        self.g2_trust = write_pem(self.folder / "g2-trust.pem", [self.root_g2])
        return self

    def identity(self, leaf: Certificate, *chain: Certificate) -> ServerIdentity:
        """A server that sends leaf followed by chain, exactly as listed."""
        name = leaf.subject["CN"]
        cert = write_pem(self.folder / f"{name}.pem", [leaf])
        chain_file = write_pem(self.folder / f"{name}-chain-{len(chain)}.pem", list(chain)) if chain else None
        return ServerIdentity(cert, leaf.key.pem_path, chain_file)
