"""Steps compared by repeated, interleaved runs: each step's effect as a median ratio with a
bootstrap interval, and the noise floor of the baseline measured against itself.

One short load test says little on a shared laptop: the same baseline measured twice can differ
by ×2. So every configuration is run several times, in rounds that alternate the order
(A A' B C …, then … C B A' A), and a step's effect is the ratio of its median to the median of
the step before it, with the same seeded bootstrap interval ``labkit.timing.compare`` uses. The
baseline is run twice per round on two servers (A and A'): their ratio is what noise alone does
on this machine right now — the **noise floor**. The verdict word comes from the interval only
(``labkit.timing.compare.effect_word``): an interval reaching ×1 or into the noise floor is
"no clear effect".

``compare_steps`` takes the runs from any source (a function returning a ``LoadResult``), so
tests feed it recorded or synthetic noisy runs; ``labkit.load.steps`` feeds it live servers.
"""

from __future__ import annotations

import math
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd

from labkit.display import TextView
from labkit.errors import LoadError
from labkit.load.result import EndpointLoad, LoadResult
from labkit.timing import stats
from labkit.timing.compare import CONFIDENCE, NO_CLEAR_EFFECT, effect_word, noise_band

NOISE_RUN: Final = "baseline again"
# metric → higher is better
METRICS: Final[dict[str, bool]] = {"rps": True, "p50_ms": False, "p95_ms": False, "p99_ms": False}
# Fewer samples than this behind a percentile and it is shown as "too few samples".
MIN_SAMPLES: Final[dict[str, int]] = {"p95_ms": 20, "p99_ms": 100}

Measure = Callable[[str, int], Awaitable[LoadResult]]


def few_samples(metric: str, count: int) -> bool:
    """True when a percentile rests on too few samples to mean much (p99 < 100, p95 < 20)."""
    return count < MIN_SAMPLES.get(metric, 0)


def schedule(names: Sequence[str], repeats: int) -> list[tuple[int, str]]:
    """(repetition, name) in run order: the names forwards, then backwards, and so on.

    Each configuration then runs next to the ones it is compared with, and which one runs
    first alternates, so a slow drift of the machine is shared instead of blamed on one.
    """
    order: list[tuple[int, str]] = []
    for repetition in range(repeats):
        names_now = names if repetition % 2 == 0 else list(reversed(names))
        order += [(repetition, name) for name in names_now]
    return order


def merge_runs(runs: Sequence[LoadResult], label: str) -> LoadResult:
    """The runs of one configuration as one result: every sample, the summed duration.

    Percentiles then rest on all the samples, and rps is requests over the summed time.
    """
    if not runs:
        raise LoadError(f"no runs to merge for {label!r}")
    first = runs[0]
    endpoints = {
        name: EndpointLoad.merged([r.endpoints[name] for r in runs if name in r.endpoints])
        for name in first.endpoints
    }
    servers = [r.server for r in runs if r.server]
    server: dict[str, Any] | None = None
    if servers:
        lags = [s["loop_lag_ms_max"] for s in servers if s.get("loop_lag_ms_max") is not None]
        server = {
            "cpu_percent_mean": stats.mean([s["cpu_percent_mean"] for s in servers]),
            "cpu_percent_max": max(s["cpu_percent_max"] for s in servers),
            "rss_mb_max": max(s["rss_mb_max"] for s in servers),
            "loop_lag_ms_max": max(lags) if lags else None,
        }
        if "counters" in servers[-1]:
            server["counters"] = servers[-1]["counters"]  # since the server started
    generator = [r.generator_cpu_percent for r in runs if r.generator_cpu_percent is not None]
    aborted = next((r.aborted for r in runs if r.aborted), None)
    return LoadResult(
        target=first.target,
        mode=first.mode,
        duration=sum(r.duration for r in runs),
        warmup=first.warmup,
        endpoints=endpoints,
        vus=first.vus,
        rate=first.rate,
        started_at=first.started_at,
        late=sum(r.late for r in runs),
        dropped=sum(r.dropped for r in runs),
        warnings=sorted({w for r in runs for w in r.warnings}),
        aborted=aborted,
        server=server,
        generator_cpu_percent=stats.mean(generator) if generator else None,
        label=label,
        environment={**first.environment, "runs": str(len(runs))},
    )


def format_interval(ratio: float, low: float, high: float) -> str:
    if math.isnan(ratio):
        return "n/a"
    if math.isnan(low):
        return f"×{ratio:.2f}"
    return f"×{ratio:.2f} [{low:.2f}–{high:.2f}]"


@dataclass(frozen=True, repr=False)
class Effect(TextView):
    """``after / before`` for one metric: median ratio, bootstrap interval, and its word."""

    name: str  # the configuration measured ("+cache"), compared with ``against``
    against: str
    metric: str
    ratio: float
    low: float
    high: float
    word: str
    runs: tuple[int, int]  # runs (before, after)
    samples: tuple[int, int]  # requests measured (before, after)

    @property
    def clear(self) -> bool:
        return self.word != NO_CLEAR_EFFECT

    def interval(self) -> str:
        """``×1.52 [1.31–1.80]``."""
        return format_interval(self.ratio, self.low, self.high)

    def basis(self) -> str:
        """How many runs and samples the figure rests on."""
        return (
            f"{self.runs[0]}+{self.runs[1]} runs, {self.samples[0]:,}+{self.samples[1]:,} requests"
        )

    def __str__(self) -> str:
        return f"{self.name} {self.metric}: {self.interval()} — {self.word} ({self.basis()})"


def _values(runs: Sequence[LoadResult], metric: str) -> list[float]:
    return [v for r in runs if not math.isnan(v := r.figure(metric))]


def measure_effect(
    name: str,
    against: str,
    before: Sequence[LoadResult],
    after: Sequence[LoadResult],
    metric: str,
    *,
    noise: tuple[float, float],
    seed: int = 0,
) -> Effect:
    """The effect of going from ``before`` runs to ``after`` runs on one metric."""
    a, b = _values(after, metric), _values(before, metric)
    if a and b and stats.median(b) > 0:
        ratio = stats.median(a) / stats.median(b)
        low, high = stats.bootstrap_ratio_interval(a, b, confidence=CONFIDENCE, seed=seed)
    else:
        ratio = low = high = math.nan
    if len(a) < 2 or len(b) < 2:  # one run each: no interval to draw a word from
        low = high = math.nan
    word = effect_word(low, high, noise=noise, higher_is_better=METRICS[metric])
    return Effect(
        name=name,
        against=against,
        metric=metric,
        ratio=ratio,
        low=low,
        high=high,
        word=word,
        runs=(len(before), len(after)),
        samples=(sum(r.overall.count for r in before), sum(r.overall.count for r in after)),
    )


@dataclass(repr=False)
class InterleavedComparison(TextView):
    """Every run of every configuration, merged figures, each step's effect and the noise."""

    names: list[str]  # baseline first, then each cumulative step
    runs: dict[str, list[LoadResult]]
    repeats: int
    load_average: tuple[float, float] = (math.nan, math.nan)  # 1-min, at start and end
    seed: int = 0
    merged: dict[str, LoadResult] = field(init=False)
    noise: dict[str, tuple[float, float]] = field(init=False)  # metric → band
    noise_effect: dict[str, Effect] = field(init=False)  # baseline again vs baseline
    effects: list[dict[str, Effect]] = field(init=False)  # per step: metric → effect
    overall: dict[str, Effect] = field(init=False)  # last step vs baseline

    def __post_init__(self) -> None:
        self.merged = {name: merge_runs(runs, name) for name, runs in self.runs.items()}
        base = self.runs[self.names[0]]
        again = self.runs.get(NOISE_RUN, [])
        self.noise, self.noise_effect = {}, {}
        for metric in METRICS:
            effect = measure_effect(
                NOISE_RUN, self.names[0], base, again, metric, noise=(1.0, 1.0), seed=self.seed
            )
            self.noise_effect[metric] = effect
            self.noise[metric] = noise_band(effect.low, effect.high)
        self.effects = []
        for before, after in zip(self.names, self.names[1:], strict=False):
            self.effects.append(self._effects(before, after))
        self.overall = self._effects(self.names[0], self.names[-1])

    def _effects(self, before: str, after: str) -> dict[str, Effect]:
        return {
            metric: measure_effect(
                after,
                before,
                self.runs[before],
                self.runs[after],
                metric,
                noise=self.noise[metric],
                seed=self.seed,
            )
            for metric in METRICS
        }

    # ------------------------------------------------------------------ shapes others take
    @property
    def baseline(self) -> LoadResult:
        return self.merged[self.names[0]]

    @property
    def steps(self) -> list[tuple[str, LoadResult]]:
        """``[(name, merged result), ...]``: the shape ``build_report`` takes as ``steps``."""
        return [(name, self.merged[name]) for name in self.names[1:]]

    @property
    def after(self) -> LoadResult:
        return self.merged[self.names[-1]]

    def effect(self, step: str, metric: str = "rps") -> Effect:
        for effects in self.effects:
            if effects[metric].name == step:
                return effects[metric]
        raise LoadError(f"no step {step!r}; steps are {self.names[1:]}")

    def noise_text(self, metric: str = "rps") -> str:
        """``×0.87–1.15``: how far noise alone moved the baseline against itself."""
        low, high = self.noise[metric]
        return "unknown" if math.isnan(low) else f"×{low:.2f}–{high:.2f}"

    def largest_contribution(self, metric: str = "rps") -> str | None:
        """The step whose effect clearly beats the noise and every other step's; else None.

        "Clearly" means its whole interval lies above the noise floor and above the top of
        every other step's interval — a step ahead only by its point ratio is not named.
        """
        higher = METRICS[metric]

        def oriented(e: Effect) -> tuple[float, float]:  # as "gain": larger is better
            return (e.low, e.high) if higher else (1 / e.high, 1 / e.low)

        candidates = [e[metric] for e in self.effects if e[metric].word == "better"]
        for effect in candidates:
            low, _ = oriented(effect)
            others = [oriented(e[metric])[1] for e in self.effects if e[metric] is not effect]
            if all(low > high for high in others if not math.isnan(high)):
                return effect.name
        return None

    def load_text(self) -> str:
        start, end = self.load_average
        if math.isnan(start):
            return "load average not available on this system"
        return (
            f"load average (1 min) {start:.2f} at the start, {end:.2f} at the end, "
            f"on {os.cpu_count()} CPU cores"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per step (and the noise floor): rps and p95 effects with their words."""
        rows = []
        for effects in [self.noise_effect, *self.effects]:
            rps, p95 = effects["rps"], effects["p95_ms"]
            after = self.merged.get(rps.name)
            rows.append(
                {
                    "step": rps.name,
                    "median rps": stats.median(_values(self.runs[rps.name], "rps"))
                    if after is not None
                    else math.nan,
                    "throughput": rps.interval(),
                    "throughput verdict": rps.word if rps.name != NOISE_RUN else "noise floor",
                    "p95": p95.interval(),
                    "p95 verdict": p95.word if p95.name != NOISE_RUN else "noise floor",
                    "runs": rps.runs[1],
                    "requests": rps.samples[1],
                }
            )
        return pd.DataFrame(rows).set_index("step")

    def summary(self) -> str:
        lines = [
            f"{self.repeats} interleaved runs per configuration; noise floor (baseline against "
            f"itself) throughput {self.noise_text('rps')}, p95 {self.noise_text('p95_ms')}; "
            f"{self.load_text()}"
        ]
        lines += [f"  {effects['rps']}" for effects in self.effects]
        winner = self.largest_contribution()
        lines.append(
            f"largest contribution: {winner}"
            if winner
            else "largest contribution: none stands clear of the noise and the other steps"
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        head = html.escape(self.summary().splitlines()[0])
        return f"<p>{head}</p>" + self.to_frame().to_html(float_format=lambda v: f"{v:,.1f}")


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):  # not on every platform
        return math.nan


async def compare_steps(
    measure: Measure,
    names: Sequence[str],
    *,
    repeats: int = 5,
    seed: int = 0,
    on_run: Callable[[int, str, LoadResult], None] | None = None,
) -> InterleavedComparison:
    """Run each of ``names`` (baseline first) and the baseline again ``repeats`` times,
    interleaved, and compare each with the one before it.

    ``measure(name, repetition)`` returns one run of that configuration (``NOISE_RUN`` is the
    baseline on a second server). ``on_run`` is told of each run as it finishes (progress).
    """
    if len(names) < 1 or repeats < 2:
        raise LoadError("compare_steps needs a baseline and at least 2 repeats")
    if NOISE_RUN in names or len(set(names)) != len(names):
        raise LoadError(f"step names must be distinct and not {NOISE_RUN!r}: {list(names)}")
    everything = [names[0], NOISE_RUN, *names[1:]]
    runs: dict[str, list[LoadResult]] = {name: [] for name in everything}
    started = load_average()
    for repetition, name in schedule(everything, repeats):
        result = await measure(name, repetition)
        runs[name].append(result)
        if on_run is not None:
            on_run(repetition, name, result)
    return InterleavedComparison(
        names=list(names),
        runs=runs,
        repeats=repeats,
        load_average=(started, load_average()),
        seed=seed,
    )


def effects_by_step(comparison: InterleavedComparison | None) -> Mapping[str, dict[str, Effect]]:
    """step name → metric → effect (empty without a comparison)."""
    if comparison is None:
        return {}
    return {effects["rps"].name: effects for effects in comparison.effects}
