"""diff as one self-contained HTML page: the verdict on top, GOOD's and BAD's ladders side by side with the
differences highlighted, both chains as cards, then every compared section."""

from __future__ import annotations

from typing import IO

from tsharkpost.diff.model import Comparison, Section
from tsharkpost.render import html, ladder
from tsharkpost.render.text import show_value




def _relations(section: Section, side: str, count: int) -> list[str]:
    """Each certificate's relation to the other chain, by its position in its own chain."""
    relations = [""] * count
    for row in section.rows:
        index = row.good_index if side == "good" else row.bad_index
        if index is not None and index < count:
            relations[index] = row.relation
    return relations


def write_diff_html(comparison: Comparison, out: IO[str], tool_version: str, tshark_path: str,
                    tshark_version: str) -> None:
    good, bad = comparison.good, comparison.bad
    drawn_good, drawn_bad = ladder.mark_differences(ladder.build(good), ladder.build(bad))
    chain = next(section for section in comparison.sections if section.name == "chain")
    views = {
        "good": html.connection_view(good, 0, drawn=drawn_good,
                                     relations=_relations(chain, "good", len(good.certificates))),
        "bad": html.connection_view(bad, 1, drawn=drawn_bad,
                                    relations=_relations(chain, "bad", len(bad.certificates))),
    }
    html.write("diff.html.j2", out, comparison=comparison, good=views["good"], bad=views["bad"],
               inputs={"good": comparison.good_input, "bad": comparison.bad_input}, show=show_value,
               tool_version=tool_version, tshark_path=tshark_path, tshark_version=tshark_version)
