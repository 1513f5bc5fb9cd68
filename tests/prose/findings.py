"""What a prose check reports: one contradiction or unlabelled figure, and where it is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    notebook: str  # file name, e.g. "01_measure_first.ipynb"
    cell: str  # the cell's id (stable across edits), or its index when it has none
    index: int  # position in the notebook, for a reader
    rule: str  # short rule name: "unlabelled figure", "word against interval", ...
    text: str  # the sentence or output line at fault
    why: str  # what is wrong, in one line

    @property
    def key(self) -> tuple[str, str, str]:
        """What an expected-failure entry names: notebook, cell id, rule."""
        return (self.notebook, self.cell, self.rule)

    def __str__(self) -> str:
        return (
            f"{self.notebook} cell {self.index} (id {self.cell}) — {self.rule}: {self.why}\n"
            f"    {self.text.strip()[:300]}"
        )
