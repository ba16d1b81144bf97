"""cfn-lint on stack templates, in parallel across stacks.

cfn-lint errors fail validation; its warnings are shown. A ``.cfnlintrc`` at the repository
root is honoured (cfn-lint itself only looks in the current directory, which is not the
root when ``--root`` is used).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from generator.problems import Problem, Severity, error
from generator.stacks import LoadedStack

CFNLINTRC_NAMES = (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml")
# The rule id of a finding that says cfn-lint itself could not run (a bad region in .cfnlintrc...).
LINT_FAILED = "cfn-lint-failed"

# A lint finding as plain values, so it crosses the process boundary cheaply.
Finding = tuple[str, int | None, str, str]  # (rule id, line, message, severity)


def lint_stacks(stacks: Sequence[LoadedStack], root: Path, *, jobs: int | None = None,
                progress: Callable[[str], None] | None = None) -> list[Problem]:
    """Run cfn-lint on each stack's template; one problem per finding."""
    rc_file = next((root / n for n in CFNLINTRC_NAMES if (root / n).is_file()), None)
    if rc_file is not None:
        rc_problem = _rc_file_problem(rc_file, root)
        if rc_problem is not None:
            return [rc_problem]  # linting with another configuration than the user's would mislead
    # No .cfnlintrc at the root: an empty configuration, or cfn-lint would read the one in the
    # current directory (or the home directory) and results would depend on where it runs.
    rc = str(rc_file) if rc_file else os.devnull
    args = [(str(s.source.template_path.resolve()), rc) for s in stacks]
    workers = min(jobs or os.cpu_count() or 1, len(stacks))
    if workers <= 1:
        results = []
        for stack, arg in zip(stacks, args, strict=True):
            results.append(lint_template(*arg))
            if progress:
                progress(stack.name)
    else:
        results = _in_processes(stacks, args, workers, progress)
    problems = []
    for stack, findings in zip(stacks, results, strict=True):
        for rule_id, line, message, severity in findings:
            problems.append(Problem(
                file=stack.template_relpath, line=line, key=None,
                check=LINT_FAILED if rule_id == LINT_FAILED else f"cfn-lint {rule_id}",
                message=message,
                severity=Severity.ERROR if severity == "error" else Severity.WARNING,
                hint=None, stack=stack.name))
    return problems


def _in_processes(stacks, args, workers, progress) -> list[list[Finding]]:
    # fork: the children start with cfn-lint already imported (a second of start-up each).
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(lint_template, *arg) for arg in args]
        results = []
        for stack, future in zip(stacks, futures, strict=True):
            results.append(future.result())
            if progress:
                progress(stack.name)
    return results


def lint_template(template_path: str, rc_file: str | None) -> list[Finding]:
    """cfn-lint one template file, as cfn-lint's own command line would."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.exceptions import CfnLintExitException
    from cfnlint.runner import Runner

    cli_args = ["--template", template_path]
    if rc_file:
        cli_args += ["--config-file", rc_file]
    findings = []
    try:
        for match in Runner(ConfigMixIn(cli_args)).run():
            severity = str(getattr(match.rule, "severity", "error")).lower()
            if severity == "informational":
                continue
            findings.append((match.rule.id, match.linenumber or None, str(match.message), severity))
    except CfnLintExitException as exc:  # a region or rules module named in .cfnlintrc
        return [(LINT_FAILED, None, f"cfn-lint could not run: {exc}", "error")]
    return findings


def _rc_file_problem(rc_file: Path, root: Path) -> Problem | None:
    """The reason cfn-lint cannot read ``rc_file``, as a problem, or None when it can."""
    import yaml
    from cfnlint.config import ConfigFileArgs
    from cfnlint.exceptions import CfnLintExitException

    try:
        ConfigFileArgs(config_file=str(rc_file))
    except (CfnLintExitException, yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        message = " ".join(str(exc).split())
        return error(rc_file.relative_to(root).as_posix(), "cfnlintrc-invalid",
                     f"cfn-lint cannot use this configuration: {message}",
                     hint="see the .cfnlintrc section of the cfn-lint README")
    return None
