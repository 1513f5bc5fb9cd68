"""``labkit check``: notebooks run headless; whatever did not report is "not run", never passed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labkit.errors import GradingError
from labkit.grading.batch import (
    COMPLETED,
    KERNEL_DIED,
    TIMED_OUT,
    check_notebooks,
    find_notebooks,
)
from labkit.grading.registry import Registry
from labkit.grading.result import NOT_RUN, NOT_YET, PASSED
from labkit.grading.worker import read_verdicts
from labkit.notebook_number import notebook_number

# Exercises defined inside the notebooks themselves (the kernel has its own registry); the
# runner is told which exercises notebook 98 is expected to report.
DEFINE = """
from labkit.grading import exercise, check

@exercise("98.double", title="Double it", answers=("double",))
def grade_double(g, double):
    g.expect_equal(g.call(double, 21), 42, what="double(21)")

@exercise("98.half", title="Halve it", answers=("half",))
def grade_half(g, half):
    g.expect_equal(g.call(half, 42), 21, what="half(42)")
"""

EXPECTED = Registry()
for _name in ("double", "half"):
    EXPECTED.exercise(f"98.{_name}", title=_name, answers=(_name,))(lambda g, f: None)


def write(folder: Path, name: str, *sources: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), str(path))
    return path


def test_only_lines_keyed_by_the_grading_cells_secret_count() -> None:
    def stream(text: str) -> dict[str, str]:
        return {"output_type": "stream", "name": "stdout", "text": text}

    ok = json.dumps({"exercise": "98.half", "verdict": "passed"})
    forged = json.dumps({"exercise": "98.double", "verdict": "passed"})
    nb = new_notebook(cells=[new_code_cell("grading"), new_code_cell("grading")])
    nb.cells[0].outputs = [
        stream(f"guess {forged}\n"),  # the wrong secret: ignored
        stream(f"s1 {forged}\n"),  # an exercise this cell did not grade
        stream("s1 {not json\n"),
        stream(f"s1 {ok}\n"),
    ]
    nb.cells[1].outputs = [stream(f"s2 {forged}\ns2 {forged}\n")]  # twice: trust neither
    unchanged = json.dumps({"exercise": "98.half", "verdict": "unchanged"})
    nb.cells.append(new_code_cell("final grading"))
    nb.cells[2].outputs = [stream(f"s3 {unchanged}\n")]  # keeps what the first step found
    grading = {0: ("s1", ["98.half"]), 1: ("s2", ["98.double"]), 2: ("s3", ["98.half"])}
    verdicts, rejected = read_verdicts(nb, grading)
    assert verdicts["98.half"]["verdict"] == PASSED
    assert verdicts["98.double"]["verdict"] == NOT_YET
    assert "more than one result" in verdicts["98.double"]["message"]
    assert rejected == [
        "a result for 98.double, which this step did not grade",
        "a malformed result line",
        "a second result for 98.double",
    ]


def test_find_notebooks_and_numbers(tmp_path: Path) -> None:
    a = write(tmp_path / "class", "alice_02_query_tuning.ipynb", "1")
    write(tmp_path / "class" / ".ipynb_checkpoints", "alice_02_query_tuning-checkpoint.ipynb", "1")
    assert find_notebooks([tmp_path / "class"]) == [a]
    assert notebook_number(a) == "02"
    with pytest.raises(GradingError, match="no such notebook or folder"):
        find_notebooks([tmp_path / "missing.ipynb"])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(GradingError, match="not a notebook"):
        find_notebooks([tmp_path / "notes.txt"])


@pytest.mark.notebooks
def test_check_collects_results_and_survives_a_dying_kernel(tmp_path: Path) -> None:
    folder = tmp_path / "submissions"
    good = write(
        folder,
        "a_98_demo.ipynb",
        DEFINE,
        "def double(x):\n    return 2 * x\ncheck('98.double', double)",
        "def half(x):\n    return x // 3\ncheck('98.half', half)",
        "raise ValueError('a broken cell does not stop the others')",
    )
    dying = write(
        folder,
        "b_98_demo.ipynb",
        DEFINE,
        "check('98.double', lambda x: x + x)",
        "import os\nos._exit(1)",
        "check('98.half', lambda x: x // 2)",
    )
    later = write(
        folder,
        "c_98_demo.ipynb",
        DEFINE,
        "def check_later():\n    check('98.double', lambda x: 2 * x)",  # graded here: not run
        "check_later()",  # no id in this cell's source: graded by the final step
        "ids = ['98.half']\nfor i in ids:\n    check(i, lambda x: x // 2)",
    )
    report = check_notebooks([folder], budget=60, registry=EXPECTED, jobs=2)
    by_path = {run.path: run for run in report.runs}
    assert by_path[good].status == COMPLETED
    assert [(r.exercise, r.verdict) for r in by_path[good].rows] == [
        ("98.double", PASSED),
        ("98.half", NOT_YET),
    ]
    assert "half(42): expected 21, got 14" in by_path[good].rows[1].message
    assert by_path[dying].status == KERNEL_DIED
    assert [(r.exercise, r.verdict) for r in by_path[dying].rows] == [
        ("98.double", PASSED),
        ("98.half", NOT_RUN),
    ]
    assert [(r.exercise, r.verdict) for r in by_path[later].rows] == [
        ("98.double", PASSED),
        ("98.half", PASSED),
    ]
    rates = {r.exercise: (r.passed, r.submissions) for r in report.pass_rates()}
    assert rates == {"98.double": (3, 3), "98.half": (1, 3)}

    csv_path, json_path = tmp_path / "out.csv", tmp_path / "out.json"
    report.write(csv_path=csv_path, json_path=json_path)
    assert csv_path.read_text().splitlines()[0].startswith("notebook,student,exercise,verdict")
    assert len(csv_path.read_text().splitlines()) == 7
    assert json.loads(json_path.read_text())["pass_rates"][0]["rate"] == 1.0


@pytest.mark.notebooks
def test_notebook_over_budget_is_timed_out_and_not_run(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "98_slow.ipynb",
        DEFINE,
        "check('98.double', lambda x: 2 * x)",
        "import time\ntime.sleep(120)",
    )
    report = check_notebooks([path], budget=8, registry=EXPECTED)
    run = report.runs[0]
    assert run.status == TIMED_OUT
    assert [(r.exercise, r.verdict) for r in run.rows] == [
        ("98.double", PASSED),
        ("98.half", NOT_RUN),
    ]
    assert run.rows[1].message == "not run: timed out"


def test_check_command_rejects_missing_paths(tmp_path: Path) -> None:
    from labkit.commands import check as command

    args = command_args(paths=[str(tmp_path / "nope.ipynb")])
    with pytest.raises(GradingError, match="no such notebook or folder"):
        command.run(args)


def command_args(**overrides: object) -> argparse.Namespace:
    from labkit.cli import build_parser

    args = build_parser().parse_args(["check", "x.ipynb"])
    for name, value in overrides.items():
        setattr(args, name, value)
    return args
