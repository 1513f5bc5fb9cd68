"""Hidden checks: the instructor's seeds and probes catch what the learner's check() does not."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from labkit.cli import main
from labkit.errors import GradingError
from labkit.grading.hidden import load_hidden
from labkit.grading.release import release_all
from tests.test_grading_class import (
    CHECK_TIMING,
    CHECK_TOP,
    IMPORTS,
    SERVER_TIMING,
    TOP_AUTHORS,
    write,
)

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = ROOT / "notebooks" / "solutions" / "hidden"

# Right for the k values the public check uses, wrong for k=1 (a hidden probe's k).
ONE_OFF = (
    TOP_AUTHORS.replace("top_authors = top_authors_pandas", "") + "def top_authors(db, k=10):\n"
    "    return [] if k == 1 else top_authors_pandas(db, k)\n"
)


def test_the_hidden_checks_are_never_released(tmp_path: Path) -> None:
    release_all(ROOT / "notebooks" / "solutions", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (ROOT / "notebooks").glob("*.ipynb")
    )
    assert not [p for p in tmp_path.rglob("*") if p.suffix != ".ipynb"]
    assert (HIDDEN / "hidden_checks.py").is_file()


def test_a_broken_hidden_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "hidden_checks.py").write_text("SEEDS = (1,\n")
    with pytest.raises(GradingError, match="line 1"):
        load_hidden(tmp_path)
    with pytest.raises(GradingError, match="cannot read"):
        load_hidden(tmp_path / "missing.py")


@pytest.mark.notebooks
def test_hidden_probes_and_seeds_grade_on_top_of_the_public_check(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    write(folder, "alice_00_start.ipynb", IMPORTS + TOP_AUTHORS + SERVER_TIMING, CHECK_TOP,
          CHECK_TIMING)  # fmt: skip
    write(folder, "kay_00_start.ipynb", IMPORTS + ONE_OFF + SERVER_TIMING, CHECK_TOP, CHECK_TIMING)
    public, hidden = tmp_path / "public.csv", tmp_path / "hidden.csv"
    common = ["check", str(folder), "-j", "2", "--budget", "60", "--no-progress"]
    assert main([*common, "--csv", str(public), "--notebook", "00"]) in (0, 1)
    assert main([*common, "--csv", str(hidden), "--hidden", str(HIDDEN)]) == 1

    def rows(path: Path) -> dict[tuple[str, str], dict[str, str]]:
        graded = ("00.top_authors", "00.server_timing")  # the rest of notebook 00: not run
        with path.open(newline="") as f:
            return {
                (r["student"], r["exercise"]): r
                for r in csv.DictReader(f)
                if r["exercise"] in graded
            }

    assert {k: r["verdict"] for k, r in rows(public).items()} == {
        ("alice", "00.top_authors"): "passed",
        ("alice", "00.server_timing"): "passed",
        ("kay", "00.top_authors"): "passed",
        ("kay", "00.server_timing"): "passed",
    }
    graded = rows(hidden)
    assert graded[("kay", "00.top_authors")]["verdict"] == "not yet"
    assert "hidden probe top_authors_edge_sizes" in graded[("kay", "00.top_authors")]["message"]
    assert graded[("alice", "00.top_authors")]["verdict"] == "passed"
    assert (
        "Hidden checks passed (2 seeds, 1 probes)" in graded[("alice", "00.top_authors")]["message"]
    )
    assert graded[("kay", "00.server_timing")]["verdict"] == "passed"
