"""cfn-lint on stack templates, in batches, in parallel across processes.

cfn-lint errors fail validation; its warnings are shown. A ``.cfnlintrc`` at the repository
root is honoured (cfn-lint itself only looks in the current directory, which is not the
root when ``--root`` is used).

Setting up a cfn-lint ``Runner`` costs about 0.4 s, several times the lint of a typical
template, so each worker process lints a batch of templates with one Runner, as
``cfn-lint --template a b c`` would (about 60 ms of CPU per template instead of 450 ms).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from generator.problems import Problem, Severity, error
from generator.stacks import LoadedStack

CFNLINTRC_NAMES = (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml")
# The rule id of a finding that says cfn-lint itself could not run (a bad region in .cfnlintrc...).
LINT_FAILED = "cfn-lint-failed"
log = logging.getLogger(__name__)
MAX_BATCH = 200  # templates per Runner: its set-up is amortised well before that

# A lint finding as plain values, so it crosses the process boundary cheaply.
Finding = tuple[str, str, int | None, str, str]  # (template path, rule id, line, message, severity)


def lint_stacks(stacks: Sequence[LoadedStack], root: Path, *, jobs: int | None = None,
                progress: Callable[[str], None] | None = None) -> list[Problem]:
    """Run cfn-lint on each stack's template; one problem per finding."""
    if not stacks:
        return []
    rc_file = next((root / n for n in CFNLINTRC_NAMES if (root / n).is_file()), None)
    if rc_file is not None:
        rc_problem = _rc_file_problem(rc_file, root)
        if rc_problem is not None:
            return [rc_problem]  # linting with another configuration than the user's would mislead
    # No .cfnlintrc at the root: an empty configuration, or cfn-lint would read the one in the
    # current directory (or the home directory) and results would depend on where it runs.
    rc = str(rc_file) if rc_file else os.devnull
    by_path = {str(s.source.template_path.resolve()): s for s in stacks}
    workers = max(1, min(jobs or os.cpu_count() or 1, len(by_path)))
    batches = _batches(list(by_path), workers)
    findings: list[Finding] = []

    def done(batch_findings: list[Finding], batch: list[str]) -> None:
        findings.extend(batch_findings)
        _advance(progress, batch, by_path)

    # what the pool did not lint (all of it when there is no pool) is linted here, in this process
    rest = _lint_in_processes(batches, rc, workers, done) if workers > 1 else batches
    for batch in rest:
        done(lint_batch(batch, rc), batch)
    return [_problem(finding, by_path) for finding in findings]


def _lint_in_processes(batches: list[list[str]], rc: str, workers: int,
                       done: Callable[[list[Finding], list[str]], None]) -> list[list[str]]:
    """Lint ``batches`` in a pool of ``workers`` processes; return the batches it could not lint.

    Where processes cannot share a lock the pool cannot work. AWS Lambda, and so CodeBuild's
    Lambda compute, has no /dev/shm: "you can't use multiprocessing.Queue or multiprocessing.Pool"
    (AWS, quoted in github.com/DataDog/dd-trace-py/issues/7251), and creating the pool's queue
    fails at ``_multiprocessing.SemLock`` with "OSError: [Errno 38] Function not implemented"
    (github.com/nalepae/pandarallel/issues/128; notes/aws-fidelity.md, F2). No environment
    variable says so reliably, so this tries, and on failure leaves the work to the caller.
    """
    # fork: the children start with cfn-lint already imported (a second of start-up each)
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    try:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    except (OSError, NotImplementedError) as exc:
        # OSError: the pool's queues and their locks (no shared memory); NotImplementedError:
        # concurrent.futures found no usable semaphores on this system
        log.warning("linting in one process: cannot create a pool of %d lint processes (%s)",
                    workers, _reason(exc))
        return batches
    finished, reason = 0, None
    try:
        try:
            futures = [pool.submit(lint_batch, batch, rc) for batch in batches]
        except (OSError, NotImplementedError) as exc:  # fork itself, or a lock of a new worker
            reason = f"cannot start {workers} lint processes ({_reason(exc)})"
            futures = []
        for batch, future in zip(batches, futures, strict=False):  # none if the pool never started
            try:
                result = future.result()
            except BrokenProcessPool as exc:  # a worker died (out of memory, killed)
                reason = f"a lint process died ({_reason(exc)})"
                break
            done(result, batch)
            finished += 1
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if reason is None:
        return []
    log.warning("linting in one process: %s", reason)
    return batches[finished:]


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _batches(paths: list[str], workers: int) -> list[list[str]]:
    """Equal batches of at most MAX_BATCH, the same number for every worker."""
    rounds = -(-len(paths) // (workers * MAX_BATCH))
    size = -(-len(paths) // (workers * rounds))
    return [paths[i:i + size] for i in range(0, len(paths), size)]


def _advance(progress: Callable[[str], None] | None, batch: list[str], by_path: dict) -> None:
    if progress:
        for path in batch:
            progress(by_path[path].name)


def _problem(finding: Finding, by_path: dict[str, LoadedStack]) -> Problem:
    path, rule_id, line, message, severity = finding
    stack = by_path.get(path)
    check = LINT_FAILED if rule_id == LINT_FAILED else f"cfn-lint {rule_id}"
    if rule_id != LINT_FAILED:
        # The rule id ends the message, so the text output of validate and sync shows what a
        # .cfnlintrc `ignore_checks` entry needs; at the end, because a shortened message keeps
        # its start and its end (cfn-lint prints the offending value first, its verdict last).
        message = f"{message.rstrip()} [{check}]"
    return Problem(
        file=stack.template_relpath if stack else path, line=line, key=None, check=check, message=message,
        severity=Severity.ERROR if severity == "error" else Severity.WARNING,
        hint=None, stack=stack.name if stack else None)


def lint_batch(template_paths: Sequence[str], rc_file: str | None) -> list[Finding]:
    """cfn-lint several template files with one Runner, as ``cfn-lint --template a b c`` would."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.exceptions import CfnLintExitException
    from cfnlint.runner import Runner

    cli_args = ["--template", *template_paths]
    if rc_file:
        cli_args += ["--config-file", rc_file]
    findings = []
    try:
        for match in Runner(ConfigMixIn(cli_args)).run():
            severity = str(getattr(match.rule, "severity", "error")).lower()
            if severity == "informational":
                continue
            findings.append((str(Path(match.filename).resolve()), match.rule.id, match.linenumber or None,
                             str(match.message), severity))
    except CfnLintExitException as exc:  # a region or rules module named in .cfnlintrc
        return [(path, LINT_FAILED, None, f"cfn-lint could not run: {exc}", "error")
                for path in template_paths]
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
