"""Count the work an algorithm does, so its scaling can be graded without a clock.

A wall-clock threshold flakes on a busy machine; the number of comparisons or hash lookups an
algorithm makes does not. :class:`OpCounter` hands out integers that behave exactly like ``int``
but tally every comparison and hash made on them:

>>> ops = OpCounter()
>>> ids = [ops.int(i) for i in range(1000)]
>>> 999 in ids                     # a list search: one comparison per element
True
>>> ops.equality
1000

:func:`scaling_exponent` turns counts at two sizes into the exponent ``k`` of ``count ~ n**k``:
about 1 for a linear algorithm, 2 for a quadratic one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from labkit.display import TextView


@dataclass(frozen=True, repr=False)
class OpCounts(TextView):
    """A snapshot of the tallies of an :class:`OpCounter`."""

    ordering: int = 0  # <, <=, >, >=
    equality: int = 0  # ==, !=
    hashes: int = 0  # hash(): dict and set lookups, inserts; operator.index()
    conversions: int = 0  # int(), float(), str(), format(): a plain value the counter cannot see

    @property
    def total(self) -> int:
        return self.ordering + self.equality + self.hashes + self.conversions

    def __sub__(self, other: OpCounts) -> OpCounts:
        return OpCounts(
            self.ordering - other.ordering,
            self.equality - other.equality,
            self.hashes - other.hashes,
            self.conversions - other.conversions,
        )

    def __str__(self) -> str:
        return (
            f"{self.total:,} operations ({self.ordering:,} ordering comparisons, "
            f"{self.equality:,} equality tests, {self.hashes:,} hashes, "
            f"{self.conversions:,} conversions)"
        )


class OpCounter:
    """Makes counted integers (``ops.int(5)``) and tallies the operations made on them.

    Arithmetic on a counted integer returns a counted integer, so a key such as
    ``-p["sales"]`` or ``p["sales"] * 1000 - p["id"]`` is still counted. Converting with
    ``int(x)``, ``float(x)``, ``str(x)`` or formatting gives a plain value whose comparisons
    nobody counts: each conversion is tallied in ``conversions``, so a check can tell work it
    saw from work that was hidden from it (a scan over ``int(...)`` keys).
    """

    def __init__(self) -> None:
        self.ordering = 0
        self.equality = 0
        self.hashes = 0
        self.conversions = 0
        self.int = _counted_int_type(self)

    def counts(self) -> OpCounts:
        return OpCounts(self.ordering, self.equality, self.hashes, self.conversions)

    def reset(self) -> None:
        self.ordering = self.equality = self.hashes = self.conversions = 0

    @property
    def total(self) -> int:
        return self.ordering + self.equality + self.hashes + self.conversions

    def __repr__(self) -> str:
        return f"OpCounter({self.counts()})"


def _counted_int_type(counter: OpCounter) -> type[int]:
    """A fresh ``int`` subclass bound to ``counter`` (int subclasses cannot carry slots)."""

    def ordering(op: str) -> Any:
        base = getattr(int, op)

        def compare(self: int, other: object) -> Any:
            counter.ordering += 1
            return base(self, other)

        compare.__name__ = op
        return compare

    def arithmetic(op: str) -> Any:
        base = getattr(int, op)

        def apply(self: int, *other: Any) -> Any:
            result = base(self, *other)
            return cls(result) if type(result) is int else result

        apply.__name__ = op
        return apply

    def eq(self: int, other: object) -> Any:
        counter.equality += 1
        return int.__eq__(self, other)

    def ne(self: int, other: object) -> Any:
        counter.equality += 1
        return int.__ne__(self, other)

    def hash_(self: int) -> int:
        counter.hashes += 1
        return int.__hash__(self)

    def index(self: int) -> int:
        counter.hashes += 1  # operator.index(x): a lookup by the value, like a hash
        return int.__index__(self)

    def conversion(op: str) -> Any:
        base = getattr(int, op)

        def convert(self: int, *args: Any) -> Any:
            counter.conversions += 1
            return base(self, *args)

        convert.__name__ = op
        return convert

    namespace: dict[str, Any] = {
        "__eq__": eq,
        "__ne__": ne,
        "__hash__": hash_,
        "__index__": index,
        "__module__": __name__,
    }
    for op in ("__int__", "__float__", "__repr__", "__str__", "__format__", "__trunc__"):
        namespace[op] = conversion(op)
    for op in ("__lt__", "__le__", "__gt__", "__ge__"):
        namespace[op] = ordering(op)
    for op in (
        "__neg__",
        "__pos__",
        "__abs__",
        "__add__",
        "__radd__",
        "__sub__",
        "__rsub__",
        "__mul__",
        "__rmul__",
        "__floordiv__",
        "__rfloordiv__",
        "__mod__",
    ):
        namespace[op] = arithmetic(op)
    cls: type[int] = type("CountedInt", (int,), namespace)
    return cls


def scaling_exponent(sizes: Sequence[float], counts: Sequence[float]) -> float:
    """The exponent ``k`` in ``count ~ size**k``, fitted on a log-log scale.

    Works for counts and for measured times alike. A count of 0 is taken as 1 (an algorithm
    that did nothing countable is not super-linear).
    """
    if len(sizes) != len(counts) or len(sizes) < 2:
        raise ValueError("scaling_exponent needs at least two (size, count) pairs")
    xs = [math.log(s) for s in sizes]
    ys = [math.log(c) if c > 0 else 0.0 for c in counts]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        raise ValueError("scaling_exponent needs at least two different sizes")
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


__all__ = ["OpCounter", "OpCounts", "scaling_exponent"]
