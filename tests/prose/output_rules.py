"""Generated prose: every sentence labkit prints agrees with the figures printed beside it.

The sentences come from a few places, and each rule reads the phrasing one of them writes:

* ``labkit.timing.compare.Comparison.verdict`` — "b is 1.59× faster than a (95% interval
  1.06–2.16×)", "no significant difference between a and b (ratio 0.95, 95% interval …)";
* ``labkit.lessons.n04_concurrency.interleaved.Effect.sentence`` — "… ×0.93 (95% interval
  ×0.51–×1.37, 6 runs each) — no clear effect: … (x against itself: ×0.70–×2.05)";
* ``labkit.load.interleaved.Effect`` and the report (``labkit.report``) — "×2.28 [1.89–3.15]
  no clear effect", beside a noise floor printed as "throughput ×0.31–3.27, p95 ×0.52–1.92";
* ``labkit.predictions.Prediction`` — "you predicted 2×, measured 13.7× — off by ×6.8";
* check cards (``labkit.grading``) — "• SQL statements (k=5): 61 (target ≤ 2) — not yet";
* the notebooks' own lines — "N of M", "a → b (×r)", "a ms for n statements = c ms per
  statement", "x MiB > y MiB", "below the claimed ~10×".

A speed word (*faster*, *better*, *speed-up*…) beside a measured ratio needs that ratio's
interval on the same line; a ratio of counts ("12× fewer") needs none, and a claim's own words
("claimed ~95% faster") are the claim's. The words *better / worse / no clear effect* are
recomputed with the library's own rule
(``effect_word`` and ``noise_band``), so the check and the notebooks cannot disagree on what the
rule is. Every comparison allows for the rounding of the printed figures.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from labkit.timing.compare import NO_CLEAR_EFFECT, effect_word, noise_band
from tests.prose.figures import NUMBER, Shown, overlaps, ratio_bounds, shown

N = rf"({NUMBER})"
INT = r"((?:\d{1,3}(?:,\d{3})+|\d+))"
UNIT = r"(ms|µs|ns|s|[KMG]i?B|B|req/s|%|×)"
RATIO_TOKEN = re.compile(rf"×\s?{N}|{N}\s?×|\bratio\s+{N}")
INTERVAL = re.compile(rf"interval\s+×?{N}×?\s*[–-]\s*×?{N}×?")
BRACKET = re.compile(rf"×{N}\s*\[{N}\s*[–-]\s*{N}\]")
AGAINST_ITSELF = re.compile(rf"against itself:\s*×{N}\s*[–-]\s*×{N}")
NOISE_FLOOR = re.compile(r"noise floor", re.IGNORECASE)
HIGHER_IS_BETTER = {"throughput": True, "latency": False, "p50": False, "p95": False, "p99": False}
METRIC_NAME = re.compile(r"\bthroughput\b|\bp50\b|\bp95\b|\bp99\b", re.IGNORECASE)
METRIC_UNIT = re.compile(r"req/s|\brps\b|\bms\b")
SPEED_WORD = re.compile(r"\b(faster|slower|quicker|speed-?ups?|better|worse)\b", re.IGNORECASE)


@dataclass
class State:
    """What earlier lines of the cell said that later ones rely on: the noise floor."""

    noise: dict[str, tuple[Shown, Shown]] = field(default_factory=dict)


Rule = Callable[[str, State], Iterator[str]]


def _ratio_before(line: str, end: int) -> Shown | None:
    tokens = list(RATIO_TOKEN.finditer(line, 0, end))
    if not tokens:
        return None
    value = next(g for g in tokens[-1].groups() if g is not None)
    return shown(value)


def _words(
    low: Shown, high: Shown, band: tuple[Shown, Shown] | None, higher_is_better: bool
) -> set[str]:
    """Every word ``effect_word`` gives for some rounding of the printed figures."""
    bands = [(1.0, 1.0)]
    if band is not None:
        corners = itertools.product((band[0].low, band[0].high), (band[1].low, band[1].high))
        bands = [noise_band(a, b) for a, b in corners]
    return {
        effect_word(lo, hi, noise=noise, higher_is_better=higher_is_better)
        for lo, hi in itertools.product((low.low, low.high), (high.low, high.high))
        for noise in bands
        if lo <= hi
    }


# ----------------------------------------------------------------------------- intervals
def interval_holds_its_ratio(line: str, state: State) -> Iterator[str]:
    """A median ratio lies inside its own interval, and the interval runs low → high."""
    spans = [
        (_ratio_before(line, m.start()), m.group(1), m.group(2)) for m in INTERVAL.finditer(line)
    ]
    spans += [(shown(m.group(1)), m.group(2), m.group(3)) for m in BRACKET.finditer(line)]
    for ratio, low_text, high_text in spans:
        low, high = shown(low_text), shown(high_text)
        if low.low > high.high:
            yield f"the interval {low_text}–{high_text} runs backwards"
        if ratio is not None and not overlaps((ratio.low, ratio.high), (low.low, high.high)):
            yield f"the ratio {ratio.value:g} lies outside its interval {low_text}–{high_text}"


def comparison_verdict(line: str, state: State) -> Iterator[str]:
    """``compare``'s verdict: "faster" only when the whole interval clears ×1; "no significant
    difference" only when it reaches ×1."""
    for m in re.finditer(rf"{N}× (faster|slower) than .*?\(95% interval {N}–{N}×\)", line):
        low = shown(m.group(3))
        if low.high <= 1:
            yield (
                f"'{m.group(1)}× {m.group(2)}' needs the whole interval above ×1; "
                f"it is {m.group(3)}–{m.group(4)}"
            )
    for m in re.finditer(rf"no significant difference .*?95% interval {N}–{N}", line):
        low, high = shown(m.group(1)), shown(m.group(2))
        if low.low > 1 or high.high < 1:
            yield (
                f"'no significant difference', but the interval {m.group(1)}–{m.group(2)} "
                "leaves out ×1"
            )


def effect_sentence(line: str, state: State) -> Iterator[str]:
    """Notebook 04's sentences: the word is what ``effect_word`` gives for the printed
    interval and the printed noise floor."""
    floor = AGAINST_ITSELF.search(line)
    interval = INTERVAL.search(line)
    if floor is None or interval is None:
        return
    band = (shown(floor.group(1)), shown(floor.group(2)))
    words = _words(shown(interval.group(1)), shown(interval.group(2)), band, True)
    if "no clear effect" in line[interval.end() : floor.start()]:
        said = NO_CLEAR_EFFECT
    elif m := re.search(r" is (\w+) than ", line[: interval.start()]):
        said = "worse" if m.group(1) in ("slower", "worse") else "better"
    else:
        return
    if said not in words:
        yield f"says '{said}', but the interval and the noise floor give {sorted(words)}"


def _metric_before(line: str, end: int) -> str | None:
    """The metric a ratio at ``end`` is about: the last metric named before it ("p95",
    "throughput"), unless a figure of the other kind comes after that name; "latency" when
    only a unit (ms) tells."""
    name = unit = None
    for m in METRIC_NAME.finditer(line, 0, end):
        name = m
    for m in METRIC_UNIT.finditer(line, 0, end):
        unit = m
    named = name.group().lower() if name else None
    if unit is None:
        return named
    kind = "throughput" if unit.group() in ("req/s", "rps") else "latency"
    if named is not None and (kind == "throughput") == (named == "throughput"):
        return named
    if name is not None and name.start() > unit.start():
        return named
    return kind


def load_effect_word(line: str, state: State) -> Iterator[str]:
    """Load-test effects ("×2.28 [1.89–3.15] no clear effect"): the word follows from the
    interval, the metric's direction and the run's noise floor (printed earlier)."""
    if NOISE_FLOOR.search(line):
        for metric in ("throughput", "p95"):
            if m := re.search(rf"{metric}(?: by)? ×{N}\s*[–-]\s*{N}", line):
                state.noise[metric] = (shown(m.group(1)), shown(m.group(2)))
    for m in BRACKET.finditer(line):
        word = re.match(r"\s*(?:—\s*)?(better|worse|no clear effect)", line[m.end() :])
        metric = _metric_before(line, m.start())
        if word is None or metric is None:
            continue
        said = word.group(1)
        band = state.noise.get(metric)  # printed for throughput and p95 only
        if said == NO_CLEAR_EFFECT and band is None:
            continue  # without the floor, "no clear effect" cannot be contradicted
        words = _words(shown(m.group(2)), shown(m.group(3)), band, HIGHER_IS_BETTER[metric])
        if said not in words:
            yield f"'{said}' for {metric} {m.group()}: the rule gives {sorted(words)}"


def word_needs_interval(line: str, state: State) -> Iterator[str]:
    """A speed word beside a measured ratio needs that ratio's interval on the same line."""
    if INTERVAL.search(line) or BRACKET.search(line) or NO_CLEAR_EFFECT in line:
        return
    text = re.sub(r"\([^()]*claim[^()]*\)", "", line)
    for segment in re.split(r" — |; ", text):
        if "claim" in segment.lower() or re.search(r"\bno (?:faster|slower)\b", segment):
            continue
        word = SPEED_WORD.search(segment)
        ratio = re.search(rf"{N}\s?×|×\s?{N}|{N}% (?:faster|slower)", segment)
        if word and ratio:
            yield (
                f"'{word.group()}' beside {ratio.group()} with no interval: say it with the "
                "interval (compare / effect) or state the ratio without the word"
            )


# ----------------------------------------------------------------------------- counts
def part_of_whole(line: str, state: State) -> Iterator[str]:
    """ "N of M" and "N/M points|passed": a part is no larger than its whole."""
    for m in re.finditer(rf"(?<![\w.,/%]){INT} of {INT}(?![\d.,]*\d|\s?%)", line):
        part, whole = shown(m.group(1)), shown(m.group(2))
        if part.value > whole.value:
            yield f"'{m.group()}': more than the whole"
    for m in re.finditer(rf"(?<![\w.,/]){INT}/{INT} (?:points|passed)", line):
        if shown(m.group(1)).value > shown(m.group(2)).value:
            yield f"'{m.group()}': more than the whole"


def share_in_range(line: str, state: State) -> Iterator[str]:
    """A share (N% of the posts, a hit rate, N% smaller) lies in [0, 100]."""
    shares = re.finditer(
        rf"{N}% (?:of (?!the mean|a core|cores)|hit rate|smaller|cut\b)|"
        rf"(?:hit rate|cut by|saves?)\s+(?:of\s+)?{N}%",
        line,
    )
    for m in shares:
        value = shown(next(g for g in m.groups() if g is not None))
        if value.low > 100 or (value.high < 0 and "of" in m.group()):
            yield f"'{m.group()}': a share outside 0–100%"


def prediction_verdict(line: str, state: State) -> Iterator[str]:
    """ "you predicted P, measured M — off by ×F": F is how many times apart P and M are."""
    m = re.search(rf"you predicted {N}[^,]*, measured {N}[^—]*— (off by ×{N}|exact)", line)
    if m:
        predicted, measured = shown(m.group(1)), shown(m.group(2))
        if predicted.value > 0 and measured.value > 0:
            apart = _times_apart(ratio_bounds(measured, predicted))
            stated = (1.0, 1.005) if m.group(3) == "exact" else _bounds(shown(m.group(4)))
            if not overlaps(apart, stated):
                yield (
                    f"'{m.group(3)}', but {m.group(1)} and {m.group(2)} are "
                    f"×{apart[0]:.3g}–{apart[1]:.3g} apart"
                )
    s = re.search(
        r"you predicted ('[^']*'|True|False), measured ('[^']*'|True|False) — (\w[\w ]*)", line
    )
    if s:
        same = s.group(1).lower() == s.group(2).lower()
        if (s.group(3).startswith("right")) != same:
            yield f"'{s.group(3)}' for {s.group(1)} vs {s.group(2)}"


def _times_apart(ratio: tuple[float, float]) -> tuple[float, float]:
    """The range of ``max(x, 1/x)`` (how many times apart) for ``x`` in ``ratio``."""
    low, high = ratio
    if low >= 1:
        return (low, high)
    if high <= 1:
        return (1 / high, 1 / low if low > 0 else float("inf"))
    return (1.0, max(high, 1 / low if low > 0 else float("inf")))


def _bounds(value: Shown) -> tuple[float, float]:
    return (value.low, value.high)


def comparison_holds(line: str, state: State) -> Iterator[str]:
    """ "186.4 MiB > 182 MiB", "p99 744 ms > 500 ms": a printed inequality is true."""
    for m in re.finditer(rf"{N}\s?{UNIT} (>|<|≥|≤) {N}\s?{UNIT}", line):
        left, sign, right = shown(m.group(1)), m.group(3), shown(m.group(4))
        if m.group(2) != m.group(5):
            continue
        possible = {
            ">": left.high > right.low,
            "≥": left.high >= right.low,
            "<": left.low < right.high,
            "≤": left.low <= right.high,
        }[sign]
        if not possible:
            yield f"'{m.group()}' is false"


def stated_ratio(line: str, state: State) -> Iterator[str]:
    """ "a → b (×r)", "a ms vs b ms (r× faster)", "a for n = c per": the ratio printed is the
    ratio of the figures printed beside it."""
    pairs = re.finditer(
        rf"{N}\s?{UNIT}? (?:→|vs) {N}\s?{UNIT}?(?:\s*[(:]|\s+—)\s*(?:×{N}|{N}×)",
        line,
    )
    for m in pairs:
        a, b = shown(m.group(1)), shown(m.group(3))
        r = shown(m.group(5) or m.group(6))
        if a.value <= 0 or b.value <= 0:
            continue
        either = ratio_bounds(a, b), ratio_bounds(b, a)
        if not any(overlaps(_bounds(r), bounds) for bounds in either):
            yield f"'{m.group()}': {r.value:g} is not the ratio of {m.group(1)} and {m.group(3)}"
    for m in re.finditer(
        rf"{N}\s?(?:[A-Za-z/]+ ){{0,2}}for {N} [\w ]+? = {N}\s?(?:[A-Za-z/]+ )?per\b", line
    ):
        total, count, each = shown(m.group(1)), shown(m.group(2)), shown(m.group(3))
        if count.value > 0 and not overlaps(_bounds(each), ratio_bounds(total, count)):
            yield f"'{m.group()}': {m.group(3)} is not {m.group(1)} ÷ {m.group(2)}"
    for m in re.finditer(
        rf"{N}% (?:faster|smaller|less)\s*\({N}\s?{UNIT}? → {N}\s?{UNIT}?\)", line
    ):
        cut, before, after = shown(m.group(1)), shown(m.group(2)), shown(m.group(4))
        if before.value > 0:
            low, high = ratio_bounds(after, before)
            if not overlaps((100 * (1 - high), 100 * (1 - low)), _bounds(cut)):
                yield f"'{m.group()}': {m.group(2)} → {m.group(4)} is no {m.group(1)}% cut"


def against_claim(line: str, state: State) -> Iterator[str]:
    """ "below the claimed ~10×" / "above the claimed …" agree with the measured interval;
    "the claimed ~80% is not reached" agrees with every figure measured."""
    interval = INTERVAL.search(line)
    for m in re.finditer(rf"(below|above) the claimed ~?{N}", line):
        if interval is None:
            continue
        claim, low, high = shown(m.group(2)), shown(interval.group(1)), shown(interval.group(2))
        if m.group(1) == "below" and high.low >= claim.high:
            yield f"'{m.group()}', but the interval reaches {interval.group(2)}"
        if m.group(1) == "above" and low.high <= claim.low:
            yield f"'{m.group()}', but the interval starts at {interval.group(1)}"
    m = re.search(rf"the claimed ~?{N}% is not reached", line)
    if m:
        claim = shown(m.group(1))
        measured = [shown(v) for v in re.findall(rf"{N}%", line[: m.start()])]
        if any(v.low >= claim.high for v in measured):
            yield f"'{m.group()}', but a figure on the line reaches it"


def check_card_marks(line: str, state: State) -> Iterator[str]:
    """A check card's "— ok" / "— not yet" agrees with the value and a plain target."""
    m = re.match(r"• (.*): (\S.*?) \(target (.*)\) — (ok|not yet)$", line)
    if not m:
        return
    value_text, target_text, mark = m.group(2), m.group(3), m.group(4)
    if not re.fullmatch(rf"{NUMBER}(?:\s?[a-zA-Z]+)?(?: → {NUMBER}(?:\s?[a-zA-Z]+)?)*", value_text):
        return
    target = re.match(
        rf"(≤|<|≥|>|=|exactly)?\s*({NUMBER})(×)?(?:\s*\(.*\)|\s+both times)?$", target_text
    )
    if target is None:
        return
    sign, bound = target.group(1) or "=", shown(target.group(2))
    values = [shown(v) for v in re.findall(NUMBER, value_text)]
    meets = {
        "≤": lambda v: v.low <= bound.high,
        "<": lambda v: v.low < bound.high,
        "≥": lambda v: v.high >= bound.low,
        ">": lambda v: v.high > bound.low,
        "=": lambda v: overlaps(_bounds(v), _bounds(bound)),
        "exactly": lambda v: overlaps(_bounds(v), _bounds(bound)),
    }[sign]
    if (mark == "ok") != all(meets(v) for v in values):
        yield f"marked '{mark}' for {value_text} against the target {target_text}"


RULES: dict[str, Rule] = {
    "interval holds its ratio": interval_holds_its_ratio,
    "verdict against interval": comparison_verdict,
    "effect word against interval": effect_sentence,
    "load effect word": load_effect_word,
    "speed word without interval": word_needs_interval,
    "part of a whole": part_of_whole,
    "share out of range": share_in_range,
    "prediction verdict": prediction_verdict,
    "inequality": comparison_holds,
    "stated ratio": stated_ratio,
    "claimed vs measured": against_claim,
    "check mark": check_card_marks,
}
