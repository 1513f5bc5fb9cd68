"""Exercise 00.server_timing: read a ``Server-Timing`` header into phases.

The header (W3C Server Timing) lists metrics separated by commas; each metric is a name followed
by ``;param=value`` pairs, of which ``dur`` is the duration in milliseconds and ``desc`` a
description that may be quoted and contain commas or semicolons. A metric without ``dur``
carries no time and is left out.
"""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING, Any, Final

from labkit.grading import exercise

if TYPE_CHECKING:
    from labkit.grading import Grader

# the examples shown in the notebook; the check adds headers generated from its seed
EXAMPLES: Final = (
    'db;dur=59.10;desc="42 statements", cache;dur=0.00, total;dur=64.64',
    "total;dur=3",
    "",
)
_PARAM: Final = re.compile(r';\s*([\w-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;,]*))?')
_NAME: Final = re.compile(r"\s*([\w.-]+)")


def read_server_timing_reference(header: str) -> dict[str, float]:
    """``'db;dur=1.2;desc="3, cached", total;dur=4'`` → ``{"db": 1.2, "total": 4.0}``."""
    phases: dict[str, float] = {}
    position = 0
    while position < len(header):
        name = _NAME.match(header, position)
        if name is None:
            break
        position = name.end()
        duration: float | None = None
        while (param := _PARAM.match(header, position)) is not None:
            position = param.end()
            if param.group(1).lower() == "dur" and duration is None and param.group(2):
                duration = float(param.group(2).strip('" '))
        if duration is not None and name.group(1) not in phases:
            phases[name.group(1)] = duration
        comma = header.find(",", position)
        position = len(header) if comma < 0 else comma + 1
    return phases


_NAMES: Final = ("db", "cache", "app", "auth", "render", "queue", "edge", "origin", "fs", "search")
_DESCS: Final = ("42 statements", "hit", "miss, refreshed", "users, posts", "cold; warming", "L2")


def random_header(rng: random.Random) -> tuple[str, dict[str, float]]:
    """A header as real servers write it, and the phases it holds."""
    names = rng.sample(_NAMES, rng.randint(1, 4))
    durations = {name: round(rng.uniform(0, 80), rng.choice((0, 1, 2, 3))) for name in names}
    durations["total"] = round(sum(durations.values()) + rng.uniform(0.1, 20), 2)
    metrics, phases = [], {}
    for name, dur in durations.items():
        has_dur = name == "total" or rng.random() < 0.8
        params = [f"dur={dur:g}"] if has_dur else []
        if rng.random() < 0.5:
            params.append(f'desc="{rng.choice(_DESCS)}"')
        if rng.random() < 0.5:
            params.reverse()  # desc before dur is allowed, and common
        metrics.append(rng.choice((";", "; ")).join([name, *params]))
        if has_dur:
            phases[name] = float(f"{dur:g}")
    return rng.choice((", ", ",")).join(metrics), phases


def headers_for(seed: int, n: int = 12) -> list[tuple[str, dict[str, float]]]:
    rng = random.Random(f"{seed}:server_timing")
    fixed = [(h, read_server_timing_reference(h)) for h in EXAMPLES]
    return fixed + [random_header(rng) for _ in range(n)]


@exercise(
    "00.server_timing",
    title="Read a Server-Timing header into phases",
    answers=("read_server_timing",),
    hint=(
        "Split the header into metrics at commas that are not inside quotes, then each metric "
        "at semicolons; keep `name → float(dur)` and skip metrics without `dur`. A regular "
        'expression such as `"[^"]*"` helps you step over quoted descriptions.'
    ),
    points=1,
    timeout=10.0,
)
def grade_server_timing(g: Grader, read_server_timing: Any) -> None:
    cases = headers_for(g.seed)
    for header, expected in cases:
        got = g.call(read_server_timing, header)
        g.expect_equal(
            got,
            expected,
            what=f"read_server_timing({header!r})",
            hint="Durations are floats in milliseconds, keyed by metric name; a `desc` may come "
            "before `dur` and may contain commas.",
        )
    g.note(
        f"{len(cases)} headers read correctly ({len(EXAMPLES)} from the notebook, "
        f"{len(cases) - len(EXAMPLES)} generated from seed {g.seed})."
    )
