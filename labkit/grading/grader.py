"""``Grader``: what a grade function uses to call the learner's code and state its verdict.

Every learner call goes through ``g.call``/``g.acall`` so that a mistake in their code (not
callable, wrong signature, a missing ``await``, an exception) ends the check with a message
about *their* code, never with a grader traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import dis
import functools
import inspect
import shutil
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any, TypeVar

from labkit.errors import InstrumentBlinded
from labkit.grading.compare import first_difference
from labkit.grading.instruments import (
    WATCH,
    CallWatch,
    Change,
    Snapshot,
    TaskLog,
    TracedMemory,
    blinded_message,
    leftover_threads,
    still_running,
    task_message,
    thread_message,
    thread_set,
    traced,
)
from labkit.grading.learner import (
    describe_callable,
    describe_exception,
    describe_value,
    is_learner_file,
    raised_in_learner_code,
    with_article,
)
from labkit.grading.references import learner_call
from labkit.grading.registry import Exercise
from labkit.grading.result import LearnerError, Measurement
from labkit.grading.runner import CheckTimeout, ExcludedTime

T = TypeVar("T")


class NotYet(Exception):
    """Ends a check with the verdict "not yet" (raised by ``expect*`` and learner-call helpers)."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        learner_error: LearnerError | None = None,
        used_reference: str | None = None,
        unwritten: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.learner_error = learner_error
        self.used_reference = used_reference
        # The starter stub, untouched: no attempt yet, so no hint (hints can give the answer away).
        self.unwritten = unwritten


def reference_message(name: str) -> str:
    return (
        f"Not yet — this is labkit's reference answer ({name}); write your own. "
        "(The reference is there to read after you pass, not to hand in.)"
    )


KEEP_PRODUCED = 32
"""Values returned by the learner's calls remembered for messages (the most recent ones)."""

COMPARE_INTERVAL = 0.002
"""Seconds between two comparisons of the labkit snapshot (see ``Grader._compare_due``)."""

_CONSUMING_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError)
"""What grader code raises when a learner's value has the wrong shape (unpacking, a missing
key or attribute): reported as "not yet" about that value, not as a failed check."""


class Grader:
    """Handed to a grade function as ``g``; one per check."""

    def __init__(
        self,
        exercise: Exercise,
        answers: tuple[Any, ...],
        seed: int,
        *,
        allow_reference: bool = False,
        baseline: Snapshot | None = None,
    ) -> None:
        self.exercise = exercise
        self.answers = answers
        self.seed = seed
        self.allow_reference = allow_reference
        self.measurements: list[Measurement] = []
        self.notes: list[str] = []
        self.verified = False  # an expect_equal passed: the result itself was checked
        self.current_answer: str | None = None  # the learner answer running right now
        self.answer_at_timeout: str | None = None
        self._names = {
            id(value): name for name, value in zip(exercise.answers, answers, strict=False)
        }
        # id → (name of the call that returned it, the value): the last values the learner's
        # code produced, so a message can say whose value could not be used. Only the last
        # few are kept: holding every one would look like a leak to a memory measurement.
        self._produced: dict[int, tuple[str, Any]] = {}
        self._generators: list[tuple[str, Any]] = []  # (name, generator) the learner returned
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Future[Any] | None = None
        self._workdir: Path | None = None
        self._depth = 0  # learner calls in progress (nested or concurrent)
        self._watch: CallWatch | None = None
        # What labkit looked like when the check started: after every learner call whatever
        # differs from it is put back (and fails the check).
        self._baseline = baseline if baseline is not None else WATCH.snapshot()
        self._references: contextlib.AbstractContextManager[list[str]] | None = None
        self._found: list[str] = []  # references reached during the current learner call
        self._memory: list[TracedMemory] = []
        self._time_up = False
        self._tasks = TaskLog()
        self._last_compare = 0.0  # when the labkit snapshot was last compared (monotonic)
        self.excluded = ExcludedTime()

    # ---- data ----------------------------------------------------------------------------------
    def dataset(self, size: str = "tiny") -> Path:
        """A fresh isolated copy of the seeded dataset for ``g.seed``; deleted after the check."""
        from labkit.data import fresh_copy
        from labkit.data.scratch import owned_temp_dir

        if self._workdir is None:
            # labkit's temp folder: swept by the next check if this one is abandoned (timeout)
            self._workdir = owned_temp_dir("check")
        dest = self._workdir / f"{size}-seed{self.seed}-{len(list(self._workdir.iterdir()))}.sqlite"
        # Building the dataset on first use is labkit's work, not the learner's: it does not
        # count against the check's time limit.
        with self.excluded.pause():
            return Path(fresh_copy(size=size, seed=self.seed, dest=dest))

    @contextlib.contextmanager
    def traced_memory(self) -> Iterator[TracedMemory]:
        """``with g.traced_memory() as memory: g.call(...)`` — then ``memory.peak`` (bytes
        above the start of the block). tracemalloc is started if needed (and stopped after);
        an answer that stops or resets it ends the check "not yet"."""
        memory = TracedMemory()
        self._memory.append(memory)
        try:
            with traced(memory):
                yield memory
        finally:
            self._memory.remove(memory)

    # ---- running code --------------------------------------------------------------------------
    def run(self, awaitable: Awaitable[T]) -> T:
        """Run grader-side async code to completion on this check's private event loop."""
        loop = self._require_loop()
        if loop.is_running():
            raise RuntimeError("g.run()/g.call() used inside async grader code: use `await` there")
        task = asyncio.ensure_future(awaitable, loop=loop)
        self._task = task
        try:
            return loop.run_until_complete(task)
        finally:
            self._task = None

    def call(
        self, fn: Callable[..., Any], /, *args: Any, background_ok: bool = False, **kwargs: Any
    ) -> Any:
        """Call the learner's function (sync or async) and return its value.

        ``background_ok=True``: the answer may leave threads or asyncio tasks running after it
        returns (only for exercises where a background task *is* the answer).
        """
        name = self._prepare(fn, args, kwargs)
        previous, self.current_answer = self.current_answer, name
        self._enter(background_ok)
        failure: BaseException | None = None
        result: Any = None
        try:
            try:
                result = fn(*args, **kwargs)
                if inspect.isawaitable(result):
                    loop = self._require_loop()
                    if loop.is_running():
                        _discard(result)
                        raise _GraderMisuse(
                            "g.call() used inside async grader code: use `await g.acall(...)`"
                        )
                    result = self.run(_awaited(result))
            except _GraderMisuse as misuse:
                self._exit(name, fn, args, kwargs, None)
                raise RuntimeError(str(misuse)) from None
            except BaseException as exc:
                failure = exc
            try:
                if failure is None and self._depth == 1:
                    self._settle_sync()
            except BaseException as exc:  # the time limit, while letting cancelled tasks end
                failure = exc
            problem = self._exit(name, fn, args, kwargs, failure)
        finally:
            self.current_answer = previous
        if problem is not None:
            raise problem
        return self._checked_value(name, fn, result)

    async def acall(
        self, fn: Callable[..., Any], /, *args: Any, background_ok: bool = False, **kwargs: Any
    ) -> Any:
        """``await g.acall(fn, ...)``: the same as ``call`` inside grader async code."""
        name = self._prepare(fn, args, kwargs)
        previous, self.current_answer = self.current_answer, name
        self._enter(background_ok)
        failure: BaseException | None = None
        result: Any = None
        try:
            try:
                result = fn(*args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
            except BaseException as exc:
                failure = exc
            try:
                if failure is None and self._depth == 1:
                    await self._settle_async()
            except BaseException as exc:  # the time limit, while letting cancelled tasks end
                failure = exc
            problem = self._exit(name, fn, args, kwargs, failure)
        finally:
            self.current_answer = previous
        if problem is not None:
            raise problem
        return self._checked_value(name, fn, result)

    # ---- verdicts ------------------------------------------------------------------------------
    def expect_equal(self, got: Any, expected: Any, *, what: str, hint: str | None = None) -> None:
        """End the check "not yet" with the first difference unless ``got`` matches ``expected``."""
        difference = first_difference(got, expected)
        if difference is not None:
            raise NotYet(f"{what}: {difference}", hint=hint)
        self.verified = True

    def expect(self, ok: object, message: str, *, hint: str | None = None) -> None:
        """End the check "not yet" with ``message`` when ``ok`` is false."""
        if not ok:
            raise NotYet(message, hint=hint)

    def measure(
        self, name: str, value: Any, *, target: str, ok: object, hint: str | None = None
    ) -> Measurement:
        """Record a measured property; a measurement that misses its target fails the check."""
        measurement = Measurement(name=name, value=value, target=target, ok=bool(ok), hint=hint)
        self.measurements.append(measurement)
        return measurement

    def note(self, text: str) -> None:
        """An extra line on the result card."""
        self.notes.append(str(text))

    # ---- internals used by the runner ----------------------------------------------------------
    def grade(self) -> None:
        """Run the grade function on a fresh private loop (called on the worker thread)."""
        loop = asyncio.new_event_loop()
        self._tasks.install(loop)
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            if inspect.iscoroutinefunction(self.exercise.grade):
                self.run(self.exercise.grade(self, *self.answers))
            else:
                self.exercise.grade(self, *self.answers)
        finally:
            _close_loop(loop)
            asyncio.set_event_loop(None)

    def cancel_from_other_thread(self) -> None:
        """Cancel the task running on the private loop (wakes a loop blocked in ``sleep``)."""
        self._time_up = True
        self.answer_at_timeout = self.current_answer
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)

    def cleanup(self) -> None:
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self.release_learner_call()

    def release_learner_call(self) -> None:
        """End a learner call the time limit interrupted half-way (never leaves labkit thinking
        a learner call is still running)."""
        references_cm, self._references = self._references, None
        if references_cm is not None:
            with contextlib.suppress(Exception):
                references_cm.__exit__(None, None, None)
        self._depth = 0
        self._watch = None

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._loop.is_closed():
            raise RuntimeError("the grader's event loop is only available while the check runs")
        return self._loop

    # ---- whose code is it ----------------------------------------------------------------------
    def _is_learners(self, fn: object) -> bool:
        """True for the learner's answers, their methods and whatever their code defined or
        returned; False for labkit's own helpers (and Python's) that a grade function calls."""
        if id(fn) in self._names or id(fn) in self._produced:
            return True
        owner = getattr(fn, "__self__", None)
        if owner is not None and not isinstance(owner, ModuleType):
            if id(owner) in self._names or id(owner) in self._produced:
                return True
            if defined_by_learner(type(owner)):
                return True
        return defined_by_learner(fn)

    def _name_of(self, fn: object) -> str:
        name = self._names.get(id(fn))
        if name is not None:
            return name
        owner = getattr(fn, "__self__", None)  # a bound method of an answer object
        method = getattr(fn, "__name__", "method")
        if owner is not None:
            if id(owner) in self._names:
                return f"{self._names[id(owner)]}.{method}"
            if id(owner) in self._produced:
                return f"{type(owner).__name__}.{method}"
        return getattr(fn, "__name__", None) or type(fn).__name__

    def _prepare(self, fn: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        name = self._name_of(fn)
        if not self._is_learners(fn):
            return name  # labkit's own helper: its signature is the grade function's business
        if not callable(fn):
            raise NotYet(
                f"{name} should be a function, but it is {describe_value(fn)}. "
                f"Define it with `def {name}(...):`, run that cell, then check again."
            )
        return name

    def _signature_mismatch(
        self, name: str, fn: object, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> NotYet | None:
        """The message when calling ``fn`` this way cannot work (checked only after a
        TypeError raised by the call itself: binding a signature on every call is slow)."""
        if not callable(fn):
            return None
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError):  # some builtins have no signature
            return None
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            passed = ", ".join([describe_value(a) for a in args] + [f"{k}=…" for k in kwargs])
            return NotYet(
                f"Your {describe_callable(fn)} cannot be called the way this exercise calls it "
                f"({name}({passed})): {exc}. Keep the signature given in the notebook."
            )
        return None

    # ---- around every learner call -------------------------------------------------------------
    def _enter(self, background_ok: bool) -> None:
        self._depth += 1
        if self._depth == 1:
            self._baseline.catch_up(WATCH)  # modules the grade imported since the last call
            self._watch = CallWatch(
                snapshot=self._baseline,
                threads=thread_set(),
                tasks=self._tasks.mark(),
                tracing=tracemalloc.is_tracing(),
            )
            self._references = learner_call()
            self._found = self._references.__enter__()
        if background_ok and self._watch is not None:
            self._watch.background_ok = True

    def _exit(
        self,
        name: str,
        fn: object,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        failure: BaseException | None,
    ) -> BaseException | None:
        """After a learner call: put back what it patched, then the first reason it fails."""
        self._depth -= 1
        if self._depth > 0:
            return None if failure is None else self._failure(name, fn, args, kwargs, failure)
        watch, self._watch = self._watch, None
        references_cm, self._references = self._references, None
        found: list[str] = []
        changes: list[Change] = []
        try:
            if watch is not None and (failure is not None or self._compare_due()):
                changes = watch.snapshot.restore()
        finally:
            if references_cm is not None:
                references_cm.__exit__(None, None, None)
                found = self._found
        if self._is_time_up(failure):
            return failure
        if found and not self.allow_reference:
            return NotYet(reference_message(found[0]), used_reference=found[0])
        if changes:
            return InstrumentBlinded(blinded_message(changes))
        blinded = self._memory_problem(watch)
        if blinded is not None:
            return blinded
        if failure is not None:
            return self._failure(name, fn, args, kwargs, failure)
        if watch is not None and not watch.background_ok:
            threads = leftover_threads(watch.threads)
            if threads:
                return NotYet(thread_message(threads))
            tasks = still_running(self._tasks.pending_since(watch.tasks))
            if tasks:
                for task in tasks:  # never let them do their work during a later measurement
                    task.cancel()
                return NotYet(task_message(tasks))
        self._tasks.forget_done()
        return None

    def _compare_due(self) -> bool:
        """Compare the labkit snapshot after this call? Always, except within 2 ms of the last
        comparison: a check making thousands of quick calls (a cache's get/put) stays fast, and
        a patch is still found at the next comparison, and always at the end of the check."""
        now = time.monotonic()
        if now - self._last_compare < COMPARE_INTERVAL:
            return False
        self._last_compare = now
        return True

    def _memory_problem(self, watch: CallWatch | None) -> InstrumentBlinded | None:
        try:
            for memory in self._memory:
                memory.verify()
        except InstrumentBlinded as exc:
            return exc
        if watch is not None and watch.tracing and not tracemalloc.is_tracing():
            return InstrumentBlinded(
                "Not yet: your code stopped tracemalloc, which the check measures memory with. "
                "Leave memory tracing on; make the answer itself use less memory."
            )
        return None

    def _settle_sync(self) -> None:
        """Let tasks the answer cancelled just before returning finish cancelling."""
        loop = self._loop
        watch = self._watch
        if loop is None or watch is None or loop.is_running() or loop.is_closed():
            return
        for _ in range(3):
            pending = self._tasks.pending_since(watch.tasks)
            if not pending or still_running(pending):
                return
            loop.run_until_complete(asyncio.sleep(0))

    async def _settle_async(self) -> None:
        watch = self._watch
        if watch is None:
            return
        for _ in range(3):
            pending = self._tasks.pending_since(watch.tasks)
            if not pending or still_running(pending):
                return
            await asyncio.sleep(0)

    def _is_time_up(self, failure: BaseException | None) -> bool:
        if isinstance(failure, CheckTimeout):
            return True
        return isinstance(failure, asyncio.CancelledError) and self._time_up

    def _failure(
        self,
        name: str,
        fn: object,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        exc: BaseException,
    ) -> BaseException:
        """What a call that raised ``exc`` ends with: "not yet" about the learner's code, or
        the exception itself when it is the grader's (an internal error)."""
        if self._is_time_up(exc) or isinstance(exc, NotYet | InstrumentBlinded):
            return exc  # the time limit, or a verdict raised by grader code the answer called
        if self._is_learners(fn):
            if isinstance(exc, TypeError) and _raised_by_the_call(exc):
                mismatch = self._signature_mismatch(name, fn, args, kwargs)
                if mismatch is not None:
                    return mismatch
            if isinstance(exc, NotImplementedError) and id(fn) in self._names:
                return NotYet(
                    f"{name} is not written yet: replace `raise NotImplementedError()` with your "
                    "code, run the cell, then check again.",
                    unwritten=True,
                )
            return self._learner_raised(name, exc)
        if raised_in_learner_code(exc):
            return self._learner_raised("code", exc)
        if isinstance(exc, Exception) and self._involves_learner(args, kwargs):
            return NotYet(
                f"Not yet: the check's helper {name} could not use what your code gave it "
                f"({type(exc).__name__}: {exc}). Check the shape the exercise asks for."
            )
        return exc

    def _learner_raised(self, name: str, exc: BaseException) -> NotYet:
        error = describe_exception(name, exc)
        message = error.summary()
        if isinstance(exc, SystemExit):
            message += ": sys.exit()/exit() ends the whole program; return a value instead."
        elif isinstance(exc, KeyboardInterrupt):
            message += ": raise an ordinary exception (or return) instead."
        elif isinstance(exc, asyncio.CancelledError):
            message += ": it awaited a task that was cancelled."
        return NotYet(message, learner_error=error)

    # ---- values the learner's code produced ----------------------------------------------------
    def _checked_value(self, name: str, fn: object, value: Any) -> Any:
        if inspect.iscoroutine(value):
            inner = getattr(value, "__qualname__", "a coroutine")
            value.close()  # never awaited: close it so Python does not warn about it later
            raise NotYet(
                f"Your {name} returned the coroutine {inner}() instead of its result: "
                f"an `await` is missing (write `return await {inner}(...)`)."
            )
        if isinstance(value, (list, tuple)) and any(inspect.iscoroutine(v) for v in value):
            for item in value:
                if inspect.iscoroutine(item):
                    item.close()
            raise NotYet(
                f"Your {name} returned a {type(value).__name__} of coroutines that were never "
                "awaited: await them, e.g. `await asyncio.gather(*coroutines)`."
            )
        if self._is_learners(fn):
            self._remember(name, value)
        return value

    def _remember(self, name: str, value: Any) -> None:
        if _trivial(value):
            return
        self._produced[id(value)] = (name, value)
        if len(self._produced) > KEEP_PRODUCED:
            del self._produced[next(iter(self._produced))]
        if inspect.isgenerator(value) or inspect.isasyncgen(value):
            self._generators.append((name, value))
            del self._generators[:-KEEP_PRODUCED]

    def _producer(self, value: object) -> str | None:
        """The name of the learner call that returned ``value`` (None if none did lately)."""
        entry = self._produced.get(id(value))
        if entry is None or entry[1] is not value:
            return None
        return entry[0]

    def _involves_learner(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        return any(
            id(v) in self._names or self._producer(v) is not None or defined_by_learner(type(v))
            for v in (*args, *kwargs.values())
        )

    def blame_learner_value(self, exc: BaseException) -> NotYet | None:
        """ "Not yet" when grader code failed reading a value the learner's code produced (a
        generator yielding the wrong shape, a missing key or attribute); None for a grader bug."""
        if not isinstance(exc, _CONSUMING_ERRORS):
            return None
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, AttributeError):
            owner = getattr(exc, "obj", None)
            whose = self._whose(owner) if owner is not None else None
            if whose is not None:
                return NotYet(
                    f"Not yet: {whose} has no attribute {exc.name!r}, which the check uses. "
                    "Give it the shape the exercise asks for."
                )
        for name, generator in self._generators:
            if _suspended(generator):
                return NotYet(
                    f"Not yet: the check could not use a value your {name} yielded ({detail}). "
                    "Yield the shape the exercise asks for."
                )
        for value in _values_on_failing_line(exc):
            producer = self._producer(value)
            if producer is not None:
                return NotYet(
                    f"Not yet: the check could not use what your {producer} returned ({detail}). "
                    "Return the shape the exercise asks for."
                )
        return None

    def _whose(self, value: object) -> str | None:
        if id(value) in self._names:
            return f"your {self._names[id(value)]}"
        producer = self._producer(value)
        if producer is not None:
            return f"{with_article(type(value).__name__)} your {producer} returned"
        if defined_by_learner(type(value)):
            return f"your {type(value).__name__}"
        return None


def _raised_by_the_call(exc: BaseException) -> bool:
    """The exception came from calling (binding the arguments), not from inside the function."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return tb is None


class _GraderMisuse(Exception):
    pass


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _discard(awaitable: object) -> None:
    close = getattr(awaitable, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):
            close()


def _trivial(value: object) -> bool:
    """Values shared by everyone (None, small ints, short strings): never "the learner's"."""
    if value is None or isinstance(value, bool | float | complex):
        return True
    if isinstance(value, int):
        return -5 <= value <= 256
    if isinstance(value, str | bytes | tuple | frozenset):
        return len(value) <= 1
    return False


def _suspended(generator: Any) -> bool:
    """A generator (or async generator) started and paused: the grader is consuming it."""
    frame = getattr(generator, "gi_frame", None) or getattr(generator, "ag_frame", None)
    if frame is None:
        return False
    running = getattr(generator, "gi_running", False) or getattr(generator, "ag_running", False)
    return not running and frame.f_lasti >= 0


def _values_on_failing_line(exc: BaseException, frames: int = 3) -> list[Any]:
    """The variables read on the failing line of the innermost few frames of ``exc`` (a list
    comprehension's own frame, then the line that ran it)."""
    entries = []
    tb = exc.__traceback__
    while tb is not None:
        entries.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    values: list[Any] = []
    for frame, line in reversed(entries[-frames:]):
        values += _line_values(frame, line)
    return values


def _line_values(frame: FrameType, line: int) -> list[Any]:
    try:
        instructions = list(dis.get_instructions(frame.f_code))
    except Exception:
        return []
    values: list[Any] = []
    current_line = None
    for instruction in instructions:
        if instruction.starts_line is not None:
            current_line = instruction.starts_line
        if current_line != line or not isinstance(instruction.argval, str):
            continue
        if instruction.opname in ("LOAD_FAST", "LOAD_DEREF", "LOAD_NAME", "LOAD_CLOSURE"):
            value = frame.f_locals.get(instruction.argval, _MISSING)
        elif instruction.opname == "LOAD_GLOBAL":
            value = frame.f_globals.get(instruction.argval, _MISSING)
        else:
            continue
        if value is not _MISSING:
            values.append(value)
    return values


_MISSING = object()


def defined_by_learner(obj: object) -> bool:
    """True when ``obj`` (a function, method, partial, class or callable object) was written by
    the learner: its code lives in a notebook cell or a file outside labkit and Python."""
    for _ in range(5):
        if isinstance(obj, functools.partial):
            obj = obj.func
        elif inspect.ismethod(obj):
            obj = obj.__func__
        else:
            break
    if inspect.isfunction(obj):
        return is_learner_file(obj.__code__.co_filename)
    if inspect.isclass(obj):
        if obj.__module__ == "builtins":
            return False
        module = sys.modules.get(obj.__module__)
        filename = getattr(module, "__file__", None)
        return filename is None or is_learner_file(filename)
    return False


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what the learner left running, then close the private loop quietly."""
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    except BaseException:  # a timed-out check may be interrupted here; the loop is dropped anyway
        pass
    finally:
        loop.close()


__all__ = ["Grader", "NotYet", "defined_by_learner", "reference_message"]
