"""Command-line arguments -> the capture files to read: files as given, directories searched."""

from __future__ import annotations

from pathlib import Path

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz")


def expand(arguments: list[str]) -> list[Path]:
    """Files are kept as given (even a missing one, to be reported); directories yield their captures, sorted."""
    found: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(CAPTURE_SUFFIXES))
        else:
            found.append(path)
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path, None)
    return list(unique)
