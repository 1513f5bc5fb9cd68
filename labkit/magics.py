"""IPython magics for ``%load_ext labkit``: ``%bench``, ``%%bench``, ``%%profile``, ``%%queries``.

IPython is imported only here. A magic cannot ``await`` (ipython #11314, #14157), so a cell
that contains ``await`` is rewritten, before IPython runs it, into one top-level ``await`` of
the same magic's async twin below; IPython then runs it as a coroutine on the kernel's own loop
(where the learner's aiosqlite connections live), never on another thread.
"""

from __future__ import annotations

import ast
import inspect
import re
import shlex
import sys
from collections.abc import Callable
from typing import Any, cast

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from labkit.display import TextView
from labkit.errors import LabkitError, MeasurementError

_ASYNC_TWIN = "await __import__('labkit.magics').magics.{fn}({name!r}, {line!r}, {cell!r})"
# `%bench ...` or `name = %bench ...` on a line of its own
_LINE_BENCH = re.compile(
    r"^(?P<indent>\s*)(?P<target>(?:[A-Za-z_][\w.]*\s*=\s*)?)%bench\b(?P<rest>.*)$"
)


# --- compiling cells ------------------------------------------------------------------------


def _source(shell: InteractiveShell, code: str) -> str:
    """IPython syntax (nested magics, ``!cmd``) turned into plain Python."""
    source: str = shell.transform_cell(code)
    return source


def _cell_code(shell: InteractiveShell, cell: str, *, is_async: bool = False) -> CellCode:
    """Compile under a name IPython keeps in ``linecache``, so profilers can show the source."""
    source = _source(shell, cell)
    return CellCode(source, is_async=is_async, filename=shell.compile.cache(source))


def has_top_level_await(source: str) -> bool:
    try:
        code = compile(source, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError:
        return False
    return bool(code.co_flags & inspect.CO_COROUTINE)


def compile_function(shell: InteractiveShell, source: str, *, is_async: bool) -> Callable[..., Any]:
    """The cell as the body of a function (as ``%timeit`` does), defined over the user namespace.

    The last expression is returned, so ``compare``-style checks could see the value.
    """
    tree = ast.parse(source)
    body = tree.body or [ast.Pass()]
    last = body[-1]
    if isinstance(last, ast.Expr):
        body[-1] = ast.Return(value=last.value)
    args = ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])
    kind = ast.AsyncFunctionDef if is_async else ast.FunctionDef
    fn_def = kind(name="cell", args=args, body=body, decorator_list=[], returns=None)
    module = ast.fix_missing_locations(ast.Module(body=[fn_def], type_ignores=[]))
    scope: dict[str, Any] = {}
    exec(compile(module, "<bench cell>", "exec"), shell.user_ns, scope)
    function: Callable[..., Any] = scope["cell"]
    return function


def _split_last_expression(source: str) -> tuple[ast.Module, ast.Expression | None]:
    tree = ast.parse(source)
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        statement = tree.body.pop()
        assert isinstance(statement, ast.Expr)
        return tree, ast.Expression(body=statement.value)
    return tree, None


class CellCode:
    """A cell compiled ahead of running it (so parsing is not part of what is profiled).

    Runs in the user namespace like a normal cell and gives back the last expression's value;
    with ``is_async`` the code may use top-level ``await`` and must be awaited.
    """

    def __init__(self, source: str, *, is_async: bool = False, filename: str = "<cell>") -> None:
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT if is_async else 0
        body, last = _split_last_expression(source)
        self.body = compile(body, filename, "exec", flags=flags)
        self.last = compile(last, filename, "eval", flags=flags) if last is not None else None

    def run(self, ns: dict[str, Any]) -> Any:
        exec(self.body, ns)
        return eval(self.last, ns) if self.last is not None else None

    async def arun(self, ns: dict[str, Any]) -> Any:
        pending = eval(self.body, ns)
        if inspect.iscoroutine(pending):
            await pending
        if self.last is None:
            return None
        value = eval(self.last, ns)
        return await value if inspect.iscoroutine(value) else value


# --- rewriting cells that await --------------------------------------------------------------


def rewrite_awaiting_cells(lines: list[str]) -> list[str]:
    """IPython cleanup transformer: cells/lines that ``await`` go to the async twins below."""
    if not lines:
        return lines
    first = lines[0].strip()
    for name in ("bench", "profile", "queries"):
        if re.match(rf"%%{name}\b", first):
            cell = "".join(lines[1:])
            if has_top_level_await(cell):
                line = first[len(name) + 2 :].strip()
                return [_ASYNC_TWIN.format(fn="run_async_cell", name=name, line=line, cell=cell)]
            return lines
    if first.startswith("%%"):
        return lines
    out = []
    for raw in lines:
        match = _LINE_BENCH.match(raw.rstrip("\n"))
        if match and has_top_level_await(_code_part(match["rest"])):
            rest = match["rest"].strip()
            twin = _ASYNC_TWIN.format(fn="run_async_cell", name="bench", line=rest, cell="")
            raw = f"{match['indent']}{match['target']}{twin}\n"
        out.append(raw)
    return out


def _code_part(line: str) -> str:
    try:
        return _split_options(line, _BENCH_FLAGS, _BENCH_VALUES)[1]
    except UsageError:
        return ""


def _current() -> InteractiveShell:
    from IPython import get_ipython

    active = get_ipython()
    if active is None:  # pragma: no cover - only reachable outside IPython
        raise MeasurementError("the labkit magics need IPython")
    return cast(InteractiveShell, active)


async def run_async_cell(name: str, line: str, cell: str) -> Any:
    """Target of the rewrite: the async path of the bench, profile and queries magics."""
    shell = _current()
    magics: LabMagics = shell.magics_manager.registry["LabMagics"]
    try:
        if name == "bench":
            return await magics.bench_async(line, cell or None)
        if name == "profile":
            return await magics.profile_async(line, cell)
        return await magics.queries_async(line, cell)
    except LabkitError as exc:
        _say(exc)
        return None


# --- output ----------------------------------------------------------------------------------


def _say(exc: BaseException) -> None:
    print(f"{type(exc).__name__}: {exc}", file=sys.stderr)


def _show(result: Any) -> None:
    html = result._repr_html_() if hasattr(result, "_repr_html_") else None
    bundle = {"text/plain": str(result)}
    if html:
        bundle["text/html"] = html
    display(bundle, raw=True)


def _parse(fn: Callable[..., Any], line: str) -> Any:
    # shlex keeps quoted options together; parse_argstring raises UsageError (one line in IPython)
    return parse_argstring(fn, line)


def _split_options(line: str, known_flags: set[str], with_value: set[str]) -> tuple[str, str]:
    """``%bench -q -r 5 f(x)`` -> ('-q -r 5', 'f(x)'): options first, then the code."""
    words = shlex.split(line, posix=False) if line.strip() else []
    i = 0
    while i < len(words) and words[i].startswith("-") and not words[i][1:2].isdigit():
        option = words[i].split("=")[0]
        if option not in known_flags | with_value:
            raise UsageError(f"unknown option {option} (see %bench?)")
        i += 2 if option in with_value and "=" not in words[i] else 1
    code_start = _offset_of_word(line, words, i)
    return line[:code_start].strip(), line[code_start:].strip()


def _offset_of_word(line: str, words: list[str], index: int) -> int:
    position = 0
    for word in words[:index]:
        position = line.index(word, position) + len(word)
    return position if index < len(words) else len(line)


_BENCH_FLAGS = {"-o", "--output", "-q", "--quick", "-g", "--gc"}
_BENCH_VALUES = {"-r", "--repeat", "-t", "--min-time", "-w", "--warmup"}


@magics_class
class LabMagics(Magics):
    @property
    def ip(self) -> InteractiveShell:
        assert self.shell is not None  # set by IPython when the magics are registered
        return self.shell

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
            source = _source(self.ip, code)
            if has_top_level_await(source):
                raise MeasurementError(
                    "this code awaits; it could not be rewritten here: use "
                    "`await abench(coro_fn)` from labkit.timing"
                )
            from labkit.timing import bench

            fn = compile_function(self.ip, source, is_async=False)
            result = bench(fn, name=_label(code), **_bench_kwargs(options))
        except LabkitError as exc:
            _say(exc)
            return None
        except SyntaxError as exc:
            print(f"SyntaxError in the timed code: {exc.msg} (line {exc.lineno})", file=sys.stderr)
            return None
        return self._deliver(result, options.output)

    async def bench_async(self, line: str, cell: str | None) -> Any:
        from labkit.timing import abench

        options, code = self._bench_parts(line, cell)
        fn = compile_function(self.ip, _source(self.ip, code), is_async=True)
        result = await abench(fn, name=_label(code), **_bench_kwargs(options))
        return self._deliver(result, options.output)

    def _bench_parts(self, line: str, cell: str | None) -> tuple[Any, str]:
        if cell is None:
            option_text, code = _split_options(line, _BENCH_FLAGS, _BENCH_VALUES)
        else:
            option_text, code = line, cell
        options = _parse(LabMagics.bench, option_text)
        if not code.strip():
            raise UsageError("nothing to time: %bench <expression>, or %%bench with a cell body")
        return options, code

    @staticmethod
    def _deliver(result: Any, output: bool) -> Any:
        if output:
            return result
        _show(result)
        return None

    # --- %%profile -------------------------------------------------------------------------
    @magic_arguments()
    @argument("kind", choices=["cpu", "lines", "memory"], help="which profiler")
    @argument("-f", "--function", action="append", default=[],
              help="(lines) a function to time line by line; repeat for several")  # fmt: skip
    @argument("-i", "--interval", type=float, default=0.001, help="(cpu) sampling interval, s")
    @argument("-b", "--backend", default="auto", choices=["auto", "memray", "tracemalloc"],
              help="(memory) backend")  # fmt: skip
    @argument("-o", "--output", action="store_true", help="return the profile result")
    @line_cell_magic
    def profile(self, line: str, cell: str | None = None) -> Any:
        """``%%profile cpu|lines|memory``: profile the cell; its variables stay defined."""
        if cell is None:
            print(
                "%%profile is a cell magic: put it on the first line of the cell", file=sys.stderr
            )
            return None
        try:
            options = _parse(LabMagics.profile, line)
            code = _cell_code(self.ip, cell)
            profiler = self._profiler(options)
            with profiler:
                value = code.run(self.ip.user_ns)
        except LabkitError as exc:
            _say(exc)
            return None
        return self._after_profile(profiler.result, options.output, value)

    async def profile_async(self, line: str, cell: str) -> Any:
        options = _parse(LabMagics.profile, line)
        code = _cell_code(self.ip, cell, is_async=True)
        profiler = self._profiler(options)
        async with profiler:
            value = await code.arun(self.ip.user_ns)
        return self._after_profile(profiler.result, options.output, value)

    def _profiler(self, options: Any) -> Any:
        from labkit.profilers import cpu_profile, line_profile, memory_profile

        if options.kind == "cpu":
            return cpu_profile(interval=options.interval)
        if options.kind == "memory":
            return memory_profile(options.backend)
        if not options.function:
            raise MeasurementError("name the functions: %%profile lines -f my_function [-f other]")
        functions = []
        for name in options.function:
            try:
                functions.append(eval(name, self.ip.user_ns))
            except Exception:
                raise MeasurementError(f"no function named {name!r} is defined here") from None
        return line_profile(*functions)

    @staticmethod
    def _after_profile(result: Any, output: bool, value: Any) -> Any:
        if output:
            return result
        _show(result)
        return value

    # --- %%queries -------------------------------------------------------------------------
    @magic_arguments()
    @argument("db", help="name of the database connection variable")
    @line_cell_magic
    def queries(self, line: str, cell: str | None = None) -> Any:
        """``%%queries db``: how many SQL statements the cell issued, repeated shapes grouped."""
        if cell is None:
            print(
                "%%queries is a cell magic: put `%%queries db` on the first line", file=sys.stderr
            )
            return None
        try:
            db = self._database(line)
            code = _cell_code(self.ip, cell)
            statement_log = _statement_log()
            with statement_log(db) as log:
                value = code.run(self.ip.user_ns)
        except LabkitError as exc:
            _say(exc)
            return None
        _show(QueryReport(log))
        return value

    async def queries_async(self, line: str, cell: str) -> Any:
        db = self._database(line)
        code = _cell_code(self.ip, cell, is_async=True)
        statement_log = _statement_log()
        with statement_log(db) as log:
            value = await code.arun(self.ip.user_ns)
        _show(QueryReport(log))
        return value

    def _database(self, line: str) -> Any:
        options = _parse(LabMagics.queries, line)
        if options.db not in self.ip.user_ns:
            raise MeasurementError(f"no variable named {options.db!r}: %%queries <connection>")
        return self.ip.user_ns[options.db]


def _statement_log() -> Callable[[Any], Any]:
    try:
        from labkit.db import statement_log
    except ImportError as exc:  # pragma: no cover - labkit.db ships with labkit
        raise MeasurementError(f"the statement log is not available here ({exc})") from None
    fn: Callable[[Any], Any] = statement_log
    return fn


class QueryReport(TextView):
    """Text and HTML for %%queries: the count, then each statement shape with its count."""

    def __init__(self, log: Any) -> None:
        self.count: int = log.count
        self.shapes = log.shapes()

    def _repeated(self) -> list[tuple[str, int]]:
        pairs = zip(self.shapes["shape"], self.shapes["count"], strict=True)
        return [(str(shape), int(count)) for shape, count in pairs if count > 1]

    def __str__(self) -> str:
        lines = [f"{self.count} SQL statement{'s' if self.count != 1 else ''}"]
        for shape, count in zip(self.shapes["shape"], self.shapes["count"], strict=True):
            lines.append(f"  {count:>5} × {shape}")
        for _shape, count in self._repeated()[:1]:
            lines.append(f"the same statement ran {count} times: one query per item (N+1)?")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(
            f"<tr><td style='text-align:right'>{int(c)}</td>"
            f"<td style='text-align:left'><code>{escape(str(s))}</code></td></tr>"
            for s, c in zip(self.shapes["shape"], self.shapes["count"], strict=True)
        )
        warn = "".join(
            f"<div style='color:#a15c00'>⚠ the same statement ran {c} times: one query per "
            "item (N+1)?</div>"
            for _, c in self._repeated()[:1]
        )
        plural = "s" if self.count != 1 else ""
        return (
            f"<div><strong>{self.count} SQL statement{plural}</strong>{warn}"
            f"<table><tr><th>count</th><th style='text-align:left'>statement shape</th></tr>"
            f"{rows}</table></div>"
        )


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


def _show_labkit_error(
    shell: InteractiveShell, etype: type, value: BaseException, tb: Any, tb_offset: Any = None
) -> None:
    """A LabkitError raised in a cell is shown as its one-line message, no traceback."""
    _say(value)


def load_ipython_extension(ipython: InteractiveShell) -> None:
    ipython.register_magics(LabMagics)
    cleanup = ipython.input_transformers_cleanup
    if rewrite_awaiting_cells not in cleanup:
        cleanup.append(rewrite_awaiting_cells)
    ipython.set_custom_exc((LabkitError,), _show_labkit_error)
