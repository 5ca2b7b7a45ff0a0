"""A key log and hostile names on captures made by real stacks (tests/data/wild, captures/wild.py).

tls12-keylog.pcapng is TLS 1.2 with the client's key log beside it; control-characters-in-sni-alpn.pcapng holds
a ClientHello whose server name and ALPN list carry control characters, DEL and terminal escape sequences.
Expected values come from plain tshark (test_wild_tcp.plain_tshark), never from tsharkpost.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO
from test_wild_tcp import WILD, connections, plain_tshark

KEYLOG_CAPTURE, KEYS = "tls12-keylog.pcapng", WILD / "tls12-keylog.keys"
ODD_CAPTURE = "control-characters-in-sni-alpn.pcapng"


def test_the_key_log_decrypts_the_finished_messages_and_the_closing_alerts(tmp_path: Path, tshark: str) -> None:
    # Given plain tshark with the key log: both Finished messages and a close_notify from each side
    decrypted = ("-o", f"tls.keylog_file:{KEYS}")
    finished = plain_tshark(tshark, KEYLOG_CAPTURE, "tls.handshake.type == 20", "frame.number", options=decrypted)
    alerts = plain_tshark(tshark, KEYLOG_CAPTURE, "tls.alert_message", "frame.number", "tls.alert_message.desc",
                          options=decrypted)
    assert len(finished) == 2 and [code for _, code in alerts] == ["0", "0"]
    # and without it, neither is readable
    assert plain_tshark(tshark, KEYLOG_CAPTURE, "tls.handshake.type == 20", "frame.number") == []
    # When summarize reads the capture with and without --keylog
    (keyed,) = connections(tmp_path, KEYLOG_CAPTURE, "--keylog", str(KEYS))
    (blind,) = connections(tmp_path, KEYLOG_CAPTURE)
    # Then with the keys the record names what tshark decrypted, frame by frame
    assert [(alert["frame"], alert["code"], alert["name"], alert["encrypted"]) for alert in keyed["alerts"]] == [
        (int(frame), 0, "close_notify", False) for frame, _ in alerts]
    assert [m["frame"] for m in keyed["messages"] if m["name"] == "finished"] == [int(f) for (f,) in finished]
    # and without them the same alerts are there, encrypted, and the Finished messages are encrypted handshakes
    assert [(alert["frame"], alert["encrypted"]) for alert in blind["alerts"]] == [
        (int(frame), True) for frame, _ in alerts]
    assert not [m for m in blind["messages"] if m["name"] == "finished"]
    # and the handshake reads the same either way
    assert keyed["outcome"] == blind["outcome"] == "established" and keyed["version"] == "TLS 1.2"


def test_control_characters_in_names_are_kept_in_records_and_escaped_in_tables(tmp_path: Path, tshark: str) -> None:
    # Given plain tshark's reading of the ClientHello's server name and ALPN list (raw bytes in -T fields)
    ((name, alpn),) = plain_tshark(tshark, ODD_CAPTURE, "tls.handshake.type == 1",
                                   "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str")
    assert "\x01" in name and "\x1b" in name and "\x07" in alpn
    # When summarize reads the capture
    (conn,) = connections(tmp_path, ODD_CAPTURE)
    # Then the record holds the very characters sent (JSON escapes them), not tshark's PDML text form, which writes
    # byte 0x01 before a "b" as "\x1b" (an ESC)
    assert conn["server_name"] == conn["client_hello"]["server_name"] == conn["zeek"]["server_name"] == name
    assert ",".join(conn["client_hello"]["alpn"]) == alpn
    # and the table shows them escaped: no control character reaches the terminal
    table = subprocess.run([sys.executable, "-m", "tsharkpost.cli", "summarize", "--quiet", str(WILD / ODD_CAPTURE)],
                           capture_output=True, text=True, check=False, cwd=REPO)
    assert table.returncode == 0, table.stderr
    assert "a\\x01b\\x1b[31mred\\x7f.example" in table.stdout
    assert not [char for char in table.stdout if ord(char) < 32 and char != "\n"]


def test_a_server_name_with_a_nul_is_kept_whole(tmp_path: Path, tshark: str) -> None:
    # Given the seed with its SNI's first dot made a NUL ("shop\0example.net", the same length): tshark's own
    # string value stops at the NUL, "shop"
    data = (REPO / "captures" / "md2-root-silent-fin.pcapng").read_bytes()
    sni = b"\x00\x00\x10shop.example.net"
    assert data.count(sni) == 1
    crafted = tmp_path / "nul-in-sni.pcapng"
    crafted.write_bytes(data.replace(sni, b"\x00\x00\x10shop\x00example.net"))
    ((shown,),) = plain_tshark(tshark, str(crafted), "tls.handshake.type == 1", "tls.handshake.extensions_server_name")
    assert shown == "shop"
    # When summarize reads it
    (conn,) = connections(tmp_path, str(crafted))
    # Then the record holds the whole name as sent, as the plugin's name check read it (never the legitimate
    # server's name, which the pattern would have grouped it with)
    assert conn["server_name"] == conn["client_hello"]["server_name"] == conn["zeek"]["server_name"]
    assert conn["server_name"] == "shop\x00example.net"
    mismatch = [f["message"] for f in conn["findings"] if f["check"] == "name_mismatch"]
    assert len(mismatch) == 1 and "'shop\\00example.net'" in mismatch[0]
