"""Exercise 01.top_k: the k best-selling products without sorting everything.

Graded by counting ordering comparisons (``<``, ``>``...) on sales counts, per item, on 10,000
shuffled products: ``heapq.nlargest`` needs about one per item (most items lose against the
smallest of the current top k at once), a full sort about log2(n) ≈ 12, and the "folk" buffer
that is re-sorted after every insert about k. Work hidden from the count fails with its own
message: converted sales counts (``int(...)``, ``float(...)``: a full sort over plain keys is
invisible), or fewer comparisons than any top-k needs (n − k: pandas ``sort_values`` or numpy
copy the counts into plain numbers and sort them all).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from labkit.counting import OpCounter
from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n01_measure.rows import Row, load_rows

MAX_COMPARISONS_PER_ITEM = 3.0
COUNT_SIZES = (500, 10_000)


def rank_key(product: Row) -> tuple[int, int]:
    """Best first: most sales, then the lower id."""
    return (product["sales_count"], -product["id"])


def top_products_sorted(products: list[Row], k: int) -> list[Row]:
    """Correct but sorts all n products to keep k: O(n log n)."""
    return sorted(products, key=lambda p: (-p["sales_count"], p["id"]))[:k]


@reference_answer
def top_products_reference(products: list[Row], k: int) -> list[Row]:
    """Correct in O(n log k): a size-k heap; most items are rejected after one comparison."""
    return heapq.nlargest(k, products, key=rank_key)


def top_products_resorted_buffer(products: list[Row], k: int) -> list[Row]:
    """The folk optimisation: keep a short sorted buffer, re-sorting it after every insert."""
    best: list[Row] = []
    for product in products:
        best.append(product)
        best.sort(key=rank_key, reverse=True)
        del best[k:]
    return best


def synthetic_products(
    n: int, seed: int, *, distinct: bool, ops: OpCounter | None = None
) -> list[Row]:
    """n shuffled products; ``distinct`` sales counts (for counting) or many ties (for order)."""
    rng = random.Random(f"labkit/01.top_k/{seed}/{n}/{distinct}")
    sales = rng.sample(range(20 * n), n) if distinct else [rng.randint(0, 40) for _ in range(n)]
    wrap = ops.int if ops is not None else int
    products = [
        {"id": i + 1, "name": f"product {i + 1}", "sales_count": wrap(s)}
        for i, s in enumerate(sales)
    ]
    rng.shuffle(products)
    return products


def ids_of(value: object) -> list[Any] | None:
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        return None
    ids = []
    for item in value:
        if not isinstance(item, Mapping) or "id" not in item:
            return None
        ids.append(int(item["id"]))
    return ids


async def _expect_top(
    g: Grader, top_products: Callable[..., Any], products: list[Row], k: int, what: str
) -> None:
    got = await g.acall(top_products, [dict(p) for p in products], k)
    ids = ids_of(got)
    g.expect(
        ids is not None,
        f"top_products should return a list of product dicts, got {type(got).__name__}",
    )
    expected = [p["id"] for p in top_products_sorted(products, k)]
    g.expect_equal(
        ids,
        expected,
        what=f"ids of the top {k} of {what}",
        hint="Most sales first; equal sales: lower id first. Return exactly k products.",
    )


@exercise(
    "01.top_k",
    title="Top-k products without a full sort",
    answers=("top_products",),
    hint=(
        "Keep only the k best seen so far in a heap (heapq.nlargest does it for you) and compare "
        "each new product with the weakest of them first."
    ),
    points=2,
    timeout=20.0,
)
async def grade_top_k(g: Grader, top_products: Callable[..., Any]) -> None:
    rng = random.Random(f"labkit/01.top_k/{g.seed}")
    catalogue = load_rows(g.dataset("tiny"), "products")
    rng.shuffle(catalogue)
    await _expect_top(g, top_products, catalogue, 10, f"the {len(catalogue)} catalogue products")
    ties = synthetic_products(2_000, g.seed, distinct=False)
    await _expect_top(g, top_products, ties, 25, "2,000 products with many equal sales counts")

    k = 10
    for n in COUNT_SIZES:
        ops = OpCounter()
        products = synthetic_products(n, g.seed, distinct=True, ops=ops)
        ops.reset()
        got = await g.acall(top_products, products, k)
        seen = ops.counts()
        per_item = seen.ordering / n
        g.expect(
            seen.conversions == 0,
            f"your top_products converted sales counts {seen.conversions:,} times for {n:,} "
            "products (int(), float(), str() or formatting): this check counts the comparisons "
            "made on the counts it gives you, and a converted count is invisible to it.",
            hint="Compare the sales counts as they are, e.g. key=lambda p: p['sales_count'].",
        )
        g.expect(
            seen.ordering >= n - k,
            f"{seen.ordering:,} comparisons on sales counts for {n:,} products: any top-{k} "
            f"must compare each of the {n - k:,} products it drops at least once, so the "
            "comparisons happened where this check cannot count them (pandas or numpy copy the "
            "counts into plain numbers, and sort_values sorts all of them).",
            hint="Keep the k best so far in a heap over the product dicts you are given "
            "(heapq.nlargest with a key), not a DataFrame.",
        )
        expected = [p["id"] for p in top_products_sorted(products, k)]
        g.expect_equal(ids_of(got), expected, what=f"ids of the top {k} of {n:,} products")
        if n == COUNT_SIZES[-1] or per_item > MAX_COMPARISONS_PER_ITEM:
            full = OpCounter()
            again = synthetic_products(n, g.seed, distinct=True, ops=full)
            full.reset()
            top_products_sorted(again, k)
            sort_per_item = full.ordering / n
            g.measure(
                f"comparisons per product (n={n:,}, k={k})",
                round(per_item, 2),
                target=f"≤ {MAX_COMPARISONS_PER_ITEM:g} (a full sort needs {sort_per_item:.1f})",
                ok=per_item <= MAX_COMPARISONS_PER_ITEM,
                hint="Most products are worse than the weakest of your current top k: one "
                "comparison should reject them. A full sort, or re-sorting a buffer on every "
                "insert, compares each product many times.",
            )
            if per_item > MAX_COMPARISONS_PER_ITEM:
                return
