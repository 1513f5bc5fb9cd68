"""``make lab`` keeps ``solutions/`` out of the learner's JupyterLab, asked of a real server."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import nbformat
import pytest
from nbformat.v4 import new_notebook

from labkit.app.server import free_port

pytestmark = pytest.mark.server
TOKEN = "labkit-test-token"
LEARNER = "--ServerApp.contents_manager_class=labkit.grading.lab_contents.LearnerContentsManager"


@contextmanager
def jupyter_server(root: Path, *options: str) -> Iterator[httpx.Client]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", f"--ServerApp.root_dir={root}",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.open_browser=False",
         f"--IdentityProvider.token={TOKEN}", "--ServerApp.ip=127.0.0.1", "--allow-root",
         *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"token {TOKEN}"}
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                client.get("/api/status").raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        yield client
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=30)


def course(root: Path) -> Path:
    (root / "solutions").mkdir(parents=True)
    for path in (root / "00_start.ipynb", root / "solutions" / "00_start.ipynb"):
        nbformat.write(new_notebook(), str(path))
    return root


def test_the_learners_lab_neither_lists_nor_serves_the_solutions(tmp_path: Path) -> None:
    root = course(tmp_path / "notebooks")
    with jupyter_server(root, LEARNER) as lab:
        listing = lab.get("/api/contents").json()
        assert [item["name"] for item in listing["content"]] == ["00_start.ipynb"]
        for url in (
            "/api/contents/solutions",
            "/api/contents/solutions/00_start.ipynb",
            "/api/contents/./solutions/00_start.ipynb",
            "/files/solutions/00_start.ipynb",
        ):
            assert lab.get(url).status_code == 404, url
        assert lab.get("/api/contents/00_start.ipynb").status_code == 200
        saved = lab.put("/api/contents/solutions/new.ipynb", json={"type": "notebook",
                        "content": new_notebook(), "format": "json"})  # fmt: skip
        assert saved.status_code >= 400
        assert not (root / "solutions" / "new.ipynb").exists()
    with jupyter_server(root) as instructor:  # make lab-instructor: Jupyter's own manager
        names = {item["name"] for item in instructor.get("/api/contents").json()["content"]}
        assert names == {"00_start.ipynb", "solutions"}
        assert instructor.get("/api/contents/solutions/00_start.ipynb").status_code == 200


def test_make_lab_uses_the_learners_contents_manager() -> None:
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    lab = makefile.split("\nlab:", 1)[1].split("\n\n", 1)[0]
    instructor = makefile.split("\nlab-instructor:", 1)[1].split("\n\n", 1)[0]
    assert LEARNER in lab
    assert "LearnerContentsManager" not in instructor
