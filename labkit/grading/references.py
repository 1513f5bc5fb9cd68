"""Labkit's own reference answers, marked so a check can tell when an answer *is* one.

A lesson marks every reference or alternative answer it ships::

    @reference_answer
    def top_authors_reference(db, k=10): ...

The marker keeps the function working as before and remembers its code. While a learner's
answer runs (``learner_call()``), a call that reaches marked code is recorded, so an answer that
is, wraps or delegates to a reference is recognised by the call itself, not by its name; and
``same_code_as_reference(answer)`` recognises a copy of the function object (``__wrapped__``,
an alias) by identity of its code.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from collections.abc import Callable, Iterator
from types import CodeType
from typing import Any, TypeVar

T = TypeVar("T")

_CODES: dict[CodeType, str] = {}  # code object of a marked function → its qualified name
_state = threading.local()
_reached: list[str] = []  # reference names reached during the current learner call (any thread)
_active = 0  # learner calls in progress (any thread: an answer may use threads itself)
_lock = threading.Lock()


def reference_answer(obj: T) -> T:
    """Mark a function or class (each of its methods) as one of labkit's reference answers."""
    if inspect.isclass(obj):
        for name, member in list(vars(obj).items()):
            if inspect.isfunction(member):
                setattr(obj, name, _marked(member, f"{obj.__qualname__}.{name}"))
        return obj
    if callable(obj):
        return _marked(obj, getattr(obj, "__qualname__", repr(obj)))  # type: ignore[return-value]
    raise TypeError(f"reference_answer marks functions and classes, not {obj!r}")


def _marked(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    code = getattr(fn, "__code__", None)
    if isinstance(code, CodeType):
        _CODES[code] = name
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            _note(name)
            return await fn(*args, **kwargs)

        return async_wrapper
    if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
        # A generator's body runs only when iterated: note the call itself.
        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            _note(name)
            return fn(*args, **kwargs)

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _note(name)
        return fn(*args, **kwargs)

    return wrapper


def _note(name: str) -> None:
    if _active and not getattr(_state, "grader_side", False):
        with _lock:
            _reached.append(name)


@contextlib.contextmanager
def learner_call() -> Iterator[list[str]]:
    """While the body runs, calls reaching reference code are collected into the yielded list."""
    global _active
    with _lock:
        _active += 1
        start = len(_reached)
    found: list[str] = []
    try:
        yield found
    finally:
        with _lock:
            found.extend(_reached[start:])
            _active -= 1
            if not _active:
                _reached.clear()


@contextlib.contextmanager
def grader_side() -> Iterator[None]:
    """Reference calls made by the grader itself (to compute the expected value) on this thread
    are not the learner's, even inside a learner call (a callback handed to the answer)."""
    previous = getattr(_state, "grader_side", False)
    _state.grader_side = True
    try:
        yield
    finally:
        _state.grader_side = previous


def same_code_as_reference(answer: object) -> str | None:
    """The reference's name when ``answer`` runs a reference's own code (or one of its methods)."""
    candidates: list[object] = [answer, getattr(answer, "__wrapped__", None)]
    if inspect.isclass(answer):
        candidates += list(vars(answer).values())
    for candidate in candidates:
        inner = inspect.unwrap(candidate) if callable(candidate) else candidate
        code = getattr(inner, "__code__", None)
        if isinstance(code, CodeType) and code in _CODES:
            return _CODES[code]
    return None


__all__ = ["grader_side", "learner_call", "reference_answer", "same_code_as_reference"]
