"""Package attributes imported on first use (PEP 562), so importing a package stays cheap.

``labkit``, ``labkit.app``, ``labkit.load`` and ``labkit.report`` name the module that owns each
of their public objects and load it only when the object is first asked for: FastAPI, aiohttp,
pandas and matplotlib are paid for by the code that uses them, not by ``labkit --help``.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any


def lazy_attribute(package: str, owners: Mapping[str, str], name: str) -> Any:
    """What a package's ``__getattr__(name)`` returns: ``name`` from the module ``owners[name]``;
    any other name is an AttributeError."""
    owner = owners.get(name)
    if owner is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return getattr(import_module(owner), name)


__all__ = ["lazy_attribute"]
