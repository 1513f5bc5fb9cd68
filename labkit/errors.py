"""Errors meant for a person: each carries a one-line message and is shown without a traceback."""

from __future__ import annotations


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


class ServerError(LabkitError):
    """The lab API server could not be started, reached or stopped."""


class LoadError(LabkitError):
    """A load test cannot run as asked (unreachable URL, bad profile or rate...)."""


class InstrumentBlinded(GradingError):
    """The answer switched off, replaced or reset what a check measures with (a trace hook, a
    counter, memory tracing): the check cannot trust its count and says "not yet"."""
