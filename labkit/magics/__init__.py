"""IPython magics for ``%load_ext labkit``: ``%bench``, ``%%bench``, ``%%profile``, ``%%queries``.

IPython is imported only here. One module per magic family (:mod:`.bench`, :mod:`.profile`,
:mod:`.queries`), what they share in :mod:`.cells`, and in :mod:`.rewrite` the input
transformer that sends cells which ``await`` to the families' async twins.
"""

from __future__ import annotations

import sys
from typing import Any

from IPython.core.interactiveshell import InteractiveShell

from labkit.errors import LabkitError
from labkit.magics.bench import BenchMagics
from labkit.magics.cells import has_top_level_await, say_error
from labkit.magics.profile import ProfileMagics
from labkit.magics.queries import QueryMagics, QueryReport
from labkit.magics.rewrite import rewrite_awaiting_cells, run_async_cell

# What the extension registers and the names its rewritten cells call; the families' shared
# machinery stays in .cells.
__all__ = [
    "BenchMagics",
    "ProfileMagics",
    "QueryMagics",
    "QueryReport",
    "has_top_level_await",
    "load_ipython_extension",
    "rewrite_awaiting_cells",
    "run_async_cell",
]


def _show_labkit_error(
    shell: InteractiveShell, etype: type, value: BaseException, tb: Any, tb_offset: Any = None
) -> None:
    """A LabkitError raised in a cell is shown as its one-line message, no traceback.

    It is registered for ``LabkitError`` alone, so every other exception keeps IPython's
    traceback. The error is kept as the last one, as IPython does, so ``%tb`` and ``%debug``
    still show where it was raised.
    """
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    say_error(value)


def load_ipython_extension(ipython: InteractiveShell) -> None:
    for family in (BenchMagics, ProfileMagics, QueryMagics):
        ipython.register_magics(family)
    cleanup = ipython.input_transformers_cleanup
    if rewrite_awaiting_cells not in cleanup:
        cleanup.append(rewrite_awaiting_cells)
    ipython.set_custom_exc((LabkitError,), _show_labkit_error)
