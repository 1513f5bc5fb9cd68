"""The package's public face: what `import labkit` offers and what the CLI exposes."""

from __future__ import annotations

import subprocess
import sys

import labkit
from labkit import cli


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
