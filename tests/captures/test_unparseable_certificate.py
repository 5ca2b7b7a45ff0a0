"""A refused chain holding a certificate the plugin could not parse is not "nothing wrong with the chain".

`unexplained_refusal` says the plugin checked the chain and found nothing; a certificate it could not parse was
checked by nothing (its `malformed_certificate` note: the other checks skip it). The refusal's cause is then
`chain_unread`, naming the certificate and why it could not be parsed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import CAPTURES
from summarize_support import summarize_json
from tsharkpost.commands.common import ExitCode

SEED = CAPTURES / "md2-root-silent-fin.pcapng"


def test_a_refused_chain_with_an_unparseable_certificate_is_said_unread(tmp_path: Path, tshark: str) -> None:
    # Given the seed with its root certificate (#3, the MD2 one) no longer DER: its first byte 0x30 (SEQUENCE) made
    # 0x31 (SET), so the plugin cannot parse it, and nothing else wrong with the chain
    shown = subprocess.run([tshark, "-n", "-r", str(SEED), "-Y", "tls.handshake.type == 11", "-T", "fields",
                            "-E", "occurrence=a", "-E", "aggregator=,", "-e", "tls.handshake.certificate"],
                           capture_output=True, text=True, check=True).stdout
    root = bytes.fromhex(shown.strip().split(",")[3])
    data = SEED.read_bytes()
    assert root[0] == 0x30 and data.count(root) == 1
    broken = tmp_path / "root-not-der.pcapng"
    broken.write_bytes(data.replace(root, b"\x31" + root[1:]))
    # When it is summarized
    code, document = summarize_json(tmp_path, str(broken))
    # Then the certificate's note and the client's silent close are found, and the refusal's cause says the chain
    # was not all checked, in the plugin's own words about the certificate, never that nothing was wrong with it
    assert code == ExitCode.OK
    (record,) = document["connections"]
    assert record["outcome"] == "client_silent_close_after_certificates"
    assert [finding["check"] for finding in record["findings"]] == ["malformed_certificate", "silent_teardown"]
    note = record["findings"][0]["message"]
    assert note.startswith(f"certificate #3 ({len(root)} bytes) could not be parsed: ")
    (cause,) = record["causes"]
    assert cause["kind"] == "chain_unread"
    assert cause["summary"] == f"client refused the server's certificate flight; {note}, so no check ran on it"
    assert cause["evidence"] == [record["findings"][1]["message"]]
