"""tabulate, the one importer of it: loaded when a table is first written, since a run that writes JSON, CSV or
HTML need not pay its import (see render/html.py on jinja2)."""

from __future__ import annotations

from typing import Any


def tabulate(rows: Any, headers: Any = (), **options: Any) -> str:
    """tabulate.tabulate(rows, headers, **options)."""
    from tabulate import tabulate as table

    return table(rows, headers, **options)
