# JupyterHub for a labkit course on one server: one local account per learner.
#
#   jupyterhub -f /path/to/labkit/deploy/jupyterhub_config.py
#
# What each learner gets: their own single-user JupyterLab (their uid, their processes), the
# student notebooks copied into ~/labkit-course on first start, progress in
# ~/.local/share/labkit and the datasets under their home (the course folder itself can be
# read-only). Solutions stay with the instructor: LABKIT_COURSE_DIR points at the released
# student notebooks only (`labkit release` output), never at notebooks/solutions.
#
# Settings read from the environment (each with a default for a course installed in /srv):
#   LABKIT_COURSE_DIR   folder of student notebooks to hand out   (/srv/labkit/notebooks)
#   LABKIT_HUB_URL      where the hub listens                     (http://127.0.0.1:8000)
#   LABKIT_HUB_ADMINS   comma-separated instructor accounts       (none)
# Authentication: the system's accounts (PAM, JupyterHub's default). For a workshop without
# accounts, see JupyterHub's NativeAuthenticator or an OAuth authenticator.
# (`get_config` is given by JupyterHub when it loads this file.)
from __future__ import annotations

import os
import pwd
import shutil
import sys
from pathlib import Path
from typing import Any

c = get_config()  # noqa: F821 - given by JupyterHub

COURSE_DIR = Path(os.environ.get("LABKIT_COURSE_DIR", "/srv/labkit/notebooks"))
COURSE_FOLDER = "labkit-course"

c.JupyterHub.bind_url = os.environ.get("LABKIT_HUB_URL", "http://127.0.0.1:8000")
c.Authenticator.admin_users = {
    name.strip() for name in os.environ.get("LABKIT_HUB_ADMINS", "").split(",") if name.strip()
}
# The labkit install the hub runs with serves every learner (same interpreter, same packages).
c.Spawner.cmd = [str(Path(sys.executable).with_name("jupyterhub-singleuser"))]
c.Spawner.default_url = f"/lab/tree/{COURSE_FOLDER}/00_start_here.ipynb"
c.Spawner.notebook_dir = "~"
# Nothing of the hub's own environment reaches a learner's server but what is listed here:
# in particular not LABKIT_HOME or LABKIT_DATA, so progress and data go under each home.
c.Spawner.env_keep = ["PATH", "LANG", "LC_ALL", "VIRTUAL_ENV"]
# A lab session starts servers and load tests of its own: give it room, not the whole machine.
c.Spawner.mem_limit = "2G"


def learner_home(spawner: Any) -> Path:
    """The learner's home: their account's, or the test spawner's home_dir."""
    home = getattr(spawner, "home_dir", "")  # SimpleLocalProcessSpawner (tests only)
    return Path(home) if home else Path(pwd.getpwnam(spawner.user.name).pw_dir)


def hand_out_course(spawner: Any) -> None:
    """Copy the student notebooks into the learner's home on their first start (never over
    their own work), owned by them."""
    target = learner_home(spawner) / COURSE_FOLDER
    if target.exists() or not COURSE_DIR.is_dir():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(COURSE_DIR, target, ignore=shutil.ignore_patterns("solutions", ".*"))
    try:
        account = pwd.getpwnam(spawner.user.name)
    except KeyError:  # no such account: the test spawner runs every learner as the hub's user
        account = None
    for folder, _, files in os.walk(target):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
        if account is not None and os.geteuid() == 0:
            os.chown(folder, account.pw_uid, account.pw_gid)
            for name in files:
                os.chown(os.path.join(folder, name), account.pw_uid, account.pw_gid)


c.Spawner.pre_spawn_hook = hand_out_course
# Datasets under each learner's home, whatever the course folder's permissions.
c.Spawner.environment = {
    "LABKIT_DATA": lambda spawner: str(learner_home(spawner) / ".local/share/labkit/data")
}
