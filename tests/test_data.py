"""The dataset generator: deterministic, matches the manifest, atomic, helpful on bad input."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from labkit.data import DEFAULT_SEED, SIZES, build, find_problem, read_dataset
from labkit.data.fingerprint import encode_rows, fingerprint_connection
from labkit.data.generator import GENERATOR_VERSION, WeightedPick, generate
from labkit.data.location import manifest_path
from labkit.errors import DatasetError


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("LABKIT_DATA", str(folder))
    return folder


def test_two_builds_have_the_same_fingerprint(tmp_path: Path) -> None:
    a = build("tiny", 7, tmp_path / "a.sqlite")
    b = build("tiny", 7, tmp_path / "b.sqlite")
    assert a.fingerprint == b.fingerprint
    assert a.path.read_bytes() != b""  # both really written


def test_a_different_seed_gives_different_rows(tmp_path: Path) -> None:
    a = build("tiny", 1, tmp_path / "a.sqlite")
    b = build("tiny", 2, tmp_path / "b.sqlite")
    assert a.fingerprint != b.fingerprint


def test_fingerprint_recomputed_from_the_file_matches_the_build(tmp_path: Path) -> None:
    ds = build("tiny", DEFAULT_SEED, tmp_path / "t.sqlite")
    conn = sqlite3.connect(ds.path)
    try:
        assert fingerprint_connection(conn) == ds.fingerprint
    finally:
        conn.close()


@pytest.mark.parametrize("size", ["tiny", "small"])
def test_fresh_build_reproduces_the_manifest(size: str, tmp_path: Path) -> None:
    manifest = json.loads(manifest_path().read_text())
    assert manifest["generator_version"] == GENERATOR_VERSION, (
        "the generator changed: rebuild every size and update data/manifest.json"
    )
    assert manifest["seed"] == DEFAULT_SEED
    ds = build(size, DEFAULT_SEED, tmp_path / f"{size}.sqlite")
    assert ds.fingerprint == manifest["fingerprints"][size]
    assert manifest["rows"][size] == sum(SIZES[size].values())


def test_row_counts_match_the_sizes(tmp_path: Path) -> None:
    ds = build("tiny", 3, tmp_path / "t.sqlite")
    conn = sqlite3.connect(ds.path)
    try:
        for table, expected in SIZES["tiny"].items():
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == expected
    finally:
        conn.close()
    assert ds.counts == SIZES["tiny"]


def test_canonical_encoding_is_plain_compact_json() -> None:
    rows = [(1, 'Zoë "quoted" \\ slash', None), (2, "", 0)]
    expected = json.dumps(rows, separators=(",", ":"), ensure_ascii=False)[1:-1] + ","
    assert encode_rows(rows) == expected.encode("utf-8")
    # chunk boundaries do not change the bytes
    assert encode_rows(rows[:1]) + encode_rows(rows[1:]) == encode_rows(rows)


def test_weighted_pick_never_leaves_its_range() -> None:
    class Edge:
        def random(self) -> float:
            return 1.0 - 2**-53

    pick = WeightedPick(Edge(), ["a", "b"], [1, 3])  # type: ignore[arg-type]
    assert pick.pick() == "b"


def test_the_data_has_the_skew_the_lessons_need() -> None:
    tables = {t.name: t.rows for t in generate("small", DEFAULT_SEED)}
    posts = tables["posts"]
    per_author: dict[int, int] = {}
    for post in posts:
        per_author[post[1]] = per_author.get(post[1], 0) + 1
    counts = sorted(per_author.values(), reverse=True)
    assert counts[0] > 10 * counts[len(counts) // 2]  # a few prolific authors
    published = sum(1 for p in posts if p[4] == "published")
    assert published > 0.75 * len(posts)
    per_post: dict[int, int] = {}
    for comment in tables["comments"]:
        per_post[comment[1]] = per_post.get(comment[1], 0) + 1
    assert max(per_post.values()) > 10 * (sum(per_post.values()) / len(per_post))
    drafts = {p[0] for p in posts if p[4] == "draft"}
    assert not drafts & set(per_post)  # nobody comments on a draft
    # every order total is the sum of its lines
    totals: dict[int, int] = {}
    for _, order_id, _, quantity, unit in tables["order_items"]:
        totals[order_id] = totals.get(order_id, 0) + quantity * unit
    assert all(totals[o[0]] == o[3] for o in tables["orders"])


def test_unknown_size_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"unknown dataset size 'medium': choose one of tiny"):
        build("medium", 1, tmp_path / "x.sqlite")


@pytest.mark.parametrize("seed", [-1, 1.5, "42", True])
def test_bad_seed_is_a_one_line_error(seed: object, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="seed must be a whole number"):
        build("tiny", seed, tmp_path / "x.sqlite")  # type: ignore[arg-type]


def test_path_under_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    with pytest.raises(DatasetError, match=r"notes.txt is a file, not a folder"):
        build("tiny", 1, a_file / "x.sqlite")


def test_read_only_folder_is_a_one_line_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        try:
            (locked / "probe").write_text("x")
        except PermissionError:
            pass
        else:
            pytest.skip("this user can write into read-only folders (root)")
        with pytest.raises(DatasetError, match=r"cannot write to .*permission denied"):
            build("tiny", 1, locked / "x.sqlite")
    finally:
        locked.chmod(0o700)


def test_interrupted_build_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit.data import builder as build_module

    def broken(size: str, seed: int):
        yield from []
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "generate", broken)
    with pytest.raises(KeyboardInterrupt):
        build("tiny", 1, tmp_path / "x.sqlite")
    assert list(tmp_path.iterdir()) == []


def test_corrupt_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DatasetError, match="damaged or not an SQLite database"):
        read_dataset(bad)
    problem = find_problem(bad)
    assert problem == "is damaged (file is not a database)"
