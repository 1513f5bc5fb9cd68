"""The class's exports, shards and merge, and the check command's input checks (no kernels)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.cli import main
from labkit.errors import GradingError
from labkit.grading import batch
from labkit.grading.batch import parse_shard, read_submissions, student_of
from labkit.grading.gradebook import (
    BatchReport,
    NotebookRun,
    Row,
    load_report,
    merge_reports,
)
from labkit.output_files import write_atomically


def run(student: str, *verdicts: tuple[str, str, str]) -> NotebookRun:
    path = Path(f"class/{student}_00_start.ipynb")
    rows = [
        Row(
            str(path), student, exercise, verdict, int(verdict == "passed"), 1, "", message, "bwrap"
        )
        for exercise, verdict, message in verdicts
    ]
    return NotebookRun(path, "completed", 1.0, rows, student=student, sha256=student * 4,
                       isolation="bwrap")  # fmt: skip


def report() -> BatchReport:
    return BatchReport(
        [
            run("ann", ("00.a", "passed", "Correct."), ("00.b", "not yet", "101 statements")),
            run("ben", ("00.a", "not yet", "expected 3"), ("00.b", "not yet", "87 statements")),
            run("cat", ("00.a", "passed", "Correct."), ("00.b", "not run", "not run")),
        ]
    )


def test_gradebook_exports(tmp_path: Path) -> None:
    written = report().write(
        csv_path=tmp_path / "r.csv", json_path=tmp_path / "r.json", gradebook=tmp_path / "gb"
    )
    assert [p.name for p in written] == [
        "r.csv", "r.json", "gradebook.csv", "totals.csv", "summary.html",
    ]  # fmt: skip
    assert (tmp_path / "gb" / "gradebook.csv").read_text().splitlines() == [
        "student,00.a,00.b,total",
        "ann,1,0,1",
        "ben,0,0,0",
        "cat,1,0,1",
    ]
    assert (tmp_path / "gb" / "totals.csv").read_text().splitlines()[1] == "ann,1,2,1"
    html = (tmp_path / "gb" / "summary.html").read_text()
    assert "2/3" in html and "0/3" in html
    assert "N statements" in html  # 101 and 87 statements: one message, counted twice
    rates = {r.exercise: r for r in report().pass_rates()}
    assert rates["00.b"].top_not_yet == "N statements"
    header = (tmp_path / "r.csv").read_text().splitlines()[0]
    assert (
        header == "notebook,student,exercise,verdict,points,max_points,measured,message,isolation"
    )
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no temporary file left


def test_json_round_trip_and_merge(tmp_path: Path) -> None:
    full = report()
    first, second = BatchReport(full.runs[:2]), BatchReport(full.runs[2:])
    first.write(json_path=tmp_path / "results-1.json")
    second.write(json_path=tmp_path / "results-2.json")
    assert load_report(tmp_path / "results-1.json").csv_text() == first.csv_text()
    merged = merge_reports([tmp_path / "results-2.json", tmp_path / "results-1.json"])
    assert merged.csv_text() == full.csv_text()
    with pytest.raises(GradingError, match="more than one"):
        merge_reports([tmp_path / "results-1.json", tmp_path / "results-1.json"])
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(GradingError, match="not JSON written by labkit check"):
        load_report(tmp_path / "bad.json")

    out = tmp_path / "gradebook"
    code = main(["check", "merge", str(tmp_path / "results-1.json"),
                 str(tmp_path / "results-2.json"), "-o", str(out)])  # fmt: skip
    assert code == 0
    assert (out / "results.csv").read_text() == full.csv_text()
    assert (out / "gradebook.csv").is_file() and (out / "summary.html").is_file()


def test_shards_are_disjoint_deterministic_and_complete(tmp_path: Path) -> None:
    for name in ("d", "a", "c", "b", "e"):
        (tmp_path / f"{name}_00_start.ipynb").write_text("{}")
    whole = [s.path.name for s in read_submissions([tmp_path])]
    slices = [[s.path.name for s in read_submissions([tmp_path], (i, 3))] for i in (1, 2, 3)]
    assert sorted(name for part in slices for name in part) == sorted(whole) and whole == sorted(
        whole
    )
    assert slices == [
        [s.path.name for s in read_submissions([tmp_path], (i, 3))] for i in (1, 2, 3)
    ]
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "1/0", "x", "1-3"):
        with pytest.raises(GradingError, match="--shard"):
            parse_shard(bad)


def test_student_names() -> None:
    assert student_of(Path("class/alice/02_query_tuning.ipynb"), Path("class")) == "alice"
    assert student_of(Path("class/bob_02_query_tuning.ipynb"), Path("class")) == "bob"
    assert student_of(Path("02_query_tuning.ipynb")) == "02_query_tuning"


def test_write_atomically_replaces_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    write_atomically(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--budget", "nan"], "--budget must be a positive number"),
        (["--budget", "inf"], "--budget must be a positive number"),
        (["--budget", "-1"], "--budget must be a positive number"),
        (["-j", "0"], "-j/--jobs must be at least 1"),
        (["--csv", "/nonexistent-folder/r.csv"], "does not exist"),
        (["--json", "{folder}"], "is a folder"),
        (["--gradebook", "/proc/labkit-gradebook"], "cannot create"),
        (["--shard", "3/2"], "--shard"),
        (["--hidden", "/nonexistent/hidden"], "cannot read"),
    ],
)
def test_bad_options_are_one_line_and_exit_2_before_anything_runs(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    message: str,
) -> None:
    (tmp_path / "a_00_start.ipynb").write_text("{}")

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a notebook ran before the options were checked")

    monkeypatch.setattr(batch, "check_notebooks", must_not_run)
    extra = [part.replace("{folder}", str(tmp_path)) for part in extra]
    assert main(["check", str(tmp_path), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_an_unreadable_earlier_json_is_not_reused(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text(json.dumps({"notebooks": "nope"}))
    with pytest.raises(GradingError):
        load_report(tmp_path / "r.json")
