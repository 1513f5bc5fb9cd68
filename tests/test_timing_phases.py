from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest

from labkit.errors import MeasurementError
from labkit.timing import Phases, parse_server_timing
from labkit.timing.phases import server_timing_metrics
from tests._fake_clock import FakeClock


def _request(clock: FakeClock) -> Phases:
    ph = Phases(clock=clock)
    clock.advance(0.001)  # routing: outside every phase
    with ph("db"):
        clock.advance(0.0123)
    with ph("cache"):
        clock.advance(0.0005)
    with ph("db"):
        clock.advance(0.002)
    with ph("serialise"):
        clock.advance(0.0007)
    return ph


def test_server_timing_header() -> None:
    ph = _request(FakeClock())
    assert ph.server_timing() == "db;dur=14.3, cache;dur=0.5, serialise;dur=0.7, total;dur=16.5"
    assert ph.server_timing(total=False) == "db;dur=14.3, cache;dur=0.5, serialise;dur=0.7"


def test_phases_accumulate_and_total() -> None:
    ph = _request(FakeClock())
    assert ph.phases == pytest.approx({"db": 0.0143, "cache": 0.0005, "serialise": 0.0007})
    assert ph.total == pytest.approx(0.0165)
    assert ph.unaccounted == pytest.approx(0.001)


def test_stop_freezes_total() -> None:
    clock = FakeClock()
    ph = _request(clock)
    clock.advance(0.0035)  # after the last phase, before the response is sent
    assert ph.stop() == pytest.approx(0.02)
    clock.advance(1.0)
    assert ph.total == pytest.approx(0.02)


def test_frame() -> None:
    frame = _request(FakeClock()).to_frame()
    assert list(frame.index) == ["db", "cache", "serialise", "total"]
    assert frame.loc["db", "count"] == 2
    assert frame.loc["db", "ms"] == pytest.approx(14.3)
    assert frame.loc["total", "share"] == 1.0


def test_plot_draws_one_bar_per_phase_plus_outside() -> None:
    ax = _request(FakeClock()).plot()
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "db",
        "cache",
        "serialise",
        "(outside phases)",
    ]
    assert ax.get_title() == "total 16.5 ms"


def test_text_and_html() -> None:
    ph = _request(FakeClock())
    assert str(ph) == "total 16.5 ms: db 14.3 ms, cache 500 µs, serialise 700 µs"
    assert "<td>db</td>" in ph._repr_html_()


def test_names_are_made_header_safe_and_checked() -> None:
    clock = FakeClock()
    ph = Phases(clock=clock)
    with ph("db query"):
        clock.advance(0.001)
    assert ph.server_timing(total=False) == "db_query;dur=1.0"
    with pytest.raises(MeasurementError, match="non-empty name"), ph(""):
        pass
    with pytest.raises(MeasurementError, match="'total' is computed"), ph("total"):
        pass


def test_exception_inside_phase_still_records() -> None:
    clock = FakeClock()
    ph = Phases(clock=clock)
    with pytest.raises(ValueError), ph("db"):
        clock.advance(0.004)
        raise ValueError
    assert ph.phases == pytest.approx({"db": 0.004})


def test_parse_server_timing_round_trip() -> None:
    ph = _request(FakeClock())
    parsed = parse_server_timing(ph.server_timing())  # milliseconds, as the header writes them
    assert parsed == {"db": 14.3, "cache": 0.5, "serialise": 0.7, "total": 16.5}
    assert parse_server_timing('miss, db;desc="Database";dur=2') == {"db": 2.0}


def test_parse_server_timing_reads_what_servers_send() -> None:
    header = 'db;dur=12.5;desc="3 statements", cache;dur=0, total;dur=15.25, miss'
    assert parse_server_timing(header) == {"db": 12.5, "cache": 0.0, "total": 15.25}
    assert parse_server_timing("") == {}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('app;desc="users, posts; sorted";dur=7.5, total;dur=9', {"app": 7.5, "total": 9.0}),
        ('render;desc="dur=99";dur=1.25', {"render": 1.25}),
        (r'db;desc="say \"hi\", then; dur=5";dur=2', {"db": 2.0}),  # escaped quotes
        ('  db ; dur = 4.25 ;desc = "x" ,  total ;DUR=9 ', {"db": 4.25, "total": 9.0}),
        ("db;dur=2, db;dur=30, total;dur=33", {"db": 2.0, "total": 33.0}),  # first name counts
        ("db;dur=4;dur=40", {"db": 4.0}),  # first dur counts
        ('db;dur="3.5"', {"db": 3.5}),  # a quoted number
        ("db;dur;dur=6", {"db": 6.0}),  # `dur` without `=` is no parameter
        ("db;dur=fast, app;dur=12ms, x;dur=inf, total;dur=1", {"total": 1.0}),  # not numbers
        ("db;desc=cold, db;dur=3", {"db": 3.0}),  # the first `db` carried no time
        ('db;desc="unclosed, total;dur=2', {"total": 2.0}),  # a stray quote
        ("db extra;dur=1, ;dur=2", {"db": 1.0}),  # junk after a name; no name at all
    ],
)
def test_parse_server_timing_follows_the_grammar(header: str, expected: dict[str, float]) -> None:
    assert parse_server_timing(header) == expected


def test_server_timing_metrics_keeps_every_entry() -> None:
    metrics = list(server_timing_metrics('db;dur=2;desc="a, b", db;dur=30, miss'))
    assert metrics == [("db", {"dur": "2", "desc": "a, b"}), ("db", {"dur": "30"}), ("miss", {})]
