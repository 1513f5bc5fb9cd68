"""The instructor's hidden checks: more seeds and probes, kept with the solutions, never released.

A hidden-checks file is plain Python (``notebooks/solutions/hidden/hidden_checks.py`` by
convention; ``labkit release`` copies only the notebooks) that may define::

    SEEDS = (7, 2024)            # every exercise is graded again on each of these seeds
    PROBES = {"00.top_authors": [probe, ...]}   # extra grade functions, ``probe(g, *answers)``

It is sent to each submission's kernel only inside the grading cells ``labkit check`` adds after
the learner's cells, so the learner's install never contains it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import GradingError

FILE_NAME = "hidden_checks.py"


@dataclass(frozen=True)
class HiddenChecks:
    source: str = ""
    seeds: tuple[int, ...] = ()  # extra seeds on top of the file's SEEDS

    @property
    def sha256(self) -> str:
        if not self.source and not self.seeds:
            return ""
        return hashlib.sha256(f"{self.source}\n{self.seeds}".encode()).hexdigest()


def load_hidden(path: str | Path) -> HiddenChecks:
    """The hidden checks in ``path`` (a file, or a folder holding ``hidden_checks.py``)."""
    path = Path(path)
    file = path / FILE_NAME if path.is_dir() else path
    try:
        source = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise GradingError(f"--hidden {path}: cannot read {file} ({exc.strerror or exc})") from None
    try:
        compile(source, str(file), "exec")
    except SyntaxError as exc:
        raise GradingError(f"--hidden {file}: line {exc.lineno}: {exc.msg}") from None
    return HiddenChecks(source)
