"""CPU profiling with pyinstrument (a sampling profiler): sync and async code.

For async code, profile inside the kernel's own loop (``async with cpu_profile():`` with the
``await`` inside). pyinstrument's IPython magic with ``async_mode`` runs the cell on another
thread with a new loop, which breaks objects bound to the kernel's loop, e.g. an aiosqlite
connection (see pyinstrument/magic/magic.py, ``run_cell_async``; ipython #11314).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any, Literal

from labkit.errors import MeasurementError
from labkit.profilers.base import ProfileResult, Profiling

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from pyinstrument.frame import Frame

AsyncMode = Literal["enabled", "disabled", "strict"]

# Frames that belong to IPython, the kernel or labkit's own plumbing, not to the learner's code
# (the same list pyinstrument's own magic strips, plus ours).
HIDDEN_FILES = (
    "IPython/core/interactiveshell.py",
    "IPython/terminal/interactiveshell.py",
    "IPython/core/async_helpers.py",
    "IPython/terminal/ipapp.py",
    "traitlets/config/application.py",
    "ipykernel/",
    "labkit/profilers/",
    "labkit/magics/",
)


def _hidden(frame: Frame) -> bool:
    path = (frame.file_path or "").replace("\\", "/")
    return any(part in path for part in HIDDEN_FILES)


def strip_hidden_frames(frame: Frame | None, options: Any) -> Frame | None:
    """pyinstrument processor: drop IPython/kernel/labkit frames, keeping their children."""
    from pyinstrument.frame_ops import delete_frame_from_tree

    if frame is None:
        return None
    for child in list(frame.children):
        strip_hidden_frames(child, options)
        if _hidden(child):
            delete_frame_from_tree(child, replace_with="children")
    return frame


def _aggregate(root: Frame | None) -> list[dict[str, Any]]:
    """Self and total time per function (recursion counted once in ``total``)."""
    totals: dict[tuple[str, str, int], dict[str, Any]] = {}

    def visit(frame: Frame, ancestors: frozenset[tuple[str, str, int]]) -> None:
        if frame.is_synthetic:
            return
        key = (frame.function, frame.file_path_short or "", frame.line_no or 0)
        row = totals.setdefault(
            key, {"function": key[0], "location": f"{key[1]}:{key[2]}", "self_s": 0.0,
                  "total_s": 0.0, "hidden": _hidden(frame)},
        )  # fmt: skip
        row["self_s"] += frame.total_self_time
        if key not in ancestors:
            row["total_s"] += frame.time
        for child in frame.children:
            visit(child, ancestors | {key})

    if root is not None:
        visit(root, frozenset())
    return [r for r in totals.values() if not r.pop("hidden")]


@dataclass(frozen=True, repr=False)
class CpuProfile(ProfileResult):
    """pyinstrument's call tree as text and HTML, plus the top functions as rows."""

    text_report: str = ""
    html: str = ""
    functions: list[dict[str, Any]] = field(default_factory=list)
    samples: int = 0
    interval: float = 0.001

    kind = "cpu"

    @property
    def text(self) -> str:
        return self.text_report

    def to_frame(self, top: int = 20) -> pd.DataFrame:
        """Functions by self time: function, location, self_s, total_s, self_%, total_%."""
        import pandas as pd

        columns = ["function", "location", "self_s", "total_s", "self_%", "total_%"]
        frame = pd.DataFrame(self.functions, columns=columns[:4])
        total = self.seconds if self.seconds > 0 else float("nan")
        frame["self_%"] = 100 * frame["self_s"] / total
        frame["total_%"] = 100 * frame["total_s"] / total
        frame = frame.sort_values(["self_s", "total_s"], ascending=False, kind="stable")
        return frame.head(top).reset_index(drop=True)[columns]

    def iframe(self, height: int = 420) -> str:
        # pyinstrument 5's HTML does not render when inserted into the notebook page directly
        # (pyinstrument #369): show it in an iframe through srcdoc, as its own magic does.
        return (
            f'<iframe srcdoc="{escape(self.html)}" width="100%" height="{height}" '
            'style="resize: vertical; border: 1px solid #ddd" frameborder="0"></iframe>'
        )

    def _repr_html_(self) -> str:
        return self.notes_html() + self.iframe()


class cpu_profile(Profiling[CpuProfile]):
    """Sample the call stack every ``interval`` seconds while the block runs.

    >>> with cpu_profile() as prof:                       # doctest: +SKIP
    ...     slow_report()
    >>> prof.result.to_frame().head()                      # doctest: +SKIP

    In async code use ``async with cpu_profile() as prof:`` in the running loop; with
    ``async_mode="enabled"`` (default) time spent awaiting shows as ``[await]``.
    """

    def __init__(
        self, interval: float = 0.001, async_mode: AsyncMode = "enabled", show_all: bool = False
    ) -> None:
        super().__init__()
        if not interval > 0:
            raise MeasurementError(f"interval must be > 0 seconds, got {interval!r}")
        self.interval = interval
        self.async_mode = async_mode
        self.show_all = show_all
        self._profiler: Any = None
        self._started = 0.0

    def _start(self) -> None:
        try:
            from pyinstrument import Profiler
        except ImportError:  # pragma: no cover - a dependency of labkit
            raise MeasurementError(
                "pyinstrument is not installed here: `pip install pyinstrument`"
            ) from None
        self._profiler = Profiler(interval=self.interval, async_mode=self.async_mode)
        try:
            self._profiler.start()
        except RuntimeError as exc:  # "There is already a profiler running..."
            raise MeasurementError(f"cannot start the CPU profiler here: {exc}") from None
        self._started = time.perf_counter()

    def _stop(self) -> CpuProfile:
        from pyinstrument import renderers

        session = self._profiler.stop()
        wall = time.perf_counter() - self._started
        console = renderers.ConsoleRenderer(unicode=True, color=False, show_all=self.show_all)
        console.processors.append(strip_hidden_frames)
        html = renderers.HTMLRenderer(show_all=self.show_all)
        html.preprocessors.append(strip_hidden_frames)
        notes = []
        if session.sample_count == 0:
            notes.append(
                f"no samples: the code ran for less than the sampling interval "
                f"({self.interval * 1000:g} ms); profile a longer run or a loop"
            )
        elif session.sample_count < 20:
            notes.append(
                f"only {session.sample_count} samples: figures are rough; profile a longer run"
            )
        return CpuProfile(
            backend="pyinstrument",
            seconds=session.duration or wall,
            text_report=console.render(session),
            html=html.render(session),
            functions=_aggregate(session.root_frame()),
            samples=session.sample_count,
            interval=self.interval,
            notes=notes,
        )
