"""``labkit release``: solution blocks become stubs, outputs go, the result is byte-stable."""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from labkit.errors import GradingError
from labkit.grading.release import (
    MarkerError,
    check_released,
    has_outputs,
    release_all,
    release_notebook,
    strip_solutions,
)

SOLUTION_CELL = '''def users_with_posts(db, user_ids):
    """Posts per user, in one query."""
    ### BEGIN SOLUTION
    rows = await db.execute_fetchall("SELECT ...")
    return group(rows)
    ### END SOLUTION


check("02.n_plus_one", users_with_posts)'''


def write_solution(
    folder: Path, name: str = "02_query_tuning.ipynb", source: str = SOLUTION_CELL
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    code = new_code_cell(
        source,
        execution_count=7,
        metadata={"execution": {"iopub.status.busy": "2024-05-01T10:00:00Z"}, "tags": ["t"]},
    )
    code.outputs = [new_output("stream", name="stdout", text="secret output\n")]
    nb = new_notebook(
        cells=[new_markdown_cell("# Query tuning"), code],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python", "version": "3.11.7"},
        },
    )
    path = folder / name
    nbformat.write(nb, str(path))
    return path


def test_stub_replaces_the_block_at_its_indentation() -> None:
    text, blocks, warnings = strip_solutions(SOLUTION_CELL, where="nb: cell 2")
    assert blocks == 1 and not warnings
    assert text.splitlines()[:4] == [
        "def users_with_posts(db, user_ids):",
        '    """Posts per user, in one query."""',
        "    # YOUR CODE HERE",
        "    raise NotImplementedError()",
    ]
    assert "SELECT" not in text and "SOLUTION" not in text
    assert text.endswith('check("02.n_plus_one", users_with_posts)')


def test_top_level_block_warns() -> None:
    _, _, warnings = strip_solutions(
        "### BEGIN SOLUTION\nx = 1\n### END SOLUTION", where="nb: cell 3"
    )
    assert warnings and "nb: cell 3, line 1: solution block at the top level" in warnings[0]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "    ### BEGIN SOLUTION\n    x = 1\n",
            "nb: cell 4, line 1: ### BEGIN SOLUTION is never closed",
        ),
        ("x = 1\n### END SOLUTION\n", "nb: cell 4, line 2: ### END SOLUTION without a ### BEGIN"),
        (
            "### BEGIN SOLUTION\n  ### BEGIN SOLUTION\n### END SOLUTION\n",
            "nb: cell 4, line 2: ### BEGIN SOLUTION inside the block opened at line 1",
        ),
        (
            "x = 1  ### BEGIN SOLUTION\n",
            "nb: cell 4, line 1: a solution marker must be a whole line",
        ),
    ],
    ids=["unclosed", "unopened", "nested", "not whole line"],
)
def test_unbalanced_markers_name_notebook_cell_and_line(source: str, message: str) -> None:
    with pytest.raises(MarkerError) as info:
        strip_solutions(source, where="nb: cell 4")
    assert str(info.value).startswith(message)


def test_release_strips_outputs_and_is_byte_stable(tmp_path: Path) -> None:
    solution = write_solution(tmp_path / "solutions")
    first = release_notebook(solution)
    second = release_notebook(solution)
    assert first.text == second.text and first.blocks == 1
    nb = nbformat.reads(first.text, as_version=4)
    nbformat.validate(nb)
    code = nb.cells[1]
    assert code.outputs == [] and code.execution_count is None
    assert code.metadata == {"tags": ["t"]}
    assert [c.id for c in nb.cells] == ["cell-001", "cell-002"]
    assert nb.metadata.language_info == {"name": "python"}  # no Python version churn
    assert "secret output" not in first.text and "SELECT" not in first.text
    # re-saving the solution with new random ids and fresh outputs changes nothing
    again = nbformat.read(str(solution), as_version=4)
    for cell in again.cells:
        cell.id = cell.id[::-1]
    nbformat.write(again, str(solution))
    assert release_notebook(solution).text == first.text


def test_release_all_and_check(tmp_path: Path) -> None:
    solutions, out = tmp_path / "solutions", tmp_path
    write_solution(solutions)
    written = release_all(solutions, out)
    assert [p.name for p, _ in written] == ["02_query_tuning.ipynb"]
    assert check_released(solutions, out) == []
    assert has_outputs(out / "02_query_tuning.ipynb") == []
    assert has_outputs(solutions / "02_query_tuning.ipynb") == [2]

    # a stale student notebook and one holding solution text are both reported
    write_solution(solutions, source=SOLUTION_CELL.replace("in one query", "in a single query"))
    leaked = out / "99_leak.ipynb"
    leaked.write_text(
        nbformat.writes(
            new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")])
        )
    )
    problems = check_released(solutions, out)
    assert any("02_query_tuning.ipynb: differs from a fresh release" in p for p in problems)
    assert any("99_leak.ipynb: contains solution text" in p for p in problems)
    (out / "02_query_tuning.ipynb").unlink()
    assert any("missing" in p for p in check_released(solutions, out))


def test_a_marker_error_writes_nothing(tmp_path: Path) -> None:
    solutions = tmp_path / "solutions"
    write_solution(solutions, "01_good.ipynb")
    write_solution(
        solutions, "02_bad.ipynb", source="def f():\n    ### BEGIN SOLUTION\n    return 1\n"
    )
    with pytest.raises(
        MarkerError, match=r"02_bad.ipynb: cell 2, line 2: ### BEGIN SOLUTION is never"
    ):
        release_all(solutions, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_bad_paths_get_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(GradingError, match="no such folder"):
        release_all(tmp_path / "nope", tmp_path / "out")
    broken = tmp_path / "solutions" / "03_x.ipynb"
    broken.parent.mkdir()
    broken.write_text("{not json")
    with pytest.raises(GradingError, match="not a readable notebook"):
        release_notebook(broken)


def test_release_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from labkit.commands import release as command

    solutions = tmp_path / "solutions"
    write_solution(solutions)
    args = argparse.Namespace(solutions=solutions, out=None, check=True)
    assert command.run(args) == 1
    assert "missing" in capsys.readouterr().out
    assert command.run(argparse.Namespace(solutions=solutions, out=None, check=False)) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "02_query_tuning.ipynb").exists()
    assert command.run(args) == 0
    assert "match a fresh release" in capsys.readouterr().out
