"""Zeek's QUIC traces (../shared/corpus/quic, read in place): a Retry another stack made (quic-go), against plain tshark."""

from __future__ import annotations

import subprocess
from pathlib import Path

from summarize_support import summarize_json


def test_quic_gos_retry_is_a_milestone_of_an_established_connection(tshark: str, corpus_dir: Path,
                                                                    tmp_path: Path) -> None:
    trace = corpus_dir / "quic" / "interop_quic-go_quic-go_retry.pcap"
    # Given plain tshark: the server's Retry (long header packet type 3), and the client's Initial with its token
    argv = [tshark, "-n", "-r", str(trace), "-Y", "quic.long.packet_type == 3", "-T", "fields", "-e", "frame.number",
            "-e", "udp.srcport"]
    ((frame, port),) = [line.split("\t") for line in
                        subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()]
    token = [tshark, "-n", "-r", str(trace), "-Y", f"quic.token_length > 0 && frame.number > {frame}", "-T", "fields",
             "-e", "frame.number"]
    assert subprocess.run(token, capture_output=True, text=True, check=True).stdout.split()
    # When summarize reads it, then its one connection is established, the Retry a server milestone at that frame
    _, document = summarize_json(tmp_path, str(trace))
    (conn,) = document["connections"]
    assert (conn["transport"], conn["outcome"], conn["server_port"]) == ("quic", "established", int(port))
    assert [(m["side"], m["frame"]) for m in conn["milestones"] if m["name"] == "retry"] == [("server", int(frame))]
