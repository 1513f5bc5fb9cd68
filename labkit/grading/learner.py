"""Describe the learner's code and its exceptions in their terms: their frames, their lines.

A frame belongs to the learner when its file is neither part of labkit nor of Python and its
installed packages; notebook cells (``/tmp/ipykernel_*/123.py``, ``<ipython-input-...>``) are
shown as "cell line N".
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import linecache
import os
import re
import sys
import sysconfig
import traceback
from pathlib import Path
from types import TracebackType

from labkit.grading.result import LearnerError

_LABKIT_DIR = str(Path(__file__).resolve().parent.parent) + os.sep
_CELL_FILE = re.compile(r"(ipykernel_\d+[\\/]\d+\.py$)|(^<ipython-input-)")


def _library_dirs() -> tuple[str, ...]:
    dirs = {_LABKIT_DIR}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError, OSError):
            dirs.add(str(Path(sysconfig.get_paths()[key]).resolve()) + os.sep)
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        dirs.add(str(Path(prefix).resolve() / "lib") + os.sep)
    return tuple(sorted(dirs))


_LIBRARY_DIRS = _library_dirs()


@functools.lru_cache(maxsize=4096)
def is_learner_file(filename: str) -> bool:
    """True for a notebook cell or a file the learner wrote; False for labkit, Python, packages."""
    if _CELL_FILE.search(filename):
        return True
    if filename.startswith("<"):  # <frozen ...>, <string>
        return False
    try:
        resolved = str(Path(filename).resolve())
    except OSError:
        resolved = filename
    return not resolved.startswith(_LIBRARY_DIRS)


def is_cell_file(filename: str) -> bool:
    """True for the file of a notebook cell."""
    return bool(_CELL_FILE.search(filename))


def describe_location(filename: str, lineno: int) -> str:
    if _CELL_FILE.search(filename):
        return f"cell line {lineno}"
    return f"{Path(filename).name} line {lineno}"


def learner_frames(
    tb: TracebackType | None, exclude: tuple[str, ...] = ()
) -> list[traceback.FrameSummary]:
    """The learner's frames, outermost first; a line shown twice in a row (a comprehension
    inside its function) is shown once."""
    frames: list[traceback.FrameSummary] = []
    for frame in traceback.extract_tb(tb):
        if not is_learner_file(frame.filename) or frame.filename in exclude:
            continue
        if frames and (frames[-1].filename, frames[-1].lineno) == (frame.filename, frame.lineno):
            continue
        frames.append(frame)
    return frames


def describe_exception(answer: str, exc: BaseException) -> LearnerError:
    """The learner's exception as they would want to read it (no grader frames)."""
    frames = learner_frames(exc.__traceback__)
    shown: list[str] = []
    for frame in frames:
        text = f"{describe_location(frame.filename, frame.lineno or 0)}, in {frame.name}"
        line = _source_line(frame)
        shown.append(f"{text}: {line}" if line else text)
    last = frames[-1] if frames else None
    return LearnerError(
        answer=answer,
        type_name=type(exc).__name__,
        message=_exception_message(exc),
        location=None if last is None else describe_location(last.filename, last.lineno or 0),
        source_line=None if last is None else _source_line(last),
        frames=tuple(shown),
    )


def raised_in_learner_code(exc: BaseException, grader_files: tuple[str, ...] = ()) -> bool:
    """True when the traceback passes through the learner's code (not only the grader's)."""
    return bool(learner_frames(exc.__traceback__, exclude=grader_files))


def _source_line(frame: traceback.FrameSummary) -> str | None:
    line = frame.line or linecache.getline(frame.filename, frame.lineno or 0).strip()
    if not line:
        return None
    return line if len(line) <= 80 else line[:77] + "..."


def _exception_message(exc: BaseException) -> str:
    # KeyError('id') prints as 'id' with quotes, which is what a learner expects to see.
    text = str(exc) if not isinstance(exc, KeyError) else repr(exc.args[0]) if exc.args else ""
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def describe_callable(fn: object) -> str:
    """``users_with_posts(db, user_ids)`` — for messages about the learner's signature."""
    name = getattr(fn, "__name__", type(fn).__name__)
    try:
        return f"{name}{inspect.signature(fn)}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return f"{name}(...)"


_SOUNDS_LIKE_YOU = ("uni", "use", "usu", "uti", "uu", "eu")


def with_article(word: str) -> str:
    """``an int``, ``a dict``, ``an OrderedDict``, ``a UUID`` — the article English uses."""
    lower = word.lower()
    vowel = lower[:1] in ("a", "e", "i", "o", "u") and not lower.startswith(_SOUNDS_LIKE_YOU)
    if word[:2].isupper():  # an acronym, read letter by letter: "an SQL", "a URL"
        vowel = word[:1] in "AEFHILMNORSX"
    return f"{'an' if vowel else 'a'} {word}"


def plural(count: int, noun: str) -> str:
    """``1 item``, ``3 items``, ``1,000 items``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def describe_value(value: object) -> str:
    """``an int (5)``, ``a list of 3 items`` — for messages about the kind of an answer."""
    kind = type(value).__name__
    if value is None:
        return "None"
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        try:
            size = len(value)
        except Exception:  # a learner subclass with a broken __len__
            return with_article(kind)
        return f"{with_article(kind)} of {plural(size, 'item')}"
    try:
        text = repr(value)
    except Exception:  # a learner object whose __repr__ raises
        return with_article(kind)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{with_article(kind)} ({text})"
