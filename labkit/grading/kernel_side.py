"""The instructor's grading, as it runs inside a submission's kernel.

``labkit check`` adds cells of its own to each submission before running it: one first, which
turns the learner's ``check()``/``check_all()`` calls into *recordings* of the answers they
name, and one after every learner cell that checks something, which grades the recorded answers
with the real checks (plus the instructor's hidden seeds and probes) and prints one line per
exercise, prefixed with a secret drawn for that cell alone. The parent reads those lines from the
cell's outputs as nbclient hands them back (never from a file the kernel can write) and rejects
any line without the right secret, for an exercise that cell did not grade, or seen twice.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from labkit.grading.result import NOT_RUN, NOT_YET, CheckResult

# exercise id -> the answers the learner's last check() call of it named
_recorded: dict[str, tuple[Any, ...]] = {}
# exercise id -> which recording (a running count) it was last recorded / graded at
_recorded_at: dict[str, int] = {}
_graded_at: dict[str, int] = {}
UNCHANGED = "unchanged"
_real: dict[str, Callable[..., Any]] = {}

RECORDED_MESSAGE = "recorded: the instructor's run grades this answer in the next step"


def install() -> None:
    """Make ``check``/``check_all`` record their answers (the learner's own run is skipped)."""
    import labkit.grading as grading
    import labkit.grading.checking as checking
    from labkit.grading.references import same_code_as_reference
    from labkit.grading.registry import course_exercises, get_exercise

    _real.update(
        run_check=checking.run_check,
        get_exercise=get_exercise,
        course_exercises=course_exercises,
        same_code_as_reference=same_code_as_reference,
    )

    def check(exercise_id: str, *answers: Any, **_: Any) -> CheckResult:
        _record(str(exercise_id), answers)
        return _placeholder(str(exercise_id))

    def check_all(
        notebook: str | None = None, namespace: Mapping[str, Any] | None = None, **_: Any
    ) -> None:
        if namespace is None:
            caller = sys._getframe(1)
            namespace = {**caller.f_globals, **caller.f_locals}
        number = checking._notebook_number(notebook)
        for exercise in _real["course_exercises"](number):
            if all(name in namespace for name in exercise.answers):
                _record(exercise.id, tuple(namespace[name] for name in exercise.answers))

    for module in (grading, checking):
        setattr(module, "check", check)  # noqa: B010 -- a module attribute, replaced on purpose
        setattr(module, "check_all", check_all)  # noqa: B010


def _record(exercise_id: str, answers: tuple[Any, ...]) -> None:
    _recorded[exercise_id] = answers
    _recorded_at[exercise_id] = max([0, *_recorded_at.values(), *_graded_at.values()]) + 1


def _placeholder(exercise_id: str) -> CheckResult:
    return CheckResult(exercise_id, "", NOT_RUN, 0, 0, RECORDED_MESSAGE)


def grade(
    secret: str,
    exercise_ids: list[str],
    *,
    seeds: list[int] | tuple[int, ...] = (),
    hidden_source: str = "",
    only_new: bool = False,
) -> None:
    """Grade each recorded exercise of ``exercise_ids`` and print one ``secret``-keyed line each.

    ``only_new``: an exercise graded before and not recorded again since gets an "unchanged"
    line (still one line per exercise, so that a forged extra line is always a duplicate).
    """
    hidden: dict[str, Any] = {}
    if hidden_source:
        exec(compile(hidden_source, "hidden_checks.py", "exec"), hidden)
    seeds = list(seeds) + [int(s) for s in hidden.get("SEEDS", ())]
    probes: Mapping[str, Any] = hidden.get("PROBES", {})
    for exercise_id in exercise_ids:
        recorded_at = _recorded_at.get(exercise_id, 0)
        if only_new and exercise_id in _graded_at and _graded_at[exercise_id] >= recorded_at:
            line = {"exercise": exercise_id, "verdict": UNCHANGED}
            sys.stdout.write(secret + " " + json.dumps(line) + "\n")
            continue
        _graded_at[exercise_id] = recorded_at
        try:
            line = _grade_one(exercise_id, seeds, list(probes.get(exercise_id, ())))
        except Exception as exc:  # a course bug must not hide the other exercises
            line = {"exercise": exercise_id, "verdict": NOT_YET, "message": f"grading error: {exc}"}
        sys.stdout.write(secret + " " + json.dumps(line, default=str) + "\n")
    sys.stdout.flush()


def _grade_one(exercise_id: str, seeds: list[int], probes: list[Any]) -> dict[str, Any]:
    if exercise_id not in _recorded:
        return {"exercise": exercise_id, "verdict": NOT_RUN, "message": "not run"}
    answers = _recorded[exercise_id]
    exercise = _real["get_exercise"](exercise_id)
    reference = _reference_used(answers)
    if reference:
        return _line(exercise_id, NOT_YET, f"this is labkit's reference answer ({reference})")
    result = _real["run_check"](exercise, answers)
    if not result.passed:
        return _from_result(result)
    reference = getattr(result, "used_reference", None)
    if reference:
        return _line(exercise_id, NOT_YET, f"delegates to labkit's reference answer ({reference})")
    notes: list[str] = []
    for seed in seeds:
        extra = _real["run_check"](exercise, answers, seed=seed)
        if not extra.passed or getattr(extra, "used_reference", None):
            return _line(exercise_id, NOT_YET, f"hidden check, seed {seed}: {extra.message}")
    for probe in probes:
        name = getattr(probe, "__name__", "probe")
        probed = _real["run_check"](dataclasses.replace(exercise, grade=probe), answers)
        if not probed.passed:
            return _line(exercise_id, NOT_YET, f"hidden probe {name}: {probed.message}")
        notes.append(name)
    line = _from_result(result)
    if seeds or probes:
        line["message"] += f" Hidden checks passed ({len(seeds)} seeds, {len(probes)} probes)."
    return line


def _reference_used(answers: tuple[Any, ...]) -> str | None:
    """The labkit function an answer *is* (imported rather than written), if any."""
    for answer in answers:
        name = _real["same_code_as_reference"](answer)
        if name:
            return str(name)
        for candidate in (answer, getattr(answer, "func", None)):
            if candidate is None or not callable(candidate):
                continue
            inner = inspect.unwrap(candidate)
            module = getattr(inner, "__module__", "") or ""
            if module == "labkit" or module.startswith("labkit."):
                return f"{module}.{getattr(inner, '__qualname__', '?')}"
    return None


def _line(exercise_id: str, verdict: str, message: str) -> dict[str, Any]:
    return {"exercise": exercise_id, "verdict": verdict, "message": message}


def _from_result(result: CheckResult) -> dict[str, Any]:
    data = result.to_dict()
    return {
        "exercise": result.exercise_id,
        "verdict": result.verdict,
        "message": result.message,
        "measurements": data["measurements"],
        "seed": result.seed,
    }
