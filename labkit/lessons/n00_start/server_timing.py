"""Exercise 00.server_timing: read a ``Server-Timing`` header into phases.

The header (W3C Server Timing) lists metrics separated by commas; each metric is a name followed
by ``;param=value`` pairs, of which ``dur`` is the duration in milliseconds and ``desc`` a
description that may be quoted and contain commas or semicolons. A metric without ``dur``
carries no time and is left out; a name (or a ``dur``) given twice keeps its first value.
These are the rules of ``labkit.timing.parse_server_timing`` (tests hold the two to the same
answers on every header the check reads); the reference below is the technique written out, as
the learner is asked to.

The check reads the notebook's examples, fixed edge cases (quoted descriptions holding ``,``,
``;`` and even ``dur=``, repeated names, missing ``dur``, spaces everywhere) and headers
generated from the attempt's seed, so no list of answers typed in from one run can pass.
"""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING, Any, Final

from labkit.grading import exercise, reference_answer
from labkit.timing.phases import parse_server_timing

if TYPE_CHECKING:
    from labkit.grading import Grader

# the examples shown in the notebook
EXAMPLES: Final = (
    'db;dur=59.10;desc="42 statements", cache;dur=0.00, total;dur=64.64',
    "total;dur=3",
    "",
)
# the cases that separate a reader that respects the grammar from one that splits or searches
EDGE_CASES: Final = (
    'app;desc="users, posts; sorted";dur=7.5, total;dur=9',  # `,` and `;` inside quotes
    'render;desc="dur=99";dur=1.25, total;dur=2',  # "dur=" inside a description
    'db;desc="p50; dur=1";dur=12, total;dur=13',  # "; dur=" inside a description
    'cache;desc="hit", db;dur=3, total;dur=4',  # a metric without dur
    "db;dur=2, db;dur=30, total;dur=33",  # a repeated name: the first counts
    "db;dur=4;dur=40, total;dur=45",  # a repeated dur: the first counts
    '  db ; dur = 4.25 ;desc = "x" ,  total ;dur=9 ',  # spaces around ; , and =
    "miss, edge;desc=cold, total;dur=0.5",  # bare names and an unquoted desc
)
# labkit's own parser gives the check's answers too: handing it in is handing in a reference.
reference_answer(parse_server_timing)

_PARAM: Final = re.compile(r'\s*;\s*([\w-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;,]*))?')
_NAME: Final = re.compile(r"\s*([\w.-]+)")


@reference_answer
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
_DESCS: Final = (
    "42 statements",
    "hit",
    "miss, refreshed",
    "users, posts",
    "cold; warming",
    "L2",
    "dur=0",
    "a, b; c",
)


def _separator(rng: random.Random, char: str) -> str:
    return rng.choice((char, f"{char} ", f" {char} ", f"{char}  "))


def random_header(rng: random.Random) -> tuple[str, dict[str, float]]:
    """A header as real servers write it (spacing, order and quoting vary), and its phases."""
    names = rng.sample(_NAMES, rng.randint(2, 5))
    durations = {name: round(rng.uniform(0, 80), rng.choice((0, 1, 2, 3))) for name in names}
    durations["total"] = round(sum(durations.values()) + rng.uniform(0.1, 20), 2)
    metrics, phases = [], {}
    for name, dur in durations.items():
        has_dur = name == "total" or rng.random() < 0.75
        params = [f"dur={dur:g}"] if has_dur else []
        if rng.random() < 0.6:
            desc = rng.choice(_DESCS)
            bare = re.fullmatch(r"[\w.-]+", desc) is not None and rng.random() < 0.5
            params.append(f"desc={desc}" if bare else f'desc="{desc}"')
        if rng.random() < 0.5:
            params.reverse()  # desc before dur is allowed, and common
        metrics.append(_separator(rng, ";").join([name, *params]))
        if has_dur:
            phases[name] = float(f"{dur:g}")
        if has_dur and name != "total" and rng.random() < 0.2:  # again: the first one counts
            metrics.append(f"{name};dur={round(rng.uniform(0, 80), 1):g}")
    return _separator(rng, ",").join(metrics), phases


def headers_for(seed: int, n: int = 12) -> list[tuple[str, dict[str, float]]]:
    """The notebook's examples, the fixed edge cases, then ``n`` headers generated from ``seed``
    (shuffled by the seed, so the order of the cases is no answer either)."""
    rng = random.Random(f"{seed}:server_timing")
    fixed = [(h, read_server_timing_reference(h)) for h in (*EXAMPLES, *EDGE_CASES)]
    generated = [random_header(rng) for _ in range(n)]
    cases = fixed + generated
    rng.shuffle(cases)
    return cases


@exercise(
    "00.server_timing",
    title="Read a Server-Timing header into phases",
    answers=("read_server_timing",),
    hint=(
        "Split the header into metrics at commas that are not inside quotes, then each metric "
        "at semicolons that are not inside quotes; keep `name → float(dur)`, skip metrics "
        'without `dur`, keep the first of a repeated name. A regular expression such as `"[^"]*"` '
        "helps you step over quoted descriptions."
    ),
    points=1,
    timeout=10.0,
)
async def grade_server_timing(g: Grader, read_server_timing: Any) -> None:
    cases = headers_for(g.seed)
    for header, expected in cases:
        got = await g.acall(read_server_timing, header)
        g.expect_equal(
            got,
            expected,
            what=f"read_server_timing({header!r})",
            hint="Durations are floats in milliseconds, keyed by metric name; a `desc` may come "
            "before `dur` and may contain commas, semicolons or even `dur=`; a repeated name "
            "keeps its first `dur`; spaces may surround `;`, `,` and `=`.",
        )
    g.note(
        f"{len(cases)} headers read correctly ({len(EXAMPLES)} from the notebook, "
        f"{len(EDGE_CASES)} edge cases, {len(cases) - len(EXAMPLES) - len(EDGE_CASES)} "
        f"generated from seed {g.seed})."
    )
