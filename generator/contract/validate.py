"""Validate a whole repository: the config, every stack, and (optionally) cfn-lint.

This is the library behind ``changegate validate`` and the first step of ``changegate sync``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from generator.contract.collisions import collision_problems, folder_collision_problems
from generator.contract.config import CONFIG_RELPATH, PipelinesConfig, check_overrides, load_config
from generator.contract.discovery import discover_stacks
from generator.contract.lint import lint_stacks
from generator.contract.problems import Problem, has_errors, render_all
from generator.contract.shard_names import shard_name_problems
from generator.contract.stacks import LoadedStack, folder_name_problems, load_stack
from generator.errors import ConfigError, UsageError


@dataclass(frozen=True)
class ValidationReport:
    root: Path
    config: PipelinesConfig
    stacks: dict[str, LoadedStack]  # the stacks that loaded, by folder name, sorted
    problems: list[Problem] = field(default_factory=list)
    checked: tuple[str, ...] = ()  # folder names that were checked
    linted: tuple[str, ...] = ()  # folder names cfn-lint ran on

    @property
    def ok(self) -> bool:
        return not has_errors(self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    def problems_of(self, stack: str) -> list[Problem]:
        return [p for p in self.problems if p.stack == stack]

    def with_lint(self, problems: list[Problem], linted: tuple[str, ...]) -> ValidationReport:
        """This report with cfn-lint's findings on ``linted`` added (the sync lints after planning)."""
        return replace(self, problems=sorted([*self.problems, *problems], key=_order), linted=linted)


def validate_repository(root: Path, *, only: Sequence[str] | None = None,
                        lint: bool | Collection[str] = True, jobs: int | None = None,
                        progress: Callable[[str], None] | None = None) -> ValidationReport:
    """Check ``pipelines/config.yaml`` and the stacks under ``root``.

    ``only`` restricts the check to some stacks (a name that does not exist is a
    ``UsageError``). ``lint`` is True (cfn-lint every checked stack), False, or the names
    of the stacks to lint. Raises ``ConfigError`` when the config itself is invalid;
    every other problem is in the report.
    """
    root = Path(root)
    try:
        config = load_config(root)
    except ConfigError as exc:
        raise _with_folder_problems(exc, root) from None
    sources, problems = discover_stacks(root)
    # a folder that failed discovery still exists: an override for it is not a typo
    folders = {s.name for s in sources} | {p.stack for p in problems if p.stack}
    problems.extend(check_overrides(config, folders))
    problems.extend(collision_problems(config, folders))
    problems.extend(shard_name_problems(config, folders))
    if only:
        unknown = sorted(set(only) - folders)
        if unknown:
            raise UsageError(f"no such stack: {', '.join(unknown)} "
                             f"(stacks: {', '.join(sorted(folders)) or 'none'})")
        sources = [s for s in sources if s.name in set(only)]
        problems = [p for p in problems if p.stack in set(only)]
    loaded: dict[str, LoadedStack] = {}
    for source in sources:
        stack, stack_problems = load_stack(source, root, config)
        problems.extend(stack_problems)
        if stack is not None:
            loaded[stack.name] = stack
        if progress:
            progress(source.name)
    to_lint = [s for name, s in loaded.items() if lint is True or (lint and name in lint)]
    if to_lint:
        problems.extend(lint_stacks(to_lint, root, jobs=jobs, progress=progress))
    return ValidationReport(root=root, config=config, stacks=loaded,
                            problems=sorted(problems, key=_order),
                            checked=tuple(s.name for s in sources),
                            linted=tuple(s.name for s in to_lint))


def _with_folder_problems(exc: ConfigError, root: Path) -> ConfigError:
    """``exc`` plus what is wrong under stacks/ regardless of the config, so one run shows all.

    Without a valid config the stacks cannot be loaded (their settings and names depend on it),
    but their folders can be: a bad folder name or a clash is reported in the same run.
    """
    sources, problems = discover_stacks(root)
    folders = {s.name for s in sources} | {p.stack for p in problems if p.stack}
    for folder in sorted(folders):
        problems.extend(folder_name_problems(folder))
    problems.extend(folder_collision_problems(folders))
    problems = [p for p in problems if p.is_error]
    if not problems:
        return exc
    return ConfigError(f"{exc}\nand under stacks/ (the stacks themselves are checked once "
                       f"{CONFIG_RELPATH} is valid):\n{render_all(problems)}",
                       (*exc.problems, *sorted(problems, key=_order)))


def _order(problem: Problem):
    return (problem.file, problem.line or 0, problem.check, problem.message)
