#!/usr/bin/env python3
"""Rebuild tsharkpost's sample captures: real TLS stacks on loopback, recorded with dumpcap.

Run as root on Debian 12 (dumpcap on `lo` needs capture rights):

    python3 captures/generate.py            # rewrite captures/ in place
    python3 captures/generate.py --out DIR  # write somewhere else (the tests do)

Needs the openssl CLI, dumpcap and editcap (Debian: openssl, tshark) and the
Python standard library. Writes every pcapng file, the Schannel event excerpt
of the seed scenario (.xml, .csv) and expected.json, the ground truth the
capture tests check every file against.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capgen.authority import Authority  # noqa: E402
from capgen.capture import dumpcap  # noqa: E402
from capgen.eventlog import VIEWER_TIME_ZONE, write_seed_events  # noqa: E402
from capgen.scenarios import SCENARIOS, Lab, as_json  # noqa: E402

REQUIRED_TOOLS = {"openssl": "openssl", "dumpcap": "tshark (wireshark-common)", "editcap": "tshark"}
SEED = SCENARIOS[0]
NO_SECRETS_SUFFIX = "-no-secrets"


def check_tools() -> None:
    missing = [f"{tool} (Debian package {package})" for tool, package in REQUIRED_TOOLS.items()
               if shutil.which(tool) is None]
    if missing:
        sys.exit(f"generate.py: missing {', '.join(missing)}; install them and rerun as root")
    if os.geteuid() != 0:
        sys.exit("generate.py: dumpcap must capture on lo: run as root")


def embed_secrets(capture: Path, keylogs: list[Path]) -> Path:
    """Keep the plain capture as <name>-no-secrets and embed the key log into <name>."""
    plain = capture.with_name(capture.name.replace("-embedded-secrets", NO_SECRETS_SUFFIX))
    capture.rename(plain)
    keylog = capture.with_suffix(".keylog")
    keylog.write_text("".join(path.read_text() for path in keylogs))
    subprocess.run(["editcap", "--inject-secrets", f"tls,{keylog}", str(plain), str(capture)], check=True)
    keylog.unlink()
    return plain


def without_secrets(entry: dict) -> dict:
    """The same connections as seen without keys: TLS 1.3 alerts are then opaque application data."""
    connections = []
    for connection in entry["connections"]:
        teardown = dict(connection["teardown"])
        if teardown["after"] == "alert":
            teardown["after"] = "application_data"
        connections.append({**connection, "teardown": teardown})
    return {**entry, "title": entry["title"].split(",")[0] + ", without the session secrets",
            "connections": connections}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="folder to write into (default: captures/)")
    args = parser.parse_args(argv)
    check_tools()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    expected: dict[str, object] = {
        "generator": "captures/generate.py",
        "note": "One entry per TCP connection; checked against every capture by tests/captures/test_captures.py",
        "event_viewer_time_zone": VIEWER_TIME_ZONE,
        "captures": {},
    }
    with tempfile.TemporaryDirectory(prefix="tsharkpost-capgen-") as scratch:
        work = Path(scratch)
        authority = Authority(work, dt.datetime.now(dt.timezone.utc).replace(microsecond=0)).build()
        for scenario in SCENARIOS:
            lab = Lab(authority, work)
            path = args.out / scenario.file
            with dumpcap(path, scenario.ports, f"tsharkpost sample: {scenario.title}"):
                connections = scenario.run(lab)
            entry = {"title": scenario.title, "made_with": scenario.made_with, "connections": as_json(connections)}
            if scenario.secrets:
                plain = embed_secrets(path, lab.keylogs)
                expected["captures"][plain.name] = without_secrets(entry)
            expected["captures"][scenario.file] = entry
            if scenario is SEED:
                _, abort = lab.silent_aborts[0]
                rejected_at = dt.datetime.fromtimestamp(abort.decided_at, dt.timezone.utc)
                write_seed_events(args.out, Path(SEED.file).stem + ".schannel", rejected_at, "shop.example.net")
            print(f"{path.name}: {len(connections)} connection(s)", file=sys.stderr)

    for capture in args.out.glob("*.pcapng"):
        capture.chmod(0o644)  # dumpcap writes 0600
    (args.out / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    print(f"done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
