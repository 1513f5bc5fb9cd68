"""The optimisation toggles of the lab API and how a learner names them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from labkit.display import TextView
from labkit.errors import ConfigurationError, close_matches, quoted_choices

OPTIMIZATIONS: Final = (
    "eager_loading",
    "cache",
    "dedupe",
    "compression",
    "keyset",
    "fast_json",
    "streaming",
    "rate_limit",
    "indexes",
)

# What each toggle does, for `labkit serve --help`, the report and notebook tables.
DESCRIPTIONS: Final[dict[str, str]] = {
    "eager_loading": "feed loads authors and comment counts in one query instead of 1 + 2N",
    "cache": "product and feed responses cached in-process (L1) and in a shared store (L2)",
    "dedupe": "concurrent identical cache misses share one database load (single flight)",
    "compression": "gzip/brotli for responses over 1 KB unless the client opts out",
    "keyset": "post cursors point at the last row seen instead of an OFFSET",
    "fast_json": "responses serialised with orjson instead of the standard encoder",
    "streaming": "exports streamed in keyset batches instead of built whole in memory",
    "rate_limit": "search limited per user tier / client address (429 + Retry-After)",
    "indexes": "the lessons' indexes created on the app's copy of the dataset",
}


@dataclass(frozen=True, repr=False)
class Toggles(TextView):
    """Which optimisations are on. ``Toggles.parse("all")`` turns every one on."""

    enabled: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, optimize: str | Iterable[str] | Toggles | None) -> Toggles:
        """Accept "none", "all", "cache,indexes", or any iterable of toggle names."""
        if isinstance(optimize, Toggles):
            return optimize
        if optimize is None:
            return cls()
        if isinstance(optimize, str):
            text = optimize.strip()
            if text in ("", "none"):
                return cls()
            if text == "all":
                return cls(frozenset(OPTIMIZATIONS))
            names: list[str] = [part.strip() for part in text.split(",") if part.strip()]
        else:
            names = [str(name).strip() for name in optimize]
        if "all" in names:
            return cls(frozenset(OPTIMIZATIONS))
        unknown = sorted(set(names) - set(OPTIMIZATIONS) - {"none"})
        if unknown:
            raise ConfigurationError(
                f"unknown optimisation {', '.join(_with_close_matches(n) for n in unknown)}; "
                f"choose from: {', '.join(OPTIMIZATIONS)} (or 'none' / 'all')"
            )
        return cls(frozenset(name for name in names if name != "none"))

    def __contains__(self, name: object) -> bool:
        return name in self.enabled

    @property
    def label(self) -> str:
        """Short text for tables and the report: "none", "all" or the names in canonical order."""
        if not self.enabled:
            return "none"
        if self.enabled == frozenset(OPTIMIZATIONS):
            return "all"
        return ",".join(name for name in OPTIMIZATIONS if name in self.enabled)

    def __str__(self) -> str:
        return self.label


def _with_close_matches(name: str) -> str:
    close = close_matches(name, OPTIMIZATIONS)
    return f"{name} (did you mean {quoted_choices(close)}?)" if close else name
