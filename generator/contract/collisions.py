"""Names two stacks would share: what ``generate`` refuses, found by ``validate`` first, all at once.

``generate`` (``template._check_names``) stops at the first clash; CI and the sync run ``validate``,
so every clash must be reported there, together, before a merge:

- two enabled stacks deploying one CloudFormation stack (a ``stack_name`` override naming
  another folder's stack, or two overrides naming one stack);
- a ``stack_name`` equal to the bootstrap stack's own name (``<project>-pipelines``);
- two enabled folders whose pipelines get one logical id in the bootstrap template
  (``logical_ids.stack_pipeline``: ``my-stack``, ``my-Stack`` and ``myStack`` all become
  ``PipelineMyStack``);
- two folders whose names are equal but for case: a checkout on a case-insensitive file system
  (macOS, Windows) holds only one of them.
"""

from __future__ import annotations

from collections.abc import Iterable

from generator import logical_ids, naming
from generator.contract.config import CONFIG_RELPATH, PipelinesConfig
from generator.contract.problems import Problem, error


def collision_problems(config: PipelinesConfig, folders: Iterable[str]) -> list[Problem]:
    # an invalid folder name is reported as such (stacks.py); a clash on top would be noise
    folders = sorted(f for f in set(folders) if naming.STACK_FOLDER_RE.match(f))
    enabled = [f for f in folders if not config.settings_for(f).disabled]
    problems: list[Problem] = []
    bootstrap = naming.bootstrap_stack_name(config.project)
    seen_stacks: dict[str, str] = {}
    seen_ids: dict[str, str] = {}
    reported: set[str] = set()
    for folder in enabled:
        override = config.settings_for(folder).stack_name
        name = naming.stack_name(config.project, folder, override)
        where = (CONFIG_RELPATH, f"stacks.{folder}.stack_name") if override else \
            (f"stacks/{folder}", None)
        if override and name == bootstrap:
            problems.append(error(
                where[0], "stack-name-bootstrap",
                f"stacks.{folder}.stack_name {name!r} is the bootstrap stack's own name",
                key=where[1], stack=folder,
                hint="the bootstrap stack holds every pipeline: adopt the stack under another name"))
        other = seen_stacks.setdefault(name, folder)
        if other != folder:
            problems.append(error(
                where[0], "stack-name-duplicate",
                f"stacks/{other} and stacks/{folder} both deploy the stack {name!r}",
                key=where[1], stack=folder,
                hint="each stack has one pipeline: change stacks.<name>.stack_name in "
                     f"{CONFIG_RELPATH}, or disable one of them"))
        logical_id = logical_ids.stack_pipeline(folder)
        other = seen_ids.setdefault(logical_id, folder)
        if other != folder:
            reported.add(folder)
            problems.append(_logical_id_problem(other, folder, logical_id))
    seen_folded: dict[str, str] = {}
    for folder in folders:
        other = seen_folded.setdefault(folder.casefold(), folder)
        if other != folder and folder not in reported:
            problems.append(_case_problem(other, folder))
    return problems


def folder_collision_problems(folders: Iterable[str]) -> list[Problem]:
    """The clashes that need no pipelines/config.yaml (for a run where it is invalid)."""
    folders = sorted(f for f in set(folders) if naming.STACK_FOLDER_RE.match(f))
    problems: list[Problem] = []
    seen_ids: dict[str, str] = {}
    seen_folded: dict[str, str] = {}
    for folder in folders:
        logical_id = logical_ids.stack_pipeline(folder)
        other = seen_ids.setdefault(logical_id, folder)
        if other != folder:
            problems.append(_logical_id_problem(other, folder, logical_id))
            continue
        other = seen_folded.setdefault(folder.casefold(), folder)
        if other != folder:
            problems.append(_case_problem(other, folder))
    return problems


def _logical_id_problem(other: str, folder: str, logical_id: str) -> Problem:
    return error(f"stacks/{folder}", "stack-name-logical-id",
                 f"stacks/{other} and stacks/{folder} map to the same logical id {logical_id!r} in "
                 "the bootstrap template (names that differ only in case or hyphens)",
                 stack=folder, hint="rename one folder")


def _case_problem(other: str, folder: str) -> Problem:
    return error(f"stacks/{folder}", "stack-name-case",
                 f"stacks/{other} and stacks/{folder} differ only in case: a checkout on a "
                 "case-insensitive file system (macOS, Windows) holds only one of them",
                 stack=folder, hint="rename one folder")
