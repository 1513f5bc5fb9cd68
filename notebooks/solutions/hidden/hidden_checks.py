"""The instructor's hidden checks for ``labkit check --hidden notebooks/solutions/hidden``.

Kept with the solution notebooks and never released: ``labkit release`` copies only the
notebooks, so a learner's install has neither these seeds nor these probes. Each probe is a
grade function, ``probe(g, *answers)``, run like a check (``g.call``, ``g.dataset``, a fresh
seed), after the exercise's own check has passed.
"""

from __future__ import annotations

from typing import Any

# Every exercise is graded again on each of these seeds (beside the attempt's own).
SEEDS = (7, 2024)


def top_authors_edge_sizes(g: Any, top_authors: Any) -> None:
    """k values the public check does not use: one author, and more than there are."""
    from labkit.db import sync_connect
    from labkit.lessons.n00_start.top_authors import top_authors_reference

    db = sync_connect(g.dataset("tiny"))
    try:
        for k in (1, 10_000):
            expected = top_authors_reference(db, k)
            g.expect_equal(g.call(top_authors, db, k), expected, what=f"top_authors(db, k={k})")
    finally:
        db.close()


def server_timing_desc_first(g: Any, read_server_timing: Any) -> None:
    """A metric without ``dur``, and a quoted ``desc`` holding ``,`` and ``;`` before ``dur``."""
    header = 'cache, db;desc="users, posts; cold";dur=2.5, total;dur=4'
    g.expect_equal(g.call(read_server_timing, header), {"db": 2.5, "total": 4.0}, what=repr(header))


PROBES = {
    "00.top_authors": [top_authors_edge_sizes],
    "00.server_timing": [server_timing_desc_first],
}
