"""Stack names reserved for the bootstrap stack's nested stacks (its shards).

When one template cannot hold every pipeline, the bootstrap stack ``<project>-pipelines`` holds them
in nested stacks (generator/bootstrap/shards.py), which CloudFormation names
``<parent stack>-<logical id>-<random>`` (as for the managed stacks' own nested stacks: aws-fidelity
notes, F17). The roles that may change every ``<project>-*`` stack are denied
``stack/<project>-pipelines/*`` and ``stack/<project>-pipelines-*/*``; a managed stack named
``<project>-pipelines-<anything>`` would fall under that deny (its pipeline could never deploy it)
and would pass for a shard of the bootstrap stack in every policy. So no stack may take such a name,
whether from its folder (``stacks/pipelines-x``) or from a ``stack_name`` override.

Hook: ``generator/contract/validate.py`` adds ``shard_name_problems(config, folders)`` to the
collision checks; ``changegate generate`` refuses the same names on its own (shards.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from generator import naming
from generator.contract.config import CONFIG_RELPATH, PipelinesConfig
from generator.contract.problems import Problem, error


def shard_stack_prefix(project: str) -> str:
    """Every stack name that starts with this is (or could be) a shard of the bootstrap stack."""
    return f"{naming.bootstrap_stack_name(project)}-"


def is_shard_name(project: str, stack_name: str) -> bool:
    return stack_name.startswith(shard_stack_prefix(project))


def shard_name_problems(config: PipelinesConfig, folders: Iterable[str]) -> list[Problem]:
    """One error per stack folder whose stack name falls under ``<project>-pipelines-*``."""
    problems: list[Problem] = []
    prefix = shard_stack_prefix(config.project)
    for folder in sorted(f for f in set(folders) if naming.STACK_FOLDER_RE.match(f)):
        override = config.settings_for(folder).stack_name
        name = naming.stack_name(config.project, folder, override)
        if not is_shard_name(config.project, name):
            continue
        file, key = (CONFIG_RELPATH, f"stacks.{folder}.stack_name") if override \
            else (f"stacks/{folder}", None)
        problems.append(error(
            file, "stack-name-shard",
            f"stack name {name!r} starts with {prefix!r}, the names CloudFormation gives the bootstrap "
            "stack's nested stacks (its shards); changegate's roles may never change those stacks",
            key=key, stack=folder,
            hint=("choose another stacks.<name>.stack_name" if override else
                  f"rename the folder (a stack folder is named <name>, the stack {config.project}-<name>), "
                  f"or adopt it under another stack_name in {CONFIG_RELPATH}")))
    return problems
