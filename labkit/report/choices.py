"""The report's and ``labkit optimize``'s choices, light enough for the command line to list."""

from __future__ import annotations

from typing import Final

from labkit.app.toggles import OPTIMIZATIONS

PRIORITIES: Final = ("low", "medium", "high", "critical")
"""How urgent the report's next steps are."""

TARGETS: Final[dict[str, tuple[str, ...]]] = {
    "algorithms": ("eager_loading", "indexes", "keyset"),
    "api": ("eager_loading", "indexes", "keyset", "fast_json", "compression", "streaming"),
    "caching": ("cache", "dedupe"),
    "concurrency": ("dedupe", "streaming", "rate_limit"),
    "all": OPTIMIZATIONS,
}
"""``labkit optimize --target``: the optimisations each target switches on, in order."""

__all__ = ["PRIORITIES", "TARGETS"]
