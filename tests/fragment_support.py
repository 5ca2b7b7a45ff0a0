"""Records built without tshark from the committed fragments of summarize's tshark output (tests/data/*.fields)."""

from __future__ import annotations

from conftest import DATA

from tsharkpost.capture.classify import classify
from tsharkpost.capture.fields_reader import packets
from tsharkpost.capture.tracker import ConnectionTracker
from tsharkpost.record.model import ConnectionRecord


def seed_record() -> ConnectionRecord:
    """The seed capture's one connection (captures/md2-root-silent-fin.pcapng), classified and frozen."""
    tracker = ConnectionTracker("captures/md2-root-silent-fin.pcapng")
    with (DATA / "seed.fields").open("rb") as stream:
        for packet in packets(stream):
            tracker.add(packet)
    (conn,) = tracker.finish()
    return classify(conn, [conn]).freeze()
