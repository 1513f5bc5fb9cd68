"""The report's choices, light enough for the command line to list."""

from __future__ import annotations

from typing import Final

PRIORITIES: Final = ("low", "medium", "high", "critical")
"""How urgent the report's next steps are."""

__all__ = ["PRIORITIES"]
