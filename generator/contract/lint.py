"""cfn-lint on stack templates, in batches, in parallel across processes.

cfn-lint errors fail validation; its warnings are shown. A ``.cfnlintrc`` at the repository
root is honoured (cfn-lint itself only looks in the current directory, which is not the
root when ``--root`` is used), as far as it selects and configures rules: it never loads code
(``RC_OPTIONS`` decides each of cfn-lint's options; security review H4).

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

from generator.contract.problems import Problem, Severity, error
from generator.contract.stacks import LoadedStack

CFNLINTRC_NAMES = (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml")
# The rule id of a finding that says cfn-lint itself could not run (a bad region in .cfnlintrc...).
LINT_FAILED = "cfn-lint-failed"
log = logging.getLogger(__name__)
# What a repository's .cfnlintrc may set. Its author is anyone who can open a pull request, and
# validate runs in CI on that pull request and, after the merge, inside the sync as the role that
# writes what approvers see. Each option of cfn-lint 1.x (cfnlint/data/CfnLintCli/config/
# schema.json), decided:
# - select and configure rules: allowed anywhere;
RC_SELECT_OPTIONS = frozenset({
    "configure_rules", "ignore_checks", "include_checks", "mandatory_checks",
    "include_experimental", "regions", "ignore_bad_template", "merge_configs",
    "non_zero_exit_code", "format", "debug"})
# - load rules or schemas from paths: only from under pipelines/, which owners protect.
#   append_rules: cfn-lint imports every Python file of a directory, and an entry that is not a
#   directory is imported as a module by name (Rules.create_from_module): code execution.
#   custom_rules: a rules file in cfn-lint's own language (read, not run); override_spec and
#   registry_schemas: JSON that patches or adds resource schemas, which can switch checks off.
RC_PATH_OPTIONS = {"append_rules": "directory", "registry_schemas": "directory",
                   "custom_rules": "file", "override_spec": "file"}
# - everything else (templates, ignore_templates, deployment_files, parameters, parameter_files,
#   template_parameters: changegate chooses the templates and their parameters; output_file:
#   cfn-lint would write a file) is refused, as is any option a later cfn-lint adds.
RC_OWNED_FOLDER = "pipelines"
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
        config = ConfigMixIn(cli_args)
        if rc_file:
            config.file_args = _rooted_paths(config.file_args, Path(rc_file).parent)
        for match in Runner(config).run():
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

    relpath = rc_file.relative_to(root).as_posix()
    try:
        data = yaml.safe_load(rc_file.read_text("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError):
        data = None  # cfn-lint's own reading below says what is wrong
    if isinstance(data, dict):
        problem = _rc_policy_problem(data, relpath, root)
        if problem is not None:
            return problem
    try:
        ConfigFileArgs(config_file=str(rc_file))
    except (CfnLintExitException, yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        message = " ".join(str(exc).split())
        return error(relpath, "cfnlintrc-invalid",
                     f"cfn-lint cannot use this configuration: {message}",
                     hint="see the .cfnlintrc section of the cfn-lint README")
    return None


def _rc_policy_problem(data: dict, relpath: str, root: Path) -> Problem | None:
    """The first option of a .cfnlintrc that could load code or undo what changegate lints."""
    owned = (root / RC_OWNED_FOLDER).resolve()
    known = _cfnlint_options()
    for raw_key in sorted(data, key=str):
        key = str(raw_key).replace("-", "_")  # append-rules reads as the same option
        if key in RC_SELECT_OPTIONS or key not in known:
            continue  # an option cfn-lint does not know: its own check names the typo
        if key not in RC_PATH_OPTIONS:
            return error(relpath, "cfnlintrc-option-refused",
                         "changegate does not accept this cfn-lint option in a "
                         "repository .cfnlintrc (it chooses the templates, their parameters and "
                         "the output itself)",
                         key=str(raw_key),
                         hint=f"remove {raw_key}; a .cfnlintrc may set "
                              f"{', '.join(sorted(RC_SELECT_OPTIONS))}, and load rules or "
                              f"schemas from under {RC_OWNED_FOLDER}/")
        kind = RC_PATH_OPTIONS[key]
        values = data[raw_key] if isinstance(data[raw_key], list) else [data[raw_key]]
        for index, value in enumerate(values):
            where = f"{raw_key}[{index}]" if isinstance(data[raw_key], list) else str(raw_key)
            target = (root / str(value)).resolve() if isinstance(value, str) else None
            if target is None or Path(str(value)).is_absolute() or not target.is_relative_to(owned):
                return error(relpath, "cfnlintrc-loads-code",
                             f"{value!r} is outside {RC_OWNED_FOLDER}/; {key} loads "
                             + ("Python code" if key == "append_rules" else "rules or schemas")
                             + " into cfn-lint, which runs in CI and inside the sync, so only "
                             "files the owners protect may be named",
                             key=where,
                             hint=f"move the {kind} under {RC_OWNED_FOLDER}/ (owners only, "
                                  f"CODEOWNERS) and name it by its path from the repository "
                                  f"root, for example {RC_OWNED_FOLDER}/lint-rules")
            exists = target.is_dir() if kind == "directory" else target.is_file()
            if not exists:
                return error(relpath, "cfnlintrc-loads-code",
                             f"{value!r} is not a {kind} under {RC_OWNED_FOLDER}/"
                             + (" (cfn-lint would import a name that is not a directory as a "
                                "Python module, from wherever Python finds it)"
                                if key == "append_rules" else ""),
                             key=where,
                             hint=f"create the {kind}, or fix the path (from the repository root)")
    return None


def _cfnlint_options() -> frozenset[str]:
    """The options cfn-lint's configuration schema knows."""
    import json
    from importlib import resources

    schema = resources.files("cfnlint").joinpath("data", "CfnLintCli", "config", "schema.json")
    return frozenset(json.loads(schema.read_text("utf-8")).get("properties", {}))


def _rooted_paths(file_args: dict, root: Path) -> dict:
    """``file_args`` with the paths of RC_PATH_OPTIONS made absolute from the repository root.

    cfn-lint reads them from the current directory, which is not the root under ``--root``; and
    a relative append_rules entry that is not a directory there is imported as a module by name.
    ``_rc_policy_problem`` has already checked each path from the root.
    """
    rooted = dict(file_args)
    for key in RC_PATH_OPTIONS:
        value = rooted.get(key)
        if isinstance(value, str):
            rooted[key] = str(root / value)
        elif isinstance(value, list):
            rooted[key] = [str(root / v) if isinstance(v, str) else v for v in value]
    return rooted
