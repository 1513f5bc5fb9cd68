"""What a check returns: a small dataclass with an HTML card, a text view and a dict."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labkit.display import TextView
from labkit.notebook_number import notebook_number

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

PASSED = "passed"
NOT_YET = "not yet"
NOT_RUN = "not run"
ERROR = "error"
VERDICTS = (PASSED, NOT_YET, NOT_RUN, ERROR)

_GREEN = ("#e8f5e9", "#2e7d32")
_AMBER = ("#fff8e1", "#b26a00")
_RED = ("#fdecea", "#b3261e")


def format_value(value: object) -> str:
    """Numbers readable at a glance: ``1,234`` and ``0.0123`` rather than ``1234.0000001``."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.3g}" if abs(value) >= 1e-3 else f"{value:.3g}"
    return str(value)


@dataclass(frozen=True, repr=False)
class Measurement(TextView):
    """One measured property of the learner's answer, against its target."""

    name: str
    value: Any
    target: str
    ok: bool
    hint: str | None = None

    def __str__(self) -> str:
        mark = "ok" if self.ok else "not yet"
        return f"{self.name}: {format_value(self.value)} (target {self.target}) — {mark}"

    def to_dict(self) -> dict[str, Any]:
        value = self.value
        if not isinstance(value, (int, float, str, bool, type(None))):
            value = str(value)
        return {"name": self.name, "value": value, "target": self.target, "ok": self.ok}


@dataclass(frozen=True)
class LearnerError:
    """An exception raised by the learner's code, described with their frames only."""

    answer: str
    type_name: str
    message: str
    location: str | None = None  # "cell line 7" or "solution.py line 12"
    source_line: str | None = None
    frames: tuple[str, ...] = ()  # "cell line 3, in helper: row['id']", innermost last

    def summary(self) -> str:
        text = f"Your {self.answer} raised {self.type_name}"
        if self.message:
            text += f": {self.message}"
        if self.location:
            where = self.location
            if self.source_line:
                where += f": {self.source_line}"
            text += f" ({where})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "type": self.type_name,
            "message": self.message,
            "location": self.location,
            "frames": list(self.frames),
        }


def inline_code(text: str) -> str:
    """Escape for HTML; `backticked` spans (as hints and messages write code) become <code>."""
    pieces = html.escape(text).split("`")
    if len(pieces) % 2 == 0:  # an odd number of backticks: show them as they are
        return html.escape(text)
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


@dataclass(repr=False)
class CheckResult(TextView):
    """The verdict of one check: passed or "not yet", what was measured and what to try next."""

    exercise_id: str
    title: str
    verdict: str
    points: int
    max_points: int
    message: str
    hint: str | None = None
    measurements: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    learner_error: LearnerError | None = None
    detail: str | None = None  # internal diagnostics (e.g. the grader's traceback), shown collapsed
    output: str = ""  # what the learner's code printed (truncated)
    output_chars: int = 0  # how much it printed in total
    seed: int | None = None
    seconds: float = 0.0
    used_reference: str | None = None  # the labkit reference the answer is, wraps or calls

    @property
    def passed(self) -> bool:
        return self.verdict == PASSED

    def replay_text(self) -> str:
        """``graded on seed N — replay with check('02.x', ..., seed=N)``; empty without a seed."""
        if self.seed is None:
            return ""
        return (
            f"graded on seed {self.seed} — replay with "
            f"check({self.exercise_id!r}, ..., seed={self.seed})"
        )

    def __bool__(self) -> bool:
        return self.passed

    @property
    def notebook(self) -> str:
        return notebook_number(self.exercise_id) or ""

    # ---- views -------------------------------------------------------------------------------
    def headline(self) -> str:
        mark = {PASSED: "✓ passed", NOT_YET: "✗ not yet", NOT_RUN: "✗ not run", ERROR: "! error"}
        return (
            f"{mark.get(self.verdict, self.verdict)} — {self.exercise_id} {self.title} "
            f"({self.points}/{self.max_points} points)"
        )

    def __str__(self) -> str:
        lines = [self.headline()]
        if self.message:
            lines.append(f"  {self.message}")
        lines.extend(f"  • {m}" for m in self.measurements)
        lines.extend(f"  {note}" for note in self.notes)
        if self.learner_error is not None and len(self.learner_error.frames) > 1:
            lines.append("  Your code, outermost call first:")
            lines.extend(f"    {frame}" for frame in self.learner_error.frames)
        if self.output_chars:
            lines.append(f"  Output printed during the check ({self.output_chars:,} characters):")
            lines.extend(f"    | {line}" for line in self.output.splitlines()[:20])
        if self.hint and not self.passed:
            lines.append(f"  Hint: {self.hint}")
        if self.replay_text():
            lines.append(f"  ({self.replay_text()})")
        if self.detail:
            lines.append("  Details for the course maintainers:")
            lines.extend(f"    {line}" for line in self.detail.rstrip().splitlines())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        background, accent = _GREEN if self.passed else _RED if self.verdict == ERROR else _AMBER
        esc = html.escape
        verdict = "Passed" if self.passed else self.verdict.capitalize()
        parts = [
            f'<div class="labkit-check" style="border-left:6px solid {accent};'
            f"background:{background};padding:8px 12px;margin:4px 0;border-radius:4px;"
            f'font-family:var(--jp-ui-font-family,sans-serif);color:#1b1b1b">',
            f'<div><b style="color:{accent}">{esc(verdict)}</b> — <code>{esc(self.exercise_id)}'
            f"</code> {inline_code(self.title)} "
            f'<span style="float:right">{self.points}/{self.max_points} points</span></div>',
        ]
        if self.message:
            parts.append(f'<div style="margin-top:4px">{inline_code(self.message)}</div>')
        if self.measurements:
            rows = "".join(
                f"<tr><td>{'✓' if m.ok else '✗'}</td><td>{esc(m.name)}</td>"
                f'<td style="text-align:right">{esc(format_value(m.value))}</td>'
                f"<td>target {esc(m.target)}</td></tr>"
                for m in self.measurements
            )
            parts.append(f'<table style="margin-top:4px">{rows}</table>')
        parts.extend(f"<div>{inline_code(note)}</div>" for note in self.notes)
        if self.learner_error is not None and len(self.learner_error.frames) > 1:
            frames = "\n".join(self.learner_error.frames)
            parts.append(
                f"<details><summary>Where in your code</summary><pre>{esc(frames)}</pre></details>"
            )
        if self.output_chars:
            parts.append(
                "<details><summary>Output printed during the check "
                f"({self.output_chars:,} characters)</summary>"
                f"<pre>{esc(self.output)}</pre></details>"
            )
        if self.hint and not self.passed:
            parts.append(f'<div style="margin-top:4px"><i>Hint:</i> {inline_code(self.hint)}</div>')
        if self.replay_text():
            parts.append(
                f'<div style="margin-top:4px;font-size:85%;color:#555">'
                f"{inline_code(self.replay_text().replace('check(', '`check(') + '`')}</div>"
            )
        if self.detail:
            parts.append(
                "<details><summary>Details for the course maintainers</summary>"
                f"<pre>{esc(self.detail)}</pre></details>"
            )
        parts.append("</div>")
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise_id,
            "title": self.title,
            "verdict": self.verdict,
            "passed": self.passed,
            "points": self.points,
            "max_points": self.max_points,
            "message": self.message,
            "hint": self.hint,
            "measurements": [m.to_dict() for m in self.measurements],
            "notes": list(self.notes),
            "learner_error": None if self.learner_error is None else self.learner_error.to_dict(),
            "detail": self.detail,
            "output_chars": self.output_chars,
            "seed": self.seed,
            "seconds": round(self.seconds, 4),
            "used_reference": self.used_reference,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per measurement (name, value, target, ok)."""
        import pandas as pd

        return pd.DataFrame(
            [m.to_dict() for m in self.measurements], columns=["name", "value", "target", "ok"]
        )


@dataclass(repr=False)
class CheckSummary(TextView):
    """The results of ``check_all()``: one row per exercise and a "5/7 passed" headline."""

    notebook: str
    results: list[CheckResult]

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def points(self) -> int:
        return sum(r.points for r in self.results)

    @property
    def max_points(self) -> int:
        return sum(r.max_points for r in self.results)

    def __bool__(self) -> bool:
        return self.total > 0 and self.passed == self.total

    def headline(self) -> str:
        return (
            f"Notebook {self.notebook}: {self.passed}/{self.total} passed "
            f"({self.points}/{self.max_points} points)"
        )

    def __str__(self) -> str:
        lines = [self.headline()]
        for r in self.results:
            lines.append(
                f"  {r.verdict:<8} {r.exercise_id:<28} {r.points}/{r.max_points}  {r.message}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = []
        for r in self.results:
            colour = _GREEN[1] if r.passed else _RED[1] if r.verdict == ERROR else _AMBER[1]
            rows.append(
                f'<tr><td style="color:{colour}"><b>{esc(r.verdict)}</b></td>'
                f"<td><code>{esc(r.exercise_id)}</code></td><td>{inline_code(r.title)}</td>"
                f"<td>{r.points}/{r.max_points}</td><td>{inline_code(r.message)}</td></tr>"
            )
        return (
            f"<div><b>{esc(self.headline())}</b><table>"
            "<tr><th>verdict</th><th>exercise</th><th>title</th><th>points</th><th>message</th></tr>"
            f"{''.join(rows)}</table>"
            "<details><summary>Every card</summary>"
            f"{''.join(r._repr_html_() for r in self.results)}"
            "</details></div>"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook,
            "passed": self.passed,
            "total": self.total,
            "points": self.points,
            "max_points": self.max_points,
            "results": [r.to_dict() for r in self.results],
        }

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "exercise": r.exercise_id,
                    "title": r.title,
                    "verdict": r.verdict,
                    "points": r.points,
                    "max_points": r.max_points,
                    "message": r.message,
                }
                for r in self.results
            ]
        )


def measurements_text(measurements: Iterable[Measurement | Mapping[str, Any]]) -> str:
    """``"statements 101 (target ≤ 2); ..."``: from measurements or their stored form
    (``Measurement.to_dict()``, as the progress store and a graded run keep them)."""
    return "; ".join(
        f"{m.name} {format_value(m.value)} (target {m.target})"
        if isinstance(m, Measurement)
        else f"{m.get('name')} {format_value(m.get('value'))} (target {m.get('target')})"
        for m in measurements
        if isinstance(m, Measurement | Mapping)
    )
