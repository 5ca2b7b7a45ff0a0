#!/usr/bin/env python3
"""Compares the outside prototype's findings with summarize's records (bench/OUTSIDE.md). Not a test.

    tsharkpost summarize FILES --format jsonl -o summarize.jsonl
    python3 bench/outside_prototype.py --records FILES > prototype.jsonl
    python3 bench/outside_compare.py summarize.jsonl prototype.jsonl

Per TCP connection (capture, tcp.stream): the findings as (check, severity, frame, message) and the SHA-256 of
the server's certificates. Connections summarize has and the prototype lacks are listed only when they have
findings (the prototype writes TLS connections only; summarize writes a record for every TCP connection).
"""

from __future__ import annotations

import json
import sys

SEVERITY = {"note": 1, "warning": 2, "error": 3}
Key = tuple[str, int]
Facts = tuple[list[tuple[str, int, int, str]], list[str]]


def summarize_records(path: str) -> dict[Key, Facts]:
    out: dict[Key, Facts] = {}
    with open(path) as lines:
        for line in lines:
            r = json.loads(line)
            if r.get("type") != "connection" or r.get("transport") != "tcp":
                continue
            out[(r["capture"], r["stream"])] = (
                sorted((f["check"], f["severity"], f["frame"], f["message"]) for f in r["findings"]),
                sorted(c.get("sha256") or "" for c in r.get("certificates") or []))
    return out


def prototype_records(path: str) -> dict[Key, Facts]:
    out: dict[Key, Facts] = {}
    with open(path) as lines:
        for line in lines:
            r = json.loads(line)
            out[(r["capture"], r["stream"])] = (
                sorted((f["check"], SEVERITY[f["sev"]], f["frame"], f["message"]) for f in r["findings"]),
                sorted(c["sha256"] or "" for c in r["certs"] if c["sender"] == "server"))
    return out


def main(summarize_path: str, prototype_path: str) -> int:
    a, b = summarize_records(summarize_path), prototype_records(prototype_path)
    same = sum(1 for key in a if key in b and a[key][0] == b[key][0])
    same_certs = sum(1 for key in a if key in b and a[key][1] == b[key][1])
    print(f"TCP connections: summarize {len(a)}, prototype {len(b)}; findings identical {same}; "
          f"server chain SHA-256 identical {same_certs}")
    for key in sorted(a):
        if key not in b:
            if a[key][0]:
                print("missing", key, "summarize's findings:", [f[:3] for f in a[key][0]])
        elif a[key][0] != b[key][0]:
            x, y = set(a[key][0]), set(b[key][0])
            print("differs", key, "only summarize:", [f[:3] for f in x - y], "only prototype:", [f[:3] for f in y - x])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
