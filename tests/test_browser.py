"""The course in a real browser: JupyterLab driven by Playwright in Debian's Chromium.

Runs notebook 00 (student) and solution 00 with Run All, then asserts that every cell ran,
no cell shows an error, the check cards render with their verdicts and the progress widget
renders (no "Error displaying widget"). Screenshots go to the test's temporary folder.
Skipped with a reason where Chromium or Playwright is missing (`.ci/run` installs both).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from labkit.app.server import free_port
from tests.jupyter_servers import CHROMIUM_ARGS, chromium, server_process, wait_until

ROOT = Path(__file__).resolve().parent.parent
BROWSER = chromium()
playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(BROWSER is None, reason="no chromium here (apt-get install chromium)"),
]


# A code cell shows "[ ]" before it runs, "[*]" while waiting or running and "[7]" after: the run
# is over when every code cell has a number and the kernel is idle again.
FINISHED = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
    const done = prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
    const idle = document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']");
    return prompts.length > 0 && done && idle !== null;
}"""


STARTED = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
    .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""


class Lab:
    def __init__(self, url: str, token: str, root: Path) -> None:
        self.url, self.token, self.root = url, token, root


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "notebooks" / "00_start_here.ipynb", root / "00_student.ipynb")
    shutil.copy(
        ROOT / "notebooks" / "solutions" / "00_start_here.ipynb", root / "00_solution.ipynb"
    )
    settings = root.parent / "lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # Every cell in the DOM (no virtual scrolling), so the page can be read whole.
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    # No "get notified about Jupyter news?" pop-up over the page (and no fetch on a closed net).
    news = root.parent / "lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    token, port = secrets.token_hex(16), free_port()
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(root.parent / "lab-settings"),
        "LABKIT_HOME": str(root.parent / "home"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("LABKIT_STRICT", None)
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}",
        "--ip=127.0.0.1", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
        "--ServerApp.port_retries=0",
    ]  # fmt: skip
    with server_process(
        command,
        env=env,
        log=root.parent / "lab.log",
        ready_url=f"{url}/api/status?token={token}",
        what="JupyterLab",
    ):
        yield Lab(url, token, root)


def run_all(lab: Lab, name: str, shots: Path) -> tuple[nbformat.NotebookNode, str]:
    """Open ``name``, Run All, save; return the saved notebook and the page's text."""
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=BROWSER, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            # A workspace of its own, reset: only this notebook is open on the page.
            workspace = Path(name).stem.replace("_", "-")
            page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{name}?reset&token={lab.token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.wait_for_selector(
                ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000
            )
            wait_until(lambda: kernel_idle(lab, name), timeout=90, what="the notebook's kernel")
            run_all_cells(page)
            try:
                page.wait_for_function(FINISHED, timeout=240_000, polling=500)
            finally:
                page.screenshot(path=str(shots / f"{Path(name).stem}.png"), full_page=True)
            page.keyboard.press("Control+s")
            # The save is asynchronous: read the file once it holds this run's outputs.
            wait_until(lambda: saved_with_outputs(lab.root / name), timeout=60, what="the save")
            page.screenshot(path=str(shots / f"{Path(name).stem}.png"), full_page=True)
            text = page.inner_text(".jp-Notebook")
        finally:
            browser.close()
    return nbformat.read(lab.root / name, as_version=4), text


def kernel_idle(lab: Lab, name: str) -> bool:
    """The notebook's kernel has started and is idle (asked of the server, not the page)."""
    try:
        with urllib.request.urlopen(f"{lab.url}/api/sessions?token={lab.token}", timeout=5) as r:
            sessions = json.load(r)
    except OSError:
        return False
    return any(
        s.get("path") == name and (s.get("kernel") or {}).get("execution_state") == "idle"
        for s in sessions
    )


def saved_with_outputs(path: Path) -> bool:
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # caught mid-write
        return False
    return all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def run_all_cells(page: Any) -> None:
    """Run > Run All Cells, again if the kernel was not ready to take it the first time."""
    for _ in range(4):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()
        try:
            page.wait_for_function(STARTED, timeout=45_000, polling=250)
            return
        except playwright_api.TimeoutError:
            page.keyboard.press("Escape")
    raise AssertionError("Run All Cells never started the notebook")


def errors_in(nb: nbformat.NotebookNode) -> list[str]:
    found = []
    for index, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
    return found


@pytest.mark.parametrize(
    ("name", "verdict"), [("00_student.ipynb", "not yet"), ("00_solution.ipynb", "passed")]
)
def test_run_all_in_a_real_browser(lab: Lab, name: str, verdict: str, tmp_path: Path) -> None:
    nb, text = run_all(lab, name, tmp_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "a cell did not run"
    assert errors_in(nb) == []
    assert "Error displaying widget" not in text
    assert "Traceback" not in text
    assert verdict in text.lower(), f"no {verdict!r} check card on the page"
    cards = [
        o for c in code for o in c.get("outputs", []) if "labkit-check" in str(o.get("data", {}))
    ]
    assert cards, "no check card was rendered"
    widgets = [
        o
        for c in code
        for o in c.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert widgets, "the progress widget did not render"
    assert (tmp_path / f"{Path(name).stem}.png").stat().st_size > 10_000
