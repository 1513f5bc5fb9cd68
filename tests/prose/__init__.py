"""Prose against figures: the notebooks' text never contradicts what they measure.

Two halves, one rule (DESIGN.md, *Measurement honesty*): static markdown states no measured
outcome (``markdown_rules``), and every sentence a cell prints agrees with the figures printed
beside it (``output_rules``). ``check_markdown`` reads a notebook as committed;
``check_outputs`` reads one just executed (the nbmake run of the solution notebooks, see the
root ``conftest.py``).
"""

from __future__ import annotations

from typing import Any

from tests.prose.findings import Finding
from tests.prose.markdown_rules import unlabelled_figures
from tests.prose.output_rules import RULES, State
from tests.prose.output_text import output_lines

__all__ = ["Finding", "check_markdown", "check_outputs"]


def _cell_id(cell: Any, index: int) -> str:
    return str(cell.get("id") or index)


def check_markdown(nb: Any, notebook: str) -> list[Finding]:
    """Figures in markdown cells that are no claim, setting or threshold."""
    return [
        Finding(
            notebook,
            _cell_id(cell, index),
            index,
            "unlabelled figure",
            found.sentence,
            f"{found.figure!r} reads as a measured outcome: compute it in the cell's output, or "
            "mark it as a claim, a setting (simulated, by construction, …) or a threshold",
        )
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown"
        for found in unlabelled_figures("".join(cell.source))
    ]


def check_outputs(nb: Any, notebook: str) -> list[Finding]:
    """Output lines whose words contradict the figures beside them."""
    state = State()
    findings: dict[tuple[str, str, str], Finding] = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        # A floor belongs to the comparison its cell printed: a later cell may measure another
        # (notebook 06 runs two), so an effect is judged only by a floor printed beside it.
        state.noise.clear()
        for line in output_lines(cell.get("outputs", [])):
            for rule, check in RULES.items():
                for why in check(line, state):
                    finding = Finding(notebook, _cell_id(cell, index), index, rule, line, why)
                    findings.setdefault((finding.cell, rule, why), finding)
    return list(findings.values())
