"""Labkit's own reference answers, marked so a check can tell when an answer *is* one.

A lesson marks every reference or alternative answer it ships::

    @reference_answer
    def top_authors_reference(db, k=10): ...

The marker keeps the function working as before and remembers its code. While a learner's
answer runs (``learner_call()``), a call that reaches marked code is recorded, so an answer that
is, wraps or delegates to a reference is recognised by the call itself, not by its name; and
``same_code_as_reference(answer)`` recognises the object itself before it runs: an alias, a
``functools.wraps`` wrapper (``__wrapped__``), a ``functools.partial``, a bound method, a
subclass or an instance of a marked class.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CodeType, MethodType, ModuleType
from typing import Any, TypeVar

from labkit.grading.learner import is_learner_file

T = TypeVar("T")

_CODES: dict[CodeType, str] = {}  # code object of a marked function → its qualified name
_CLASSES: dict[type, str] = {}  # a marked class → its qualified name
# Grader-side calls (expected values, callbacks handed to the answer) are not the learner's.
# A context variable rather than a thread-local: asyncio tasks each get their own copy, so a
# grader callback awaiting inside ``grader_side()`` cannot hide a concurrent learner task.
_grader_side: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "labkit_grader_side", default=False
)
_reached: list[str] = []  # reference names reached during the current learner call (any thread)
_active = 0  # learner calls in progress (any thread: an answer may use threads itself)
_lock = threading.Lock()


def reference_answer(obj: T) -> T:
    """Mark a function or class (each of its methods) as one of labkit's reference answers."""
    if inspect.isclass(obj):
        _CLASSES[obj] = obj.__qualname__
        for name, member in list(vars(obj).items()):
            marked = _marked_member(member, f"{obj.__qualname__}.{name}")
            if marked is not member:
                setattr(obj, name, marked)
        return obj
    if callable(obj):
        return _marked(obj, getattr(obj, "__qualname__", repr(obj)))  # type: ignore[return-value]
    raise TypeError(f"reference_answer marks functions and classes, not {obj!r}")


def _marked_member(member: Any, name: str) -> Any:
    """A class member with its code marked: methods, static/class methods, properties."""
    if inspect.isfunction(member):
        return _marked(member, name)
    if isinstance(member, staticmethod):
        return staticmethod(_marked(member.__func__, name))
    if isinstance(member, classmethod):
        return classmethod(_marked(member.__func__, name))
    if isinstance(member, property):
        getter, setter, deleter = (
            None if part is None else _marked(part, f"{name}.{label}")
            for part, label in (
                (member.fget, "getter"),
                (member.fset, "setter"),
                (member.fdel, "deleter"),
            )
        )
        return property(getter, setter, deleter, member.__doc__)
    return member


_LABKIT_DIR = str(Path(__file__).resolve().parent.parent)
_LIBRARY_DIRS = tuple(
    str(Path(path).resolve())
    for key in ("stdlib", "platstdlib", "purelib", "platlib")
    if (path := sysconfig.get_paths().get(key))
)


def _is_ours(code: CodeType) -> bool:
    """labkit's code, or code outside the installed libraries (a test's demo reference)."""
    path = str(Path(code.co_filename).resolve())
    return path.startswith(_LABKIT_DIR) or not path.startswith(_LIBRARY_DIRS)


def _marked(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    # Only labkit's own code is a reference: a marker placed above another decorator
    # (@asynccontextmanager, @lru_cache) must not register the library's shared wrapper code,
    # or every learner answer using that decorator would look like a reference.
    for inner in _unwrapped(fn):
        code = getattr(inner, "__code__", None)
        if isinstance(code, CodeType) and _is_ours(code):
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


def _unwrapped(fn: object) -> list[object]:
    """``fn`` and the functions it wraps (``functools.wraps``'s ``__wrapped__``)."""
    found = [fn]
    while hasattr(found[-1], "__wrapped__") and len(found) < 10:
        found.append(found[-1].__wrapped__)
    return found


def _note(name: str) -> None:
    if _active and not _grader_side.get():
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
    """Reference calls made by the grader itself (to compute the expected value, or inside a
    callback handed to the answer) in this context are not the learner's."""
    token = _grader_side.set(True)
    try:
        yield
    finally:
        _grader_side.reset(token)


def same_code_as_reference(answer: object) -> str | None:
    """The reference's name when ``answer`` runs a reference's own code: the marked function or
    class itself, an alias, a wrapper (``__wrapped__``, a closure or default argument holding
    one, a global it calls by name), a ``functools.partial``, a bound method, a subclass or an
    instance of a marked class."""
    seen: set[int] = set()
    todo: list[object] = [answer]
    while todo and len(seen) < _SEARCH_LIMIT:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        found = _direct_match(item)
        if found is not None:
            return found
        if _worth_opening(item):
            todo.extend(_inner_objects(item))
    return None


_SEARCH_LIMIT = 2_000  # objects looked at per answer: enough for any answer, bounded for odd ones


def _direct_match(item: object) -> str | None:
    for _ in range(10):  # a function and the functions it wraps (functools.wraps)
        if not inspect.isfunction(item):
            break
        if item.__code__ in _CODES:
            return _CODES[item.__code__]
        item = item.__dict__.get("__wrapped__")
    if inspect.isclass(item):
        for base in item.__mro__:
            if base in _CLASSES:
                return _CLASSES[base]
    return None


def _worth_opening(item: object) -> bool:
    """Functions and classes of libraries (pandas, the standard library, labkit's own helpers)
    are not opened: a learner's wrapper always starts in the learner's own code, and what an
    answer reaches through a library is seen when it runs (``learner_call``)."""
    if inspect.isfunction(item):
        return is_learner_file(item.__code__.co_filename)
    if inspect.isclass(item):
        module = sys.modules.get(item.__module__)
        filename = getattr(module, "__file__", None)
        return filename is None or is_learner_file(filename)
    return True


def _inner_objects(item: object) -> list[object]:
    """What calling ``item`` may run, one step down."""
    if isinstance(item, functools.partial | functools.partialmethod):
        return [item.func, *item.args, *item.keywords.values()]
    if isinstance(item, MethodType | staticmethod | classmethod):
        return [item.__func__]
    if isinstance(item, property):
        return [item.fget, item.fset, item.fdel]
    if isinstance(item, ModuleType):
        return []  # a module is not an answer; what an answer reaches in one is seen when it runs
    if inspect.isclass(item):
        return [
            value
            for klass in item.__mro__
            if klass.__module__ != "builtins"
            for value in vars(klass).values()
        ]
    if inspect.isfunction(item):
        inner: list[object] = [item.__dict__.get("__wrapped__")]
        inner += [_cell_contents(cell) for cell in item.__closure__ or ()]
        inner += list(item.__defaults__ or ()) + list((item.__kwdefaults__ or {}).values())
        inner += [item.__globals__.get(name) for name in _global_names(item.__code__)]
        return inner
    inner = [type(item)]  # an instance runs its class's code
    with contextlib.suppress(Exception):  # lru_cache and other C wrappers keep __wrapped__
        inner.append(getattr(item, "__wrapped__", None))
    return inner


def _cell_contents(cell: Any) -> object:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell (a name assigned later)
        return None


def _global_names(code: CodeType) -> set[str]:
    """Global names a function's code (and the functions nested in it) may read."""
    names: set[str] = set()
    todo = [code]
    while todo:
        current = todo.pop()
        names.update(current.co_names)
        todo.extend(c for c in current.co_consts if isinstance(c, CodeType))
    return names


__all__ = ["grader_side", "learner_call", "reference_answer", "same_code_as_reference"]
