"""Exercise 01.memoize: a memoising decorator with an explicit key function.

``functools.lru_cache`` keys on every argument, so it fails on unhashable arguments (a product
dict) and misses whenever an irrelevant argument changes (a request id). An explicit key function
says what the result depends on. The check counts calls of the underlying function per key.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any

from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n01_measure.rows import Row, load_rows

COUNTRIES = ("DE", "FR", "US")
FEES = {"DE": 490, "FR": 590, "US": 1290}


@reference_answer
def memoize_reference(
    key: Callable[..., Hashable],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@memoize(key=...)``: cache results under ``key(*args, **kwargs)``; one cache each."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        cache: dict[Hashable, Any] = {}

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            k = key(*args, **kwargs)
            if k not in cache:
                cache[k] = fn(*args, **kwargs)
            return cache[k]

        return wrapper

    return decorate


def product_key(product: Row, country: str, *, request_id: int) -> tuple[int, str]:
    """What a shipping quote depends on: which product, to which country (not the request)."""
    return (product["id"], country)


def shipping_cents(product: Row, country: str, free_from_cents: int) -> int:
    """Free shipping (0) from a price up; otherwise the country's fee plus a bulky surcharge."""
    if product["price_cents"] >= free_from_cents:
        return 0
    bulky_surcharge: int = (product["id"] % 7) * 50
    return FEES[country] + bulky_surcharge


def call_script(products: list[Row], seed: int, calls: int = 300) -> list[tuple[Row, str]]:
    """(product, country) per call: a few popular products asked for again and again."""
    rng = random.Random(f"labkit/01.memoize/{seed}")
    chosen = rng.sample(products, 20)
    weights = [1 / (rank + 1) for rank in range(len(chosen))]
    return [(rng.choices(chosen, weights)[0], rng.choice(COUNTRIES)) for _ in range(calls)]


class CountedQuote:
    """The expensive function: records each (product id, country) it is really called for."""

    def __init__(self, free_from_cents: int, surcharge: int = 0) -> None:
        self.free_from_cents = free_from_cents
        self.surcharge = surcharge
        self.calls: Counter[tuple[int, str]] = Counter()

    def __call__(self, product: Row, country: str, *, request_id: int) -> int:
        self.calls[(product["id"], country)] += 1
        cents = shipping_cents(product, country, self.free_from_cents)
        return cents + self.surcharge if cents else 0


def _tallied(quote: CountedQuote, tally: Counter[tuple[int, str]]) -> Callable[..., int]:
    """``quote`` as a plain function that also counts each call in ``tally`` (the grader's)."""

    def shipping_quote(product: Row, country: str, *, request_id: int) -> int:
        tally[(product["id"], country)] += 1
        return quote(product, country, request_id=request_id)

    shipping_quote.calls = quote.calls  # type: ignore[attr-defined]  # what the answer can see
    return shipping_quote


@exercise(
    "01.memoize",
    title="Memoise with an explicit key function",
    answers=("memoize",),
    hint=(
        "memoize(key) returns a decorator; the wrapper computes k = key(*args, **kwargs), calls "
        "the function only when k is not in this function's own dict yet, and stores the result "
        "(test `k in cache`, not the truthiness of the value: 0 is a valid result)."
    ),
    points=1,
    timeout=10.0,
)
async def grade_memoize(g: Grader, memoize: Callable[..., Any]) -> None:
    products = load_rows(g.dataset("tiny"), "products")
    script = call_script(products, g.seed)
    prices = sorted(p["price_cents"] for p, _ in script)
    free_from = prices[len(prices) // 2]  # about half the calls ship free: results of 0
    shipping = CountedQuote(free_from)
    handling = CountedQuote(free_from, surcharge=199)  # a second function, its own cache
    seen: Counter[tuple[int, str]] = Counter()  # the grader's own tally, out of the answer's reach

    decorator = await g.acall(memoize, product_key)
    g.expect(callable(decorator), "memoize(key) should return a decorator (a function)")
    memo_shipping = await g.acall(decorator, _tallied(shipping, seen))
    memo_handling = await g.acall(decorator, handling)
    g.expect(
        callable(memo_shipping) and callable(memo_handling),
        "the decorator should return the wrapped function",
    )
    for request_id, (product, country) in enumerate(script):
        for name, fn, real in (
            ("shipping", memo_shipping, shipping),
            ("handling", memo_handling, handling),
        ):
            got = await g.acall(fn, dict(product), country, request_id=request_id)
            expected = shipping_cents(product, country, free_from)
            expected = expected + real.surcharge if expected else 0
            g.expect_equal(
                got,
                expected,
                what=f"call {request_id + 1}: {name} for product {product['id']} to {country}",
                hint="Each decorated function needs its own cache, keyed by key(*args, **kwargs).",
            )
    keys = {(p["id"], c) for p, c in script}
    g.expect(
        shipping.calls == seen,
        "the call counts of the function you decorated were changed by your code "
        f"({sum(shipping.calls.values())} recorded, {sum(seen.values())} calls really made): "
        "this check counts calls with them, so leave `.calls` alone.",
    )
    worst = max(seen.values()) if seen else 0
    g.measure(
        "underlying calls",
        sum(seen.values()),
        target=f"= {len(keys)} (one per distinct key, {len(script)} calls made)",
        ok=sum(seen.values()) == len(keys),
        hint="Call the function only on a cache miss; key the cache with key(...), which "
        "ignores request_id.",
    )
    g.measure(
        "most calls for one key",
        worst,
        target="= 1",
        ok=worst == 1,
        hint="A key computed again means the cache lost it (a size limit?) or never kept it "
        "(a falsy result such as 0 treated as a miss?).",
    )
