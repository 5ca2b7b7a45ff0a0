"""tabulate, the one importer of it: loaded when a table is first written, since a run that writes JSON, CSV or
HTML need not pay its import (20 ms; with jinja2 and tqdm, loaded alike, a third of the CLI's start-up)."""

from __future__ import annotations

from typing import Any


def tabulate(rows: Any, headers: Any = (), **options: Any) -> str:
    """tabulate.tabulate(rows, headers, **options)."""
    from tabulate import tabulate as table

    return table(rows, headers, **options)
