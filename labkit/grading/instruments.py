"""Keep what a check measures with out of the answer's reach.

Around every learner call the grader takes a snapshot of the functions, classes, methods and
properties of every imported ``labkit`` module (and of a few libraries the checks count with:
``sqlite3``, ``aiosqlite``, ``asyncio``, ``tracemalloc``, ``time``, ``threading``), compares it by
identity afterwards and puts back anything the answer replaced or deleted. It also finds threads
and asyncio tasks the answer started and left running, and memory tracing the answer switched
off. Each finding ends the check "not yet" (``InstrumentBlinded``), never silently.

The snapshot is a tuple of values per watched namespace, read with ``operator.itemgetter`` and
compared with ``operator.is_``: both run in C, so a learner call costs tens of microseconds more.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import linecache
import operator
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import FrameType, ModuleType
from typing import Any

from labkit.errors import InstrumentBlinded
from labkit.grading.learner import is_cell_file, is_learner_file

WATCHED_PREFIX = "labkit."
WATCHED_LIBRARIES = ("aiosqlite", "aiosqlite.core", "sqlite3", "tracemalloc", "asyncio", "time")
"""Libraries (top level, and the classes they define) the checks count or time with."""

THREAD_GRACE = 0.2
"""Seconds a thread that runs none of the learner's code gets to finish after the call (a
connection closing its worker thread)."""


# ---- module and class attributes ---------------------------------------------------------------
def _watched(value: object) -> bool:
    return callable(value) or isinstance(value, property | staticmethod | classmethod | ModuleType)


@dataclass(eq=False)
class Namespace:
    """One watched namespace: a module's globals or a class's own attributes."""

    label: str  # "labkit.db.counting" or "labkit.db.counting.Counter"
    owner: Any  # the module or class (setattr puts a value back)
    mapping: Mapping[str, Any]
    keys: tuple[str, ...]
    read: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # the watched values, in C
    is_class: bool

    @classmethod
    def of(cls, label: str, owner: Any, mapping: Mapping[str, Any], is_class: bool) -> Namespace:
        keys = tuple(k for k, v in list(mapping.items()) if _watched(v))
        # itemgetter returns a tuple for two keys or more: a lone key is read twice (and a
        # namespace without watched keys is dropped by the caller).
        read = operator.itemgetter(*(keys * 2 if len(keys) == 1 else keys or ("",)))
        return cls(label, owner, mapping, keys, read, is_class)

    def values(self, current: tuple[Any, ...]) -> tuple[Any, ...]:
        return current if len(self.keys) > 1 else current[:1]


class Watch:
    """The watched namespaces of this process; grows as modules are imported."""

    def __init__(self) -> None:
        self.namespaces: list[Namespace] = []
        self._seen_modules: set[str] = set()
        self._modules_count = -1
        self._lock = threading.Lock()

    def refresh(self) -> list[Namespace]:
        """Watch the modules imported since the last call (cheap when nothing was imported)."""
        count = len(sys.modules)
        if count == self._modules_count:
            return self.namespaces
        with self._lock:
            for name, module in list(sys.modules.items()):
                if name in self._seen_modules or not isinstance(module, ModuleType):
                    continue
                if not (name.startswith(WATCHED_PREFIX) or name in WATCHED_LIBRARIES):
                    continue
                self._seen_modules.add(name)
                self._add_module(name, module)
            self._modules_count = count
        return self.namespaces

    def _add_module(self, name: str, module: ModuleType) -> None:
        space = vars(module)
        found = [Namespace.of(name, module, space, is_class=False)]
        for value in list(space.values()):
            if isinstance(value, type) and value.__module__ == name:
                found.append(Namespace.of(f"{name}.{value.__qualname__}", value, vars(value), True))
        self.namespaces.extend(n for n in found if n.keys)

    def snapshot(self) -> Snapshot:
        snapshot = Snapshot()
        snapshot.catch_up(self)
        return snapshot


_MISSING = object()


@dataclass
class Change:
    label: str  # "labkit.db.counting.count_statements"
    deleted: bool


@dataclass
class Snapshot:
    """The watched values at one moment; ``restore()`` puts back whatever changed since.

    Every learner call compares the whole snapshot: ``map(operator.call, ...)`` reads each
    namespace with its itemgetter and ``map(operator.is_, ...)`` compares, all in C.
    """

    spaces: list[Namespace] = field(default_factory=list)
    readers: list[Callable[[Mapping[str, Any]], tuple[Any, ...]]] = field(default_factory=list)
    mappings: list[Mapping[str, Any]] = field(default_factory=list)
    values: list[tuple[Any, ...]] = field(default_factory=list)
    flat: list[Any] = field(default_factory=list)
    class_mappings: list[Mapping[str, Any]] = field(default_factory=list)
    class_sizes: list[int] = field(default_factory=list)

    def catch_up(self, watch: Watch) -> None:
        """Add the namespaces imported since this snapshot was taken (cheap when none were)."""
        spaces = watch.refresh()
        for space in spaces[len(self.spaces) :]:
            try:
                values = space.read(space.mapping)
            except KeyError:  # deleted since it was first watched: watch what is there now
                values = tuple(space.mapping.get(key, _MISSING) for key in space.keys)
                if len(space.keys) == 1:
                    values = values * 2
            self.spaces.append(space)
            self.readers.append(space.read)
            self.mappings.append(space.mapping)
            self.values.append(values)
            self.flat.extend(values)
            if space.is_class:
                self.class_mappings.append(space.mapping)
                self.class_sizes.append(len(space.mapping))

    def unchanged(self) -> bool:
        try:
            now = itertools.chain.from_iterable(map(operator.call, self.readers, self.mappings))
            same = all(map(operator.is_, now, self.flat))
        except KeyError:
            return False
        return same and list(map(len, self.class_mappings)) == self.class_sizes

    def restore(self) -> list[Change]:
        """Put back every watched value that changed since the snapshot; say which."""
        if self.unchanged():
            return []
        changes: list[Change] = []
        for space, before in zip(self.spaces, self.values, strict=True):
            changes += _restore_space(space, space.values(before))
        # A class may gain harmless attributes (``__slotnames__``, a counter): the next fast
        # comparison starts from what is there now.
        self.class_sizes = list(map(len, self.class_mappings))
        return changes


def _restore_space(space: Namespace, before: tuple[Any, ...]) -> list[Change]:
    changes: list[Change] = []
    for key, old in zip(space.keys, before, strict=True):
        current = space.mapping.get(key, _MISSING)
        if current is old:
            continue
        with contextlib.suppress(Exception):
            if old is _MISSING:
                delattr(space.owner, key)
            else:
                setattr(space.owner, key, old)
        changes.append(Change(f"{space.label}.{key}", deleted=current is _MISSING))
    if space.is_class:
        # A method added to a class shadows the one it inherits (``Counter.add = ...``).
        for key in [k for k in list(space.mapping) if k not in space.keys]:
            value = space.mapping.get(key)
            if key.startswith("__") or not _watched(value):
                continue
            with contextlib.suppress(Exception):
                delattr(space.owner, key)
            changes.append(Change(f"{space.label}.{key}", deleted=False))
    return changes


WATCH = Watch()


def blinded_message(changes: list[Change]) -> str:
    first = changes[0]
    verb = "deleted" if first.deleted else "replaced"
    more = f" (and {len(changes) - 1} more)" if len(changes) > 1 else ""
    return (
        f"Not yet: your code {verb} `{first.label}`{more}, which the check measures with. "
        "It has been put back; solve the exercise in your own code and leave labkit's "
        "(and Python's) as they are."
    )


def cell_defined(snapshot: Snapshot) -> list[str]:
    """Watched labkit names that hold a function defined in a notebook cell: patched before
    the check started (cannot be put back without restarting the kernel)."""
    found = []
    for space, values in zip(snapshot.spaces, snapshot.values, strict=True):
        if not space.label.startswith(WATCHED_PREFIX):
            continue
        for key, value in zip(space.keys, space.values(values), strict=True):
            code = getattr(getattr(value, "__func__", value), "__code__", None)
            filename = getattr(code, "co_filename", "")
            if filename and is_cell_file(filename):
                found.append(f"{space.label}.{key}")
    return found


# ---- threads -----------------------------------------------------------------------------------
def thread_set() -> set[threading.Thread]:
    return set(threading.enumerate())


def _learner_owned(thread: threading.Thread) -> bool:
    """The thread runs, or will run, the learner's code (a target, a Timer, a run() override)."""
    for fn in (
        getattr(thread, "_target", None),
        getattr(thread, "function", None),  # threading.Timer
        getattr(type(thread), "run", None),
    ):
        fn = getattr(fn, "func", fn)  # functools.partial
        code = getattr(getattr(fn, "__func__", fn), "__code__", None)
        if code is not None and is_learner_file(code.co_filename):
            return True
    frame = sys._current_frames().get(thread.ident or -1)
    return _frames_include_learner(frame)


def _frames_include_learner(frame: FrameType | None) -> bool:
    while frame is not None:
        if is_learner_file(frame.f_code.co_filename):
            return True
        frame = frame.f_back
    return False


_WAITING = (".get(", ".wait(", "wait(", "select(", ".poll(", ".acquire(", ".recv", "accept(")


def _idle(thread: threading.Thread) -> bool:
    """The thread waits for work (an executor worker, a database connection's thread)."""
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        return True
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
    return any(token in line for token in _WAITING)


def leftover_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since ``before`` that are still running learner work after the call."""
    new = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    if not new:
        return []
    mine = [t for t in new if _learner_owned(t)]
    if mine:
        return mine
    deadline = time.monotonic() + THREAD_GRACE
    while True:
        busy = [t for t in new if t.is_alive() and not _idle(t)]
        if not busy or time.monotonic() >= deadline:
            return busy
        busy[0].join(0.005)


def thread_message(threads: list[threading.Thread]) -> str:
    names = ", ".join(t.name for t in threads[:3])
    return (
        f"Not yet: your code left a thread running after it returned ({names}): the work must "
        "be done before it returns, so the check can see it — join the thread (or do the work "
        "without one)."
    )


# ---- asyncio tasks -----------------------------------------------------------------------------
class TaskLog:
    """Every task created on a check's private loop, in order (the loop's task factory): which
    tasks a learner call started costs nothing to find out."""

    def __init__(self) -> None:
        self.created: list[asyncio.Task[Any]] = []

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.set_task_factory(self._factory)

    def _factory(
        self,
        loop: asyncio.AbstractEventLoop,
        coro: Any,
        context: Any = None,
    ) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, context=context)
        self.created.append(task)
        return task

    def mark(self) -> int:
        return len(self.created)

    def pending_since(self, mark: int) -> list[asyncio.Task[Any]]:
        return [t for t in self.created[mark:] if not t.done()]

    def forget_done(self) -> None:
        """Between learner calls: drop finished tasks (marks start again from here)."""
        self.created = [t for t in self.created if not t.done()]


def still_running(tasks: list[asyncio.Task[Any]]) -> list[asyncio.Task[Any]]:
    """Tasks neither done nor being cancelled (a cancelled task ends at the next loop step)."""
    return [t for t in tasks if not t.done() and not t.cancelling()]


def task_message(tasks: list[asyncio.Task[Any]]) -> str:
    names = ", ".join(_task_name(t) for t in tasks[:3])
    return (
        f"Not yet: your code left an asyncio task running after it returned ({names}): the "
        "work must be done before it returns, so the check can see it — await the task (or "
        "gather it) before returning."
    )


def _task_name(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    return getattr(coro, "__qualname__", None) or task.get_name()


# ---- memory tracing ----------------------------------------------------------------------------
class TracedMemory:
    """Peak memory (bytes above the start) traced with ``tracemalloc`` around learner calls.

    ``with g.traced_memory() as memory: g.call(...)`` — then ``memory.peak``. An answer that
    stops tracemalloc, or clears its traces, ends the check "not yet" (``InstrumentBlinded``).
    """

    def __init__(self) -> None:
        self.peak = 0
        self.current = 0
        self._started_here = False
        self._baseline = 0
        self._sentinel: bytearray | None = None
        self._open = False

    def start(self) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start()
            self._started_here = True
        tracemalloc.reset_peak()
        # Allocated while tracing: its trace vanishes if the answer stops or clears tracemalloc.
        self._sentinel = bytearray(64)
        self._baseline = tracemalloc.get_traced_memory()[0]
        self._open = True

    def verify(self) -> None:
        """Raise ``InstrumentBlinded`` when memory tracing was switched off or reset."""
        if not self._open:
            return
        if not tracemalloc.is_tracing() or tracemalloc.get_object_traceback(self._sentinel) is None:
            self._open = False
            raise InstrumentBlinded(
                "Not yet: your code stopped (or reset) tracemalloc, which the check measures "
                "memory with. Leave memory tracing on; make the answer itself use less memory."
            )

    def stop(self) -> None:
        if not self._open:
            return
        self.verify()
        current, peak = tracemalloc.get_traced_memory()
        self.current = max(0, current - self._baseline)
        self.peak = max(0, peak - self._baseline)
        self._open = False
        if self._started_here:
            tracemalloc.stop()


@contextlib.contextmanager
def traced(memory: TracedMemory) -> Iterator[TracedMemory]:
    memory.start()
    try:
        yield memory
    except BaseException:
        memory._open = False
        if memory._started_here and tracemalloc.is_tracing():
            tracemalloc.stop()
        raise
    memory.stop()


@dataclass
class CallWatch:
    """What one (outermost) learner call found, taken before it and checked after it."""

    snapshot: Snapshot
    threads: set[threading.Thread]
    tasks: int  # TaskLog mark
    tracing: bool
    background_ok: bool = False
    references: list[str] = field(default_factory=list)


__all__ = [
    "WATCH",
    "CallWatch",
    "Change",
    "Snapshot",
    "TaskLog",
    "TracedMemory",
    "blinded_message",
    "cell_defined",
    "leftover_threads",
    "still_running",
    "task_message",
    "thread_message",
    "thread_set",
    "traced",
]
