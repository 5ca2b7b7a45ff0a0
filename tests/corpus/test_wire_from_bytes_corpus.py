"""tpost.tls from the records' bytes on third-party traces (../shared/corpus, read in place): the same lines as from
the fields, where tshark reads more than the RFC layouts (signed certificate timestamps, ALPS, ECH, TLS 1.3
drafts) and on real servers' flights."""

from __future__ import annotations

from pathlib import Path

import pytest
from wire_bytes_support import first_sight_frames, frames_read_from_bytes, lines, plugin_variants, unmarked

TRACES = ["zeek/google-cert-repeat.pcap", "zeek/signed_certificate_timestamp.pcap",
          "zeek/signed_certificate_timestamp-2.pcap", "zeek/signed_certificate_timestamp_tls1_0.pcap",
          "zeek/chrome-63.0.3211.0-canary-tls_experiment.pcap", "zeek/tls13draft16-chrome55.0.2879.0-canary.pcap",
          "zeek/ocsp-stapling-digicert.pcap", "zeek/tls1.2.pcap", "arkime/openssl-tls1_2-tls1.pcap",
          "arkime/tls-split-client-hello.pcap", "arkime/badcurveball.pcap"]


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return plugin_variants(tmp_path_factory.mktemp("wire-bytes-corpus"))


@pytest.mark.parametrize("trace", TRACES)
def test_lines_from_record_bytes_are_the_lines_from_the_fields(tshark: str, corpus_dir: Path,
                                                              plugins: tuple[Path, Path], trace: str) -> None:
    # Given a trace from Zeek's or Arkime's test suites, then the lines read from the records' bytes (markers
    # removed) are the lines read from the fields.
    marked, fields_only = plugins
    capture = corpus_dir / trace
    if not capture.exists():
        pytest.fail(f"{trace} is not in the corpus")
    assert unmarked(lines(tshark, marked, capture)) == lines(tshark, fields_only, capture)


def test_a_flight_whose_certificates_carry_timestamps_is_read_from_bytes(tshark: str, corpus_dir: Path,
                                                                        plugins: tuple[Path, Path]) -> None:
    # Given Google's flights (a Certificate whose X.509 extensions hold signed certificate timestamps, with the
    # ServerKeyExchange and ServerHelloDone, and the ServerHello in the same frame or in an earlier one, the
    # Certificate's record then reassembled from several segments: tshark shows the timestamps' signature algorithms
    # among the Certificate's fields), then every such frame is read from bytes but those holding a code shown for
    # the first time.
    marked, _ = plugins
    capture = corpus_dir / "zeek" / "google-cert-repeat.pcap"
    output = lines(tshark, marked, capture)
    flights = {int(line.split("\t")[0]) for line in output if " t11 g" in line}
    assert len(flights) >= 6 and any(" t2 " not in line for line in output if " t11 g" in line)
    from_bytes = frames_read_from_bytes(output)
    assert {frame for frame in flights if not from_bytes[frame]} == flights & first_sight_frames(tshark, capture)
