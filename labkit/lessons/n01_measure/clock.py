"""The lesson's clock is the library's: ``labkit.clock.ManualClock``."""

from __future__ import annotations

from labkit.clock import ManualClock

__all__ = ["ManualClock"]
