"""ensure(), fresh_copy(), isolated_copy() and the `labkit data` command."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

import pytest

from labkit.commands import data as data_command
from labkit.data import data_dir, ensure, fresh_copy, isolated_copy
from labkit.errors import DatasetError


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("LABKIT_DATA", str(folder))
    return folder


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="labkit")
    data_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["data", *argv])
    return int(args.func(args))


def test_data_dir_follows_labkit_data(data_home: Path) -> None:
    assert data_dir() == data_home and data_home.is_dir()


def test_data_dir_without_labkit_data_or_a_checkout_is_in_the_user_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One resolver for the user's folder (platformdirs), shared with the progress store."""
    import sys

    from labkit.data import location
    from labkit.grading.progress_store import labkit_home

    monkeypatch.delenv("LABKIT_DATA", raising=False)
    monkeypatch.delenv("LABKIT_HOME", raising=False)
    monkeypatch.setattr(location, "repo_data_dir", lambda: tmp_path / "not-a-checkout" / "data")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir() == location.user_folder() / "data"
    assert labkit_home() == location.user_folder()
    if sys.platform.startswith("linux"):
        assert location.user_folder() == tmp_path / "xdg" / "labkit"


def test_ensure_builds_once_then_is_cheap(
    data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = ensure("tiny", 5)
    assert first.built_now and "building the tiny dataset" in capsys.readouterr().out
    second = ensure("tiny", 5)
    assert not second.built_now and capsys.readouterr().out == ""
    assert second.fingerprint == first.fingerprint and second.path == first.path


def test_ensure_rebuilds_a_damaged_file(
    data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds = ensure("tiny", 5)
    ds.path.write_bytes(b"\0" * 4096)
    capsys.readouterr()
    again = ensure("tiny", 5)
    assert again.built_now and again.fingerprint == ds.fingerprint
    assert "rebuilding it" in capsys.readouterr().out


def test_ensure_rebuilds_a_modified_file(
    data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds = ensure("tiny", 5)
    conn = sqlite3.connect(ds.path)
    conn.execute("CREATE INDEX idx_posts_author ON posts(author_id)")
    conn.commit()
    conn.close()
    capsys.readouterr()
    again = ensure("tiny", 5)
    assert again.built_now
    assert "extra idx_posts_author" in capsys.readouterr().out


def test_ensure_rebuilds_after_deleted_rows(data_home: Path) -> None:
    ds = ensure("tiny", 5)
    conn = sqlite3.connect(ds.path)
    conn.execute("DELETE FROM comments WHERE id < 10")
    conn.commit()
    conn.close()
    assert ensure("tiny", 5).built_now


def test_fresh_copy_is_isolated(data_home: Path) -> None:
    shared = ensure("tiny", 5)
    copy = fresh_copy("tiny", 5)
    try:
        assert copy != shared.path
        conn = sqlite3.connect(copy)
        conn.execute("DELETE FROM users")
        conn.commit()
        conn.close()
        check = sqlite3.connect(shared.path)
        assert check.execute("SELECT count(*) FROM users").fetchone()[0] == 60
        check.close()
        assert not ensure("tiny", 5).built_now  # the shared copy was never touched
    finally:
        copy.unlink()


def test_isolated_copy_is_deleted_afterwards(data_home: Path) -> None:
    with isolated_copy("tiny", 5) as path:
        assert path.is_file()
        conn = sqlite3.connect(path)
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 600
        conn.close()
    assert not path.exists()


def test_fresh_copy_to_a_chosen_folder(data_home: Path, tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    copy = fresh_copy("tiny", 5, dest=target)
    assert copy == target / "tiny-5.sqlite" and copy.is_file()


def test_fresh_copy_rejects_bad_input(data_home: Path) -> None:
    with pytest.raises(DatasetError, match="unknown dataset size"):
        fresh_copy("medium")
    with pytest.raises(DatasetError, match="seed must be"):
        fresh_copy("tiny", -1)


def test_cli_build_and_info(
    data_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "t.sqlite"
    assert cli("build", "--size", "tiny", "--seed", "3", "--out", str(out)) == 0
    text = capsys.readouterr().out
    assert "tiny dataset (seed 3)" in text and "rows/s" in text
    assert cli("build", "--size", "tiny", "--seed", "3", "--out", str(out), "--if-missing") == 0
    assert "already present" in capsys.readouterr().out
    assert cli("info", str(out), "--verify") == 0
    assert "health (fingerprint recomputed): ok" in capsys.readouterr().out


def test_cli_build_if_missing_uses_the_shared_copy(
    data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("build", "--size", "tiny", "--if-missing", "--no-progress") == 0
    assert (data_home / "tiny-42.sqlite").is_file()
    capsys.readouterr()
    assert cli("build", "--size", "tiny", "--if-missing") == 0
    assert "already present, healthy" in capsys.readouterr().out


def test_cli_info_flags_a_damaged_file(data_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ensure("tiny", 5)
    (data_home / "junk.sqlite").write_text("not a database")
    assert cli("info") == 1
    text = capsys.readouterr().out
    assert "junk.sqlite" in text and "tiny-5.sqlite" in text


def test_cli_bad_seed_is_a_dataset_error(data_home: Path) -> None:
    with pytest.raises(DatasetError, match="seed must be a whole number"):
        cli("build", "--size", "tiny", "--seed", "-2")


def test_two_builders_of_one_file_both_finish_cleanly(tmp_path: Path) -> None:
    import threading

    from labkit.data import build, find_problem

    target = tmp_path / "shared.sqlite"
    errors: list[BaseException] = []

    def builder() -> None:
        try:
            build("tiny", 9, target)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=builder) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert find_problem(target, "tiny", 9, deep=True) is None
    assert [p.name for p in tmp_path.iterdir()] == ["shared.sqlite"]  # no temp files left


def test_public_names() -> None:
    import labkit.data
    import labkit.db

    assert {"build", "ensure", "fresh_copy", "isolated_copy", "data_dir", "Dataset"} <= set(
        labkit.data.__all__
    )
    assert {"DEFAULT_SEED", "SIZES"} <= set(labkit.data.__all__)
    assert {
        "connect",
        "statement_log",
        "explain",
        "Pool",
        "slow_statement_log",
        "sync_connect",
    } <= set(labkit.db.__all__)
