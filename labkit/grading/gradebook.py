"""The class's results: one row per (submission, exercise), and the exports an instructor reads.

Every file is written atomically (a temporary file in the same folder, then ``os.replace``), by
``labkit check`` itself, after every kernel is gone. ``merge`` combines the JSON of several
shards into one report.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from labkit.display import TextView
from labkit.errors import GradingError
from labkit.grading.result import NOT_RUN, NOT_YET, PASSED
from labkit.notebook_number import notebook_number
from labkit.output_files import write_atomically

FORMAT = "labkit-check/2"


@dataclass
class Row:
    """One (submission, exercise) verdict."""

    notebook: str
    student: str
    exercise: str
    verdict: str
    points: int
    max_points: int
    measured: str
    message: str
    isolation: str = ""

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
    student: str = ""
    sha256: str = ""
    isolation: str = ""
    notes: list[str] = field(default_factory=list)
    reused: bool = False  # graded by an earlier run of the same file (same hash)

    def to_dict(self) -> dict[str, Any]:
        return {
            "notebook": str(self.path),
            "student": self.student,
            "status": self.status,
            "seconds": round(self.seconds, 2),
            "detail": self.detail,
            "sha256": self.sha256,
            "isolation": self.isolation,
            "notes": list(self.notes),
        }


@dataclass
class PassRate:
    exercise: str
    submissions: int
    passed: int
    top_not_yet: str = ""  # the most common "not yet" message: what to re-teach

    @property
    def rate(self) -> float:
        return self.passed / self.submissions if self.submissions else 0.0


@dataclass(repr=False)
class BatchReport(TextView):
    runs: list[NotebookRun]
    hidden_sha256: str = ""

    @property
    def rows(self) -> list[Row]:
        return [row for run in self.runs for row in run.rows]

    def exercises(self) -> list[str]:
        """Every exercise graded, notebook by notebook, each notebook's in the order it runs."""
        seen = list(dict.fromkeys(row.exercise for row in self.rows))
        return sorted(seen, key=lambda exercise: notebook_number(exercise) or "")

    def pass_rates(self) -> list[PassRate]:
        rates: dict[str, PassRate] = {}
        messages: dict[str, Counter[str]] = {}
        for row in self.rows:
            rate = rates.setdefault(row.exercise, PassRate(row.exercise, 0, 0))
            rate.submissions += 1
            rate.passed += row.passed
            if row.verdict == NOT_YET and row.message:
                messages.setdefault(row.exercise, Counter())[_general(row.message)] += 1
        for exercise, counter in messages.items():
            rates[exercise].top_not_yet = counter.most_common(1)[0][0]
        return [rates[e] for e in self.exercises()]

    def totals(self) -> list[dict[str, Any]]:
        """Per student: points and maximum over every submission of theirs."""
        table: dict[str, dict[str, Any]] = {}
        for row in self.rows:
            entry = table.setdefault(
                row.student, {"student": row.student, "points": 0, "max_points": 0, "passed": 0}
            )
            entry["points"] += row.points
            entry["max_points"] += row.max_points
            entry["passed"] += row.passed
        return [table[s] for s in sorted(table)]

    # ---- files ---------------------------------------------------------------------------------
    def csv_text(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(Row.__dataclass_fields__), lineterminator="\n")
        writer.writeheader()
        writer.writerows(asdict(row) for row in self.rows)
        return out.getvalue()

    def lms_csv_text(self) -> str:
        """One row per student, one column per exercise (points), then the total."""
        exercises = self.exercises()
        points: dict[str, dict[str, int]] = {}
        for row in self.rows:
            points.setdefault(row.student, {})[row.exercise] = row.points
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["student", *exercises, "total"])
        for student in sorted(points):
            scores = [points[student].get(e, 0) for e in exercises]
            writer.writerow([student, *scores, sum(scores)])
        return out.getvalue()

    def totals_csv_text(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(
            out, fieldnames=["student", "points", "max_points", "passed"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(self.totals())
        return out.getvalue()

    def json_text(self) -> str:
        data = {
            "format": FORMAT,
            "hidden_sha256": self.hidden_sha256,
            "notebooks": [run.to_dict() for run in self.runs],
            "results": [asdict(row) for row in self.rows],
            "totals": self.totals(),
            "pass_rates": [{**asdict(r), "rate": round(r.rate, 4)} for r in self.pass_rates()],
        }
        return json.dumps(data, indent=2) + "\n"

    def html_text(self) -> str:
        """One page: pass rate per exercise and the most common "not yet" message of each."""
        esc = html.escape
        rows = "".join(
            f"<tr><td><code>{esc(r.exercise)}</code></td>"
            f'<td style="text-align:right">{r.passed}/{r.submissions}</td>'
            f'<td><div style="background:#2e7d32;height:10px;width:{r.rate * 100:.0f}px"></div>'
            f"</td><td>{r.rate:.0%}</td><td>{esc(r.top_not_yet)}</td></tr>"
            for r in self.pass_rates()
        )
        statuses = Counter(run.status for run in self.runs)
        isolation = Counter(run.isolation for run in self.runs if run.isolation)
        return (
            "<!doctype html><html><head><meta charset='utf-8'><title>labkit class summary</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 8px;"
            "border-bottom:1px solid #ddd;text-align:left}</style></head><body>"
            f"<h1>Class summary</h1><p>{len(self.runs)} submissions from "
            f"{len({run.student for run in self.runs})} students; "
            + ", ".join(f"{n} {esc(s)}" for s, n in sorted(statuses.items()))
            + (
                "; isolation: " + ", ".join(f"{n} {esc(s)}" for s, n in sorted(isolation.items()))
                if isolation
                else ""
            )
            + "</p><table><tr><th>exercise</th><th>passed</th><th></th><th>rate</th>"
            f"<th>most common “not yet”</th></tr>{rows}</table></body></html>\n"
        )

    def write(
        self,
        *,
        csv_path: Path | None = None,
        json_path: Path | None = None,
        gradebook: Path | None = None,
    ) -> list[Path]:
        """Write the requested files (each atomically); the paths written."""
        files: list[tuple[Path, str]] = []
        if csv_path is not None:
            files.append((csv_path, self.csv_text()))
        if json_path is not None:
            files.append((json_path, self.json_text()))
        if gradebook is not None:
            gradebook.mkdir(parents=True, exist_ok=True)
            files += [
                (gradebook / "gradebook.csv", self.lms_csv_text()),
                (gradebook / "totals.csv", self.totals_csv_text()),
                (gradebook / "summary.html", self.html_text()),
            ]
        for path, text in files:
            write_atomically(path, text)
        return [path for path, _ in files]

    def __str__(self) -> str:
        lines = []
        for run in self.runs:
            passed = sum(r.passed for r in run.rows)
            status = run.status + (f" ({run.detail})" if run.detail else "")
            reused = ", unchanged since the last run" if run.reused else ""
            lines.append(
                f"{run.path}: {passed}/{len(run.rows)} passed — {status}, {run.seconds:.1f} s, "
                f"isolation {run.isolation or '?'}{reused}"
            )
            lines.extend(f"  note: {note}" for note in run.notes)
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


def _general(message: str) -> str:
    """A message with its numbers blanked, so "101 statements" and "87 statements" count once."""
    import re

    return re.sub(r"\d[\d,.]*", "N", message)[:200]


def load_report(path: Path) -> BatchReport:
    """A report back from the JSON ``labkit check --json`` wrote."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise GradingError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ValueError:
        raise GradingError(f"{path}: not JSON written by labkit check") from None
    if not isinstance(data, dict) or not isinstance(data.get("notebooks"), list):
        raise GradingError(f"{path}: not JSON written by labkit check")
    rows: dict[str, list[Row]] = {}
    fields = set(Row.__dataclass_fields__)
    try:
        for item in data.get("results", []):
            row = Row(**{k: v for k, v in item.items() if k in fields})
            rows.setdefault(row.notebook, []).append(row)
        runs = [
            NotebookRun(
                path=Path(item["notebook"]),
                status=str(item["status"]),
                seconds=float(item.get("seconds", 0.0)),
                rows=rows.get(str(item["notebook"]), []),
                detail=str(item.get("detail", "")),
                student=str(item.get("student", "")),
                sha256=str(item.get("sha256", "")),
                isolation=str(item.get("isolation", "")),
                notes=[str(n) for n in item.get("notes", [])],
            )
            for item in data["notebooks"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise GradingError(f"{path}: not JSON written by labkit check ({exc})") from None
    return BatchReport(runs, hidden_sha256=str(data.get("hidden_sha256", "")))


def merge_reports(paths: Iterable[Path]) -> BatchReport:
    """The shards' reports as one; a submission graded in two shards is an error."""
    runs: dict[str, NotebookRun] = {}
    hidden: set[str] = set()
    for path in paths:
        report = load_report(path)
        hidden.add(report.hidden_sha256)
        for run in report.runs:
            key = str(run.path)
            if key in runs:
                raise GradingError(f"{key} is in more than one of the files to merge")
            runs[key] = run
    if len(hidden) > 1:
        raise GradingError("the files to merge were graded with different hidden checks")
    return BatchReport(
        sorted(runs.values(), key=lambda r: str(r.path)), hidden.pop() if hidden else ""
    )


__all__ = [
    "NOT_RUN",
    "BatchReport",
    "NotebookRun",
    "PassRate",
    "Row",
    "load_report",
    "merge_reports",
]
