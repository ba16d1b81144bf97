"""Write ``pipelines/pipelines.json`` (and its shards), or tell whether the committed ones are stale.

No printing. When the bootstrap template is sharded (generator/bootstrap/shards.py), each nested
stack's template goes to ``pipelines/shards/<NN>.json`` beside the parent; shard files of that form
that the current template no longer names are removed (they are generated, and only generated).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from generator.bootstrap.shards import SHARDS_DIR, bootstrap_templates
from generator.bootstrap.template import validated_repository

TEMPLATE_RELPATH = "pipelines/pipelines.json"
# The shard files this command owns (and removes when stale): two digits, .json.
SHARD_FILE_RE = re.compile(r"\A[0-9]{2}\.json\Z")


@dataclass(frozen=True)
class RenderedFile:
    path: Path
    text: str
    changed: bool  # the file on disk differed (or was missing)

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8"))


@dataclass(frozen=True)
class RenderResult:
    path: Path
    text: str
    changed: bool  # the parent, a shard, or a stale shard file differed from what is generated
    shards: tuple[RenderedFile, ...] = ()
    stale: tuple[Path, ...] = ()  # shard files no longer generated (removed unless check)
    parent_changed: bool = False

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8"))

    @property
    def outdated(self) -> tuple[Path, ...]:
        """The files that differ from what is generated: missing, stale or left over."""
        return ((self.path,) if self.parent_changed else ()) + tuple(
            f.path for f in self.shards if f.changed) + self.stale


def default_output(root: Path) -> Path:
    return Path(root) / TEMPLATE_RELPATH


def generate(root: Path, output: Path | None = None, *, check: bool = False) -> RenderResult:
    """Render the template of ``root`` (and its shards); write them beside ``output`` unless ``check``.

    With ``check``, nothing is written and ``changed`` says whether any file is stale or missing,
    or a shard file is left over. Otherwise shards are written first and the parent last (it names
    the shards' content), each file replaced whole, then leftover shard files are removed.
    """
    path = Path(output) if output is not None else default_output(root)
    report = validated_repository(Path(root))
    templates = bootstrap_templates(report.config, report.stacks)
    parent = RenderedFile(path, templates.text, _read(path) != templates.text)
    shards = tuple(RenderedFile(path.parent / s.file, s.text, _read(path.parent / s.file) != s.text)
                   for s in templates.shards)
    wanted = {f.path for f in shards}
    directory = path.parent / SHARDS_DIR
    stale = tuple(sorted(p for p in directory.glob("*.json")
                         if SHARD_FILE_RE.match(p.name) and p not in wanted)) if directory.is_dir() else ()
    changed = parent.changed or any(f.changed for f in shards) or bool(stale)
    if not check:
        for file in (*shards, parent):
            if file.changed:
                _write(file.path, file.text)
        for leftover in stale:
            leftover.unlink()
    return RenderResult(path=path, text=templates.text, changed=changed, shards=shards, stale=stale,
                        parent_changed=parent.changed)


def _read(path: Path) -> str | None:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        return None


def _write(path: Path, text: str) -> None:
    """Replace ``path`` whole: a reader (or an interrupted run) never sees half a template."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
