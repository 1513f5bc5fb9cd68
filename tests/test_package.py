"""The package's public face: what `import labkit` offers, what the notebooks may import, and
what the CLI exposes."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import labkit
from labkit import cli
from labkit.lessons import LESSON_MODULES

SOLUTIONS = Path(__file__).resolve().parents[1] / "notebooks" / "solutions"

# The notebook-facing API: a notebook imports from these packages (the names in their
# ``__all__``) and from these single modules (their ``__all__``, or their public names), never
# from the modules inside a package.
NOTEBOOK_PACKAGES = (
    "labkit",
    "labkit.app",
    "labkit.data",
    "labkit.db",
    "labkit.load",
    "labkit.profilers",
    "labkit.report",
    "labkit.timing",
    *LESSON_MODULES.values(),
)
NOTEBOOK_MODULES = (
    "labkit.async_cache",
    "labkit.clock",
    "labkit.counting",
    "labkit.cpu_work",
    "labkit.doctor",
    "labkit.errors",
    "labkit.loop_lag",
    "labkit.plots",
)
# Packages whose ``__all__`` is their public face for course authors and tools.
OTHER_PACKAGES = ("labkit.grading", "labkit.magics")


def isort_order(names: list[str]) -> list[str]:
    """The order ruff (RUF022) keeps ``__all__`` in: CONSTANTS, then Classes, then the rest."""

    def key(name: str) -> tuple[int, str]:
        if len(name) > 1 and name.isupper():
            return 0, name
        return (1 if name[:1].isupper() else 2), name

    return sorted(names, key=key)


def notebook_imports() -> Iterator[tuple[str, str, str]]:
    """(notebook, module, name) for every ``from labkit… import name`` in a solution notebook's
    code (``import labkit…`` gives the name ``*``)."""
    from IPython.core.inputtransformer2 import TransformerManager

    to_python = TransformerManager().transform_cell  # %magics and !commands become calls
    for path in sorted(SOLUTIONS.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            if cell["cell_type"] != "code":
                continue
            for node in ast.walk(ast.parse(to_python("".join(cell["source"])))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("labkit"):
                    for alias in node.names:
                        yield path.name, str(node.module), alias.name
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        if alias.name.split(".")[0] == "labkit":
                            yield path.name, alias.name, "*"


def public_names(module: ModuleType) -> set[str]:
    """Its ``__all__``; without one, the names it defines itself (not what it imports)."""
    declared = getattr(module, "__all__", None)
    if declared is not None:
        return set(declared)
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)
        and getattr(value, "__module__", module.__name__) == module.__name__
    }


def test_public_names_are_sorted_and_deliberate() -> None:
    assert labkit.__all__ == sorted(labkit.__all__)
    assert set(labkit.__all__) == {
        "__version__",
        "calibration",
        "check",
        "check_all",
        "load_ipython_extension",
        "prediction",
        "progress",
        "request_timing",
    }


def test_every_public_name_resolves() -> None:
    for name in labkit.__all__:
        assert getattr(labkit, name) is not None, name


DECLARING_MODULES = [m for m in NOTEBOOK_MODULES if hasattr(importlib.import_module(m), "__all__")]


@pytest.mark.parametrize("package", [*NOTEBOOK_PACKAGES, *OTHER_PACKAGES, *DECLARING_MODULES])
def test_each_package_declares_its_public_names_sorted(package: str) -> None:
    module = importlib.import_module(package)
    declared = list(module.__all__)
    assert declared == isort_order(declared), f"{package}.__all__ is not sorted"
    assert len(set(declared)) == len(declared), f"{package}.__all__ repeats a name"
    missing = [name for name in declared if not hasattr(module, name)]
    assert not missing, f"{package}.__all__ names what it does not have: {missing}"
    assert not [name for name in declared if name.startswith("_") and name != "__version__"]


def test_notebooks_import_only_the_notebook_facing_api() -> None:
    facing = set(NOTEBOOK_PACKAGES) | set(NOTEBOOK_MODULES)
    found = list(notebook_imports())
    assert len({notebook for notebook, _, _ in found}) >= 7  # every notebook imports labkit
    wrong = []
    for notebook, module_name, name in found:
        if module_name not in facing:
            wrong.append(f"{notebook}: {module_name} is not notebook-facing (import {name})")
        elif name == "*" or name not in public_names(importlib.import_module(module_name)):
            wrong.append(f"{notebook}: {name} is not a public name of {module_name}")
    assert not wrong, "\n".join(wrong)


def test_unknown_attribute_is_a_clear_error() -> None:
    try:
        labkit.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_labkit_is_light() -> None:
    # IPython, pandas and FastAPI are imported only when a feature needs them.
    code = (
        "import sys, labkit; "
        "heavy = [m for m in ('IPython', 'pandas', 'fastapi', 'matplotlib') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_has_every_command() -> None:
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert set(subparsers.choices) == set(cli.COMMANDS)  # type: ignore[attr-defined]


def test_cli_help_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "labkit", "--help"], capture_output=True, text=True, check=True
    )
    for name in cli.COMMANDS:
        assert name in out.stdout


def test_the_command_line_starts_light() -> None:
    """`labkit --help` imports neither pandas, aiohttp, FastAPI nor matplotlib."""
    import subprocess
    import sys

    probe = (
        "import sys, contextlib, io\n"
        "from labkit.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "heavy = ('pandas', 'aiohttp', 'fastapi', 'matplotlib')\n"
        "print(' '.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
