"""Helpers for the plugin tests: run tshark with lua/tsharkpost.lua and read back its tpost items.

parse_pdml reads the plugin's tree from PDML, independently of tsharkpost's own reader (capture/fields_reader.py,
which reads the plugin's one-line fields): the plugin tests check the tree as Wireshark shows it (the bytes each
item points at, related frames), which the product's reader ignores by design, and a reader shared by the
product and its tests could hide the same bug in both.
"""

from __future__ import annotations

import atexit
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

# The one stderr line tshark prints when run as root; everything else on stderr is a failure.
ROOT_WARNING = 'Running as user "root" and group "root". This could be dangerous.'


def unexpected_stderr(stderr: str) -> list[str]:
    """Lines of tshark's stderr other than the harmless root warning."""
    return [line for line in stderr.splitlines() if line.strip() and line != ROOT_WARNING]


# Clean runs already made in this session: (argv, the capture's size, mtime and inode) -> a file holding stdout.
# Several corpus tests ask for the very same run (the plugin's PDML of each trace); on ~120 small traces each
# pass was mostly tshark's start-up. Kept on disk, not in memory: full PDML of the corpus is large.
_RUNS: dict[tuple[tuple[str, ...], int, int, int], Path] = {}
_RUNS_FOLDER = Path(tempfile.mkdtemp(prefix="tsharkpost-test-runs-"))
atexit.register(shutil.rmtree, _RUNS_FOLDER, ignore_errors=True)


def run_tshark(tshark: str, plugin: Path, capture: Path, *args: str, timeout: float = 300) -> str:
    """Run tshark with the plugin; return stdout, failing on any unexpected stderr or exit code.

    The same run of an unchanged capture is made once per session (a changed file, or other options, run again).
    """
    argv = [tshark, "-n", "-X", f"lua_script:{plugin}", "-r", str(capture), *args]
    stat = capture.stat()
    key = (tuple(argv), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if key in _RUNS:
        return _RUNS[key].read_text()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    problems = unexpected_stderr(proc.stderr)
    assert proc.returncode == 0 and not problems, f"{argv}: rc={proc.returncode} stderr={problems}"
    _RUNS[key] = _RUNS_FOLDER / f"{len(_RUNS)}.out"
    _RUNS[key].write_text(proc.stdout)
    return proc.stdout


@dataclass(frozen=True)
class Finding:
    """One tpost.finding subtree, as the exact values tests compare."""

    frame: int
    check: str
    severity: int
    cert_index: int | None = None
    related_frame: int | None = None
    message: str = field(default="", compare=False)
    data: str = field(default="", compare=False)    # hex of the bytes the finding points at
    why: str = field(default="", compare=False)
    offered: str = field(default="", compare=False)
    chain: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[int, str, int, int | None]:
        return (self.frame, self.check, self.severity, self.cert_index)


@dataclass(frozen=True)
class CertSummary:
    """One tpost.cert subtree: field name (without "tpost.cert.") -> shown value."""

    frame: int
    values: dict[str, str]
    data: str = ""                                   # hex of the certificate's DER, from the item's range


@dataclass
class PluginOutput:
    findings: list[Finding]
    certs: list[CertSummary]

    def keys(self) -> list[tuple[int, str, int, int | None]]:
        return [f.key for f in self.findings]


def _children(element: ET.Element) -> dict[str, str]:
    return {child.get("name", ""): child.get("show", "") for child in element.findall("field")}


def parse_pdml(pdml: str) -> PluginOutput:
    """tpost findings and certificate summaries from tshark -T pdml output."""
    findings: list[Finding] = []
    certs: list[CertSummary] = []
    root = ET.fromstring(pdml)
    for packet in root.iter("packet"):
        frame = 0
        for proto in packet.findall("proto"):
            if proto.get("name") == "geninfo":
                for f in proto.findall("field"):
                    if f.get("name") == "num":
                        frame = int(f.get("show", "0"))
            if proto.get("name") != "tpost":
                continue
            for item in proto.findall("field"):
                values = _children(item)
                if item.get("name") == "tpost.finding":
                    index = values.get("tpost.cert.index")
                    related = values.get("tpost.related_frame")
                    findings.append(Finding(
                        frame=frame,
                        check=values["tpost.check"],
                        severity=int(values["tpost.severity"]),
                        cert_index=int(index) if index is not None else None,
                        related_frame=int(related) if related is not None else None,
                        message=values["tpost.message"],
                        data=item.get("value", ""),
                        why=values.get("tpost.why", ""),
                        offered=values.get("tpost.offered", ""),
                        chain=values.get("tpost.chain", ""),
                    ))
                elif item.get("name") == "tpost.cert":
                    certs.append(CertSummary(frame, {
                        name.removeprefix("tpost.cert."): show for name, show in values.items()
                    }, item.get("value", "")))
    return PluginOutput(findings, certs)


def plugin_output(tshark: str, plugin: Path, capture: Path, *args: str) -> PluginOutput:
    """Everything the plugin says about a capture, read from PDML of the frames it marked."""
    return parse_pdml(run_tshark(tshark, plugin, capture, "-Y", "tpost", "-T", "pdml", *args))


def findings_by_fields(tshark: str, plugin: Path, capture: Path, *args: str) -> list[tuple[int, str, int]]:
    """(frame, check, severity) triples read with -T fields instead of PDML."""
    out = run_tshark(tshark, plugin, capture, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|",
                     "-e", "frame.number", "-e", "tpost.check", "-e", "tpost.severity", *args)
    triples = []
    for line in out.splitlines():
        frame, checks, severities = (line.split("\t") + ["", ""])[:3]
        if not checks:
            continue
        for check, severity in zip(checks.split("|"), severities.split("|"), strict=True):
            triples.append((int(frame), check, int(severity)))
    return triples


def manifest_decode_rules(corpus: Path) -> dict[str, list[str]]:
    """Trace (path under the corpus) -> the decode-as rules ../shared/corpus/MANIFEST.tsv says it needs
    (TLS on ports tshark does not decode as TLS by default, e.g. 6667)."""
    rules: dict[str, list[str]] = {}
    for line in (corpus / "MANIFEST.tsv").read_text().splitlines()[1:]:
        path, *_, description = line.split("\t")
        rules[path] = re.findall(r"-d (\S+?)\)", description)
    return rules


def manifest_decode_as(corpus: Path, relative: str) -> list[str]:
    """The tshark -d options MANIFEST.tsv says a trace needs."""
    return [option for rule in manifest_decode_rules(corpus).get(relative, []) for option in ("-d", rule)]
