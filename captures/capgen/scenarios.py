"""What each sample capture shows, how it is produced, and what must be seen in it.

A *kind* runs one failure mode (or success) against a fresh server and returns
the connections it made, each with the facts a reader of the capture must find:
these become captures/expected.json. A *scenario* is one capture file made of
one or more kinds; the batch capture mixes many.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import rawclient
from .authority import SHOP, Authority
from .peers import CLIENT_ADDRESS, LEGACY_CIPHERS, client_context, https_get, s_server
from .smtp import smtp_starttls_server, smtp_starttls_client

HTTPS, SUBMISSION = 443, 587


@dataclass(frozen=True)
class Alert:
    code: int
    name: str
    sender: str  # "client" or "server"


@dataclass(frozen=True)
class Teardown:
    kind: str  # "FIN" or "RST": the first one of the connection
    by: str  # "client" or "server"
    after: str  # the last TLS message before it, e.g. "server_hello_done", "alert"


@dataclass(frozen=True)
class WeakCertificate:
    index: int  # position in the Certificate message, 0 = leaf
    subject_cn: str
    weakness: str  # "signature:<algorithm name>" or "key:rsa-<bits>"
    # A self-signed certificate: clients never check its own signature (only the offered pairs matter)
    self_signed: bool = False


@dataclass(frozen=True)
class Connection:
    """The ground truth about one TCP connection of a capture."""

    client: str
    client_port: int
    server: str
    server_port: int
    sni: str | None
    version: str | None  # negotiated, "TLS 1.2"; None when no ServerHello
    established: bool  # application data flowed both ways
    first_fatal_alert: Alert | None
    teardown: Teardown
    weak_certificates: list[WeakCertificate] = field(default_factory=list)
    note: str = ""


@dataclass
class Lab:
    """Everything a kind needs: the certificates, a scratch folder, and what it observed."""

    authority: Authority
    work: Path
    silent_aborts: list[tuple[str, rawclient.SilentAbort]] = field(default_factory=list)
    keylogs: list[Path] = field(default_factory=list)


MD2_ROOT = WeakCertificate(3, "Example Legacy Root CA", "signature:md2WithRSAEncryption", self_signed=True)


def _md2_chain_abort(lab: Lab, server: str, client_port: int, reset: bool) -> Connection:
    authority = lab.authority
    identity = authority.identity(authority.shop, authority.issuing_ca, authority.policy_ca,
                                  authority.legacy_root)
    with s_server(server, HTTPS, identity, 1):
        abort = rawclient.connect_and_abort(server, HTTPS, client_port, SHOP, reset=reset)
    lab.silent_aborts.append((f"{server}:{client_port}", abort))
    return Connection(CLIENT_ADDRESS, client_port, server, HTTPS, SHOP, "TLS 1.2", False, None,
                      Teardown("RST" if reset else "FIN", "client", "server_hello_done"), [MD2_ROOT],
                      "Schannel-like client refuses the MD2-signed root it did not offer and hangs up")


def md2_root_silent_fin(lab: Lab, server: str, ports: list[int]) -> list[Connection]:
    return [_md2_chain_abort(lab, server, ports[0], reset=False)]


def md2_root_client_rst(lab: Lab, server: str, ports: list[int]) -> list[Connection]:
    return [_md2_chain_abort(lab, server, ports[0], reset=True)]


def _established(server: str, client_port: int, sni: str, version: str, closer: str = "client",
                 weak: list[WeakCertificate] | None = None, note: str = "") -> Connection:
    # s_server -www sends close_notify after the page; the client then closes first.
    return Connection(CLIENT_ADDRESS, client_port, server, HTTPS, sni, version, True, None,
                      Teardown("FIN", closer, "alert"), weak or [], note)


def known_good_twin(lab: Lab, server: str, ports: list[int]) -> list[Connection]:
    authority = lab.authority
    identity = authority.identity(authority.shop, authority.issuing_ca, authority.policy_ca)
    with s_server(server, HTTPS, identity, 1):
        https_get(server, HTTPS, ports[0], SHOP, client_context(authority.legacy_trust))
    return [_established(server, ports[0], SHOP, "TLS 1.2",
                         note="same site without the MD2 root in its chain: all SHA-256")]


def _refused(server: str, client_port: int, sni: str, alert: Alert,
             weak: list[WeakCertificate] | None = None, note: str = "") -> Connection:
    # The server hangs up on the alert (FIN); the client, which stopped reading
    # at the certificate it refused, then closes with unread data: RST.
    return Connection(CLIENT_ADDRESS, client_port, server, HTTPS, sni, "TLS 1.2", False, alert,
                      Teardown("FIN", "server", "alert"), weak or [], note)


def md5_intermediate_alert(lab: Lab, server: str, ports: list[int]) -> list[Connection]:
    authority = lab.authority
    identity = authority.identity(authority.legacy_app, authority.md5_ca)
    with s_server(server, HTTPS, identity, 1, "-cipher", LEGACY_CIPHERS):
        https_get(server, HTTPS, ports[0], "legacy.example.net", client_context(authority.g2_trust))
    return [_refused(server, ports[0], "legacy.example.net", Alert(42, "bad_certificate", "client"),
                     [WeakCertificate(1, "Example Legacy MD5 CA", "signature:md5WithRSAEncryption")],
                     "OpenSSL client: CA signature digest algorithm too weak")]


def no_shared_cipher(lab: Lab, server: str, ports: list[int]) -> list[Connection]:
    authority = lab.authority
    identity = authority.identity(authority.portal, authority.issuing_g2)
    with s_server(server, HTTPS, identity, 1, "-no_tls1_3", "-cipher", "AES256-SHA"):
        context = client_context(authority.g2_trust, ciphers="ECDHE-RSA-AES128-GCM-SHA256")
        https_get(server, HTTPS, ports[0], "portal.example.org", context)
    return [Connection(CLIENT_ADDRESS, ports[0], server, HTTPS, "portal.example.org", None, False,
                       Alert(40, "handshake_failure", "server"), Teardown("FIN", "server", "alert"),
                       note="server has no cipher suite in common with the client")]


def expired_leaf(lab: Lab, server: str, ports: list[int]) -> list[Connection]:
    authority = lab.authority
    identity = authority.identity(authority.expired, authority.issuing_g2)
    with s_server(server, HTTPS, identity, 1):
        https_get(server, HTTPS, ports[0], "expired.example.net", client_context(authority.g2_trust))
    return [_refused(server, ports[0], "expired.example.net", Alert(45, "certificate_expired", "client"),
                     note="leaf expired the day before the capture")]


def name_mismatch(lab: Lab, server: str, ports: list[int]) -> list[Connection]:
    authority = lab.authority
    identity = authority.identity(authority.portal, authority.issuing_g2)
    with s_server(server, HTTPS, identity, 1):
        https_get(server, HTTPS, ports[0], SHOP, client_context(authority.g2_trust))
    return [_refused(server, ports[0], SHOP, Alert(42, "bad_certificate", "client"),
                     note="asked for shop.example.net, got a certificate for portal.example.org")]


def version_fallback(lab: Lab, server: str, ports: list[int]) -> list[Connection]:
    """IE's pattern: TLS 1.2 fails silently, the retry with TLS 1.0 (no signature_algorithms) works."""
    authority = lab.authority
    identity = authority.identity(authority.shop, authority.issuing_ca, authority.policy_ca,
                                  authority.legacy_root)
    with s_server(server, HTTPS, identity, 2, "-cipher", LEGACY_CIPHERS):
        abort = rawclient.connect_and_abort(server, HTTPS, ports[0], SHOP, reset=False)
        lab.silent_aborts.append((f"{server}:{ports[0]}", abort))
        legacy = client_context(authority.legacy_trust, minimum=ssl.TLSVersion.TLSv1,
                                maximum=ssl.TLSVersion.TLSv1, ciphers=LEGACY_CIPHERS)
        https_get(server, HTTPS, ports[1], SHOP, legacy)
    first = Connection(CLIENT_ADDRESS, ports[0], server, HTTPS, SHOP, "TLS 1.2", False, None,
                       Teardown("FIN", "client", "server_hello_done"), [MD2_ROOT],
                       "TLS 1.2 attempt refused silently")
    retry = _established(server, ports[1], SHOP, "TLS 1.0", weak=[MD2_ROOT],
                         note="retry offering TLS 1.0 only, which has no signature_algorithms: accepted")
    return [first, retry]


def weak_rsa1024_sha1(lab: Lab, server: str, ports: list[int]) -> list[Connection]:
    authority = lab.authority
    identity = authority.identity(authority.weak, authority.issuing_g2)
    with s_server(server, HTTPS, identity, 1, "-cipher", LEGACY_CIPHERS):
        https_get(server, HTTPS, ports[0], "weak.example.net",
                  client_context(authority.g2_trust, ciphers=LEGACY_CIPHERS))
    return [_established(server, ports[0], "weak.example.net", "TLS 1.2", weak=[
        WeakCertificate(0, "weak.example.net", "signature:sha1WithRSAEncryption"),
        WeakCertificate(0, "weak.example.net", "key:rsa-1024")])]


def tls13(lab: Lab, server: str, ports: list[int]) -> list[Connection]:
    authority = lab.authority
    identity = authority.identity(authority.tls13, authority.issuing_g2)
    keylog = lab.work / f"keylog-{server}.txt"
    keylog.unlink(missing_ok=True)
    with s_server(server, HTTPS, identity, 1, "-tls1_3"):
        context = client_context(authority.g2_trust, minimum=ssl.TLSVersion.TLSv1_3,
                                 maximum=ssl.TLSVersion.TLSv1_3, keylog=keylog)
        https_get(server, HTTPS, ports[0], "tls13.example.net", context)
    lab.keylogs.append(keylog)
    return [_established(server, ports[0], "tls13.example.net", "TLS 1.3")]


def smtp_starttls(lab: Lab, server: str, ports: list[int]) -> list[Connection]:
    authority = lab.authority
    identity = authority.identity(authority.mail, authority.issuing_g2)
    with smtp_starttls_server(server, SUBMISSION, identity, "mail.example.net"):
        smtp_starttls_client(server, SUBMISSION, ports[0], "mail.example.net",
                             client_context(authority.g2_trust))
    return [Connection(CLIENT_ADDRESS, ports[0], server, SUBMISSION, "mail.example.net", "TLS 1.2", True,
                       None, Teardown("FIN", "client", "application_data"),
                       note="SMTP submission upgraded with STARTTLS, then QUIT")]


Kind = Callable[[Lab, str, list[int]], list[Connection]]


@dataclass(frozen=True)
class Scenario:
    """One capture file: its name, what it shows, and the kinds that make it."""

    file: str
    title: str
    made_with: str
    steps: list[tuple[Kind, str, list[int]]]  # (kind, server address, pinned client ports)
    secrets: bool = False  # embed the TLS key log (editcap --inject-secrets) and keep a copy without

    @property
    def ports(self) -> list[int]:
        return [HTTPS, SUBMISSION]

    def run(self, lab: Lab) -> list[Connection]:
        connections = []
        for kind, server, client_ports in self.steps:
            connections += kind(lab, server, client_ports)
        return connections


SHOP_SERVER = "127.0.0.11"
RAW = "raw-socket TLS 1.2 client (Schannel-like) against openssl s_server"
SSL = "Python ssl (OpenSSL) client against openssl s_server"

SCENARIOS = [
    Scenario("md2-root-silent-fin.pcapng", "Seed: MD2-signed root in a 4-certificate chain, client FIN after "
             "ServerHelloDone, no alert", RAW, [(md2_root_silent_fin, SHOP_SERVER, [50101])]),
    Scenario("md2-root-client-rst.pcapng", "The same refusal ending in RST instead of FIN", RAW,
             [(md2_root_client_rst, SHOP_SERVER, [50201])]),
    Scenario("known-good-twin.pcapng", "Known-good twin: same site, SHA-256 chain without the root, "
             "established", SSL, [(known_good_twin, SHOP_SERVER, [50301])]),
    Scenario("md5-intermediate-alert.pcapng", "MD5-signed intermediate refused by OpenSSL with alert 42", SSL,
             [(md5_intermediate_alert, "127.0.0.14", [50401])]),
    Scenario("no-shared-cipher.pcapng", "Server alert 40 handshake_failure: no cipher suite in common", SSL,
             [(no_shared_cipher, "127.0.0.15", [50501])]),
    Scenario("expired-leaf.pcapng", "Expired leaf refused with alert 45 certificate_expired", SSL,
             [(expired_leaf, "127.0.0.16", [50601])]),
    Scenario("name-mismatch.pcapng", "Certificate for another name than the SNI, refused by the client", SSL,
             [(name_mismatch, "127.0.0.17", [50701])]),
    Scenario("version-fallback.pcapng", "Failed TLS 1.2 attempt, then a TLS 1.0 retry that works (IE's "
             "fallback)", RAW + "; then a Python ssl TLS 1.0 client", [(version_fallback, SHOP_SERVER, [50801, 50802])]),
    Scenario("weak-rsa1024-sha1.pcapng", "Established TLS 1.2 with a 1024-bit RSA leaf signed with SHA-1", SSL,
             [(weak_rsa1024_sha1, "127.0.0.19", [50901])]),
    Scenario("tls13-embedded-secrets.pcapng", "TLS 1.3, session secrets embedded so the certificate is "
             "readable (a copy without secrets: tls13-no-secrets.pcapng)", SSL + ", editcap --inject-secrets",
             [(tls13, "127.0.0.20", [51001])], secrets=True),
    Scenario("smtp-starttls.pcapng", "SMTP submission upgraded with STARTTLS",
             "Python smtplib client against a Python ssl STARTTLS server", [(smtp_starttls, "127.0.0.21", [51101])]),
]

# The batch: every kind again, several times, interleaved, each on its own server address.
BATCH_KINDS: list[Kind] = [known_good_twin, md2_root_silent_fin, md2_root_client_rst, md5_intermediate_alert,
                           no_shared_cipher, expired_leaf, name_mismatch, version_fallback, weak_rsa1024_sha1,
                           smtp_starttls]
BATCH_ROUNDS = 4


def batch_scenario() -> Scenario:
    steps: list[tuple[Kind, str, list[int]]] = []
    port = 52000
    for _round in range(BATCH_ROUNDS):
        for index, kind in enumerate(BATCH_KINDS):
            steps.append((kind, f"127.0.1.{index + 1}", [port, port + 1]))
            port += 2
    return Scenario("batch-mixed.pcapng", f"{len(steps)} runs of the kinds above, interleaved, on "
                    f"{len(BATCH_KINDS)} server addresses", "all of the above", steps)


SCENARIOS.append(batch_scenario())


def as_json(connections: list[Connection]) -> list[dict]:
    return [asdict(connection) for connection in connections]
