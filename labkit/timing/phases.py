"""``Phases``: where the time of one request or function goes (db, cache, serialise, total)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.display import TextView
from labkit.errors import MeasurementError
from labkit.timing.stats import format_seconds

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes

_TOKEN_CHARS = r"!#$%&'*+\-.^_`|~0-9A-Za-z"  # RFC 9110: what a metric name may hold
_NOT_TOKEN = re.compile(f"[^{_TOKEN_CHARS}]")


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    count: int = 0


class Phases(TextView):
    """Time named phases; render them as a ``Server-Timing`` header, a table or a bar chart.

    >>> ph = Phases()
    >>> with ph("db"):
    ...     rows = fetch()                                  # doctest: +SKIP
    >>> ph.server_timing()                                  # doctest: +SKIP
    'db;dur=12.3, total;dur=15.0'

    A phase entered several times adds up (``count`` says how often). ``total`` runs from
    creation to :meth:`stop` (or to the end of the last phase while not stopped).
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._started = clock()
        self._last_end = self._started
        self._stopped: float | None = None
        self._phases: dict[str, Phase] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if not isinstance(name, str) or not name.strip():
            raise MeasurementError(f"a phase needs a non-empty name, got {name!r}")
        if name == "total":
            raise MeasurementError("'total' is computed by Phases; name your phase differently")
        start = self._clock()
        try:
            yield
        finally:
            end = self._clock()
            phase = self._phases.setdefault(name, Phase(name))
            phase.seconds += end - start
            phase.count += 1
            self._last_end = max(self._last_end, end)

    def add(self, name: str, seconds: float) -> None:
        """Record a phase measured elsewhere (e.g. a duration reported by a server)."""
        phase = self._phases.setdefault(name, Phase(name))
        phase.seconds += seconds
        phase.count += 1

    def stop(self) -> float:
        """Freeze ``total`` now; returns it in seconds."""
        if self._stopped is None:
            self._stopped = self._clock()
        return self.total

    @property
    def total(self) -> float:
        end = self._stopped if self._stopped is not None else self._last_end
        return end - self._started

    @property
    def phases(self) -> dict[str, float]:
        """Seconds per phase, in the order the phases first ran."""
        return {p.name: p.seconds for p in self._phases.values()}

    @property
    def unaccounted(self) -> float:
        """Part of ``total`` spent outside every phase (0 when phases overlap or nest)."""
        return max(0.0, self.total - sum(self.phases.values()))

    def server_timing(self, *, total: bool = True) -> str:
        """The ``Server-Timing`` header value: ``'db;dur=12.3, total;dur=15.0'`` (milliseconds)."""
        entries = [
            f"{_NOT_TOKEN.sub('_', p.name)};dur={p.seconds * 1000:.1f}"
            for p in self._phases.values()
        ]
        if total:
            entries.append(f"total;dur={self.total * 1000:.1f}")
        return ", ".join(entries)

    def to_frame(self) -> pd.DataFrame:
        """One row per phase plus ``total``: ms, share of total, count."""
        import pandas as pd

        total = self.total
        rows: list[dict[str, Any]] = [
            {
                "phase": p.name,
                "ms": p.seconds * 1000,
                "share": p.seconds / total if total > 0 else float("nan"),
                "count": p.count,
            }
            for p in self._phases.values()
        ]
        rows.append({"phase": "total", "ms": total * 1000, "share": 1.0, "count": 1})
        return pd.DataFrame(rows).set_index("phase")

    def plot(self, ax: Axes | None = None, *, title: str | None = None) -> Axes:
        """Horizontal bars, one per phase, plus the time outside every phase."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.5 + 0.4 * (len(self._phases) + 1)))
        names = [*self.phases, "(outside phases)"]
        values = [s * 1000 for s in self.phases.values()] + [self.unaccounted * 1000]
        ax.barh(names, values, color=["#4c72b0"] * len(self.phases) + ["#bbbbbb"])
        ax.invert_yaxis()
        ax.set_xlabel("milliseconds")
        ax.set_title(title or f"total {format_seconds(self.total)}")
        for y, value in enumerate(values):
            ax.annotate(f"{value:.1f}", (value, y), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=8)  # fmt: skip
        return ax

    def __str__(self) -> str:
        parts = [f"{name} {format_seconds(s)}" for name, s in self.phases.items()]
        return f"total {format_seconds(self.total)}: " + (", ".join(parts) or "no phases")

    def _repr_html_(self) -> str:
        from html import escape

        total = self.total
        rows = "".join(
            f"<tr><td>{escape(name)}</td><td>{format_seconds(s)}</td>"
            f"<td>{(s / total if total > 0 else 0):.0%}</td></tr>"
            for name, s in self.phases.items()
        )
        return (
            "<table><tr><th>phase</th><th>time</th><th>share</th></tr>"
            f"{rows}<tr><th>total</th><th>{format_seconds(total)}</th><th></th></tr></table>"
        )


# The header (W3C Server Timing): metrics separated by commas, each a name then ``;key=value``
# parameters, spaces allowed around ``;`` and ``=``, a value a token or a quoted string, which may
# hold commas, semicolons and ``dur=`` (``desc="3 statements; cached"``): so the header is split
# only outside quoted strings. A stray quote is an ordinary character.
_SPLIT_AT = {separator: re.compile(rf'"(?:[^"\\]|\\.)*"|{separator}') for separator in (",", ";")}
_QUOTED_VALUE = re.compile(r'"((?:[^"\\]|\\.)*)"')
_TOKEN_RUN = re.compile(f"[{_TOKEN_CHARS}]+")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _split(text: str, separator: str) -> list[str]:
    """``text`` cut at each ``separator`` that stands outside a quoted string."""
    pieces, start = [], 0
    for match in _SPLIT_AT[separator].finditer(text):  # a quoted string is stepped over whole
        if match.group() == separator:
            pieces.append(text[start : match.start()])
            start = match.end()
    pieces.append(text[start:])
    return pieces


def _param_value(raw: str) -> str:
    quoted = _QUOTED_VALUE.match(raw)
    if quoted is None:
        return raw.strip('"')
    return re.sub(r"\\(.)", r"\1", quoted.group(1))  # what follows the closing quote is ignored


def server_timing_metrics(header: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Every metric of a ``Server-Timing`` header in order, repeats included, with its
    parameters (keys lower-cased; of a key given twice in one metric the first counts, as the
    specification says)."""
    for metric in _split(header, ","):
        name_part, *param_parts = _split(metric, ";")
        # characters after the name (``db extra;dur=1``) are ignored, as the specification says
        name = _TOKEN_RUN.match(name_part.strip())
        if name is None:
            continue
        params: dict[str, str] = {}
        for part in param_parts:
            key, equals, value = part.partition("=")
            key = key.strip().lower()
            if equals and key and key not in params:  # ``;dur`` without ``=`` is no parameter
                params[key] = _param_value(value.strip())
        yield name.group(), params


def parse_server_timing(header: str) -> dict[str, float]:
    """``'db;dur=12.3;desc="3 statements", total;dur=15'`` -> ``{'db': 12.3, 'total': 15.0}``.

    Milliseconds, as the header gives them (``Phases`` and the timing results speak seconds:
    divide by 1000). A metric without a numeric ``dur`` carries no time and is left out: what a
    server sends is reported, not judged. Of a name given twice, the first counts.
    """
    # A response MAY repeat a metric name and a user agent MUST expose every entry (W3C Server
    # Timing, "The Server-Timing Header Field"); ``server_timing_metrics`` gives them all. A
    # mapping keeps one per name: the first, the rule the specification gives for a parameter
    # repeated within one metric, so one rule covers both kinds of repeat (and lesson 00 teaches
    # it). Summing would give repeats a meaning the specification does not (an edge's ``total``
    # and its origin's ``total`` do not add up); keeping the last would invert its rule.
    phases: dict[str, float] = {}
    for name, params in server_timing_metrics(header):
        duration = params.get("dur", "").strip()
        if name not in phases and _NUMBER.fullmatch(duration):
            phases[name] = float(duration)
    return phases
