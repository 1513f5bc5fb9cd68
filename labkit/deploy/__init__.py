"""Example deployments for a course on many machines or many learners.

- ``examples/jupyterhub_config.py``: a JupyterHub on one server, one local account per learner; each
  learner's first start copies the student notebooks (never the solutions) into their home.
  ``tests/test_jupyterhub.py`` runs a real hub with this very file.
- ``examples/z2jh-values.yaml``: the same course on Kubernetes with Zero to JupyterHub.

``labkit.deploy.example("jupyterhub_config.py")`` is the path of one of them.
"""

from __future__ import annotations

from pathlib import Path

# Not a package: the config is a file JupyterHub runs, never a module labkit imports.
HERE = Path(__file__).resolve().parent / "examples"


def example(name: str) -> Path:
    """The path of one shipped example (``jupyterhub_config.py`` or ``z2jh-values.yaml``)."""
    path = HERE / name
    if not path.is_file() or name.startswith("_"):
        raise FileNotFoundError(f"labkit ships no deployment example named {name!r}")
    return path


__all__ = ["example"]
