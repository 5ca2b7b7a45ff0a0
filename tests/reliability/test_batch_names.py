"""A batch as analysts get it: twenty folders that each hold input.pcap, and tshark failing alike on many.

Same-named captures were told apart nowhere in the tables (`input.pcap:7` twenty times); tshark's log lines
carry its pid and a timestamp, so the same failure had a different reason on every input.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import CAPTURES
from tsharkpost.cli import main
from tsharkpost.commands.common import ExitCode
from tsharkpost.summary import distinguishing_names

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
TWIN = CAPTURES / "known-good-twin.pcapng"


@pytest.mark.parametrize("paths, names", [
    (["a/x.pcap", "b/x.pcap", "c/y.pcap"], ["a/x.pcap", "b/x.pcap", "y.pcap"]),
    (["t/1/in/x.pcap", "t/2/in/x.pcap", "u/x.pcap"], ["1/in/x.pcap", "2/in/x.pcap", "u/x.pcap"]),
    (["/srv/a/x.pcap", "a/x.pcap"], ["srv/a/x.pcap", "a/x.pcap"]),
    (["x.pcap", "sub/x.pcap"], ["x.pcap", "sub/x.pcap"]),
    (["one.pcap"], ["one.pcap"]),
])
def test_the_shortest_suffix_that_tells_them_apart(paths: list[str], names: list[str]) -> None:
    assert [distinguishing_names(paths)[path] for path in paths] == names


def test_same_named_captures_are_told_apart_in_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      tshark: str) -> None:
    # Given two tickets that each hold input.pcapng (the seed's failure in one, its working twin in the other)
    for ticket, capture in (("ticket-1", SEED), ("ticket-2", TWIN), ("ticket-3", SEED)):
        (tmp_path / ticket).mkdir()
        shutil.copy(capture, tmp_path / ticket / "input.pcapng")
    shutil.copy(CAPTURES / "version-fallback.pcapng", tmp_path / "version-fallback.pcapng")
    # When the folder is summarized with every connection listed
    code = main(["summarize", "--connections", str(tmp_path)])
    out = capsys.readouterr().out
    patterns, rest = out.split("\nInputs\n")
    connections = rest.split("\nConnections\n")[1]
    # Then the example and the connections name the ticket; a name nobody shares stays short
    assert code == ExitCode.OK
    assert "ticket-1/input.pcapng:8" in patterns and "ticket-2/input.pcapng:1" in patterns
    for label in ("ticket-1/input.pcapng:0", "ticket-2/input.pcapng:0", "ticket-3/input.pcapng:0",
                  "version-fallback.pcapng:0"):
        assert label in connections
    assert f"{tmp_path}/version-fallback.pcapng" not in connections
    # And the JSON's pattern example says the same
    code = main(["summarize", "--format", "json", str(tmp_path)])
    examples = {pattern["example"] for pattern in json.loads(capsys.readouterr().out)["patterns"]}
    assert "ticket-1/input.pcapng:8" in examples


def test_tshark_log_lines_lose_their_pid_and_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str], tshark: str) -> None:
    # Given a tshark that warns on every run (" ** (tshark:4963) 01:36:52.396978 [(none) WARNING] -- ...")
    monkeypatch.setenv("WIRESHARK_DEBUG_WMEM_OVERRIDE", "nonsense")
    # When two captures are read
    code = main(["summarize", "--format", "json", str(SEED), str(TWIN)])
    document = json.loads(capsys.readouterr().out)
    # Then both fail with the same reason, without the process id or the time
    assert code == ExitCode.INPUT_ERROR
    assert [(i["status"], i["reason"]) for i in document["inputs"]] == 2 * [
        ("error", "tshark: [(none) WARNING] Unrecognized wmem override")]
