"""Errors meant for a person: each carries a one-line message and is shown without a traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigurationError",
    "DatabaseError",
    "DatasetError",
    "GradingError",
    "InstrumentBlinded",
    "LabkitError",
    "LoadError",
    "MeasurementError",
    "OutputError",
    "ReportError",
    "ServerError",
    "close_matches",
    "quoted_choices",
]


class LabkitError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class DatasetError(LabkitError):
    """A dataset cannot be built, found or read (unknown size, bad seed, corrupt file...)."""


class DatabaseError(LabkitError):
    """A database helper was misused (closed connection, pool exhausted, bad statement...)."""


class MeasurementError(LabkitError):
    """A timing run or profiler cannot give a trustworthy answer here."""


class GradingError(LabkitError):
    """A check cannot run as asked (unknown exercise id, wrong number of answers...)."""


class ConfigurationError(LabkitError):
    """A setting names something that does not exist or is out of range (an unknown
    optimisation or runtime, a port or worker count out of bounds...)."""


class ServerError(LabkitError):
    """The lab API server could not be started, reached or stopped."""


class LoadError(LabkitError):
    """A load test cannot run as asked (unreachable URL, bad profile or rate...)."""


class ReportError(LabkitError):
    """An optimisation report cannot be built as asked (bad claims, notes or priority, runs
    that cannot be compared...)."""


class OutputError(LabkitError):
    """An output path that cannot be written (a folder, a missing or read-only place...)."""


class InstrumentBlinded(GradingError):
    """The answer switched off, replaced or reset what a check measures with (a trace hook, a
    counter, memory tracing): the check cannot trust its count and says "not yet"."""


def quoted_choices(names: Iterable[str]) -> str:
    """``'a', 'b' or 'c'``: names as a message offers them."""
    quoted = [repr(name) for name in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def close_matches(word: str, choices: Iterable[str]) -> list[str]:
    """The choices a typo of ``word`` most likely meant (at most three, best first)."""
    return difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
