"""What every profiler backend shares: the result base class and the context-manager plumbing.

Each backend (``cpu``, ``lines``, ``memory``) is a :class:`Profiling` subclass usable as
``with backend(...) as prof:``, ``async with``, ``backend.run(fn, *args)`` / ``await
backend.arun(coro_fn, *args)`` (returning ``(value, result)``) and as a decorator.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from labkit.display import TableView, TextView
from labkit.errors import MeasurementError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

R = TypeVar("R", bound="ProfileResult")


@dataclass(frozen=True, repr=False)
class ProfileResult(TextView):
    """Common shape: the backend that ran, how long the profiled code took, notes for the reader."""

    backend: str
    seconds: float
    notes: list[str] = field(default_factory=list, kw_only=True)

    kind = "profile"

    def to_frame(self, top: int = 20) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def text(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def __str__(self) -> str:
        return "\n".join([self.text, *(f"note: {n}" for n in self.notes)])

    def notes_html(self) -> str:
        return "".join(f"<div style='color:#a15c00'>ⓘ {escape(n)}</div>" for n in self.notes)

    def table(self, top: int = 10) -> TableView:
        """The ``top`` rows of ``to_frame``, shown with times in µs/ms/s and shares rounded."""
        return TableView(self.to_frame(top), index=False)

    def _repr_html_(self) -> str:
        table = self.table(20)._repr_html_()
        return f"{self.notes_html()}<div>{escape(self.title())}</div>{table}"

    def title(self) -> str:
        return f"{self.kind} profile ({self.backend})"


def _default_instance(method_name: str) -> Any:
    """Let ``cpu_profile.run(fn)`` work on the class (default options) and on an instance."""

    class Hybrid:
        def __get__(self, obj: Any, owner: type) -> Callable[..., Any]:
            instance = obj if obj is not None else owner()
            bound: Callable[..., Any] = getattr(instance, method_name)
            return bound

    return Hybrid()


class Profiling(Generic[R]):
    """Start on enter, stop on exit; ``.result`` holds the backend's result afterwards."""

    def __init__(self) -> None:
        self._result: R | None = None
        self._running = False

    # --- backend hooks -----------------------------------------------------------------------
    def _start(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _stop(self) -> R:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- plumbing ----------------------------------------------------------------------------
    @property
    def result(self) -> R:
        if self._result is None:
            raise MeasurementError(
                "no profile yet: the result is ready when the `with` block (or call) ends"
            )
        return self._result

    def __enter__(self) -> Profiling[R]:
        if self._running:
            raise MeasurementError("this profiler is already running; create a new one to nest")
        self._start()
        self._running = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._running = False
        self._result = self._stop()

    async def __aenter__(self) -> Profiling[R]:
        return self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.__exit__(*exc_info)

    def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, R]:
        if inspect.iscoroutinefunction(fn):
            raise MeasurementError(
                f"{getattr(fn, '__name__', 'fn')} is async: use `await {type(self).__name__}"
                ".arun(fn, ...)`"
            )
        with self:
            value = fn(*args, **kwargs)
        return value, self.result

    async def _arun(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, R]:
        async with self:
            value = await fn(*args, **kwargs)
        return value, self.result

    #: ``value, result = backend.run(fn, *args, **kwargs)``
    run = _default_instance("_run")
    #: ``value, result = await backend.arun(coro_fn, *args, **kwargs)``
    arun = _default_instance("_arun")

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator: profile every call of ``fn``; the latest profile is on ``.result``."""
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with self:
                    return await fn(*args, **kwargs)

            async_wrapper.profiler = self  # type: ignore[attr-defined]
            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        wrapper.profiler = self  # type: ignore[attr-defined]
        return wrapper
