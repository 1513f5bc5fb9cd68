"""labkit: a Jupyter lab for backend performance.

The top level stays light: the names below are imported on first use, so ``import labkit``
costs almost nothing and IPython is needed only by ``%load_ext labkit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labkit.lazy import lazy_attribute

if TYPE_CHECKING:  # pragma: no cover
    from IPython.core.interactiveshell import InteractiveShell

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "check": "labkit.grading",
    "calibration": "labkit.predictions",
    "check_all": "labkit.grading",
    "prediction": "labkit.predictions",
    "progress": "labkit.grading",
    "request_timing": "labkit.load",
}

__all__ = [
    "__version__",
    "calibration",
    "check",
    "check_all",
    "load_ipython_extension",
    "prediction",
    "progress",
    "request_timing",
]


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext labkit``: register the measurement magics, and show figures with alt text
    (IPython is imported only here)."""
    from labkit.display import show_figures_with_alt_text
    from labkit.magics import load_ipython_extension as _load

    _load(ipython)
    show_figures_with_alt_text(ipython)
