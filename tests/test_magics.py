from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import CapturedIO, capture_output

from labkit.magics import has_top_level_await, rewrite_awaiting_cells
from labkit.timing import BenchResult


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.run_cell("%load_ext labkit", store_history=False)
    ip.run_cell(
        "import asyncio\n"
        "async def fetch(n=1):\n    await asyncio.sleep(0)\n    return n\n"
        "def square(n):\n    total = 0\n    for i in range(n):\n        total += i * i\n"
        "    return total\n"
    )
    yield ip


def run(shell: InteractiveShell, cell: str) -> tuple[Any, CapturedIO]:
    with capture_output() as captured:
        result = shell.run_cell(cell)
    return result, captured


def _plain_and_html(captured: CapturedIO) -> tuple[str, str]:
    assert captured.outputs, f"nothing displayed; stderr: {captured.stderr}"
    data = captured.outputs[-1].data
    assert "text/plain" in data and "text/html" in data
    return data["text/plain"], data["text/html"]


QUICK = "-q -r 3 -t 0.001"


def test_line_bench_displays_text_and_html(shell: InteractiveShell) -> None:
    result, captured = run(shell, f"%bench {QUICK} sum(range(50))")
    assert result.success
    text, html = _plain_and_html(captured)
    assert "(median ± MAD, 3 values ×" in text
    assert "sum(range(50))" in html


def test_line_bench_output_option_returns_result(shell: InteractiveShell) -> None:
    result, captured = run(shell, f"n = 7\nr = %bench -o {QUICK} square(n)")
    assert result.success and not captured.outputs
    assert isinstance(shell.user_ns["r"], BenchResult)
    assert shell.user_ns["r"].n == 3


def test_cell_bench(shell: InteractiveShell) -> None:
    result, captured = run(shell, f"%%bench {QUICK}\nvalues = sorted(range(30))\nlen(values)")
    assert result.success
    assert "3 values" in _plain_and_html(captured)[0]


def test_bench_options(shell: InteractiveShell) -> None:
    run(shell, "r = %bench -o -g -w 0 -r 4 -t 0.001 square(10)")
    r = shell.user_ns["r"]
    assert (r.n, r.gc_enabled) == (4, True)


def test_line_bench_with_await_runs_on_the_loop(shell: InteractiveShell) -> None:
    result, captured = run(shell, f"ra = %bench -o {QUICK} await fetch(3)")
    assert result.success, captured.stderr
    assert isinstance(shell.user_ns["ra"], BenchResult)


def test_cell_bench_with_await(shell: InteractiveShell) -> None:
    result, captured = run(shell, f"%%bench {QUICK}\nv = await fetch(2)\nv")
    assert result.success, captured.stderr
    text, _ = _plain_and_html(captured)
    assert "3 values" in text


def test_bench_bad_input_is_one_line(shell: InteractiveShell) -> None:
    result, captured = run(shell, "%bench --bogus square(3)")
    assert "unknown option --bogus" in captured.stderr
    assert "Traceback" not in captured.stdout + captured.stderr

    result, captured = run(shell, f"%bench {QUICK} square('x')")
    assert result.success
    assert captured.stderr.strip().splitlines() == [
        "MeasurementError: `square('x')` raised TypeError: 'str' object cannot be interpreted "
        "as an integer — fix it (or pass the right arguments) before timing it"
    ]

    result, captured = run(shell, "%bench")
    assert "nothing to time" in captured.stderr

    result, captured = run(shell, "%%bench -r zero\n1")
    assert "UsageError" in captured.stderr and "Traceback" not in captured.stderr


def test_bench_syntax_error_is_one_line(shell: InteractiveShell) -> None:
    _, captured = run(shell, "%%bench\nx = = 1")
    assert captured.stderr.startswith("SyntaxError in the timed code")


def test_labkit_error_in_a_plain_cell_has_no_traceback(shell: InteractiveShell) -> None:
    _, captured = run(shell, "from labkit.timing import bench\nbench(square, 'x')")
    assert captured.stderr.strip().startswith("MeasurementError: square() raised TypeError")
    assert "Traceback" not in captured.stdout + captured.stderr


def test_other_errors_keep_their_traceback(shell: InteractiveShell) -> None:
    # Only labkit's errors are shortened: the learner's own, and Python's, show as usual.
    _, captured = run(shell, "def broken():\n    return 1 / 0\nbroken()")
    assert "Traceback" in captured.stdout and "ZeroDivisionError" in captured.stdout


def test_a_shortened_labkit_error_keeps_its_traceback_for_tb(shell: InteractiveShell) -> None:
    _, captured = run(shell, "from labkit.timing import bench\nbench(square, 'x')")
    assert "Traceback" not in captured.stdout + captured.stderr
    _, captured = run(shell, "%tb")
    assert "Traceback" in captured.stdout and "MeasurementError" in captured.stdout


def test_bench_options_come_from_one_declaration() -> None:
    from labkit.magics.bench import BenchMagics, split_bench_line
    from labkit.magics.cells import option_words

    flags, with_value = option_words(BenchMagics.bench)
    assert flags == {"-o", "--output", "-q", "--quick", "-g", "--gc"}
    assert with_value == {"-r", "--repeat", "-t", "--min-time", "-w", "--warmup"}
    assert split_bench_line("-q -r 5 f(x, -r)") == ("-q -r 5", "f(x, -r)")
    assert split_bench_line("--repeat=3 f( 'a  b' )") == ("--repeat=3", "f( 'a  b' )")


def test_profile_cpu_keeps_variables_and_value(shell: InteractiveShell) -> None:
    cell = "%%profile cpu\nprofiled = sum(len(str(i)) for i in range(100000))\nprofiled + 1"
    result, captured = run(shell, cell)
    assert result.success
    expected = sum(len(str(i)) for i in range(100000))
    assert shell.user_ns["profiled"] == expected
    assert result.result == expected + 1
    text, html = _plain_and_html(captured)
    assert "<iframe srcdoc=" in html
    assert "<genexpr>" in text
    # below the root frame the magic's own frames are hidden: the learner's code comes next
    assert "CellCode" not in text and "magics/cells.py" not in text


def test_profile_cpu_with_await(shell: InteractiveShell) -> None:
    # many calls (str, len): pyinstrument samples on call events, a bare loop gives few samples
    cell = (
        "%%profile cpu\nawaited = await fetch(5)\nawait asyncio.sleep(0.01)\n"
        "def digits(n):\n    return sum(len(str(i)) for i in range(n))\ndigits(200000)"
    )
    result, captured = run(shell, cell)
    assert result.success, captured.stderr
    assert shell.user_ns["awaited"] == 5
    text = _plain_and_html(captured)[0]
    assert "digits" in text and "sleep" in text


def test_profile_lines(shell: InteractiveShell) -> None:
    result, captured = run(shell, "%%profile lines -f square\nsquare(100)")
    assert result.success
    text, html = _plain_and_html(captured)
    assert "total += i * i" in text and "total += i * i" in html


def test_profile_memory(shell: InteractiveShell) -> None:
    result, captured = run(shell, "%%profile memory\nblobs = [bytes(1000) for _ in range(500)]")
    assert result.success
    text, _ = _plain_and_html(captured)
    assert "memory (memray): peak" in text
    assert len(shell.user_ns["blobs"]) == 500


def test_profile_bad_input(shell: InteractiveShell) -> None:
    _, captured = run(shell, "%%profile gpu\n1")
    assert "invalid choice: 'gpu'" in captured.stderr
    _, captured = run(shell, "%%profile lines\nsquare(3)")
    assert "name the functions" in captured.stderr
    _, captured = run(shell, "%%profile lines -f missing_fn\nsquare(3)")
    assert "no function named 'missing_fn'" in captured.stderr
    _, captured = run(shell, "%profile cpu")
    assert "cell magic" in captured.stderr
    for output in (captured.stdout, captured.stderr):
        assert "Traceback" not in output


def test_queries_groups_repeated_shapes(shell: InteractiveShell) -> None:
    pytest.importorskip("labkit.db", reason="labkit.db not landed yet")
    from labkit import db as labkit_db

    if not hasattr(labkit_db, "statement_log"):
        pytest.skip("labkit.db.statement_log not landed yet")
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, author_id INTEGER)")
    conn.executemany("INSERT INTO posts (author_id) VALUES (?)", [(i % 3,) for i in range(9)])
    shell.user_ns["conn"] = conn
    cell = (
        "%%queries conn\n"
        "authors = [r[0] for r in conn.execute('SELECT DISTINCT author_id FROM posts')]\n"
        "for a in authors:\n"
        "    conn.execute(f'SELECT id FROM posts WHERE author_id = {a}').fetchall()\n"
        "len(authors)"
    )
    result, captured = run(shell, cell)
    assert result.success, captured.stderr
    assert result.result == 3
    text, html = _plain_and_html(captured)
    assert text.startswith("4 SQL statements")
    assert "3 × SELECT id FROM posts WHERE author_id = ?" in text
    assert "N+1" in text and "N+1" in html


def test_queries_bad_input(shell: InteractiveShell) -> None:
    _, captured = run(shell, "%%queries nothing_here\n1")
    assert "no variable named 'nothing_here'" in captured.stderr
    _, captured = run(shell, "%%queries\n1")
    assert "UsageError" in captured.stderr


def test_rewrite_only_touches_awaiting_code() -> None:
    assert rewrite_awaiting_cells(["%%bench\n", "x = 1\n"]) == ["%%bench\n", "x = 1\n"]
    rewritten = rewrite_awaiting_cells(["%%bench -q\n", "await f()\n"])
    assert rewritten[0].startswith("await __import__('labkit.magics')")
    lines = rewrite_awaiting_cells(["a = 1\n", "r = %bench -o await f()\n"])
    assert lines[0] == "a = 1\n" and lines[1].startswith("r = await __import__(")
    assert rewrite_awaiting_cells(["%bench f()\n"]) == ["%bench f()\n"]
    assert has_top_level_await("await x()") and not has_top_level_await("x()")
