"""Compare summarize's fingerprints with tshark's own JA3/JA3S and the oracle's JA4 (tests/tshark_oracle.py)."""

from __future__ import annotations

from pathlib import Path

from tshark_oracle import read_hellos


def disagreements(tshark: str, capture: Path, records: dict[tuple[str, int, int], dict],
                  decode_as: list[str] | tuple[str, ...] = ()) -> tuple[list[tuple], int]:
    """Every connection of a capture whose fingerprints differ from the independent reading; and how many compared.

    records: summarize's connections keyed by (capture name, client port, server port).
    """
    differ, compared = [], 0
    for stream, hellos in read_hellos(tshark, capture, decode_as).items():
        if not hellos.ja3:
            continue  # only a ServerHello in the capture: tsharkpost has no ClientHello to fingerprint either
        conn = records.get((capture.name, hellos.client_port, hellos.server_port))
        where = (capture.name, stream, hellos.client_port)
        if conn is None:
            differ.append((*where, "no record"))
            continue
        mine = conn["fingerprints"]
        compared += 1
        if (mine["ja3_full"], mine["ja3"]) != hellos.ja3[0]:
            differ.append((*where, "ja3", hellos.ja3[0], (mine["ja3_full"], mine["ja3"])))
        ja3s = (mine["ja3s_full"], mine["ja3s"])
        # The first ServerHello that is not a HelloRetryRequest: one of those tshark fingerprinted.
        if (ja3s == (None, None)) != (not hellos.ja3s) or (hellos.ja3s and ja3s not in hellos.ja3s):
            differ.append((*where, "ja3s", hellos.ja3s, ja3s))
        if hellos.ja4 is not None and mine["ja4"] != hellos.ja4:
            differ.append((*where, "ja4", hellos.ja4, mine["ja4"]))
    return differ, compared
