"""``labkit check``: run notebooks headless in fresh kernels and collect every check result.

Each notebook runs in its own kernel (nbclient) with a whole-notebook time budget. The kernel
appends each check result as a JSON line to the file named by ``LABKIT_CHECK_LOG``; whatever an
expected exercise did not report — because the learner never called it, the kernel died or the
budget ran out — is recorded as "not run", so a broken run is never "all passed".
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from labkit.errors import GradingError
from labkit.grading.checking import CHECK_LOG_ENV, STRICT_ENV
from labkit.grading.registry import REGISTRY, Registry, course_exercises, load_lessons
from labkit.grading.result import NOT_RUN, PASSED, format_value

COMPLETED = "completed"
TIMED_OUT = "timed out"
KERNEL_DIED = "kernel died"
FAILED_TO_START = "could not run"

_NOTEBOOK_NUMBER = re.compile(r"(?:^|[^0-9])(\d\d)_")


@dataclass
class Row:
    """One (notebook, exercise) verdict."""

    notebook: str
    exercise: str
    verdict: str
    points: int
    max_points: int
    measured: str
    message: str

    @property
    def passed(self) -> bool:
        return self.verdict == PASSED


@dataclass
class NotebookRun:
    path: Path
    status: str
    seconds: float
    rows: list[Row] = field(default_factory=list)
    detail: str = ""


@dataclass
class PassRate:
    exercise: str
    submissions: int
    passed: int

    @property
    def rate(self) -> float:
        return self.passed / self.submissions if self.submissions else 0.0


@dataclass
class BatchReport:
    runs: list[NotebookRun]

    @property
    def rows(self) -> list[Row]:
        return [row for run in self.runs for row in run.rows]

    def pass_rates(self) -> list[PassRate]:
        rates: dict[str, PassRate] = {}
        for row in self.rows:
            rate = rates.setdefault(row.exercise, PassRate(row.exercise, 0, 0))
            rate.submissions += 1
            rate.passed += row.passed
        return sorted(rates.values(), key=lambda r: r.exercise)

    def write_csv(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=list(Row.__dataclass_fields__))
            writer.writeheader()
            writer.writerows(asdict(row) for row in self.rows)

    def write_json(self, path: Path) -> None:
        data = {
            "notebooks": [
                {
                    "notebook": str(run.path),
                    "status": run.status,
                    "seconds": round(run.seconds, 2),
                    "detail": run.detail,
                }
                for run in self.runs
            ],
            "results": [asdict(row) for row in self.rows],
            "pass_rates": [{**asdict(r), "rate": round(r.rate, 4)} for r in self.pass_rates()],
        }
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    def __str__(self) -> str:
        lines = []
        for run in self.runs:
            passed = sum(r.passed for r in run.rows)
            status = run.status + (f" ({run.detail})" if run.detail else "")
            lines.append(
                f"{run.path}: {passed}/{len(run.rows)} passed — {status}, {run.seconds:.1f} s"
            )
            lines.extend(
                f"  {r.verdict:<8} {r.exercise:<26} {r.points}/{r.max_points}  {r.message}"
                for r in run.rows
            )
        rates = self.pass_rates()
        if rates:
            lines.append("")
            lines.append("Pass rate per exercise:")
            lines.extend(
                f"  {r.exercise:<26} {r.passed}/{r.submissions} ({r.rate:.0%})" for r in rates
            )
        return "\n".join(lines)


def find_notebooks(paths: Iterable[str | Path]) -> list[Path]:
    """Notebooks named directly or found under folders (checkpoints skipped)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*.ipynb"))
                if ".ipynb_checkpoints" not in p.parts and not p.name.startswith(".")
            )
        elif path.is_file() and path.suffix == ".ipynb":
            found.append(path)
        elif path.exists():
            raise GradingError(f"{path}: not a notebook (.ipynb)")
        else:
            raise GradingError(f"{path}: no such notebook or folder")
    if not found:
        raise GradingError("no notebooks found in " + ", ".join(str(p) for p in paths))
    return found


def notebook_number(path: Path) -> str | None:
    match = _NOTEBOOK_NUMBER.search(path.name)
    return match.group(1) if match else None


def rows_from_log(
    notebook: str, lines: Iterable[str], expected: Sequence[tuple[str, int]], reason: str
) -> list[Row]:
    """The last reported result per exercise; every expected one not reported is "not run"."""
    reported: dict[str, Row] = {}
    for line in lines:
        try:
            data = json.loads(line)
        except ValueError:
            continue  # a line cut short by a dying kernel
        if not isinstance(data, dict) or "exercise" not in data:
            continue
        measured = "; ".join(
            f"{m.get('name')} {format_value(m.get('value'))} (target {m.get('target')})"
            for m in data.get("measurements") or []
        )
        reported[data["exercise"]] = Row(
            notebook=notebook,
            exercise=str(data["exercise"]),
            verdict=str(data.get("verdict", NOT_RUN)),
            points=int(data.get("points") or 0),
            max_points=int(data.get("max_points") or 0),
            measured=measured,
            message=str(data.get("message", "")),
        )
    rows = [reported.pop(exercise_id) for exercise_id, _ in expected if exercise_id in reported]
    rows.extend(
        Row(notebook, exercise_id, NOT_RUN, 0, points, "", reason)
        for exercise_id, points in expected
        if exercise_id not in {r.exercise for r in rows}
    )
    rows.extend(reported.values())  # checks of exercises from other notebooks, kept as reported
    order = [e for e, _ in expected]
    rows.sort(key=lambda r: order.index(r.exercise) if r.exercise in order else len(order))
    return rows


@contextlib.contextmanager
def _kernel_environment(log_path: Path) -> Iterator[None]:
    """The kernel inherits our environment: point it at the log, and never run it strict."""
    saved = {name: os.environ.get(name) for name in (CHECK_LOG_ENV, STRICT_ENV)}
    os.environ[CHECK_LOG_ENV] = str(log_path)
    os.environ.pop(STRICT_ENV, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_notebook(
    path: Path,
    *,
    budget: float,
    expected: Sequence[tuple[str, int]],
    kernel_name: str = "python3",
) -> NotebookRun:
    """Execute one notebook in a fresh kernel and collect its check results."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    started = time.perf_counter()
    status, detail = COMPLETED, ""
    with tempfile.TemporaryDirectory(prefix="labkit-check-run-") as tmp:
        log_path = Path(tmp) / "checks.jsonl"
        log_path.touch()
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception as exc:
            return _failed_run(path, expected, started, f"not a readable notebook: {exc}")
        client = NotebookClient(
            nb,
            timeout=int(budget) + 1,
            kernel_name=kernel_name,
            allow_errors=True,  # a learner's broken cell must not hide their other checks
            shutdown_kernel="immediate",
            resources={"metadata": {"path": str(path.parent.resolve())}},
        )
        with _kernel_environment(log_path):
            try:
                if not asyncio.run(_execute_within(client, budget)):
                    status, detail = TIMED_OUT, f"the notebook exceeded its {budget:g} s budget"
            except DeadKernelError as exc:
                status, detail = KERNEL_DIED, str(exc).splitlines()[0] if str(exc) else ""
            except Exception as exc:  # a cell timeout, a kernel that cannot start...
                status, detail = FAILED_TO_START, f"{type(exc).__name__}: {exc}".splitlines()[0]
        reason = "not run" if status == COMPLETED else f"not run: {status}"
        lines = log_path.read_text(encoding="utf-8").splitlines()
    rows = rows_from_log(str(path), lines, expected, reason)
    return NotebookRun(path, status, time.perf_counter() - started, rows, detail)


async def _execute_within(client: Any, budget: float) -> bool:
    """Run the notebook; False when the budget ran out (the kernel is then shut down).

    Not ``asyncio.wait_for``: stopping the kernel while cancelling can raise DeadKernelError in
    place of the timeout, and a timed-out run must be reported as one.
    """
    task = asyncio.ensure_future(client.async_execute())
    done, _ = await asyncio.wait({task}, timeout=budget)
    if done:
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    return False


def _failed_run(
    path: Path, expected: Sequence[tuple[str, int]], started: float, detail: str
) -> NotebookRun:
    rows = rows_from_log(str(path), [], expected, f"not run: {detail}")
    return NotebookRun(path, FAILED_TO_START, time.perf_counter() - started, rows, detail)


def expected_exercises(
    path: Path, registry: Registry | None = None, notebook: str | None = None
) -> list[tuple[str, int]]:
    registry = registry if registry is not None else load_lessons()
    number = notebook or notebook_number(path)
    if number is None:
        return []
    if registry is REGISTRY:
        return [(ex.id, ex.points) for ex in course_exercises(number)]
    return [(ex.id, ex.points) for ex in registry.for_notebook(number)]


def check_notebooks(
    paths: Iterable[str | Path],
    *,
    budget: float = 300.0,
    notebook: str | None = None,
    kernel_name: str = "python3",
    registry: Registry | None = None,
    progress: Any = None,
) -> BatchReport:
    """Run every notebook found under ``paths``; one row per (notebook, exercise)."""
    runs = []
    for path in find_notebooks(paths):
        if progress is not None:
            progress(path)
        expected = expected_exercises(path, registry, notebook)
        runs.append(run_notebook(path, budget=budget, expected=expected, kernel_name=kernel_name))
    return BatchReport(runs)
