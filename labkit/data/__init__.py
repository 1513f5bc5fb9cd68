"""Seeded course datasets: build them, keep the shared copy healthy, hand out private copies.

>>> from labkit.data import ensure, isolated_copy
>>> ds = ensure("small")            # built once, then instant
>>> with isolated_copy("tiny") as path:
...     ...                         # a private copy, deleted afterwards
"""

from __future__ import annotations

from labkit.data.builder import build, ensure
from labkit.data.copies import fresh_copy, isolated_copy
from labkit.data.dataset import Dataset, find_problem, read_dataset
from labkit.data.location import data_dir
from labkit.data.schema import DEFAULT_SEED, SIZES, TABLES
from labkit.data.scratch import owned_temp_dir

__all__ = [
    "DEFAULT_SEED",
    "SIZES",
    "TABLES",
    "Dataset",
    "build",
    "data_dir",
    "ensure",
    "find_problem",
    "fresh_copy",
    "isolated_copy",
    "owned_temp_dir",
    "read_dataset",
]
