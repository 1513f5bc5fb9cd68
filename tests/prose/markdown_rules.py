"""Static prose: a markdown cell states no measured outcome.

Every figure with a unit of measurement in a markdown cell (``12 ms``, ``3×``, ``80%``,
``450 KB``, ``120 req/s``, ``61 statements``…) must be one of four forms, each recognisable
from the words around it:

* **code** — inside backticks or a fenced block (an input, a parameter, an example of syntax);
* **claim** — someone else's figure, marked as such: its sentence says *claim* or *quote*, or
  the figure sits inside quotation marks;
* **setting** — a figure the notebook chooses rather than measures: its sentence says
  *simulated*, *injected*, *by construction*, *stated*, *budget*, *threshold*, *limit*,
  *timeout*, *target*, *scripted*, *fake*, or marks an example (*e.g.*, *for example*, *say*);
* **threshold** — the figure follows a comparison (``<``, ``>``, ``≤``, ``≥``, *at most*,
  *at least*, *up to*, *within*, *every*, *above*, *slower than*, *passes*).

A table row is read with its header row, so a column headed *claimed* or *budget* labels the
figures under it. The confidence level of an interval (``95% interval``) is a setting too, and
``×1`` (no change) is a reference point, not a figure.

Anything else — "the cache makes it 10× faster", "this takes 5 ms" — is an outcome, and an
outcome belongs in the cell's output, computed from the measurement, where it cannot go stale.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tests.prose.figures import NUMBER

UNITS = (
    r"ms|µs|us|ns|s|secs?|seconds?|minutes?|min|hours?|"
    r"[kKMG]i?B|B|bytes?|req/s|requests/s|rps|[MG]bps|MB/s|rows/s|"
    r"statements?|quer(?:y|ies)|comparisons?|allocations?|(?:VM )?steps|loads?|hits?|misses|"
    r"ticks?|round trips?|times (?:faster|slower|larger|smaller|more|fewer|less|as)"
)
_RANGE = rf"~?{NUMBER}(?:\s*(?:–|-|to)\s*~?{NUMBER})?"
FIGURE = re.compile(
    rf"(?<![\w.#/]){_RANGE}(?:\s?(?:%|×)|\s?x\b|\s?(?:{UNITS})(?![\w/]))"  # 12 ms, 3×, 80%
    rf"|×\s?{_RANGE}"  # ×1.6, ×0.9–1.1
)
IDENTITY = re.compile(r"^(?:×\s?1(?:\.0+)?|1(?:\.0+)?\s?×)$")  # "×1": no change

CLAIM = re.compile(r"\bclaim|\bquot(?:e|es|ed|ing)\b", re.IGNORECASE)
SETTING = re.compile(
    r"\bsimulat|\binject|\bby construction\b|\bstated\b|\bbudget|\bthreshold|\blimit|"
    r"\btimeout|\btarget|\bscripted\b|\bfake\b|\be\.g\.|\bfor example\b|\bsay\b",
    re.IGNORECASE,
)
COMPARISON = re.compile(
    r"(?:<|>|≤|≥|\bat most|\bat least|\bup to|\bno more than|\bwithin|\bevery|\babove|"
    r"\bslower than|\blonger than|\bpass(?:es)?)\s*[~≈]?\s*$",
    re.IGNORECASE,
)
CONFIDENCE_LEVEL = re.compile(r"^\s*(?:bootstrap\s+)?(?:confidence\s+)?interval", re.IGNORECASE)
QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”")


@dataclass(frozen=True)
class Unlabelled:
    """A figure in a sentence that is none of the allowed forms."""

    figure: str
    sentence: str


def prose_of(markdown: str) -> str:
    """The cell's prose: code, links' targets, HTML tags and emphasis markers removed."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.DOTALL)
    text = re.sub(r"``.*?``|`[^`\n]*`", " CODE ", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"<[^>\n]+>", " ", text)
    return re.sub(r"\*\*|(?<!\w)\*|\*(?!\w)|(?<![\w\\])_|_(?!\w)", "", text)


def sentences(markdown: str) -> Iterator[tuple[str, str]]:
    """``(sentence, context)`` for headings, list items, table rows and the sentences of
    paragraphs; a table row's context also holds its table's header row."""
    block: list[str] = []
    header: str | None = None

    def flush() -> Iterator[tuple[str, str]]:
        if block:
            paragraph = " ".join(block)
            block.clear()
            for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z\"“(])", paragraph):
                yield sentence, sentence

    for line in prose_of(markdown).splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            yield from flush()
            if header is None:
                header = stripped
            elif not re.fullmatch(r"[|:\-\s]+", stripped):
                yield stripped, f"{header} {stripped}"
            continue
        header = None
        if not stripped or re.match(r"(?:[-+•]|\d+\.)\s|#", stripped):
            yield from flush()
        if stripped:
            block.append(stripped)
    yield from flush()


def _allowed(sentence: str, context: str, figure: re.Match[str]) -> bool:
    if CLAIM.search(context) or SETTING.search(context):
        return True
    if COMPARISON.search(sentence[: figure.start()]):
        return True
    if figure.group().rstrip().endswith("%") and CONFIDENCE_LEVEL.match(sentence[figure.end() :]):
        return True
    return any(q.start() < figure.start() < q.end() for q in QUOTED.finditer(sentence))


def unlabelled_figures(markdown: str) -> list[Unlabelled]:
    """The figures of a markdown cell that state an outcome (none of the allowed forms)."""
    found = []
    for sentence, context in sentences(markdown):
        for match in FIGURE.finditer(sentence):
            figure = match.group().strip()
            if IDENTITY.match(figure) or _allowed(sentence, context, match):
                continue
            found.append(Unlabelled(figure, sentence))
    return found
