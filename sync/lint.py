"""cfn-lint on the stacks a sync ships, in batches.

``generator.lint.lint_stacks`` starts one cfn-lint ``Runner`` per template; setting one up costs
about 0.4 s, five times the lint itself on a typical template. A first sync lints every stack, so
here each worker process lints batches of up to 200 templates with one Runner (measured on the
benchmark's templates: ~60 ms of CPU per template instead of ~450 ms). Findings become the same
``Problem`` s as ``changegate validate`` reports. (Batching belongs in ``generator.lint``; until it
moves there the sync keeps this variant.)
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from generator.lint import CFNLINTRC_NAMES
from generator.problems import Problem, Severity
from generator.stacks import LoadedStack

MAX_BATCH = 200  # templates per Runner: its ~0.4 s set-up is amortised well before that

Finding = tuple[str, str, int | None, str, str]  # (template path, rule id, line, message, severity)


def lint_batch(paths: Sequence[str], rc_file: str | None) -> list[Finding]:
    """cfn-lint several template files with one Runner, as ``cfn-lint --template a b c`` would."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    cli_args = ["--template", *paths]
    if rc_file:
        cli_args += ["--config-file", rc_file]
    findings = []
    for match in Runner(ConfigMixIn(cli_args)).run():
        severity = str(getattr(match.rule, "severity", "error")).lower()
        if severity == "informational":
            continue
        findings.append((str(Path(match.filename).resolve()), match.rule.id, match.linenumber or None,
                         str(match.message), severity))
    return findings


def lint_stacks_batched(stacks: Sequence[LoadedStack], root: Path, *, jobs: int | None = None,
                        progress: Callable[[str], None] | None = None) -> list[Problem]:
    if not stacks:
        return []
    rc_file = next((str(root / n) for n in CFNLINTRC_NAMES if (root / n).is_file()), None)
    by_path = {str(s.source.template_path.resolve()): s for s in stacks}
    paths = list(by_path)
    workers = max(1, min(jobs or os.cpu_count() or 1, len(paths)))
    # every worker gets the same number of equal batches, each at most MAX_BATCH templates
    rounds = -(-len(paths) // (workers * MAX_BATCH))
    size = -(-len(paths) // (workers * rounds))
    batches = [paths[i:i + size] for i in range(0, len(paths), size)]
    findings: list[Finding] = []
    if workers == 1:
        for batch in batches:
            findings.extend(lint_batch(batch, rc_file))
            _advance(progress, batch, by_path)
    else:
        # fork: the children start with cfn-lint already imported
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [(batch, pool.submit(lint_batch, batch, rc_file)) for batch in batches]
            for batch, future in futures:
                findings.extend(future.result())
                _advance(progress, batch, by_path)
    problems = []
    for path, rule_id, line, message, severity in findings:
        stack = by_path.get(path)
        if stack is None:  # cfn-lint reported a path it was not given: keep the finding anyway
            stack = next(iter(by_path.values())) if len(by_path) == 1 else None
        problems.append(Problem(
            file=stack.template_relpath if stack else path, line=line, key=None,
            check=f"cfn-lint {rule_id}", message=message,
            severity=Severity.ERROR if severity == "error" else Severity.WARNING,
            hint=None, stack=stack.name if stack else None))
    return problems


def _advance(progress, batch, by_path) -> None:
    if progress:
        for path in batch:
            progress(by_path[path].name)
