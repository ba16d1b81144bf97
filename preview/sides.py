"""Load one side of a change (a commit, or the working tree) with generator's own loaders.

Only the changed stack folders and ``pipelines/`` are read. They are written to a scratch
folder laid out like the repository, so that ``discover_stacks``, ``load_stack`` and
``load_config`` read them exactly as ``changegate validate`` and the sync do: one meaning of
"a stack" everywhere, whichever side it comes from.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.contract.config import CONFIG_RELPATH, PipelinesConfig, load_config
from generator.contract.discovery import STACKS_DIR, discover_stacks
from generator.contract.documents import read_document
from generator.contract.problems import Problem
from generator.contract.stacks import LoadedStack, load_stack
from generator.errors import ConfigError
from preview.gitrepo import GitRepository

PIPELINES_DIR = "pipelines"
# The generated bootstrap template is large and says nothing the config does not.
SKIPPED = {"pipelines/pipelines.json"}


@dataclass
class Side:
    """What one side holds for the changed stacks. ``commit`` None: the working tree."""

    label: str
    commit: str | None
    config: PipelinesConfig | None = None
    config_data: Any = None  # the raw decoded pipelines/config.yaml, for setting diffs
    config_error: str | None = None
    stacks: dict[str, LoadedStack] = field(default_factory=dict)
    problems: dict[str, list[Problem]] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)  # changed folders that exist on this side
    stack_policies: dict[str, str] = field(default_factory=dict)  # folder -> policy text


def materialize(repo: GitRepository, commit: str | None, folders: list[str],
                target: Path) -> None:
    """Write ``pipelines/`` and the stack ``folders`` of one side under ``target``."""
    wanted = [f"{STACKS_DIR}/{name}" for name in folders] + [PIPELINES_DIR]
    if commit is None:
        for relpath in wanted:
            source = repo.root / relpath
            if source.is_dir():
                shutil.copytree(source, target / relpath, symlinks=False,
                                ignore=lambda _d, names: [n for n in names if n.startswith(".")
                                                          or n == "pipelines.json"])
        return
    paths = [p for p in repo.list_files(commit, wanted) if p not in SKIPPED]
    for relpath, content in repo.read_blobs(commit, paths).items():
        destination = target / relpath
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(content)


def load_side(label: str, commit: str | None, root: Path) -> Side:
    """Load the materialized side under ``root`` (see ``materialize``)."""
    side = Side(label=label, commit=commit)
    if (root / CONFIG_RELPATH).is_file():
        document = read_document(root / CONFIG_RELPATH, root, precise=False)
        side.config_data = document.data
        try:
            side.config = load_config(root)
        except ConfigError as exc:
            side.config_error = str(exc)
    else:
        side.config_error = f"{CONFIG_RELPATH}: not found"
    if not (root / STACKS_DIR).is_dir():
        return side
    sources, problems = discover_stacks(root)
    for problem in problems:
        if problem.stack:
            side.problems.setdefault(problem.stack, []).append(problem)
            side.present.add(problem.stack)
    for source in sources:
        side.present.add(source.name)
        if side.config is None:
            continue
        stack, stack_problems = load_stack(source, root, side.config)
        if stack_problems:
            side.problems.setdefault(source.name, []).extend(stack_problems)
        if stack is not None:
            side.stacks[source.name] = stack
        policy = side.config.settings_for(source.name).stack_policy
        if policy is not None and policy.is_file():
            side.stack_policies[source.name] = policy.read_text("utf-8")
    return side
