"""Find the stacks under ``stacks/``: one folder per stack, the folder name is the stack name.

Each folder holds exactly one ``template.yaml|yml|json`` and at most one
``config.json|yaml|yml`` (the CodePipeline TemplateConfiguration). Discovery only looks at
names and links; reading the files is ``stacks.py``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.contract.problems import Problem, error, warning

STACKS_DIR = "stacks"
TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")
CONFIG_NAMES = ("config.json", "config.yaml", "config.yml")


@dataclass(frozen=True)
class StackSource:
    """Where one stack's files are. ``config_path`` is None when the stack has no config."""

    name: str
    directory: Path
    template_path: Path
    config_path: Path | None


def discover_stacks(root: Path) -> tuple[list[StackSource], list[Problem]]:
    """Every stack folder under ``root/stacks``, sorted by name, and what is wrong with the rest.

    A folder with a problem (no template, two templates, a link out of the repository) is
    reported and left out of the list, so the other stacks are still checked.
    """
    stacks_dir = root / STACKS_DIR
    if stacks_dir.is_symlink():
        # one problem for the folder, not one per stack folder seen through it
        return [], [error(STACKS_DIR, "stacks-symlink",
                          f"{STACKS_DIR}/ is a symbolic link (to {stacks_dir.resolve()})",
                          hint="keep the stack folders in the repository itself: a pipeline deploys "
                               "only what is reviewed here")]
    if not stacks_dir.is_dir():
        return [], [error(STACKS_DIR, "stacks-missing", f"no {STACKS_DIR}/ folder under {root}",
                          hint="create stacks/<name>/template.yaml for each stack")]
    real_root = root.resolve()
    sources, problems = [], []
    for entry in sorted(stacks_dir.iterdir()):
        relpath = f"{STACKS_DIR}/{entry.name}"
        if entry.name.startswith("."):
            if entry.is_dir() and not entry.is_symlink():
                problems.append(_dot_folder_problem(entry, relpath))
            continue  # .gitkeep, editor files
        if not entry.is_dir():
            problems.append(warning(relpath, "stacks-stray-file",
                                    "a file directly under stacks/ is ignored",
                                    hint="stacks live in folders: stacks/<name>/template.yaml"))
            continue
        source, folder_problems = _read_folder(entry, relpath, real_root)
        problems.extend(folder_problems)
        if source is not None:
            sources.append(source)
    return sources, problems


def _dot_folder_problem(folder: Path, relpath: str) -> Problem:
    """A dot-folder is never a stack; say so, loudly when it looks like one."""
    message = "a folder whose name starts with a dot is not a stack and is not deployed"
    hint = "stack folder names start with a letter: rename it, or move it out of stacks/"
    if any((folder / name).exists() for name in TEMPLATE_NAMES):
        return error(relpath, "stacks-dot-folder", message + ", although it holds a template",
                     hint=hint)
    return warning(relpath, "stacks-dot-folder", message, hint=hint)


def _read_folder(folder: Path, relpath: str, real_root: Path):
    name = folder.name
    problems: list[Problem] = []
    if folder.is_symlink() or not folder.resolve().is_relative_to(real_root):
        return None, [error(relpath, "stack-symlink",
                            "the stack folder is a symbolic link",
                            hint="keep stack files in the repository itself", stack=name)]
    templates, configs = [], []
    for candidate in sorted(folder.iterdir()):
        if candidate.name in TEMPLATE_NAMES:
            templates.append(candidate)
        elif candidate.name in CONFIG_NAMES:
            configs.append(candidate)
    for path in templates + configs:
        if path.is_symlink() and not path.resolve().is_relative_to(real_root):
            problems.append(error(f"{relpath}/{path.name}", "stack-symlink",
                                  f"links outside the repository (to {path.resolve()})",
                                  hint="a pipeline deploys only what is reviewed in this "
                                       "repository: copy the file in", stack=name))
        elif path.is_symlink() and not path.resolve().is_file():
            problems.append(error(f"{relpath}/{path.name}", "stack-symlink",
                                  "is a broken symbolic link", stack=name))
        elif not path.is_file():
            problems.append(error(f"{relpath}/{path.name}", "stack-file-type",
                                  "is not a regular file", stack=name))
    if not templates:
        hint = ("a config needs a template beside it: add template.yaml"
                if configs else "add template.yaml (or .yml/.json), or delete the folder")
        problems.append(error(relpath, "stack-no-template", "no template in the stack folder",
                              hint=hint, stack=name))
    if len(templates) > 1:
        problems.append(error(relpath, "stack-two-templates",
                              f"more than one template: {', '.join(p.name for p in templates)}",
                              hint="keep exactly one template per stack", stack=name))
    if len(configs) > 1:
        problems.append(error(relpath, "stack-two-configs",
                              f"more than one config: {', '.join(p.name for p in configs)}",
                              hint="keep at most one config per stack", stack=name))
    if problems:
        return None, problems
    return StackSource(name=name, directory=folder, template_path=templates[0],
                       config_path=configs[0] if configs else None), []
