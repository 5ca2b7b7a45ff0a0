#!/usr/bin/env python3
"""The "by hand" anchor of bench/summarize_speed.py: what a user's own script over plain `tshark -T fields` gets.

    python3 bench/by_hand.py CAPTURE > connections.jsonl

One tshark run with no plugin and a display filter on the packets that carry the facts summarize's records
hold (connection edges, handshake messages, alerts), the fields of those facts, and a few lines of Python that
group them per TCP connection: endpoints, server name, offered and chosen versions, cipher suite, offered
signature algorithms, the chain's algorithm identifiers and names, alerts, who closed first and how.
No diagnosis (no chain checks, outcome or cause): it is the floor of "extracting the same facts", for speed only.
"""

from __future__ import annotations

import json
import subprocess
import sys

FILTER = "tcp.flags.syn == 1 || tcp.flags.fin == 1 || tcp.flags.reset == 1 || tls.handshake || tls.alert_message"
FIELDS = ["tcp.stream", "frame.number", "frame.time_epoch", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport",
          "tcp.flags.fin", "tcp.flags.reset", "tls.handshake.type", "tls.handshake.extensions_server_name",
          "tls.handshake.version", "tls.handshake.extensions.supported_version", "tls.handshake.ciphersuite",
          "tls.handshake.sig_hash_alg", "x509af.algorithm.id", "x509sat.printableString", "x509sat.uTF8String",
          "tls.alert_message.level", "tls.alert_message.desc"]


def main(capture: str) -> int:
    argv = ["tshark", "-n", "-r", capture, "-Y", FILTER, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|",
            *(arg for name in FIELDS for arg in ("-e", name))]
    connections: dict[str, dict] = {}
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, errors="replace") as tshark:
        assert tshark.stdout is not None
        for line in tshark.stdout:
            (stream, frame, when, src, sport, dst, dport, fin, rst, types, sni, version, supported, suites,
             sigalgs, cert_algs, printable, utf8, levels, alerts) = line.rstrip("\n").split("\t")
            conn = connections.setdefault(stream, {"client": f"{src}:{sport}", "server": f"{dst}:{dport}",
                                                   "first": float(when), "certificates": [], "alerts": []})
            kinds = types.split("|") if types else []
            if "1" in kinds:
                conn.update(server_name=sni, offered=supported or version, sigalgs=sigalgs)
            if "2" in kinds:
                conn.update(version=supported or version, cipher=suites)
            if "11" in kinds:
                # Every AlgorithmIdentifier and name string of the chain, in order: the signature algorithms and
                # the subjects and issuers are among them (pairing them needs the tree, as summarize's plugin does).
                conn["certificates"].append({"algorithms": cert_algs.split("|"),
                                             "names": [name for name in (printable + "|" + utf8).split("|") if name]})
            if alerts:
                conn["alerts"] += [{"frame": int(frame), "level": level, "code": code}
                                   for level, code in zip(levels.split("|"), alerts.split("|"))]
            if (fin == "1" or rst == "1") and "closed_by" not in conn:
                conn.update(closed_by=f"{src}:{sport}", closed_with="RST" if rst == "1" else "FIN", closed_at=int(frame))
    for stream, conn in connections.items():
        print(json.dumps({"stream": int(stream), **conn}))
    return tshark.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
