"""``Grader``: what a grade function uses to call the learner's code and state its verdict.

Every learner call goes through ``g.call``/``g.acall`` so that a mistake in their code (not
callable, wrong signature, a missing ``await``, an exception) ends the check with a message
about *their* code, never with a grader traceback.
"""

from __future__ import annotations

import asyncio
import inspect
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from labkit.grading.compare import first_difference
from labkit.grading.learner import describe_callable, describe_exception, describe_value
from labkit.grading.registry import Exercise
from labkit.grading.result import LearnerError, Measurement
from labkit.grading.runner import ExcludedTime

T = TypeVar("T")


class NotYet(Exception):
    """Ends a check with the verdict "not yet" (raised by ``expect*`` and learner-call helpers)."""

    def __init__(
        self, message: str, *, hint: str | None = None, learner_error: LearnerError | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.learner_error = learner_error


class Grader:
    """Handed to a grade function as ``g``; one per check."""

    def __init__(self, exercise: Exercise, answers: tuple[Any, ...], seed: int) -> None:
        self.exercise = exercise
        self.answers = answers
        self.seed = seed
        self.measurements: list[Measurement] = []
        self.notes: list[str] = []
        self.current_answer: str | None = None  # the learner answer running right now
        self.answer_at_timeout: str | None = None
        self._names = {
            id(value): name for name, value in zip(exercise.answers, answers, strict=False)
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Future[Any] | None = None
        self._workdir: Path | None = None
        self.excluded = ExcludedTime()

    # ---- data ----------------------------------------------------------------------------------
    def dataset(self, size: str = "tiny") -> Path:
        """A fresh isolated copy of the seeded dataset for ``g.seed``; deleted after the check."""
        from labkit.data import fresh_copy  # type: ignore[attr-defined,unused-ignore]

        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="labkit-check-"))
        dest = self._workdir / f"{size}-seed{self.seed}-{len(list(self._workdir.iterdir()))}.sqlite"
        # Building the dataset on first use is labkit's work, not the learner's: it does not
        # count against the check's time limit.
        with self.excluded.pause():
            return Path(fresh_copy(size=size, seed=self.seed, dest=dest))

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

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call the learner's function (sync or async) and return its value."""
        name = self._prepare(fn, args, kwargs)
        previous, self.current_answer = self.current_answer, name
        try:
            try:
                result = fn(*args, **kwargs)
            except (Exception, SystemExit) as exc:
                raise self._learner_failure(name, exc) from None
            if inspect.isawaitable(result):
                result = self.run(self._await_learner(name, result))
            return self._checked_value(name, result)
        finally:
            self.current_answer = previous

    async def acall(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``await g.acall(fn, ...)``: the same as ``call`` inside grader async code."""
        name = self._prepare(fn, args, kwargs)
        previous, self.current_answer = self.current_answer, name
        try:
            try:
                result = fn(*args, **kwargs)
            except (Exception, SystemExit) as exc:
                raise self._learner_failure(name, exc) from None
            if inspect.isawaitable(result):
                result = await self._await_learner(name, result)
            return self._checked_value(name, result)
        finally:
            self.current_answer = previous

    # ---- verdicts ------------------------------------------------------------------------------
    def expect_equal(self, got: Any, expected: Any, *, what: str, hint: str | None = None) -> None:
        """End the check "not yet" with the first difference unless ``got`` matches ``expected``."""
        difference = first_difference(got, expected)
        if difference is not None:
            raise NotYet(f"{what}: {difference}", hint=hint)

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
        self.answer_at_timeout = self.current_answer
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)

    def cleanup(self) -> None:
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._loop.is_closed():
            raise RuntimeError("the grader's event loop is only available while the check runs")
        return self._loop

    def _name_of(self, fn: object) -> str:
        name = self._names.get(id(fn))
        if name is not None:
            return name
        owner = getattr(fn, "__self__", None)  # a bound method of an answer object
        if owner is not None and id(owner) in self._names:
            return f"{self._names[id(owner)]}.{getattr(fn, '__name__', 'method')}"
        return getattr(fn, "__name__", None) or "answer"

    def _prepare(self, fn: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        name = self._name_of(fn)
        if not callable(fn):
            raise NotYet(
                f"{name} should be a function, but it is {describe_value(fn)}. "
                f"Define it with `def {name}(...):`, run that cell, then check again."
            )
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError):  # some builtins have no signature: just call them
            return name
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            passed = ", ".join([describe_value(a) for a in args] + [f"{k}=…" for k in kwargs])
            raise NotYet(
                f"Your {describe_callable(fn)} cannot be called the way this exercise calls it "
                f"({name}({passed})): {exc}. Keep the signature given in the notebook."
            ) from None
        return name

    async def _await_learner(self, name: str, awaitable: Awaitable[Any]) -> Any:
        try:
            return await awaitable
        except (Exception, SystemExit) as exc:
            raise self._learner_failure(name, exc) from None

    def _checked_value(self, name: str, value: Any) -> Any:
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
        return value

    def _learner_failure(self, name: str, exc: BaseException) -> NotYet:
        if isinstance(exc, NotImplementedError):
            return NotYet(
                f"{name} is not written yet: replace `raise NotImplementedError()` with your code, "
                "run the cell, then check again."
            )
        error = describe_exception(name, exc)
        return NotYet(error.summary(), learner_error=error)


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


__all__ = ["Grader", "NotYet"]
