"""Notebook adapter for the progress report: an ipywidgets dashboard, HTML when widgets are absent.

The widget view, the HTML table and the text are sent in one display bundle, so each front end
shows the richest view it can (a saved notebook without widget state still shows the table).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from labkit.grading.progress_view import ProgressReport


def build_dashboard(report: ProgressReport) -> Any:
    """A VBox with one progress bar per notebook above the detailed table."""
    import ipywidgets as widgets

    rows: list[Any] = []
    for notebook in report.notebooks():
        exercises = report.for_notebook(notebook)
        passed = sum(r.passed for r in exercises)
        bar = widgets.IntProgress(
            value=passed,
            min=0,
            max=max(len(exercises), 1),
            bar_style="success" if passed == len(exercises) else "info",
            layout=widgets.Layout(width="240px"),
        )
        rows.append(widgets.HBox([bar, widgets.Label(report.notebook_line(notebook))]))
    rows.append(widgets.HTML(report._repr_html_()))
    return widgets.VBox(rows)


def display_report(report: ProgressReport) -> None:
    from IPython.display import display

    bundle: dict[str, Any] = {"text/plain": str(report), "text/html": report._repr_html_()}
    try:
        widget_bundle = build_dashboard(report)._repr_mimebundle_()
    except Exception:  # no ipywidgets, or no comm to a front end: the HTML table is enough
        widget_bundle = None
    if isinstance(widget_bundle, tuple):
        widget_bundle = widget_bundle[0]
    if widget_bundle:
        bundle.update({k: v for k, v in widget_bundle.items() if k != "text/plain"})
    display(bundle, raw=True)
