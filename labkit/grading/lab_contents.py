"""The learner's JupyterLab: the student notebooks, without ``solutions/``.

``make lab`` starts JupyterLab on ``notebooks/`` with this contents manager: the withheld
folders are left out of every listing, and any request for a path inside them — the contents
API, ``/files/``, a save, a rename, a delete — is answered as if it did not exist (404). This
keeps the answers out of the learner's file browser; it is no lock (a kernel can still read the
disk), which is why a course is handed out as the student notebooks alone (see the README).
``make lab-instructor`` serves the same folder with Jupyter's own manager, solutions included.
"""

from __future__ import annotations

import posixpath
from typing import Any

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado.web import HTTPError
from traitlets import List, Unicode, default

WITHHELD = ("solutions",)


class LearnerContentsManager(AsyncLargeFileManager):
    """Jupyter's file manager with top-level folders (``solutions`` by default) withheld."""

    withheld = List(
        Unicode(), default_value=list(WITHHELD), config=True, help="top-level folders withheld"
    )

    @default("files_handler_class")
    def _files_handler_class_default(self) -> type:
        # Jupyter's default for files on disk serves /files/ straight from the folder, asking
        # the manager nothing; this handler asks is_hidden() and get(), which withhold.
        from jupyter_server.files.handlers import FilesHandler

        return FilesHandler

    def is_withheld(self, path: str) -> bool:
        parts = posixpath.normpath("/" + (path or "")).strip("/").split("/")
        return bool(parts) and parts[0] in self.withheld

    def _refuse(self, path: str) -> None:
        if self.is_withheld(path):
            raise HTTPError(404, f"No such file or directory: {path}")

    def should_list(self, name: str) -> bool:
        return name not in self.withheld and bool(super().should_list(name))

    async def is_hidden(self, path: str) -> bool:
        return self.is_withheld(path) or bool(await super().is_hidden(path))

    async def exists(self, path: str) -> bool:
        return not self.is_withheld(path) and bool(await super().exists(path))

    async def file_exists(self, path: str = "") -> bool:
        return not self.is_withheld(path) and bool(await super().file_exists(path))

    async def dir_exists(self, path: str) -> bool:
        return not self.is_withheld(path) and bool(await super().dir_exists(path))

    async def get(self, path: str, *args: Any, **kwargs: Any) -> Any:
        self._refuse(path)
        return await super().get(path, *args, **kwargs)

    async def save(self, model: Any, path: str = "") -> Any:
        self._refuse(path)
        return await super().save(model, path)

    async def delete_file(self, path: str) -> Any:
        self._refuse(path)
        return await super().delete_file(path)

    async def rename_file(self, old_path: str, new_path: str) -> Any:
        self._refuse(old_path)
        self._refuse(new_path)
        return await super().rename_file(old_path, new_path)
