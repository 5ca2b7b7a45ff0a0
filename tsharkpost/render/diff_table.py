"""tsharkpost diff as text: the two connections, the ranked verdict, then each section (identical ones collapsed)."""

from __future__ import annotations

import textwrap
from typing import IO

from tsharkpost.diff.model import Comparison, FieldDiff, Section
from tsharkpost.render.plain_table import tabulate
from tsharkpost.render.text import plural, printable, printable_lines, show_value

WIDTH = 110
CELL_WIDTH = 48
VALUE_WIDTH = 40




def _header(comparison: Comparison) -> str:
    rows = []
    for label, path, record in (("GOOD", comparison.good_input, comparison.good),
                                ("BAD", comparison.bad_input, comparison.bad)):
        rows.append([printable(cell) for cell in (
            label, f"{path}#{record.stream_id}", record.transport, f"{record.client}:{record.client_port}",
            f"{record.server_name or '(no SNI)'} {record.server}:{record.server_port}", record.version or "-",
            record.outcome.value)])
    # Paths are never wrapped: analysts copy them into the next command (FILE#STREAM as diff reads it).
    return tabulate(rows, ["", "connection", "transport", "client", "server", "version", "outcome"])


def _verdict(comparison: Comparison) -> str:
    if not comparison.bad.failed:
        return f"Verdict: BAD did not fail ({comparison.bad.outcome.value}): nothing to explain."
    if not comparison.verdict:
        return "Verdict: no difference found that would explain why BAD failed."
    count = plural(len(comparison.verdict), "difference")
    if comparison.good.failed:
        lines = [f"Verdict: GOOD failed too ({comparison.good.outcome.value}); {count} between the two failures "
                 "(likeliest first)"]
    else:
        lines = [f"Verdict: {count} may explain why BAD failed and GOOD did not (likeliest first)"]
    for item in comparison.verdict:
        lines += textwrap.wrap(item.summary, WIDTH, initial_indent=f"{item.rank:>2}. ", subsequent_indent="    ")
        for evidence in item.evidence:
            lines += textwrap.wrap(evidence, WIDTH, initial_indent="    - ", subsequent_indent="      ")
    return "\n".join(lines)


def _field_row(diff: FieldDiff) -> list[str]:
    """A value field shows both values; a set field its sizes and what only one side has (each cell escaped: a
    newline in a value would otherwise forge a row, and the table's own layout takes an escape sequence for a
    colour code)."""
    if diff.only_good is None:
        cells = [diff.name, show_value(diff.good), show_value(diff.bad), "", ""]
    else:
        cells = [diff.name, "-" if diff.good is None else str(len(diff.good)),
                 "-" if diff.bad is None else str(len(diff.bad)), show_value(diff.only_good or None),
                 show_value(diff.only_bad or None)]
    return [printable(cell) for cell in cells]


def _chain_rows(section: Section) -> str:
    rows = []
    for row in section.rows:
        sigalg = row.sigalg_bad if row.sigalg_bad is not None else row.sigalg_good
        detail = "; ".join(row.differences)
        findings = [f"GOOD: {', '.join(row.findings_good)}" if row.findings_good else "",
                    f"BAD: {', '.join(row.findings_bad)}" if row.findings_bad else ""]
        rows.append(["-" if row.good_index is None else f"#{row.good_index}",
                     "-" if row.bad_index is None else f"#{row.bad_index}", printable(row.subject),
                     printable(sigalg or "-"), printable(row.relation),
                     "\n".join(printable(part) for part in [detail, *findings] if part)])
    return tabulate(rows, ["GOOD", "BAD", "subject", "signature", "relation", "differences and findings"],
                    maxcolwidths=[None, None, 40, None, None, CELL_WIDTH])


def _section(section: Section) -> str:
    if section.equal:
        return f"{section.title}: identical"
    different = [diff for diff in section.fields if not diff.equal]
    same = [diff.name for diff in section.fields if diff.equal]
    parts = [f"{section.title}: differs" + (f" (same: {', '.join(same)})" if same else "")]
    if different:
        columns = 5 if any(diff.only_good is not None for diff in different) else 3
        parts.append(tabulate([_field_row(diff)[:columns] for diff in different],
                              ["field", "GOOD", "BAD", "only in GOOD", "only in BAD"][:columns],
                              maxcolwidths=[None, VALUE_WIDTH, VALUE_WIDTH, CELL_WIDTH, CELL_WIDTH][:columns],
                              disable_numparse=True))
    if section.rows and any(not row.equal for row in section.rows):
        parts.append(_chain_rows(section))
    return "\n".join(parts)


def write_diff_table(comparison: Comparison, out: IO[str]) -> None:
    parts = [_header(comparison), "", _verdict(comparison)]
    for section in comparison.sections:
        parts += ["", _section(section)]
    out.write(printable_lines("\n".join(parts)) + "\n")  # file names and capture strings may hold controls
