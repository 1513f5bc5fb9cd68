"""Where datasets live, what they are called, and the manifest of expected fingerprints."""

from __future__ import annotations

import json
import os
from pathlib import Path

from platformdirs import user_data_dir

from labkit.errors import DatasetError

MANIFEST_NAME = "manifest.json"


def repo_data_dir() -> Path:
    """The source tree's ``data/`` folder (it exists only in a checkout, not in a wheel)."""
    return Path(__file__).resolve().parents[2] / "data"


def user_folder() -> Path:
    """labkit's folder in the user's data directory: ``~/.local/share/labkit`` on Linux
    (``$XDG_DATA_HOME`` respected), the platform's own place elsewhere (platformdirs). The
    datasets and the progress store both default to it."""
    return Path(user_data_dir("labkit", appauthor=False))


def data_dir() -> Path:
    """Where datasets live.

    ``$LABKIT_DATA``, else the repo's ``data/`` when writable, else ``data/`` in
    :func:`user_folder` (``~/.local/share/labkit/data`` on Linux).
    """
    configured = os.environ.get("LABKIT_DATA")
    if configured:
        folder = Path(configured).expanduser()
    else:
        repo = repo_data_dir()
        if (repo / "README.md").is_file() and os.access(repo, os.W_OK):
            return repo
        folder = user_folder() / "data"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(
            f"cannot create the data folder {folder} ({exc.strerror or exc}); "
            "set LABKIT_DATA to a writable folder"
        ) from None
    return folder


def dataset_filename(size: str, seed: int) -> str:
    return f"{size}-{seed}.sqlite"


def manifest_path() -> Path:
    return repo_data_dir() / MANIFEST_NAME


def read_manifest() -> dict[str, object] | None:
    """The committed manifest, or None when this is not a source checkout."""
    path = manifest_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def expected_fingerprint(size: str, seed: int, generator_version: int) -> str | None:
    """The manifest's fingerprint for (size, seed), if it records one for this generator."""
    manifest = read_manifest()
    if not manifest or manifest.get("generator_version") != generator_version:
        return None
    if manifest.get("seed") != seed:
        return None
    fingerprints = manifest.get("fingerprints")
    if not isinstance(fingerprints, dict):
        return None
    value = fingerprints.get(size)
    return value if isinstance(value, str) else None
