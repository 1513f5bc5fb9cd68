"""Cells that ``await`` are rewritten to one top-level ``await`` of a magic's async twin.

A magic cannot ``await`` (ipython #11314, #14157), so a cell that contains ``await`` is
rewritten, before IPython runs it, into one top-level ``await`` of :func:`run_async_cell`;
IPython then runs it as a coroutine on the kernel's own loop (where the learner's aiosqlite
connections live), never on another thread.
"""

from __future__ import annotations

import re
from typing import Any

from IPython.core.error import UsageError

from labkit.errors import LabkitError
from labkit.magics.bench import BenchMagics, split_bench_line
from labkit.magics.cells import current_shell, has_top_level_await, say_error
from labkit.magics.profile import ProfileMagics
from labkit.magics.queries import QueryMagics

_ASYNC_TWIN = "await __import__('labkit.magics').magics.{fn}({name!r}, {line!r}, {cell!r})"
# `%bench ...` or `name = %bench ...` on a line of its own
_LINE_BENCH = re.compile(
    r"^(?P<indent>\s*)(?P<target>(?:[A-Za-z_][\w.]*\s*=\s*)?)%bench\b(?P<rest>.*)$"
)


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
        return split_bench_line(line)[1]
    except UsageError:
        return ""


async def run_async_cell(name: str, line: str, cell: str) -> Any:
    """Target of the rewrite: the async path of the bench, profile and queries magics."""
    registry = current_shell().magics_manager.registry
    try:
        if name == "bench":
            bench: BenchMagics = registry["BenchMagics"]
            return await bench.bench_async(line, cell or None)
        if name == "profile":
            profile: ProfileMagics = registry["ProfileMagics"]
            return await profile.profile_async(line, cell)
        queries: QueryMagics = registry["QueryMagics"]
        return await queries.queries_async(line, cell)
    except LabkitError as exc:
        say_error(exc)
        return None
