"""nbmake's notebook item, for solution notebooks: run it, then check its printed prose.

nbmake executes each notebook once and keeps the executed copy only inside ``runtest``; this
item runs the same steps (``nbmake.pytest_items.NotebookItem.runtest``, nbmake 1.5) and reads
the outputs before they are dropped, so the check costs no second execution. A notebook that
runs but prints a sentence its figures contradict fails, naming the cell and the sentence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbmake.nb_run import NotebookRun
from nbmake.pytest_items import NbMakeFailureRepr, NotebookFailedException, NotebookItem

from tests.prose import Finding, check_outputs
from tests.prose.known import unexpected


class ProseContradicted(Exception):
    """The notebook ran, and printed prose its own figures contradict."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(findings)
        self.findings = findings


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """nbmake's items for solution notebooks become :class:`ProseCheckedNotebook`.

    nbmake makes the items; changing their class (a subclass adding no state) adds the check
    without a second collector, which would collect every notebook twice.
    """
    for item in items:
        if type(item) is NotebookItem and Path(str(item.path)).parent.name == "solutions":
            item.__class__ = ProseCheckedNotebook


class ProseCheckedNotebook(NotebookItem):  # type: ignore[misc]
    def runtest(self) -> None:
        option = self.config.option
        source = Path(self.config.rootdir) / self.filename
        run = NotebookRun(
            source,
            option.nbmake_timeout,
            verbose=bool(option.verbose),
            kernel=option.nbmake_kernel,
            find_import_errors=option.nbmake_find_import_errors,
        )
        result = run.execute()
        if option.overwrite:
            nbformat.write(result.nb, str(source))
        if result.error is not None:
            raise NotebookFailedException(result)
        findings = unexpected(check_outputs(result.nb, source.name))
        if findings:
            raise ProseContradicted(findings)

    def repr_failure(self, excinfo: Any, style: Any = None) -> Any:
        if isinstance(excinfo.value, ProseContradicted):
            findings = excinfo.value.findings
            text = "\n".join(str(f) for f in findings)
            summary = f"{len(findings)} printed sentence(s) contradict their figures: {findings[0]}"
            return NbMakeFailureRepr(
                "The notebook ran, but its printed prose contradicts its figures "
                f"(tests/prose/output_rules.py):\n{text}",
                summary.splitlines()[0],
            )
        return super().repr_failure(excinfo, style)
