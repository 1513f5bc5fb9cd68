"""What the magic families share: compiling a cell, running it, showing results and errors."""

from __future__ import annotations

import ast
import inspect
import sys
from collections.abc import Callable
from typing import Any, Final, cast

from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics
from IPython.core.magic_arguments import argument, parse_argstring
from IPython.display import display

from labkit.errors import MeasurementError

# --- compiling cells ------------------------------------------------------------------------


def python_source(shell: InteractiveShell, code: str) -> str:
    """IPython syntax (nested magics, ``!cmd``) turned into plain Python."""
    source: str = shell.transform_cell(code)
    return source


def compile_cell(shell: InteractiveShell, cell: str, *, is_async: bool = False) -> CellCode:
    """Compile under a name IPython keeps in ``linecache``, so profilers can show the source."""
    source = python_source(shell, cell)
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


def current_shell() -> InteractiveShell:
    from IPython import get_ipython

    active = get_ipython()
    if active is None:  # pragma: no cover - only reachable outside IPython
        raise MeasurementError("the labkit magics need IPython")
    return cast(InteractiveShell, active)


# --- output ----------------------------------------------------------------------------------


def say_error(exc: BaseException) -> None:
    print(f"{type(exc).__name__}: {exc}", file=sys.stderr)


def show_result(result: Any) -> None:
    html = result._repr_html_() if hasattr(result, "_repr_html_") else None
    bundle = {"text/plain": str(result)}
    if html:
        bundle["text/html"] = html
    display(bundle, raw=True)


def parse_magic_line(fn: Callable[..., Any], line: str) -> Any:
    # shlex keeps quoted options together; parse_argstring raises UsageError (one line in IPython)
    return parse_argstring(fn, line)


# argparse actions that take no value on the command line (``-q``, not ``-q VALUE``).
_VALUELESS_ACTIONS: Final = {"store_true", "store_false", "store_const", "append_const", "count"}


def option_words(fn: Callable[..., Any]) -> tuple[set[str], set[str]]:
    """(flags, options taking a value) as the magic's ``@argument`` decorators declare them."""
    flags: set[str] = set()
    with_value: set[str] = set()
    for declared in getattr(fn, "decorators", ()):
        if isinstance(declared, argument) and declared.args[0].startswith("-"):
            valueless = declared.kwds.get("action") in _VALUELESS_ACTIONS
            (flags if valueless else with_value).update(declared.args)
    return flags, with_value


class LabMagics(Magics):
    """Base of labkit's magic families: the shell they run in."""

    @property
    def ip(self) -> InteractiveShell:
        assert self.shell is not None  # set by IPython when the magics are registered
        return self.shell
