"""06.diagnose: name the fix for the hottest part of a server profile under load.

The learner reads the lab API's hottest frames (``ServerProfile.top_frames``) and returns the
optimisation that removes the hottest frame the course can fix. Graded by counting the tables
diagnosed right, on recorded, seeded profiles whose hot spot differs from table to table.
"""

from __future__ import annotations

import random
from typing import Any, Final

import pandas as pd

from labkit.grading import Grader, exercise, reference_answer

# The lab API's functions each optimisation removes or speeds up (the ones a profile shows).
FIXES: Final[dict[str, str]] = {
    "feed_n_plus_one": "eager_loading",  # 1 + 2N queries per feed
    "timed_dumps": "fast_json",  # the standard library's JSON encoder
    "list_posts": "keyset",  # OFFSET pages read and skip every row before the page
    "get_product": "cache",  # one query per product request, the same answer each time
}
COLUMNS: Final = ("function", "file", "time_s", "share")
WRAPPERS: Final = (
    ("TimingMiddleware.__call__", "labkit/app/middleware.py"),
    ("InnerTiming.__call__", "labkit/app/middleware.py"),
    ("LabState.cached", "labkit/app/state.py"),
    ("Database.fetchall", "labkit/app/database.py"),
    ("LabState.respond", "labkit/app/state.py"),
)
FILES: Final = {
    "feed_n_plus_one": "labkit/app/routes/feed.py",
    "timed_dumps": "labkit/app/responses.py",
    "list_posts": "labkit/app/routes/posts.py",
    "get_product": "labkit/app/routes/products.py",
}


def recorded_profile(rng: random.Random, hot: str, seconds: float = 2.0) -> pd.DataFrame:
    """A top-frames table of a profile whose hottest fixable frame is ``hot``, rows shuffled.

    The wrappers (middleware, the database helper) are hotter than any fixable frame, as in a
    real profile, because their time includes their callees'.
    """
    hot_share = rng.uniform(0.25, 0.5)
    rows = [(hot, FILES[hot], hot_share)]
    for name in FIXES:
        if name != hot:
            rows.append((name, FILES[name], hot_share * rng.uniform(0.05, 0.8)))
    for name, path in WRAPPERS:
        rows.append((name, path, rng.uniform(hot_share + 0.05, 0.95)))
    rng.shuffle(rows)
    return pd.DataFrame(
        [(name, path, share * seconds, share) for name, path, share in rows],
        columns=list(COLUMNS),
    )


def diagnosis_fixtures(seed: int) -> list[tuple[pd.DataFrame, str]]:
    """(table, the fix) for every fixable hot spot once, in a seeded order, plus two more."""
    rng = random.Random(seed)
    hots = list(FIXES)
    rng.shuffle(hots)
    hots += rng.sample(list(FIXES), 2)
    return [(recorded_profile(rng, hot), FIXES[hot]) for hot in hots]


@reference_answer
def diagnose(frames: pd.DataFrame) -> str:
    """The optimisation for the hottest frame that has a fix in ``FIXES``."""
    fixable = frames[frames["function"].isin(list(FIXES))]
    hottest = fixable.sort_values("time_s", ascending=False)["function"].iloc[0]
    return FIXES[str(hottest)]


@exercise(
    "06.diagnose",
    title="Name the fix for the hottest part of the server profile",
    answers=("diagnose",),
    hint="Keep the rows whose function is in FIXES, take the one with the most time_s, and "
    "return FIXES[that function]. The wrappers (middleware, Database.fetchall) are hotter "
    "only because their time includes their callees'.",
    points=2,
    timeout=15.0,
)
async def grade_diagnose(g: Grader, diagnose: Any) -> None:
    cases = diagnosis_fixtures(g.seed)
    right = 0
    for index, (table, fix) in enumerate(cases, start=1):
        named = g.call(diagnose, table.copy())
        if named != fix:
            hottest = table.sort_values("time_s", ascending=False).iloc[0]["function"]
            g.expect(
                False,
                f"recorded profile {index} of {len(cases)} of this exercise: you named "
                f"{named!r}, but its hottest fixable frame calls for {fix!r} (the hottest row "
                f"of all, {hottest}, is a wrapper whose time includes its callees')",
            )
        right += 1
    g.measure(
        "recorded profiles of this exercise diagnosed right",
        f"{right} of {len(cases)}",
        target=f"all {len(cases)}",
        ok=True,
    )
