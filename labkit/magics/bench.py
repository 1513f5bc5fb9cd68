"""``%bench`` / ``%%bench``: time a statement or a cell with labkit.timing."""

from __future__ import annotations

import shlex
import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from labkit.errors import LabkitError, MeasurementError
from labkit.magics.cells import (
    LabMagics,
    compile_function,
    has_top_level_await,
    option_words,
    parse_magic_line,
    python_source,
    say_error,
    show_result,
)


def split_bench_line(line: str) -> tuple[str, str]:
    """``%bench -q -r 5 f(x)`` -> ('-q -r 5', 'f(x)'): options first, then the code.

    The options are the ones ``BenchMagics.bench`` declares; the code after them keeps its own
    spacing and quotes, and may contain words that look like options (``f(x, -r)``).
    """
    flags, with_value = option_words(BenchMagics.bench)
    words = shlex.split(line, posix=False) if line.strip() else []
    i = 0
    while i < len(words) and words[i].startswith("-") and not words[i][1:2].isdigit():
        option = words[i].split("=")[0]
        if option not in flags | with_value:
            raise UsageError(f"unknown option {option} (see %bench?)")
        i += 2 if option in with_value and "=" not in words[i] else 1
    code_start = _offset_of_word(line, words, i)
    return line[:code_start].strip(), line[code_start:].strip()


def _offset_of_word(line: str, words: list[str], index: int) -> int:
    position = 0
    for word in words[:index]:
        position = line.index(word, position) + len(word)
    return position if index < len(words) else len(line)


@magics_class
class BenchMagics(LabMagics):
    # --- %bench / %%bench ------------------------------------------------------------------
    @magic_arguments()
    @argument("-o", "--output", action="store_true", help="return the BenchResult (not shown)")
    @argument("-q", "--quick", action="store_true", help="10 values of ≥ 10 ms (about 0.2 s)")
    @argument("-r", "--repeat", type=int, default=None, help="number of values (default 20)")
    @argument("-t", "--min-time", type=float, default=None, help="seconds per value (0.05)")
    @argument("-w", "--warmup", type=int, default=1, help="warm-up values thrown away")
    @argument("-g", "--gc", action="store_true", help="keep the garbage collector on")
    @line_cell_magic
    def bench(self, line: str, cell: str | None = None) -> Any:
        """Time a statement (``%bench expr``) or a cell (``%%bench``) with labkit.timing.bench.

        The code runs as the body of a function, as with ``%timeit``. A cell containing
        ``await`` is timed with ``abench`` on the kernel's loop.
        """
        try:
            options, code = self._bench_parts(line, cell)
            source = python_source(self.ip, code)
            if has_top_level_await(source):
                raise MeasurementError(
                    "this code awaits; it could not be rewritten here: use "
                    "`await abench(coro_fn)` from labkit.timing"
                )
            from labkit.timing import bench

            fn = compile_function(self.ip, source, is_async=False)
            result = bench(fn, name=_label(code), **_bench_kwargs(options))
        except LabkitError as exc:
            say_error(exc)
            return None
        except SyntaxError as exc:
            print(f"SyntaxError in the timed code: {exc.msg} (line {exc.lineno})", file=sys.stderr)
            return None
        return self._deliver(result, options.output)

    async def bench_async(self, line: str, cell: str | None) -> Any:
        from labkit.timing import abench

        options, code = self._bench_parts(line, cell)
        fn = compile_function(self.ip, python_source(self.ip, code), is_async=True)
        result = await abench(fn, name=_label(code), **_bench_kwargs(options))
        return self._deliver(result, options.output)

    def _bench_parts(self, line: str, cell: str | None) -> tuple[Any, str]:
        if cell is None:
            option_text, code = split_bench_line(line)
        else:
            option_text, code = line, cell
        options = parse_magic_line(BenchMagics.bench, option_text)
        if not code.strip():
            raise UsageError("nothing to time: %bench <expression>, or %%bench with a cell body")
        return options, code

    @staticmethod
    def _deliver(result: Any, output: bool) -> Any:
        if output:
            return result
        show_result(result)
        return None


def _label(code: str) -> str:
    first = code.strip().splitlines()[0] if code.strip() else "cell"
    return first if len(first) <= 60 else first[:57] + "..."


def _bench_kwargs(options: Any) -> dict[str, Any]:
    return {
        "repeat": options.repeat,
        "min_time": options.min_time,
        "warmup": options.warmup,
        "gc": options.gc,
        "quick": options.quick,
    }
