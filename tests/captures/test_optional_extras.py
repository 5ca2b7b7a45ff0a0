"""The cluster extra is optional: summarize without --scheduler never imports dask, and with --scheduler but
without the extra it says what to install, in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import CAPTURES
from summarize_support import environment

SEED = CAPTURES / "md2-root-silent-fin.pcapng"
RUN_AND_LIST = """
import sys
from tsharkpost.cli import main
code = main(sys.argv[1:])
print(code, sorted({name.split(".")[0] for name in sys.modules} & {"dask", "distributed"}), file=sys.stderr)
"""
HIDE_DASK = """
import sys
class NoDask:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("dask", "distributed"):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, NoDask())
""" + RUN_AND_LIST


def test_dask_is_not_imported_without_scheduler(tmp_path: Path, tshark: str) -> None:
    done = subprocess.run([sys.executable, "-c", RUN_AND_LIST, "summarize", "-o", str(tmp_path / "out.txt"),
                           "-j", "2", str(SEED), str(CAPTURES / "known-good-twin.pcapng")], capture_output=True,
                          text=True, env=environment(tmp_path / "home"), timeout=240, check=False)
    assert done.stderr == "0 []\n"


def test_scheduler_without_the_extra(tmp_path: Path, tshark: str) -> None:
    # Given dask is not installed (hidden from the import system), when --scheduler is given
    done = subprocess.run([sys.executable, "-c", HIDE_DASK, "summarize", "--scheduler", "tcp://127.0.0.1:1",
                           str(SEED)], capture_output=True, text=True, env=environment(tmp_path / "home"),
                          timeout=240, check=False)
    # Then it is a usage error that names the extra to install
    assert done.stderr == ("tsharkpost: ERROR: --scheduler needs dask.distributed (pip install "
                           "'tsharkpost[cluster]'): No module named 'distributed'\n2 []\n")
