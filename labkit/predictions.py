"""Predictions beside measurements: the *predict → measure* step of every notebook.

A notebook asks for a guess before a measurement (``my_guess_total_ms = None``), then shows it
beside the figure measured::

    prediction("my_guess_total_ms", my_guess_total_ms, total_ms, unit="ms")

Each prediction is kept in the progress store with the value measured for it, and the last cell
of a notebook shows ``calibration()``: every prediction made, the measured value and how far off
it was. ``labkit progress`` shows the calibration across the course.
"""

from __future__ import annotations

import html
import math
import numbers
from dataclasses import dataclass
from typing import Any

from labkit.display import TextView
from labkit.notebook_number import notebook_number, session_notebook

Value = float | bool | str

_made_here: dict[str, Prediction] = {}  # this kernel's predictions by name, latest last


@dataclass(frozen=True, repr=False)
class Prediction(TextView):
    """One prediction and the value measured for it."""

    name: str
    predicted: Value | None
    measured: Value
    unit: str = ""
    notebook: str = ""

    @property
    def made(self) -> bool:
        return self.predicted is not None

    @property
    def off_by(self) -> float | None:
        """How many times off (≥ 1) for two positive numbers; ``None`` otherwise."""
        p, m = self.predicted, self.measured
        if _is_number(p) and _is_number(m) and float(p) > 0 and float(m) > 0:  # type: ignore[arg-type]
            high, low = max(float(p), float(m)), min(float(p), float(m))  # type: ignore[arg-type]
            return high / low
        return None

    @property
    def verdict(self) -> str:
        """A short phrase: "off by ×2.3", "exact", "right", "not this time", "not predicted"."""
        if not self.made:
            return "not predicted"
        if isinstance(self.predicted, (bool, str)) or isinstance(self.measured, (bool, str)):
            same = _normalised(self.predicted) == _normalised(self.measured)
            return "right" if same else "not this time"
        ratio = self.off_by
        if ratio is None:
            difference = float(self.measured) - float(self.predicted)  # type: ignore[arg-type]
            return f"off by {_fmt(abs(difference))}{_unit(self.unit)}"
        return (
            "exact"
            if ratio < 1.005
            else f"off by ×{ratio:.2g}"
            if ratio < 10
            else f"off by ×{ratio:.0f}"
        )

    def __str__(self) -> str:
        measured = f"{_fmt(self.measured)}{_unit(self.unit)}"
        if not self.made:
            return (
                f"{self.name}: you did not predict (it is None) — measured {measured}. "
                "Next time, write your guess first: a prediction is what makes a measurement "
                "teach."
            )
        return (
            f"{self.name}: you predicted {_fmt(self.predicted)}{_unit(self.unit)}, "
            f"measured {measured} — {self.verdict}."
        )

    def _repr_html_(self) -> str:
        colour = "#6b7280" if not self.made else "#1d4ed8"
        return (
            f'<div style="border-left:4px solid {colour};padding:4px 10px;margin:4px 0">'
            f"🔮 {html.escape(str(self))}</div>"
        )


def prediction(
    name: str, predicted: Any, measured: Any, *, unit: str = "", notebook: str | None = None
) -> Prediction:
    """Show a prediction beside the measured value and keep both in the progress store."""
    made = Prediction(
        name=str(name),
        predicted=_clean(predicted, what=f"the prediction {name}", allow_none=True),
        measured=_clean(measured, what=f"the value measured for {name}"),  # type: ignore[arg-type]
        unit=str(unit),
        notebook=_notebook(notebook),
    )
    _made_here.pop(made.name, None)
    _made_here[made.name] = made
    try:
        from labkit.grading.progress_store import ProgressStore

        ProgressStore().record_prediction(
            made.notebook, made.name, made.predicted, made.measured, made.unit
        )
    except Exception:  # the store warns about its own problems; the cell's result stands
        pass
    return made


@dataclass(frozen=True, repr=False)
class Calibration(TextView):
    """Predicted vs measured, one row per prediction."""

    rows: tuple[Prediction, ...]
    title: str = "Your predictions"

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "notebook": r.notebook,
                    "prediction": r.name,
                    "predicted": r.predicted,
                    "measured": r.measured,
                    "unit": r.unit,
                    "off by ×": r.off_by,
                    "verdict": r.verdict,
                }
                for r in self.rows
            ]
        )

    @property
    def summary(self) -> str:
        made = [r for r in self.rows if r.made]
        if not self.rows:
            return "No predictions recorded yet."
        ratios = sorted(r.off_by for r in made if r.off_by is not None)
        text = f"{len(made)} of {len(self.rows)} measurements predicted"
        if ratios:
            middle = (
                ratios[len(ratios) // 2]
                if len(ratios) % 2
                else math.sqrt(ratios[len(ratios) // 2 - 1] * ratios[len(ratios) // 2])
            )
            text += f"; numeric guesses were off by ×{middle:.2g} (median)"
        return text + "."

    def __str__(self) -> str:
        lines = [f"{self.title}: {self.summary}"]
        for r in self.rows:
            predicted = "—" if not r.made else f"{_fmt(r.predicted)}{_unit(r.unit)}"
            lines.append(
                f"  {r.name}: predicted {predicted}, measured {_fmt(r.measured)}{_unit(r.unit)}"
                f" ({r.verdict})"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(
            f"<th style='text-align:left;padding:2px 8px'>{h}</th>"
            for h in ("prediction", "predicted", "measured", "verdict")
        )
        body = "".join(
            "<tr>"
            + "".join(
                f"<td style='padding:2px 8px'>{html.escape(cell)}</td>"
                for cell in (
                    r.name,
                    "—" if not r.made else f"{_fmt(r.predicted)}{_unit(r.unit)}",
                    f"{_fmt(r.measured)}{_unit(r.unit)}",
                    r.verdict,
                )
            )
            + "</tr>"
            for r in self.rows
        )
        return (
            f"<div><b>{html.escape(self.title)}</b> — {html.escape(self.summary)}"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )


def calibration(notebook: str | None = None) -> Calibration:
    """The calibration table: this kernel's predictions, or a notebook's ("02") from the store,
    or the whole course's (``"all"``)."""
    if notebook is None:
        return Calibration(tuple(_made_here.values()))
    from labkit.grading.progress_store import ProgressStore

    wanted = None if notebook == "all" else _notebook(notebook)
    rows = tuple(
        Prediction(
            name=r["name"],
            predicted=r["predicted"],
            measured=r["measured"],
            unit=r["unit"],
            notebook=r["notebook"],
        )
        for r in ProgressStore().predictions(wanted)
    )
    title = (
        "Your predictions across the course" if wanted is None else f"Your predictions in {wanted}"
    )
    return Calibration(rows, title=title)


# ---- helpers -------------------------------------------------------------------------------------
def _clean(value: Any, *, what: str, allow_none: bool = False) -> Value | None:
    from labkit.errors import LabkitError

    if value is None and allow_none:
        return None
    if isinstance(value, (bool, str)):
        return value
    if _is_number(value):
        number = float(value)
        if not math.isfinite(number):
            if allow_none:
                return None  # a NaN guess is no guess; say "not predicted" rather than fail
            raise LabkitError(f"{what} is {number}: only finite numbers can be compared")
        return int(number) if isinstance(value, numbers.Integral) else number
    raise LabkitError(
        f"{what} should be a number, True/False or a short text, not {type(value).__name__}"
    )


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _normalised(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _fmt(value: object) -> str:
    if isinstance(value, (bool, str)):
        return repr(value) if isinstance(value, str) else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    return str(value)


def _unit(unit: str) -> str:
    if not unit:
        return ""
    return unit if unit in ("%", "×") else f" {unit}"


def _notebook(notebook: str | None) -> str:
    if notebook is not None:
        return notebook_number(str(notebook)) or str(notebook).strip()
    return session_notebook() or ""


__all__ = ["Calibration", "Prediction", "calibration", "prediction"]
