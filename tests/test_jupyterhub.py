"""The course on a real JupyterHub: two learners, each with their own server, progress and data.

Starts JupyterHub (``configurable-http-proxy`` from npm) on 127.0.0.1 with the shipped
``labkit/deploy/jupyterhub_config.py`` and a read-only course folder; starts two learners'
servers through the hub's REST API, runs solution notebook 00 in each learner's own kernel (over
the kernel's websocket, as the browser would) and asserts: each learner's progress and dataset
live under their own home, neither's kernel sees the other's attempts, the course was handed out
without its solutions, and nothing was written into the course folder or the repository's data.

The learners' servers run under JupyterHub's SimpleLocalProcessSpawner (a home per learner, all
as the hub's own account): the interpreter here lives under a home other accounts cannot enter,
so real accounts (the shipped config's LocalProcessSpawner) cannot start it. Separate accounts
add the operating system's file permissions on top of what is tested here.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import nbformat
import pytest

from labkit.app.server import free_port
from labkit.deploy import example
from tests.jupyter_servers import answers, wait_until

ROOT = Path(__file__).resolve().parent.parent
USERS = ("labkit-learner-a", "labkit-learner-b")
HUB = shutil.which("jupyterhub", path=str(Path(sys.executable).parent)) or shutil.which(
    "jupyterhub"
)

pytestmark = [
    pytest.mark.hub,
    pytest.mark.skipif(HUB is None, reason="jupyterhub is not installed (pip install jupyterhub)"),
    pytest.mark.skipif(
        shutil.which("configurable-http-proxy") is None,
        reason="no configurable-http-proxy (npm install -g configurable-http-proxy)",
    ),
]


class Hub:
    def __init__(self, url: str, token: str, course: Path) -> None:
        self.url, self.token, self.course = url, token, course

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    work = tmp_path_factory.mktemp("hub")
    course = work / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "00_start_here.ipynb", course)
    shutil.copy(ROOT / "notebooks" / "solutions" / "00_start_here.ipynb", course / "solutions")
    for path in (course / "solutions" / "00_start_here.ipynb", course / "00_start_here.ipynb"):
        path.chmod(0o444)
    (course / "solutions").chmod(0o555)
    course.chmod(0o555)
    token = secrets.token_hex(24)
    port, hub_port, api_port = free_port(), free_port(), free_port()
    config = work / "test_config.py"
    config.write_text(
        f"load_subconfig({str(example('jupyterhub_config.py'))!r})\n"
        f"c.JupyterHub.hub_bind_url = 'http://127.0.0.1:{hub_port}'\n"
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{api_port}'\n"
        "c.JupyterHub.authenticator_class = 'dummy'\n"
        f"c.Authenticator.allowed_users = {set(USERS)!r}\n"
        f"c.JupyterHub.services = [{{'name': 'course-test', 'api_token': {token!r}}}]\n"
        "c.JupyterHub.load_roles = [{'name': 'course-test', 'services': ['course-test'],"
        " 'scopes': ['admin:users', 'admin:servers', 'access:servers']}]\n"
        f"c.JupyterHub.db_url = 'sqlite:///{work}/hub.sqlite'\n"
        f"c.JupyterHub.cookie_secret_file = '{work}/cookie_secret'\n"
        f"c.JupyterHub.pid_file = '{work}/hub.pid'\n"
        "c.JupyterHub.spawner_class = 'jupyterhub.spawner.SimpleLocalProcessSpawner'\n"
        f"c.SimpleLocalProcessSpawner.home_dir_template = '{work}/homes/{{username}}'\n"
        # The test spawner runs every learner as the hub's own account, root in CI.
        f"c.Spawner.args = {['--allow-root'] if os.geteuid() == 0 else []!r}\n"
        "c.Spawner.start_timeout = 90\n"
        "c.Spawner.http_timeout = 90\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LABKIT_")},
        "LABKIT_COURSE_DIR": str(course),
        "LABKIT_HUB_URL": f"http://127.0.0.1:{port}",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    log = open(work / "hub.log", "wb")  # noqa: SIM115 - handed to the hub
    process = subprocess.Popen(
        [str(HUB), "-f", str(config)],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(f"{url}/hub/api/"), timeout=60, what="JupyterHub")
        yield Hub(url, token, course)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


async def _start_server(session: aiohttp.ClientSession, hub: Hub, user: str) -> None:
    async with session.post(f"{hub.url}/hub/api/users/{user}", headers=hub.headers) as r:
        assert r.status in (201, 409), await r.text()
    async with session.post(f"{hub.url}/hub/api/users/{user}/server", headers=hub.headers) as r:
        assert r.status in (201, 202), await r.text()
    for _ in range(240):
        async with session.get(f"{hub.url}/hub/api/users/{user}", headers=hub.headers) as r:
            model = await r.json()
        server = model.get("servers", {}).get("", {})
        if server.get("ready"):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{user}'s server did not become ready")


async def _run_cells(
    session: aiohttp.ClientSession, hub: Hub, user: str, sources: list[str]
) -> tuple[list[str], str]:
    """Execute ``sources`` one by one in a new kernel of ``user``'s server; return the errors
    and what the cells printed."""
    base = f"{hub.url}/user/{user}/api"
    async with session.post(f"{base}/kernels", headers=hub.headers, json={}) as r:
        assert r.status == 201, await r.text()
        kernel = (await r.json())["id"]
    errors: list[str] = []
    printed: list[str] = []
    channels = f"{base.replace('http', 'ws', 1)}/kernels/{kernel}/channels"
    async with session.ws_connect(channels, headers=hub.headers, max_msg_size=0) as ws:
        ident = uuid.uuid4().hex
        for index, source in enumerate(sources, start=1):
            msg_id = uuid.uuid4().hex
            await ws.send_str(
                json.dumps(
                    {
                        "header": {
                            "msg_id": msg_id,
                            "username": user,
                            "session": ident,
                            "msg_type": "execute_request",
                            "version": "5.3",
                        },
                        "parent_header": {},
                        "metadata": {},
                        "content": {"code": source, "silent": False, "allow_stdin": False},
                        "channel": "shell",
                    }
                )
            )
            while True:
                message = json.loads((await ws.receive(timeout=180)).data)
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = message["header"]["msg_type"]
                if kind == "stream":
                    printed.append(message["content"]["text"])
                if kind == "error":
                    content = message["content"]
                    errors.append(f"cell {index}: {content['ename']}: {content['evalue']}")
                if kind == "status" and message["content"]["execution_state"] == "idle":
                    break
    async with session.delete(f"{base}/kernels/{kernel}", headers=hub.headers):
        pass
    return errors, "".join(printed)


def _passed(store: Path) -> set[str]:
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT exercise FROM attempts WHERE verdict = 'passed'").fetchall()
    return {row[0] for row in rows}


WHERE_AM_I = (
    "from labkit.data.location import data_dir\n"
    "from labkit.grading.progress_store import ProgressStore\n"
    "store = ProgressStore()\n"
    "print('store', store.path)\n"
    "print('data', data_dir())\n"
    "print('attempts', len(store.attempts()))\n"
)
ONE_MORE_ATTEMPT = (
    "from labkit import check\n"
    "def top_authors(db, k=10):\n"
    "    raise NotImplementedError()\n"
    "check('00.top_authors', top_authors)\n"
)


def _report(printed: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in printed.splitlines() if line.count(" ") >= 1)


def test_two_learners_on_one_hub_keep_their_own_progress_and_data(hub: Hub) -> None:
    solution = nbformat.read(ROOT / "notebooks" / "solutions" / "00_start_here.ipynb", 4)
    cells = [cell.source for cell in solution.cells if cell.cell_type == "code"]
    a, b = USERS
    repo_data_before = sorted((ROOT / "data").glob("*"))

    async def both() -> dict[str, tuple[list[str], str]]:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(_start_server(session, hub, user) for user in USERS))
            # Both learners at once, as a class would.
            done = await asyncio.gather(*(_run_cells(session, hub, u, cells) for u in USERS))
            runs = dict(zip(USERS, done, strict=True))
            await _run_cells(session, hub, b, [ONE_MORE_ATTEMPT])
            for user in USERS:
                errors, printed = await _run_cells(session, hub, user, [WHERE_AM_I])
                runs[f"{user}:where"] = (errors, printed)
            return runs

    runs = asyncio.run(both())
    assert [runs[user][0] for user in USERS] == [[], []], "notebook 00 failed on the hub"
    homes = {user: hub.course.parent / "homes" / user for user in USERS}
    seen = {user: _report(runs[f"{user}:where"][1]) for user in USERS}
    for user, home in homes.items():
        store = Path(seen[user]["store"])
        assert store.is_relative_to(home), f"{user}'s progress is kept outside their home: {store}"
        assert Path(seen[user]["data"]).is_relative_to(home)
        assert {"00.top_authors", "00.server_timing"} <= _passed(store)
        assert list(home.rglob("small-42*.sqlite")), f"{user}'s dataset is not under their home"
        course = home / "labkit-course"
        assert (course / "00_start_here.ipynb").is_file(), "the course was not handed out"
        assert not (course / "solutions").exists(), "the solutions were handed out"
    # Each kernel sees only its own learner's attempts: b made one more than a.
    assert int(seen[b]["attempts"]) == int(seen[a]["attempts"]) + 1
    # Nothing was written into the read-only course folder or the repository's data folder.
    assert sorted(p.name for p in hub.course.iterdir()) == ["00_start_here.ipynb", "solutions"]
    assert sorted((ROOT / "data").glob("*")) == repo_data_before
