"""Exercise 00.top_authors: the most prolific authors, in one SQL statement (or two), not N+1.

A first taste of the course's checks: the answer must be right (compared with the reference on
a fresh copy of the data, under two seeds) *and* it must ask the database a constant number of
times, counted with ``labkit.db.statement_log``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from labkit.grading import exercise

if TYPE_CHECKING:
    from labkit.grading import Grader

TOP_AUTHORS_SQL: Final = (
    "SELECT u.id AS author_id, u.name AS name, COUNT(*) AS posts "
    "FROM posts p JOIN users u ON u.id = p.author_id "
    "WHERE p.status = 'published' "
    "GROUP BY u.id ORDER BY posts DESC, author_id LIMIT ?"
)
K_VALUES: Final = (5, 25)  # a short list, and one long enough to contain ties
MAX_STATEMENTS: Final = 2


def top_authors_reference(db: Any, k: int = 10) -> list[dict[str, Any]]:
    """The ``k`` users with the most published posts: one aggregate query."""
    return [
        {"author_id": row[0], "name": row[1], "posts": row[2]}
        for row in db.execute(TOP_AUTHORS_SQL, (k,)).fetchall()
    ]


def posts_per_author(db: Any) -> Any:
    """Published posts per author as a pandas Series (for the notebook's skew plot)."""
    import pandas as pd

    frame = pd.read_sql(
        "SELECT author_id, COUNT(*) AS posts FROM posts WHERE status = 'published' "
        "GROUP BY author_id",
        db,
    )
    return frame.set_index("author_id")["posts"].sort_values(ascending=False)


@exercise(
    "00.top_authors",
    title="The most prolific authors, in one query",
    answers=("top_authors",),
    hint=(
        "Let the database count: `SELECT ... COUNT(*) ... WHERE status = 'published' "
        "GROUP BY author ORDER BY posts DESC, author_id LIMIT ?` — or read the posts once "
        "with pandas and use `groupby`/`value_counts`."
    ),
    points=1,
    timeout=15.0,
)
def grade_top_authors(g: Grader, top_authors: Any) -> None:
    from labkit.db import statement_log, sync_connect

    db = sync_connect(g.dataset("tiny"))
    try:
        for k in K_VALUES:
            expected = top_authors_reference(db, k)
            with statement_log(db) as log:
                got = g.call(top_authors, db, k)
            g.expect_equal(
                got,
                expected,
                what=f"top_authors(db, k={k})",
                hint="Columns author_id, name, posts; published posts only; most posts first, "
                "ties by the smaller author_id; exactly k rows.",
            )
            statements = log.count
            g.measure(
                f"SQL statements (k={k})",
                statements,
                target=f"≤ {MAX_STATEMENTS}",
                ok=statements <= MAX_STATEMENTS,
                hint=None
                if statements <= MAX_STATEMENTS
                else f"{statements} statements: one query per author is the N+1 pattern. "
                "Ask once, with GROUP BY, or read the posts once and count them in pandas.",
            )
    finally:
        db.close()
