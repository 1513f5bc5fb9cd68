"""``Report``: the finished report as Markdown and HTML, and saving it to disk."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from labkit.display import TextView


@dataclass(repr=False)
class Report(TextView):
    """The report as Markdown and HTML, plus every figure it quotes (for checks)."""

    markdown: str
    html: str
    figures: dict[str, float] = field(default_factory=dict)
    images: dict[str, bytes] = field(default_factory=dict)

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (.md with its plots in ``<stem>_files/``, or .html self-contained).

        Whole or not at all: the figures are written into a temporary folder that is renamed
        into place, then the report through a temporary file; a failure leaves neither."""
        from labkit.output_files import output_path, write_atomically

        path = output_path(path, what="report", create_folder=True)
        if path.suffix.lower() in (".html", ".htm"):
            return write_atomically(path, self.html)
        figure_dir = path.parent / f"{path.stem}_files"
        if self.images:
            staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{figure_dir.name}."))
            try:
                for name, png in self.images.items():
                    (staging / name).write_bytes(png)
                if figure_dir.exists():
                    shutil.rmtree(figure_dir)
                staging.rename(figure_dir)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return write_atomically(path, self.markdown.replace("](figures/", f"]({figure_dir.name}/"))

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.markdown
