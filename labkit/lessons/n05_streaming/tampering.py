"""An answer that blinds an instrument gets "not yet" with the reason, from this lesson's own
grade functions, whatever the grading core does with ``InstrumentBlinded``."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from labkit.errors import InstrumentBlinded
from labkit.grading.grader import NotYet

F = TypeVar("F", bound=Callable[..., Awaitable[None]])


def blinding_is_not_yet(grade: F) -> F:
    """Wrap an async grade function: ``InstrumentBlinded`` ends it as a "not yet"."""

    @functools.wraps(grade)
    async def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            await grade(*args, **kwargs)
        except InstrumentBlinded as exc:
            raise NotYet(str(exc)) from None

    return wrapper  # type: ignore[return-value]
