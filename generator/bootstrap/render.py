"""Write ``pipelines/pipelines.json``, or tell whether the committed one is stale. No printing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.bootstrap.template import render_template

TEMPLATE_RELPATH = "pipelines/pipelines.json"


@dataclass(frozen=True)
class RenderResult:
    path: Path
    text: str
    changed: bool  # the file on disk differed (or was missing)

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8"))


def default_output(root: Path) -> Path:
    return Path(root) / TEMPLATE_RELPATH


def generate(root: Path, output: Path | None = None, *, check: bool = False) -> RenderResult:
    """Render the template of ``root``; write it to ``output`` unless ``check``.

    With ``check``, nothing is written and ``changed`` says whether the file is stale.
    """
    path = Path(output) if output is not None else default_output(root)
    text = render_template(Path(root))
    try:
        current = path.read_text("utf-8")
    except FileNotFoundError:
        current = None
    changed = current != text
    if changed and not check:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return RenderResult(path=path, text=text, changed=changed)
