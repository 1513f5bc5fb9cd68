"""Class grading throughput: submissions per minute at ``-j 1`` and ``-j 2``, and their ratio.

    .venv/bin/python benchmarks/bench_class.py [--students 40] [--jobs 1 2] [--json]

A synthetic class: copies of one small notebook-00 submission, half answering ``00.top_authors``
correctly and half with the starter stub, graded by ``labkit check``'s own code path (each
submission isolated: own folder, datasets, worker process, bubblewrap where it works). The same
class is graded at each ``-j``; the ratio of the rates is what parallel grading buys on this
machine (goal: ≥ 1.7× with 2 jobs on 2 cores). Wall-clock figures: on a machine shared with
other work they are lower, and the ratio is lower too, than on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from labkit.grading.batch import check_notebooks

TARGET_RATIO = 1.7
SOLVED = """
from labkit import check

def top_authors(db, k=10):
    rows = db.execute(
        "SELECT u.id, u.name, COUNT(*) FROM posts p JOIN users u ON u.id = p.author_id "
        "WHERE p.status = 'published' GROUP BY u.id ORDER BY COUNT(*) DESC, u.id LIMIT ?", (k,)
    ).fetchall()
    return [{"author_id": a, "name": n, "posts": c} for a, n, c in rows]
"""
STUB = """
from labkit import check

def top_authors(db, k=10):
    raise NotImplementedError("your answer here")
"""


def build_class(folder: Path, students: int) -> None:
    for i in range(students):
        answer = SOLVED if i % 2 == 0 else STUB
        cells = [new_code_cell(answer), new_code_cell("check('00.top_authors', top_authors)")]
        nbformat.write(new_notebook(cells=cells), str(folder / f"student{i:03d}_00_start.ipynb"))


def measure(folder: Path, jobs: int) -> dict[str, object]:
    started = time.perf_counter()
    report = check_notebooks([folder], budget=120, jobs=jobs)
    seconds = time.perf_counter() - started
    passed = sum(row.passed for row in report.rows)
    return {
        "jobs": jobs,
        "submissions": len(report.runs),
        "seconds": round(seconds, 2),
        "per_minute": round(len(report.runs) / seconds * 60, 1),
        "passed": passed,
        "completed": sum(run.status == "completed" for run in report.runs),
        "isolation": sorted({run.isolation for run in report.runs}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="labkit-bench-class-") as tmp:
        folder = Path(tmp)
        build_class(folder, args.students)
        results = [measure(folder, jobs) for jobs in args.jobs]
    base = float(results[0]["per_minute"])  # type: ignore[arg-type]
    for r in results:
        r["ratio"] = round(float(r["per_minute"]) / base, 2)  # type: ignore[arg-type]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'jobs':>4} {'notebooks':>9} {'seconds':>8} {'per min':>8} {'ratio':>6}  isolation")
    for r in results:
        print(
            f"{r['jobs']:>4} {r['submissions']:>9} {r['seconds']:>8} {r['per_minute']:>8} "
            f"{r['ratio']:>6}  {', '.join(r['isolation'])}  "  # type: ignore[arg-type]
            f"({r['passed']} passed, {r['completed']} completed)"
        )
    best = max(float(r["ratio"]) for r in results)  # type: ignore[arg-type]
    verdict = "met" if best >= TARGET_RATIO else "MISSED"
    print(
        f"goal: ≥ {TARGET_RATIO}× with 2 jobs — {verdict} ({best:.2f}×); "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
        f"python {sys.version.split()[0]}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
