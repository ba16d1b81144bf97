"""From what an operator types (a stack folder, a stack or a pipeline name) to the AWS names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.contract.config import PipelinesConfig
from generator.contract.discovery import discover_stacks
from generator.naming import pipeline_name, stack_name


@dataclass(frozen=True)
class Target:
    folder: str
    stack: str
    pipeline: str


def stack_folders(root: Path) -> list[str]:
    """The stack folders under ``stacks/`` (problems are ``changegate validate``'s business)."""
    sources, _problems = discover_stacks(root)
    return [source.name for source in sources]


def stack_names(config: PipelinesConfig, folders: list[str]) -> dict[str, str]:
    """folder -> CloudFormation stack name, adopted names included."""
    return {folder: stack_name(config.project, folder, config.settings_for(folder).stack_name)
            for folder in folders}


def resolve(config: PipelinesConfig, root: Path, name: str) -> Target:
    """``network``, ``acme-network`` (stack or pipeline) and an adopted stack's name all work."""
    folders = stack_folders(root)
    names = stack_names(config, folders)
    prefix = f"{config.project}-"
    if name in folders:
        folder = name
    elif name in names.values():
        folder = next(f for f, s in names.items() if s == name)
    elif name.startswith(prefix):
        folder = name[len(prefix):]  # also a pipeline whose stack folder was removed
    else:
        folder = name
    return Target(folder, names.get(folder, stack_name(config.project, folder)),
                  pipeline_name(config.project, folder))
