"""Which two connections to compare: each side's spec (FILE[#STREAM], --sni, --server) and the pairing.

STREAM names a connection as summarize --connections does: a number is a tcp.stream, quic/N and udp-dtls/N a
QUIC or DTLS flow's udp.stream (TCP's stream 0 and QUIC's udp.stream 0 are two connections of one capture).

By default GOOD's established connections are paired with BAD's failed ones to
the same server: same server name and address first, then the same name, then
the same address. A side narrowed to one connection is compared as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tsharkpost.errors import PairingError
from tsharkpost.record.model import UDP_TRANSPORTS, ConnectionRecord, Outcome, stream_id

CANDIDATES_LISTED = 20  # longer candidate lists are cut in messages, with the number left out


@dataclass(frozen=True)
class SideSpec:
    """One side of the comparison as given: a capture and optionally one connection of it (a stream of a
    transport: "tcp", "udp-dtls" or "quic")."""

    path: Path
    stream: int | None = None
    transport: str = "tcp"

    @property
    def stream_id(self) -> str:
        return "" if self.stream is None else stream_id(self.transport, self.stream)


@dataclass(frozen=True)
class ServerSpec:
    """--server ADDR[:PORT] (IPv6 as [ADDR]:PORT)."""

    address: str
    port: int | None


def parse_side(text: str) -> SideSpec:
    """FILE or FILE#STREAM (N, quic/N or udp-dtls/N); a file whose name itself has '#' wins when it exists."""
    path, hash_sign, stream = text.rpartition("#")
    if not hash_sign or Path(text).exists():
        return SideSpec(Path(text))
    transport, slash, number = stream.rpartition("/")
    if not number.isascii() or not number.isdigit() or (slash and transport not in UDP_TRANSPORTS):
        raise ValueError(f"{text!r}: the part after '#' must name a connection as summarize --connections does: "
                         f"a tcp.stream number, or {' or '.join(f'{name}/N' for name in UDP_TRANSPORTS)} "
                         "(a udp.stream)")
    return SideSpec(Path(path), int(number), transport if slash else "tcp")


def parse_server(text: str) -> ServerSpec:
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else rest
    elif text.count(":") == 1:
        address, _, port = text.partition(":")
    else:
        address, port = text, ""
    if not address or (port and not port.isdigit()):
        raise ValueError(f"{text!r}: expected ADDR:PORT, ADDR or [IPv6]:PORT")
    return ServerSpec(address, int(port) if port else None)


@dataclass(frozen=True)
class Candidate:
    """A TLS connection one side could contribute: enough to pair it and to name it in a message."""

    capture: str
    stream: int
    client: str
    client_port: int
    server: str
    server_port: int
    server_name: str | None
    outcome: Outcome
    transport: str = "tcp"  # with stream, the connection's identity in its capture
    first_frame: int = 0  # and with it, when a stream holds more than one (a client port reused)

    @classmethod
    def of(cls, record: ConnectionRecord) -> Candidate:
        return cls(record.capture, record.stream, record.client, record.client_port, record.server,
                   record.server_port, record.server_name, record.outcome, record.transport, record.first_frame)

    @property
    def failed(self) -> bool:
        return self.outcome.failed

    @property
    def name(self) -> str:
        return f"{self.capture}#{stream_id(self.transport, self.stream)}"

    def describe(self) -> str:
        return (f"{self.name}: {self.client}:{self.client_port} -> {self.server_name or '(no SNI)'} "
                f"{self.server}:{self.server_port}, {self.outcome.value}")


def tls_candidates(records: Iterable[ConnectionRecord]) -> Iterator[Candidate]:
    """The TLS connections among a capture's records, read one at a time."""
    for record in records:
        if record.is_tls:
            yield Candidate.of(record)


def matches(candidate: Candidate, spec: SideSpec, sni: str | None, server: ServerSpec | None) -> bool:
    if spec.stream is not None and (candidate.stream, candidate.transport) != (spec.stream, spec.transport):
        return False
    if sni is not None and (candidate.server_name or "").lower() != sni.lower():
        return False
    return server is None or (candidate.server == server.address and server.port in (None, candidate.server_port))


def listing(candidates: list[Candidate], label: str) -> list[str]:
    shown = [f"  {label} {candidate.describe()}" for candidate in candidates[:CANDIDATES_LISTED]]
    if len(candidates) > CANDIDATES_LISTED:
        shown.append(f"  {label} ... and {len(candidates) - CANDIDATES_LISTED} more")
    return shown


def _prefer(candidates: list[Candidate], failed: bool) -> list[Candidate]:
    """BAD's failed connections (GOOD's successful ones) when there are any, else all of them."""
    preferred = [candidate for candidate in candidates if candidate.failed is failed]
    return preferred or candidates


def same_server_name(a: str | None, b: str | None) -> bool:
    """Whether two server names (SNI) name the same host: DNS names compare without regard to ASCII case (RFC 4343;
    RFC 6066 §3 makes SNI's HostName one). Two connections without one count as alike."""
    if a is None or b is None:
        return a is b
    return a.lower() == b.lower()


# How two connections may be the same service, tried in this order.
_SAME_SERVER: tuple[tuple[str, Callable[[Candidate, Candidate], bool]], ...] = (
    ("server name and address", lambda g, b: same_server_name(g.server_name, b.server_name)
     and (g.server, g.server_port) == (b.server, b.server_port)),
    ("server name", lambda g, b: g.server_name is not None and same_server_name(g.server_name, b.server_name)),
    ("server address", lambda g, b: (g.server, g.server_port) == (b.server, b.server_port)),
)


def pair(good: list[Candidate], bad: list[Candidate]) -> tuple[Candidate, Candidate]:
    """The one (GOOD, BAD) pair to compare, or PairingError listing the candidates."""
    if len(good) == 1 and len(bad) == 1:
        if good[0] == bad[0]:
            raise PairingError(f"GOOD and BAD are the same connection ({good[0].name}): pick another "
                               "with FILE#STREAM", listing(good, "GOOD"))
        return good[0], bad[0]
    wanted_good, wanted_bad = _prefer(good, failed=False), _prefer(bad, failed=True)
    for _, same in _SAME_SERVER:
        pairs = [(g, b) for g in wanted_good for b in wanted_bad if g != b and same(g, b)]
        if pairs:
            break
    if len(pairs) == 1:
        return pairs[0]
    everything = listing(good, "GOOD") + listing(bad, "BAD ")
    hint = "; choose with FILE#STREAM, --sni NAME or --server ADDR:PORT"
    if not pairs:
        raise PairingError("no connection of GOOD pairs with one of BAD by server name or address" + hint,
                           everything)
    goods = list(dict.fromkeys(g for g, _ in pairs))
    bads = list(dict.fromkeys(b for _, b in pairs))
    raise PairingError(f"ambiguous pairing: {len(pairs)} pairs of GOOD and BAD connections to the same server"
                       + hint, listing(goods, "GOOD") + listing(bads, "BAD "))
