"""``Report``: the finished report as Markdown and HTML, and saving it to disk."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from labkit.display import TextView


@dataclass
class Report(TextView):
    """The report as Markdown and HTML, plus every figure it quotes (for checks)."""

    markdown: str
    html: str
    figures: dict[str, float] = field(default_factory=dict)
    images: dict[str, bytes] = field(default_factory=dict)

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (.md with its plots in ``<stem>_files/``, or .html self-contained)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() in (".html", ".htm"):
            path.write_text(self.html)
            return path
        figure_dir = path.parent / f"{path.stem}_files"
        if self.images:
            figure_dir.mkdir(exist_ok=True)
            for name, png in self.images.items():
                (figure_dir / name).write_bytes(png)
        path.write_text(self.markdown.replace("](figures/", f"]({figure_dir.name}/"))
        return path

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.markdown
