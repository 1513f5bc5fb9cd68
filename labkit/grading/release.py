"""Student notebooks from solution notebooks: solution blocks become stubs, outputs go.

In a code cell, the lines from a whole-line ``### BEGIN SOLUTION`` to ``### END SOLUTION``
(markers included) become ``# YOUR CODE HERE`` and ``raise NotImplementedError()`` at the
marker's indentation; in a Markdown cell they become "*Write your answer here.*". Predictions
(``my_guess_<name> = <value>``, one line each) start at ``None``. Outputs,
execution counts and volatile metadata are removed and cell ids are derived from the cell's
position, so releasing the same solution twice gives byte-identical files.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from labkit.errors import GradingError

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
SOLUTION_TEXT = ("BEGIN SOLUTION", "END SOLUTION")
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = ("*Write your answer here.*",)
# A prediction is one line, ``my_guess_<name> = <value>  # <what it is>``; learners start at None.
PREDICTION = re.compile(r"^(?P<head>\s*my_guess_\w+\s*=\s*)(?P<value>[^#]*?)(?P<tail>\s*#.*)?$")

# Cell metadata that front ends rewrite on every run or view; everything else is kept.
_VOLATILE_CELL_METADATA = {"execution", "ExecuteTime", "collapsed", "scrolled", "trusted"}
_LANGUAGE_INFO_KEYS = {"name", "codemirror_mode", "file_extension", "mimetype", "pygments_lexer"}
_DEFAULT_KERNELSPEC = {
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
    "name": "python3",
}


class MarkerError(GradingError):
    """Solution markers that do not pair up."""


@dataclass
class Released:
    """One released notebook: its text and what was done to it."""

    source: Path
    text: str
    blocks: int = 0
    warnings: list[str] = field(default_factory=list)


def strip_solutions(
    source: str, *, where: str, markdown: bool = False
) -> tuple[str, int, list[str]]:
    """Replace each solution block in one cell's source; return (new source, blocks, warnings)."""
    out: list[str] = []
    blocks = 0
    warnings: list[str] = []
    opened: int | None = None
    indent = ""
    for number, line in enumerate(source.splitlines(), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if opened is not None:
                raise MarkerError(
                    f"{where}, line {number}: {BEGIN} inside the block opened at line {opened} "
                    f"(blocks cannot nest; add {END} first)"
                )
            opened, indent = number, line[: len(line) - len(line.lstrip())]
            if not indent and not markdown:
                warnings.append(
                    f"{where}, line {number}: solution block at the top level of the cell; "
                    "the student notebook will raise NotImplementedError there"
                )
            continue
        if marker == END:
            if opened is None:
                raise MarkerError(f"{where}, line {number}: {END} without a {BEGIN} before it")
            out.extend(indent + stub for stub in (MARKDOWN_STUB if markdown else CODE_STUB))
            opened, blocks = None, blocks + 1
            continue
        if opened is None:
            if any(text in line for text in SOLUTION_TEXT):
                raise MarkerError(
                    f"{where}, line {number}: a solution marker must be a whole line, "
                    f"found {line.strip()!r}"
                )
            out.append(
                line if markdown else _unpredicted(line, f"{where}, line {number}", warnings)
            )
    if opened is not None:
        raise MarkerError(f"{where}, line {opened}: {BEGIN} is never closed with {END}")
    text = "\n".join(out) + ("\n" if source.endswith("\n") else "")
    return text, blocks, warnings


def _unpredicted(line: str, where: str, warnings: list[str]) -> str:
    """``my_guess_x = 5  # ms`` becomes ``my_guess_x = None  # ms``: the learner guesses first."""
    found = PREDICTION.match(line)
    if found is None:
        return line
    value = found["value"].strip()
    if not value or value.endswith(("\\", "(", "[", "{")):
        warnings.append(
            f"{where}: a prediction must fit on one line (`my_guess_x = value  # what`); "
            f"left as it is: {line.strip()!r}"
        )
        return line
    return f"{found['head']}None{found['tail'] or ''}"


def release_notebook(path: Path) -> Released:
    """The student version of one solution notebook, as normalised JSON text."""
    try:
        nb = nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        raise GradingError(f"{path}: no such notebook") from None
    except Exception as exc:  # nbformat raises several kinds for unreadable JSON
        raise GradingError(f"{path}: not a readable notebook ({exc})") from None
    released = Released(source=path, text="")
    student = normalise(nb)
    for index, cell in enumerate(student.cells, start=1):
        if cell.cell_type not in ("code", "markdown"):
            continue
        where = f"{path.name}: cell {index}"
        cell.source, blocks, warnings = strip_solutions(
            cell.source, where=where, markdown=cell.cell_type == "markdown"
        )
        released.blocks += blocks
        released.warnings.extend(warnings)
    released.text = notebook_text(student)
    return released


def normalise(nb: Any) -> Any:
    """A copy without outputs, execution counts, volatile metadata or random cell ids."""
    nb = copy.deepcopy(nb)
    nb.nbformat, nb.nbformat_minor = 4, max(int(nb.get("nbformat_minor", 5)), 5)
    metadata = nb.get("metadata", {})
    kernelspec = metadata.get("kernelspec") or dict(_DEFAULT_KERNELSPEC)
    language = {
        k: v for k, v in (metadata.get("language_info") or {}).items() if k in _LANGUAGE_INFO_KEYS
    }
    kept = {
        k: v for k, v in metadata.items() if k not in {"kernelspec", "language_info", "widgets"}
    }
    nb.metadata = nbformat.from_dict(
        {**kept, "kernelspec": kernelspec, "language_info": language or {"name": "python"}}
    )
    for index, cell in enumerate(nb.cells, start=1):
        cell.id = f"cell-{index:03d}"
        cell.metadata = nbformat.from_dict(
            {k: v for k, v in cell.get("metadata", {}).items() if k not in _VOLATILE_CELL_METADATA}
        )
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if "attachments" in cell and not cell.attachments:
            del cell["attachments"]
    return nb


def notebook_text(nb: Any) -> str:
    text: str = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def solution_notebooks(solutions_dir: Path) -> list[Path]:
    if not solutions_dir.is_dir():
        raise GradingError(f"{solutions_dir}: no such folder of solution notebooks")
    return sorted(p for p in solutions_dir.glob("*.ipynb") if not p.name.startswith("."))


def release_all(solutions_dir: Path, out_dir: Path) -> list[tuple[Path, Released]]:
    """Write every student notebook; return (written path, release) pairs."""
    releases = [(out_dir / p.name, release_notebook(p)) for p in solution_notebooks(solutions_dir)]
    out_dir.mkdir(parents=True, exist_ok=True)
    for target, released in releases:  # all parsed first: a marker error writes nothing
        if not target.exists() or target.read_text(encoding="utf-8") != released.text:
            target.write_text(released.text, encoding="utf-8")
    return releases


def check_released(solutions_dir: Path, out_dir: Path) -> list[str]:
    """Problems with the committed student notebooks: stale, missing, or holding solutions."""
    problems: list[str] = []
    expected = {p.name: release_notebook(p) for p in solution_notebooks(solutions_dir)}
    for name, released in expected.items():
        target = out_dir / name
        if not target.exists():
            problems.append(f"{target}: missing (run `labkit release`)")
        elif target.read_text(encoding="utf-8") != released.text:
            problems.append(f"{target}: differs from a fresh release of {released.source}")
    for target in sorted(out_dir.glob("*.ipynb")) if out_dir.is_dir() else []:
        text = target.read_text(encoding="utf-8")
        if any(marker in text for marker in SOLUTION_TEXT):
            problems.append(f"{target}: contains solution text ({BEGIN!r} or {END!r})")
    return problems


def has_outputs(path: Path) -> list[int]:
    """Numbers (1-based) of the code cells in a notebook that hold outputs or execution counts."""
    nb = nbformat.read(str(path), as_version=4)
    return [
        index
        for index, cell in enumerate(nb.cells, start=1)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
