"""Exercise 00.top_authors: the most prolific authors, in one SQL statement (or two), not N+1.

A first taste of the course's checks: the answer must be right (compared with the reference on
a fresh copy of the attempt's seeded data, and on a second copy with edge cases added: two
authors with the same name and the same count, a tie at the k-th place, an author whose many
drafts would win if drafts counted) *and* it must ask the database a constant number of times,
counted with ``labkit.db.statement_log``, which is checked to still be listening after every
call (an answer that switches the trace callback off fails, and says why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from labkit.grading import exercise, reference_answer

if TYPE_CHECKING:
    from labkit.grading import Grader

TOP_AUTHORS_SQL: Final = (
    "SELECT u.id AS author_id, u.name AS name, COUNT(*) AS posts "
    "FROM posts p JOIN users u ON u.id = p.author_id "
    "WHERE p.status = 'published' "
    "GROUP BY u.id ORDER BY posts DESC, author_id LIMIT ?"
)
K_VALUES: Final = (5, 25)  # a short list, and one long enough to contain ties
EDGE_K: Final = 6  # the edge-case copy is asked for its top 6 (a tie across places 6 and 7)
MAX_STATEMENTS: Final = 2


@reference_answer
def top_authors_reference(db: Any, k: int = 10) -> list[dict[str, Any]]:
    """The ``k`` users with the most published posts: one aggregate query."""
    return [
        {"author_id": row[0], "name": row[1], "posts": row[2]}
        for row in db.execute(TOP_AUTHORS_SQL, (k,)).fetchall()
    ]


def add_edge_cases(db: Any, k: int) -> None:
    """Change ``db`` (a fresh copy) so the top ``k`` holds the cases that separate right from wrong.

    - a new author with the *same name* and the same count as the third: grouping by name
      merges them; the tie is broken by author_id;
    - a new author tied with the k-th (once the twin is in): only the smaller author_id makes
      the list, the new one (a larger id) is the (k+1)-th;
    - the author just outside the top k gets more drafts and archived posts than anyone has
      published: counting every status puts them first.
    """
    ranked = top_authors_reference(db, k + 1)
    # after the twin of the third moves everyone below it down one place, ranked[k - 2] is k-th
    third, kth, outside = ranked[2], ranked[k - 2], ranked[k]
    top_count = ranked[0]["posts"]
    for name, posts in ((third["name"], third["posts"]), (f"{kth['name']} Jr.", kth["posts"])):
        cursor = db.execute(
            "INSERT INTO users (name, email, tier, is_active, country, bio, created_at) "
            "SELECT ?, 'edge.' || email, tier, is_active, country, bio, created_at "
            "FROM users WHERE id = ?",
            (name, third["author_id"]),
        )
        _copy_posts(db, cursor.lastrowid, "published", posts)
    _copy_posts(db, outside["author_id"], "draft", top_count)
    _copy_posts(db, outside["author_id"], "archived", 2)
    db.commit()


def _copy_posts(db: Any, author_id: Any, status: str, count: int) -> None:
    db.execute(
        "INSERT INTO posts (author_id, title, body, status, view_count, created_at) "
        "SELECT ?, title, body, ?, view_count, created_at FROM posts ORDER BY id LIMIT ?",
        (author_id, status, count),
    )


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
async def grade_top_authors(g: Grader, top_authors: Any) -> None:
    from labkit.db import statement_log, sync_connect

    seeded, edged = sync_connect(g.dataset("tiny")), sync_connect(g.dataset("tiny"))
    add_edge_cases(edged, EDGE_K)
    try:
        # both copies asked for the same k, in turn: a memo keyed by k (or by call) cannot pass
        edge_label = " (with edge cases: equal names, ties, many drafts)"
        for label, db, k in (
            ("", seeded, K_VALUES[0]),
            (edge_label, edged, EDGE_K),
            ("", seeded, K_VALUES[1]),
            (edge_label, edged, K_VALUES[0]),
        ):
            expected = top_authors_reference(db, k)
            with statement_log(db) as log:
                got = await g.acall(top_authors, db, k)
                statements = log.count
                # independent evidence that the log still listens: one statement of ours
                db.execute("SELECT 'labkit: is the statement log listening?'").fetchall()
                listening = log.count == statements + 1
            g.expect(
                listening,
                "your top_authors switched the statement log off (db.set_trace_callback "
                "replaced or removed): this check counts your statements with it, so it cannot "
                "grade this answer. Leave the connection's trace callback alone.",
            )
            g.expect(
                statements >= 1,
                f"top_authors(db, k={k}) sent no SQL statement to `db`, the one place the "
                "posts are: the rows must come from the database you are given.",
            )
            g.expect_equal(
                got,
                expected,
                what=f"top_authors(db, k={k}){label}",
                hint="Columns author_id, name, posts; published posts only; one row per author "
                "(two authors may share a name: group by id); most posts first, ties by the "
                "smaller author_id; exactly k rows.",
            )
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
        seeded.close()
        edged.close()
