"""``LoadResult``: what a load test measured, per endpoint and overall."""

from __future__ import annotations

import copy
import html
import json
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from labkit.display import TextView
from labkit.errors import LoadError
from labkit.load.histogram import LatencyRecorder
from labkit.plots import latency_cdf, latency_histogram

FORMAT_VERSION = 1
MAX_ERROR_RATE = 0.05
"""Above this share of failed requests a result says nothing about speed: commands refuse to
report it as a baseline, a step or a speed-up (``--allow-errors`` for breaking-point runs)."""
OVERALL = "overall"


@dataclass
class EndpointLoad:
    """Recordings for one endpoint (or all of them): response time, service time, outcomes."""

    response: LatencyRecorder = field(default_factory=LatencyRecorder)
    service: LatencyRecorder = field(default_factory=LatencyRecorder)  # open loop only
    ok: int = 0
    errors: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    bytes_received: int = 0

    @property
    def count(self) -> int:
        return self.ok + self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "response": self.response.encode(),
            "response_max_s": self.response.max_seconds,
            "service": self.service.encode(),
            "service_max_s": self.service.max_seconds,
            "ok": self.ok,
            "errors": self.errors,
            "statuses": dict(self.statuses),
            "bytes_received": self.bytes_received,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EndpointLoad:
        return cls(
            response=LatencyRecorder.decode(data["response"], data["response_max_s"]),
            service=LatencyRecorder.decode(data["service"], data["service_max_s"]),
            ok=int(data["ok"]),
            errors=int(data["errors"]),
            statuses=Counter(data["statuses"]),
            bytes_received=int(data.get("bytes_received", 0)),
        )

    @classmethod
    def merged(cls, parts: list[EndpointLoad]) -> EndpointLoad:
        statuses: Counter[str] = Counter()
        for part in parts:
            statuses.update(part.statuses)
        return cls(
            response=LatencyRecorder.merged(p.response for p in parts),
            service=LatencyRecorder.merged(p.service for p in parts),
            ok=sum(p.ok for p in parts),
            errors=sum(p.errors for p in parts),
            statuses=statuses,
            bytes_received=sum(p.bytes_received for p in parts),
        )


@dataclass(repr=False)
class LoadResult(TextView):
    """A load test's measurements. Latencies in ms; ``rps`` counts completed requests.

    In open-loop mode (``rate`` set) response time is measured from each request's intended
    send time (coordinated omission corrected) and ``service`` percentiles from the actual send.
    """

    target: str
    mode: str  # "closed" (virtual users) or "open" (fixed arrival rate)
    duration: float  # seconds measured (warm-up excluded)
    warmup: float
    endpoints: dict[str, EndpointLoad]
    vus: int | None = None
    rate: float | None = None
    started_at: str = ""
    late: int = 0
    dropped: int = 0
    warnings: list[str] = field(default_factory=list)
    aborted: str | None = None
    server: dict[str, Any] | None = None  # resource use sampled during the run
    generator_cpu_percent: float | None = None
    label: str | None = None
    environment: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ derived figures
    # Cached: a result is complete when it is built, and the histograms are costly to merge
    # and walk in pure Python.
    @cached_property
    def overall(self) -> EndpointLoad:
        return EndpointLoad.merged(list(self.endpoints.values()))

    @property
    def complete(self) -> bool:
        return self.aborted is None

    def rows(self) -> list[dict[str, Any]]:
        """One row per endpoint then "overall": the figures every table and report shows."""
        return [dict(row) for row in self._rows]

    @cached_property
    def _rows(self) -> list[dict[str, Any]]:
        rows = []
        for name, load in [*self.endpoints.items(), (OVERALL, self.overall)]:
            summary = load.response.summary()
            row: dict[str, Any] = {
                "endpoint": name,
                "requests": load.count,
                "rps": load.count / self.duration if self.duration > 0 else math.nan,
                "p50_ms": summary.p50,
                "p95_ms": summary.p95,
                "p99_ms": summary.p99,
                "p99.9_ms": summary.p999,
                "max_ms": summary.max,
                "mean_ms": summary.mean,
                "error_rate": load.errors / load.count if load.count else math.nan,
                "errors": load.errors,
            }
            if self.mode == "open":
                service = load.service.summary()
                row |= {"service_p50_ms": service.p50, "service_p99_ms": service.p99}
            rows.append(row)
        return rows

    def figure(self, name: str, endpoint: str = OVERALL) -> float:
        """One number, e.g. ``result.figure("p95_ms")`` or ``figure("rps", "/api/feed")``."""
        for row in self.rows():
            if row["endpoint"] == endpoint:
                return float(row[name])
        raise LoadError(f"no endpoint {endpoint!r} in this result; have {list(self.endpoints)}")

    @property
    def rps(self) -> float:
        return self.figure("rps")

    @property
    def p50(self) -> float:
        return self.figure("p50_ms")

    @property
    def p95(self) -> float:
        return self.figure("p95_ms")

    @property
    def p99(self) -> float:
        return self.figure("p99_ms")

    @property
    def error_rate(self) -> float:
        return self.figure("error_rate")

    def failure_problem(self, max_error_rate: float = MAX_ERROR_RATE) -> str | None:
        """Why this result cannot stand for the server's speed (too many requests failed, or
        none answered), or ``None``. A speed-up measured on failed requests means nothing."""
        count = self.overall.count
        if count == 0:
            return "no request was answered"
        rate = self.overall.errors / count
        if rate <= max_error_rate:
            return None
        failing = ", ".join(
            f"{status} ×{n}"
            for status, n in self.overall.statuses.most_common(3)
            if not (status.isdigit() and 200 <= int(status) < 400)
        )
        return (
            f"{rate:.0%} of {count:,} requests failed ({failing}), above the "
            f"{max_error_rate:.0%} a measurement of speed may have"
        )

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows()).set_index("endpoint")

    def renamed(self, mapping: Mapping[str, str] | Callable[[str], str]) -> LoadResult:
        """A copy whose endpoints carry new names; this result is left as it is.

        ``mapping`` is a dict (names it does not mention are kept) or a function of the old
        name. Endpoints that end up under one name are merged into one, as if they had been
        one endpoint. Figures are recomputed under the new names: nothing cached is carried.
        """
        groups: dict[str, list[EndpointLoad]] = {}
        for name, load in self.endpoints.items():
            new = mapping(name) if callable(mapping) else mapping.get(name, name)
            if not isinstance(new, str) or not new:
                raise LoadError(f"cannot rename endpoint {name!r} to {new!r}: need a name")
            groups.setdefault(new, []).append(load)
        if OVERALL in groups:
            raise LoadError(f"{OVERALL!r} is the name of the total row; pick another name")
        # replace() builds a new instance through __init__, so cached_property values
        # (overall, _rows) are not copied and get computed afresh under the new names.
        return replace(
            self,
            endpoints={name: EndpointLoad.merged(loads) for name, loads in groups.items()},
            warnings=list(self.warnings),
            server=copy.deepcopy(self.server),
            environment=dict(self.environment),
        )

    # ------------------------------------------------------------------ files
    def to_json(self, path: str | Path | None = None) -> str:
        data = asdict(self) | {
            "format": FORMAT_VERSION,
            "endpoints": {name: load.to_json() for name, load in self.endpoints.items()},
            "summary": self.rows(),  # for people and other tools; recomputed on load
        }
        text = json.dumps(data, indent=2, allow_nan=True)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_json(cls, path_or_text: str | Path) -> LoadResult:
        """A result saved by labkit (``to_json``), or k6's ``--out json`` points read into one
        (``labkit.load.k6.read_k6_points``), so either can be a report's baseline or step."""
        text = str(path_or_text)
        try:
            from_file = not text.lstrip().startswith("{")
            if from_file:
                text = Path(path_or_text).read_text()
            first = text.lstrip().split("\n", 1)[0]
            if from_file and '"type"' in first and ('"Metric"' in first or '"Point"' in first):
                from labkit.load.k6 import read_k6_points

                return read_k6_points(path_or_text)
            data = json.loads(text)
            if isinstance(data, dict) and "metrics" in data and "root_group" in data:
                raise LoadError(
                    f"{path_or_text} is k6's --summary-export (averages and a few percentiles "
                    "only): run k6 with --out json=FILE and give that file, which holds every "
                    "request"
                )
            if not isinstance(data, dict):
                raise LoadError(f"{path_or_text}: not a labkit load result (a JSON object)")
            if data.get("format") != FORMAT_VERSION:
                raise LoadError(
                    f"{path_or_text}: not a labkit load result (format {FORMAT_VERSION})"
                )
            data.pop("format")
            data.pop("summary", None)
            data["endpoints"] = {k: EndpointLoad.from_json(v) for k, v in data["endpoints"].items()}
            return cls(**data)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LoadError(f"cannot read load result {path_or_text}: {exc}") from exc

    # ------------------------------------------------------------------ views
    def plot(self, kind: str = "cdf", ax: Any = None) -> Any:
        """Latency CDF (``kind="cdf"``) or histogram (``kind="hist"``) per endpoint."""
        if kind == "cdf":
            return latency_cdf(self, ax=ax)
        if kind in ("hist", "histogram"):
            return latency_histogram(self, ax=ax)
        raise LoadError(f"unknown plot kind {kind!r}: use 'cdf' or 'hist'")

    def headline(self) -> str:
        shape = f"{self.vus} VUs" if self.mode == "closed" else f"{self.rate:g} req/s offered"
        return (
            f"{self.label or self.target}: {shape} × {self.duration:.1f} s — "
            f"{self.rps:,.0f} req/s, p50 {self.p50:.1f} ms, p95 {self.p95:.1f} ms, "
            f"p99 {self.p99:.1f} ms, errors {self.error_rate:.1%}"
            + (" (partial run)" if self.aborted else "")
        )

    def notes(self) -> list[str]:
        notes = list(self.warnings)
        # p99 from fewer than 100 samples (p95 from fewer than 20) is one or two requests
        few = [
            f"{row['endpoint']} ({row['requests']})"
            for row in self.rows()
            if 0 < row["requests"] < 100
        ]
        if few:
            notes.append(
                "too few samples for a p99 (< 100 requests): "
                + ", ".join(few[:5])
                + (f" and {len(few) - 5} more" if len(few) > 5 else "")
            )
        if self.mode == "open":
            notes.append(f"{self.late} late starts, {self.dropped} dropped (never sent)")
        if self.aborted:
            notes.insert(0, f"run stopped early: {self.aborted} (partial results)")
        return notes

    def __str__(self) -> str:
        table = self.to_frame().to_string(float_format=lambda v: f"{v:,.2f}")
        return "\n".join([self.headline(), table, *self.notes()])

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes())
        frame = self.to_frame().to_html(float_format=lambda v: f"{v:,.2f}")
        return f"<p><b>{html.escape(self.headline())}</b></p>{frame}" + (
            f"<ul>{notes}</ul>" if notes else ""
        )
