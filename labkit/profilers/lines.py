"""Line-level timing with line_profiler: per-line hits and time for the functions you name.

Works for ``async def`` (time spent suspended at an ``await`` is not counted: only the time
the coroutine runs) (line_profiler ≥ 5; older versions gave zero timings, line_profiler
#19) and for functions defined in notebook cells, whose source is read from the cache IPython
fills (``linecache``); when no source can be found the listing degrades to line numbers with a
note (line_profiler #86).
"""

from __future__ import annotations

import inspect
import linecache
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labkit.errors import MeasurementError
from labkit.profilers.base import ProfileResult, Profiling
from labkit.timing.stats import format_seconds

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

COLUMNS = ["function", "line", "hits", "time_s", "per_hit_s", "% time", "source"]


def _code_of(fn: Any) -> Any:
    target = inspect.unwrap(fn) if callable(fn) else fn
    target = getattr(target, "__func__", target)  # bound methods
    code = getattr(target, "__code__", None)
    if code is None:
        kind = "built in" if inspect.isbuiltin(fn) else f"a {type(fn).__name__}"
        name = getattr(fn, "__name__", repr(fn))
        raise MeasurementError(
            f"line_profile needs Python functions; {name} is {kind}, with no lines to time"
        )
    return target


def _source_lines(filename: str, first: int) -> list[str] | None:
    """The function's block from ``linecache`` (which also holds notebook cells), or None."""
    lines = linecache.getlines(filename)
    if not lines or first > len(lines):
        return None
    try:
        return inspect.getblock(lines[first - 1 :])
    except Exception:  # a block the tokenizer cannot read: take what linecache has
        return lines[first - 1 :]


@dataclass(frozen=True, repr=False)
class LineProfile(ProfileResult):
    """Rows of (function, line, hits, time_s, per_hit_s, % time, source)."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    kind = "line"

    def to_frame(self, top: int | None = None) -> pd.DataFrame:
        """Every line of every profiled function, in source order (``top`` keeps the slowest)."""
        import pandas as pd

        frame = pd.DataFrame(self.rows, columns=COLUMNS)
        if top is not None:
            frame = frame.nlargest(top, "time_s")
        return frame

    def hottest(self, n: int = 5) -> pd.DataFrame:
        return self.to_frame(top=n)

    @property
    def text(self) -> str:
        if not self.rows:
            return "line profile: no lines recorded (was a profiled function called?)"
        parts: list[str] = []
        current = None
        for row in self.rows:
            if row["function"] != current:
                current = row["function"]
                total = sum(r["time_s"] for r in self.rows if r["function"] == current)
                parts.append(f"{current}: {format_seconds(total)} in total")
                parts.append(f"{'line':>6} {'hits':>8} {'time':>10} {'% time':>7}  source")
            hit = row["hits"] > 0
            timing = format_seconds(row["time_s"]) if hit else ""
            share = f"{row['% time']:.1f}" if hit else ""
            hits = str(row["hits"]) if hit else ""
            parts.append(f"{row['line']:>6} {hits:>8} {timing:>10} {share:>7}  {row['source']}")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        from html import escape

        body = []
        for row in self.rows:
            hit = row["hits"] > 0
            share = row["% time"] if hit else 0.0
            bar = f"background: linear-gradient(90deg, #f4a26155 {share:.0f}%, transparent 0)"
            body.append(
                f"<tr style='{bar}'><td>{escape(row['function'])}</td><td>{row['line']}</td>"
                f"<td>{row['hits'] if hit else ''}</td>"
                f"<td>{format_seconds(row['time_s']) if hit else ''}</td>"
                f"<td>{f'{share:.1f}' if hit else ''}</td>"
                f"<td style='text-align:left'><pre style='margin:0'>{escape(row['source'])}</pre>"
                "</td></tr>"
            )
        head = "".join(f"<th>{c}</th>" for c in ("function", "line", "hits", "time", "% time"))
        return (
            f"{self.notes_html()}<table><tr>{head}<th style='text-align:left'>source</th></tr>"
            f"{''.join(body)}</table>"
        )


class line_profile(Profiling[LineProfile]):
    """Time each line of the named functions while the block runs.

    >>> with line_profile(enrich_users) as prof:           # doctest: +SKIP
    ...     enrich_users(users)
    >>> prof.result.to_frame()                             # doctest: +SKIP

    ``line_profile.run(fn, *args)`` profiles ``fn`` itself and returns ``(value, result)``.
    """

    def __init__(self, *functions: Callable[..., Any]) -> None:
        super().__init__()
        self.functions = [_code_of(fn) for fn in functions]
        self._profiler: Any = None
        self._started = 0.0

    def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, LineProfile]:
        if not self.functions:
            self.functions = [_code_of(fn)]
        return super()._run(fn, *args, **kwargs)

    async def _arun(
        self, fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> tuple[Any, LineProfile]:
        if not self.functions:
            self.functions = [_code_of(fn)]
        return await super()._arun(fn, *args, **kwargs)

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if not self.functions:
            self.functions = [_code_of(fn)]
        return super().__call__(fn)

    def _start(self) -> None:
        if not self.functions:
            raise MeasurementError(
                "name the functions to time line by line: line_profile(fn1, fn2)"
            )
        try:
            from line_profiler import LineProfiler
        except ImportError:  # pragma: no cover - a dependency of labkit
            raise MeasurementError(
                "line_profiler is not installed here: `pip install line_profiler`"
            ) from None
        self._profiler = LineProfiler()
        for fn in self.functions:
            self._profiler.add_function(fn)
        self._started = time.perf_counter()
        self._profiler.enable_by_count()

    def _stop(self) -> LineProfile:
        self._profiler.disable_by_count()
        wall = time.perf_counter() - self._started
        stats = self._profiler.get_stats()
        rows: list[dict[str, Any]] = []
        notes: list[str] = []
        by_code = {
            (fn.__code__.co_filename, fn.__code__.co_firstlineno, fn.__code__.co_name): fn
            for fn in self.functions
        }
        for key, fn in by_code.items():
            timings = {line: (hits, t * stats.unit) for line, hits, t in stats.timings.get(key, [])}
            rows += self._rows(fn, timings, notes)
        return LineProfile(backend="line_profiler", seconds=wall, rows=rows, notes=notes)

    @staticmethod
    def _rows(
        fn: Any, timings: dict[int, tuple[int, float]], notes: list[str]
    ) -> list[dict[str, Any]]:
        code = fn.__code__
        name = fn.__qualname__.rpartition("<locals>.")[2]
        first = code.co_firstlineno
        source = _source_lines(code.co_filename, first)
        if not timings:
            notes.append(f"{name} was not called while profiling")
        if source is None:
            notes.append(
                f"no source found for {name} (defined in {code.co_filename}); "
                "showing line numbers only"
            )
            numbers = sorted(timings)
        else:
            numbers = list(range(first, first + len(source)))
        total = sum(t for _, t in timings.values())
        rows = []
        for line in numbers:
            hits, seconds = timings.get(line, (0, 0.0))
            text = source[line - first].rstrip("\n") if source else ""
            rows.append(
                {
                    "function": name,
                    "line": line,
                    "hits": hits,
                    "time_s": seconds,
                    "per_hit_s": seconds / hits if hits else float("nan"),
                    "% time": 100 * seconds / total if total > 0 else 0.0,
                    "source": text,
                }
            )
        return rows
