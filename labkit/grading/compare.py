"""Find the first difference between a learner's value and the expected one, in words.

``first_difference(got, expected)`` returns ``None`` when they match, else a short sentence such
as ``"item 3: expected 17, got 18"``; it never raises on odd learner values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence, Set
from typing import Any

from labkit.grading.learner import describe_value, plural, with_article

REL_TOL = 1e-6
ABS_TOL = 1e-9
_MAX_DEPTH = 6


def _short(value: object) -> str:
    try:
        text = repr(value)
    except Exception:  # a learner object whose __repr__ raises
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: object) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "str"
    if isinstance(value, Mapping) or _is_row(value):
        return "mapping"
    if isinstance(value, Set):
        return "set"
    if isinstance(value, Sequence) or _is_frame(value):
        return "sequence"
    return type(value).__name__


def _is_frame(value: object) -> bool:
    return type(value).__name__ in {"DataFrame", "Series"} and hasattr(value, "to_dict")


def _is_row(value: object) -> bool:
    # sqlite3.Row / aiosqlite.Row: mapping-like with keys(); compare as a dict.
    return type(value).__name__ == "Row" and hasattr(value, "keys")


def _normalise(value: Any) -> Any:
    if _is_row(value):
        return {k: value[k] for k in value.keys()}  # noqa: SIM118 (Row is not a dict)
    if _is_frame(value):
        if type(value).__name__ == "Series":
            return value.tolist()
        return value.to_dict(orient="records")
    return value


def _expected_kind(expected: object) -> str:
    return with_article(type(expected).__name__)


def first_difference(got: Any, expected: Any, path: str = "", depth: int = 0) -> str | None:
    """The first place where ``got`` differs from ``expected``, or ``None`` when they match."""
    try:
        return _difference(got, expected, path, depth)
    except Exception:  # a learner value that misbehaves when read (a broken __eq__, keys()...)
        where = f"{path}: " if path else ""
        return f"{where}expected {_short(expected)}, got {describe_value(got)}"


def _difference(got: Any, expected: Any, path: str, depth: int) -> str | None:
    got, expected = _normalise(got), _normalise(expected)
    where = f"{path}: " if path else ""
    if depth > _MAX_DEPTH:
        return (
            None
            if _safe_equal(got, expected)
            else f"{where}expected {_short(expected)}, got {_short(got)}"
        )
    if got is None and expected is not None:
        return f"{where}expected {_expected_kind(expected)}, got None (is a `return` missing?)"
    kind_got, kind_expected = _kind(got), _kind(expected)
    if kind_got != kind_expected:
        return f"{where}expected {_expected_kind(expected)}, got {describe_value(got)}"
    if kind_expected == "number":
        if _numbers_equal(got, expected):
            return None
        return f"{where}expected {_short(expected)}, got {_short(got)}"
    if kind_expected == "mapping":
        return _mapping_difference(got, expected, path, depth)
    if kind_expected == "set":
        return _set_difference(got, expected, where)
    if kind_expected == "sequence":
        return _sequence_difference(got, expected, path, depth)
    if _safe_equal(got, expected):
        return None
    return f"{where}expected {_short(expected)}, got {_short(got)}"


def _numbers_equal(a: float, b: float) -> bool:
    try:
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL) or (
            math.isnan(a) and math.isnan(b)
        )
    except TypeError:
        return False


def _safe_equal(a: object, b: object) -> bool:
    try:
        return bool(a == b)
    except Exception:  # a learner object with a broken __eq__ (or an ambiguous truth value)
        return False


def _mapping_difference(got: Any, expected: Any, path: str, depth: int) -> str | None:
    where = f"{path}: " if path else ""
    try:
        got_keys, expected_keys = list(got.keys()), list(expected.keys())
    except Exception:
        return f"{where}expected {_short(expected)}, got {_short(got)}"
    missing = [k for k in expected_keys if k not in got_keys]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        return f"{where}key {missing[0]!r} is missing{more}"
    extra = [k for k in got_keys if k not in expected_keys]
    if extra:
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        return f"{where}unexpected key {extra[0]!r}{more}"
    for key in expected_keys:
        found = _difference(got[key], expected[key], _join(path, f"key {key!r}"), depth + 1)
        if found:
            return found
    return None


def _set_difference(got: Any, expected: Any, where: str) -> str | None:
    missing = [v for v in expected if v not in got]
    extra = [v for v in got if v not in expected]
    if missing:
        first = _short(sorted(missing, key=repr)[0])
        return f"{where}{first} is missing ({len(missing)} missing in all)"
    if extra:
        return f"{where}unexpected {_short(sorted(extra, key=repr)[0])} ({len(extra)} extra in all)"
    return None


def _sequence_difference(got: Any, expected: Any, path: str, depth: int) -> str | None:
    where = f"{path}: " if path else ""
    try:
        got_items = list(got)
    except Exception:  # a learner sequence whose iteration fails
        return f"{where}expected {_expected_kind(expected)}, got {describe_value(got)}"
    expected_items = list(expected)
    for index, (g, e) in enumerate(zip(got_items, expected_items, strict=False)):
        found = _difference(g, e, _join(path, f"item {index}"), depth + 1)
        if found:
            return found
    if len(got_items) != len(expected_items):
        return f"{where}expected {plural(len(expected_items), 'item')}, got {len(got_items):,}"
    return None


def _join(path: str, part: str) -> str:
    return f"{path}, {part}" if path else part
