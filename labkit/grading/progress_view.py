"""What ``labkit progress`` and ``labkit.progress()`` show: one row per exercise, per notebook.

The report is a plain dataclass (text, HTML, DataFrame); in a notebook it displays as an
ipywidgets dashboard with an HTML fallback for front ends without widgets.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labkit.display import TextView
from labkit.grading.progress_store import Attempt, ProgressStore
from labkit.grading.result import PASSED, inline_code, measurements_text
from labkit.notebook_number import notebook_number

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

NOT_TRIED = "not tried"


@dataclass
class ExerciseProgress:
    exercise: str
    notebook: str
    title: str
    max_points: int
    attempts: int = 0
    best_points: int = 0
    passed: bool = False
    last_verdict: str = NOT_TRIED
    last_at: float | None = None
    last_measurements: list[dict[str, Any]] = field(default_factory=list)

    def measured_text(self) -> str:
        return measurements_text(self.last_measurements)

    def last_time_text(self) -> str:
        if self.last_at is None:
            return ""
        return dt.datetime.fromtimestamp(self.last_at).strftime("%Y-%m-%d %H:%M")


@dataclass(repr=False)
class ProgressReport(TextView):
    rows: list[ExerciseProgress]
    store: str

    def notebooks(self) -> list[str]:
        return sorted({r.notebook for r in self.rows})

    def for_notebook(self, notebook: str) -> list[ExerciseProgress]:
        return [r for r in self.rows if r.notebook == notebook]

    def notebook_line(self, notebook: str) -> str:
        rows = self.for_notebook(notebook)
        passed = sum(r.passed for r in rows)
        points = sum(r.best_points for r in rows)
        total = sum(r.max_points for r in rows)
        return f"Notebook {notebook}: {passed}/{len(rows)} passed, {points}/{total} points"

    def __str__(self) -> str:
        if not self.rows:
            return f"No exercises and no attempts yet (store: {self.store})."
        lines: list[str] = []
        for notebook in self.notebooks():
            lines.append(self.notebook_line(notebook))
            for r in self.for_notebook(notebook):
                mark = "✓" if r.passed else "·"
                lines.append(
                    f"  {mark} {r.exercise:<26} {r.best_points}/{r.max_points} pts  "
                    f"{r.attempts:>3} attempt{'s' if r.attempts != 1 else ' '}  "
                    f"{r.last_verdict:<9} {r.last_time_text():<16} {r.measured_text()}".rstrip()
                )
            lines.append("")
        lines.append(f"(progress store: {self.store})")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = ['<div class="labkit-progress">']
        for notebook in self.notebooks():
            parts.append(f"<h4>{esc(self.notebook_line(notebook))}</h4><table>")
            parts.append(
                "<tr><th></th><th>exercise</th><th>title</th><th>points</th><th>attempts</th>"
                "<th>last verdict</th><th>last attempt</th><th>last measured</th></tr>"
            )
            for r in self.for_notebook(notebook):
                parts.append(
                    f"<tr><td>{'✓' if r.passed else ''}</td><td><code>{esc(r.exercise)}</code></td>"
                    f"<td>{inline_code(r.title)}</td><td>{r.best_points}/{r.max_points}</td>"
                    f"<td>{r.attempts}</td><td>{esc(r.last_verdict)}</td>"
                    f"<td>{esc(r.last_time_text())}</td><td>{esc(r.measured_text())}</td></tr>"
                )
            parts.append("</table>")
        if not self.rows:
            parts.append("<p>No exercises and no attempts yet.</p>")
        parts.append(f"<p><small>Progress store: <code>{esc(self.store)}</code></small></p></div>")
        return "".join(parts)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "notebook": r.notebook,
                    "exercise": r.exercise,
                    "title": r.title,
                    "passed": r.passed,
                    "points": r.best_points,
                    "max_points": r.max_points,
                    "attempts": r.attempts,
                    "last_verdict": r.last_verdict,
                    "last_measured": r.measured_text(),
                }
                for r in self.rows
            ]
        )

    def _ipython_display_(self) -> None:
        from labkit.grading.dashboard import display_report

        display_report(self)


def build_report(attempts: list[Attempt], exercises: list[Any], store: str) -> ProgressReport:
    """Merge the registered exercises (tried or not) with the stored attempts."""
    rows: dict[str, ExerciseProgress] = {}
    for ex in exercises:
        rows[ex.id] = ExerciseProgress(ex.id, ex.notebook, ex.title, ex.points)
    for a in attempts:
        row = rows.get(a.exercise)
        if row is None:  # an exercise no longer in the course: still the learner's history
            row = rows[a.exercise] = ExerciseProgress(a.exercise, a.notebook, "", a.max_points)
        row.attempts += 1
        row.best_points = max(row.best_points, a.points)
        row.passed = row.passed or a.verdict == PASSED
        row.last_verdict = a.verdict
        row.last_at = a.at
        row.last_measurements = a.measurements
    ordered = sorted(rows.values(), key=lambda r: (r.notebook, list(rows).index(r.exercise)))
    return ProgressReport(rows=ordered, store=store)


def progress_report(
    notebook: str | None = None, store: ProgressStore | None = None
) -> ProgressReport:
    """The learner's progress, for every notebook or one (``"02"``)."""
    from labkit.grading.registry import load_lessons

    store = store or ProgressStore()
    try:
        exercises = list(load_lessons())
    except Exception:  # a broken lesson module must not hide the learner's history
        exercises = []
    if notebook is not None:
        notebook = notebook_number(str(notebook)) or str(notebook)
        exercises = [e for e in exercises if e.notebook == notebook]
    return build_report(store.attempts(notebook), exercises, str(store.path))
