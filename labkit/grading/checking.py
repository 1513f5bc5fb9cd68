"""``check()`` and ``check_all()``: run an exercise's grade function and report the verdict.

Synchronous everywhere: the grade function runs on a worker thread with its own event loop
(see ``runner``), under the exercise's time limit, with the learner's printed output captured.
Every attempt is recorded in the progress store and, when ``LABKIT_CHECK_LOG`` names a file,
appended to it as one JSON line (how ``labkit check`` collects results from a kernel).
"""

from __future__ import annotations

import inspect
import json
import os
import secrets
import sys
import time
import traceback
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.data.schema import DEFAULT_SEED
from labkit.errors import GradingError, InstrumentBlinded
from labkit.grading.grader import Grader, NotYet, reference_message
from labkit.grading.instruments import WATCH, Change, blinded_message, cell_defined
from labkit.grading.learner import describe_exception, raised_in_learner_code
from labkit.grading.references import same_code_as_reference
from labkit.grading.registry import Exercise, course_exercises, get_exercise, load_lessons
from labkit.grading.result import (
    ERROR,
    NOT_RUN,
    NOT_YET,
    PASSED,
    CheckResult,
    CheckSummary,
    measurements_text,
)
from labkit.grading.runner import (
    CappedOutput,
    CheckTimeout,
    RunOutcome,
    captured_output,
    run_with_deadline,
)
from labkit.notebook_number import notebook_number, session_notebook

CHECK_LOG_ENV = "LABKIT_CHECK_LOG"
STRICT_ENV = "LABKIT_STRICT"
INTERNAL_ERROR = "This check failed internally — please report it (details below)."


class CheckFailed(GradingError):
    """Raised by a failed check when ``LABKIT_STRICT=1`` (CI runs solution notebooks this way)."""

    def __init__(self, result: CheckResult | CheckSummary) -> None:
        super().__init__(str(result))
        self.result = result


def default_seed() -> int:
    """The datasets' default seed (the notebooks' data); checks draw their own per attempt."""
    return int(DEFAULT_SEED)


def fresh_seed() -> int:
    """A seed drawn for one check attempt: any int in [1, 2**31), so no answer can be typed in
    from an earlier result card; ``check(..., seed=N)`` replays that attempt exactly."""
    return secrets.randbelow(2**31 - 1) + 1


def strict_mode() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


# ---- one check ---------------------------------------------------------------------------------
def run_check(
    exercise: Exercise,
    answers: tuple[Any, ...],
    *,
    seed: int | None = None,
    timeout: float | None = None,
    allow_reference: bool = False,
) -> CheckResult:
    """Grade ``answers`` for ``exercise`` and return the result (no recording, never raises).

    Without ``seed`` the attempt is graded on a seed drawn for it (``fresh_seed``).
    ``allow_reference=True`` grades labkit's own reference answers as if they were the learner's
    (the course's tests prove the references pass); a learner's check never sets it.
    """
    attempt = Attempt(exercise, fresh_seed() if seed is None else int(seed))
    refused = refuse_answers(attempt, answers, allow_reference)
    if refused is not None:
        return refused
    # What the check measures with, as it is now: whatever the answer patches (even on the way
    # out of a timed-out check) is put back before the next check.
    before = WATCH.snapshot()
    patched_earlier = cell_defined(before)
    if patched_earlier:
        return attempt.result(NOT_YET, replaced_in_cell_message(patched_earlier[0]))
    grader = Grader(
        exercise, answers, attempt.seed, allow_reference=allow_reference, baseline=before
    )
    limit = exercise.timeout if timeout is None else float(timeout)
    outcome, output = grade_within(grader, limit)
    left_patched = before.restore()
    common: dict[str, Any] = {
        "measurements": list(grader.measurements),
        "notes": list(grader.notes),
        "output": output.text(),
        "output_chars": output.total,
    }
    return judge(attempt, grader, outcome, left_patched, limit, common)


@dataclass(frozen=True)
class Attempt:
    """One attempt at an exercise, on one seed: what each of its results shares."""

    exercise: Exercise
    seed: int
    started: float = field(default_factory=time.perf_counter)

    def result(self, verdict: str, message: str, **extra: Any) -> CheckResult:
        exercise = self.exercise
        return CheckResult(
            exercise_id=exercise.id,
            title=exercise.title,
            verdict=verdict,
            points=exercise.points if verdict == PASSED else 0,
            max_points=exercise.points,
            message=message,
            seed=self.seed,
            seconds=time.perf_counter() - self.started,
            **extra,
        )


def refuse_answers(
    attempt: Attempt, answers: tuple[Any, ...], allow_reference: bool
) -> CheckResult | None:
    """The result without grading when the answers are the wrong number or labkit's own."""
    exercise = attempt.exercise
    if len(answers) != len(exercise.answers):
        names = ", ".join(exercise.answers)
        return attempt.result(
            NOT_YET,
            f"{exercise.id} takes {exercise.answers_text()}, but {len(answers)} "
            f"{'was' if len(answers) == 1 else 'were'} given. "
            f"Call check({exercise.id!r}{', ' + names if names else ''}).",
        )
    if not allow_reference:
        for answer in answers:
            reference = same_code_as_reference(answer)
            if reference is not None:
                return attempt.result(
                    NOT_YET, reference_message(reference), used_reference=reference
                )
    return None


def replaced_in_cell_message(name: str) -> str:
    return (
        f"Not yet: `{name}` has been replaced by code from a notebook cell, and the check "
        "measures with it. Restart the kernel (Kernel → Restart) and run the notebook without "
        "that replacement."
    )


def grade_within(grader: Grader, limit: float) -> tuple[RunOutcome, CappedOutput]:
    """Run the grade function under the time limit, its printed output captured."""
    with captured_output() as output:
        outcome = run_with_deadline(
            grader.grade,
            limit,
            on_timeout=grader.cancel_from_other_thread,
            name=f"check-{grader.exercise.id}",
            excluded=grader.excluded,
        )
    if not outcome.abandoned:  # a thread that could not be stopped may still use them
        grader.cleanup()
    return outcome, output


def judge(
    attempt: Attempt,
    grader: Grader,
    outcome: RunOutcome,
    left_patched: list[Change],
    limit: float,
    common: dict[str, Any],
) -> CheckResult:
    """The verdict on a graded attempt, from how the grade function ended."""
    hint = attempt.exercise.hint
    error = outcome.error
    if outcome.timed_out:
        return timed_out(attempt, grader, outcome.abandoned, limit, common)
    if isinstance(error, NotYet):
        return attempt.result(
            NOT_YET,
            error.message,
            hint=None if error.unwritten else (error.hint or hint),
            learner_error=error.learner_error,
            used_reference=error.used_reference,
            **common,
        )
    if isinstance(error, InstrumentBlinded):
        return attempt.result(NOT_YET, str(error), hint=hint, **common)
    if left_patched:  # changed outside a g.call (the grade used the answer's object directly)
        return attempt.result(NOT_YET, blinded_message(left_patched), hint=hint, **common)
    if error is None:
        return measured(attempt, grader, common)
    return raised(attempt, grader, error, common)


def timed_out(
    attempt: Attempt, grader: Grader, abandoned: bool, limit: float, common: dict[str, Any]
) -> CheckResult:
    who = f"Your {grader.answer_at_timeout}" if grader.answer_at_timeout else "Your code"
    notes = common.pop("notes")
    if abandoned:
        notes.append(
            "It could not be stopped and may still be running in the background: "
            "restart the kernel if the notebook becomes slow."
        )
    hint = attempt.exercise.hint
    return attempt.result(
        NOT_YET,
        f"{who} did not finish within {limit:g} s.",
        hint="Look for a loop that never ends, or work repeated far more often than needed."
        + (f" {hint}" if hint else ""),
        notes=notes,
        **common,
    )


def measured(attempt: Attempt, grader: Grader, common: dict[str, Any]) -> CheckResult:
    """The verdict when the grade ran to its end: passed unless a measurement missed."""
    missed = [m for m in grader.measurements if not m.ok]
    if not missed:
        message = "Correct" + (
            f": {measurements_text(grader.measurements)}." if grader.measurements else "."
        )
        return attempt.result(PASSED, message, **common)
    # "Correct result" only when the grade compared the result itself (expect_equal).
    lead = "Correct result, but" if grader.verified else "Not yet:"
    return attempt.result(
        NOT_YET,
        f"{lead} {measurements_text(missed)}.",
        hint=next((m.hint for m in missed if m.hint), attempt.exercise.hint),
        **common,
    )


def raised(
    attempt: Attempt, grader: Grader, error: BaseException, common: dict[str, Any]
) -> CheckResult:
    """The verdict when the grade raised: the learner's exception or value if it was theirs,
    else an internal error with its traceback."""
    exercise = attempt.exercise
    if not isinstance(error, CheckTimeout) and raised_in_learner_code(
        error, _source_files(exercise)
    ):
        # The grade function used the learner's object directly (not via g.call) and their
        # code raised: still their exception, shown as theirs.
        described = describe_exception(grader.current_answer or "code", error)
        return attempt.result(
            NOT_YET, described.summary(), hint=exercise.hint, learner_error=described, **common
        )
    blamed = grader.blame_learner_value(error)
    if blamed is not None:
        return attempt.result(NOT_YET, blamed.message, hint=exercise.hint, **common)
    detail = "".join(traceback.format_exception(error)).rstrip()
    return attempt.result(ERROR, INTERNAL_ERROR, detail=detail, **common)


def _source_files(exercise: Exercise) -> tuple[str, ...]:
    try:
        return (inspect.getsourcefile(exercise.grade) or "",)
    except TypeError:
        return ()


# ---- learner side ------------------------------------------------------------------------------
def check(
    exercise_id: str, *answers: Any, seed: int | None = None, timeout: float | None = None
) -> CheckResult:
    """Check the learner's answers for one exercise: ``check("02.n_plus_one", users_with_posts)``.

    Each attempt is graded on a seed drawn for it, shown on the card and kept in the progress
    store; ``seed=N`` replays that attempt exactly. ``timeout`` overrides the exercise's limit.
    With ``LABKIT_STRICT=1`` a result that is not "passed" raises ``CheckFailed``.
    """
    try:
        exercise = get_exercise(exercise_id)
    except GradingError as exc:
        outcome = _usage_result(str(exercise_id), str(exc))
    except Exception as exc:  # a broken lesson module: a course bug, shown as one
        outcome = _usage_result(str(exercise_id), INTERNAL_ERROR, verdict=ERROR)
        outcome.detail = "".join(traceback.format_exception(exc)).rstrip()
    else:
        outcome = run_check(exercise, answers, seed=seed, timeout=timeout)
        _record(outcome)
    if strict_mode() and not outcome.passed:
        raise CheckFailed(outcome)
    return outcome


def check_all(
    notebook: str | None = None,
    namespace: Mapping[str, Any] | None = None,
    *,
    seed: int | None = None,
) -> CheckSummary:
    """Re-run every exercise of a notebook with the answers found in the caller's namespace
    (each on a seed drawn for it, unless ``seed`` is given)."""
    if namespace is None:
        caller = sys._getframe(1)
        namespace = {**caller.f_globals, **caller.f_locals}
    notebook = _notebook_number(notebook)
    exercises = course_exercises(notebook)
    if not exercises:
        known = ", ".join(load_lessons().notebooks()) or "none"
        raise GradingError(
            f"notebook {notebook!r} has no exercises (notebooks with exercises: {known})"
        )
    results: list[CheckResult] = []
    for exercise in exercises:
        missing = [name for name in exercise.answers if name not in namespace]
        if missing:
            outcome = _usage_result(
                exercise.id,
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not defined yet: "
                "run the exercise cell first.",
                verdict=NOT_RUN,
                exercise=exercise,
            )
        else:
            answers = tuple(namespace[name] for name in exercise.answers)
            outcome = run_check(exercise, answers, seed=seed)
            _record(outcome)
        results.append(outcome)
    summary = CheckSummary(notebook=notebook, results=results)
    if strict_mode() and not summary:
        raise CheckFailed(summary)
    return summary


def _notebook_number(notebook: str | None) -> str:
    """The notebook asked for ("2", "02_queries" → "02"), else the one this kernel runs; what
    names no notebook is kept as typed, for the error message to show."""
    if notebook is None:
        number = session_notebook()
        if number is None:
            raise GradingError('say which notebook to check, e.g. check_all("02")')
        return number
    return notebook_number(str(notebook)) or str(notebook).strip()


def _usage_result(
    exercise_id: str, message: str, *, verdict: str = NOT_YET, exercise: Exercise | None = None
) -> CheckResult:
    return CheckResult(
        exercise_id=exercise_id,
        title=exercise.title if exercise else "",
        verdict=verdict,
        points=0,
        max_points=exercise.points if exercise else 0,
        message=message,
        hint=exercise.hint if exercise else None,
    )


def _record(result: CheckResult) -> None:
    """Store the attempt and log it for ``labkit check``; neither may cost the learner a result."""
    try:
        from labkit.grading.progress_store import record_attempt

        record_attempt(result)
    except Exception as exc:  # the store reports its own problems; this is a last resort
        warnings.warn(f"labkit: progress not saved ({exc})", stacklevel=3)
    log_path = os.environ.get(CHECK_LOG_ENV)
    if log_path:
        try:
            line = json.dumps({**result.to_dict(), "notebook": result.notebook}, default=str)
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(line + "\n")
        except OSError as exc:
            warnings.warn(f"labkit: could not append to {CHECK_LOG_ENV} ({exc})", stacklevel=3)
