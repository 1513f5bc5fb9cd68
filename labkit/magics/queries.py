"""``%%queries db``: count the SQL statements a cell issues, repeated shapes grouped."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from IPython.core.magic import line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from labkit.display import TextView
from labkit.errors import LabkitError, MeasurementError
from labkit.magics.cells import LabMagics, compile_cell, parse_magic_line, say_error, show_result


@magics_class
class QueryMagics(LabMagics):
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
            code = compile_cell(self.ip, cell)
            statement_log = _statement_log()
            with statement_log(db) as log:
                value = code.run(self.ip.user_ns)
        except LabkitError as exc:
            say_error(exc)
            return None
        show_result(QueryReport(log))
        return value

    async def queries_async(self, line: str, cell: str) -> Any:
        db = self._database(line)
        code = compile_cell(self.ip, cell, is_async=True)
        statement_log = _statement_log()
        with statement_log(db) as log:
            value = await code.arun(self.ip.user_ns)
        show_result(QueryReport(log))
        return value

    def _database(self, line: str) -> Any:
        options = parse_magic_line(QueryMagics.queries, line)
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
