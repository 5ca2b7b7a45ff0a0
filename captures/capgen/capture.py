"""dumpcap on the loopback interface, started before a scenario and stopped after it."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# After the last packet, let the kernel deliver the final ACKs before stopping.
SETTLE_SECONDS = 0.3
# dumpcap says "Capturing on" before its filter is attached: packets sent in
# the next few hundred milliseconds can be missed.
WARM_UP_SECONDS = 0.5


@contextmanager
def dumpcap(path: Path, ports: list[int], comment: str, transport: str = "tcp") -> Iterator[None]:
    """Record TCP (or UDP) traffic on the given ports of lo into the pcapng file at path."""
    capture_filter = " or ".join(f"{transport} port {port}" for port in ports)
    argv = ["dumpcap", "-q", "-i", "lo", "-f", capture_filter, "-w", str(path),
            "--capture-comment", comment]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # "Capturing on 'Loopback: lo'" once it records
        seen.append(line)
        if line.startswith("Capturing on"):
            break
    else:
        raise RuntimeError(f"dumpcap did not start: {''.join(seen).strip()}")
    time.sleep(WARM_UP_SECONDS)
    try:
        yield
        time.sleep(SETTLE_SECONDS)
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=10)
        if process.returncode not in (0, -signal.SIGINT):
            raise RuntimeError(f"dumpcap failed ({process.returncode}): {errors.strip()}")
