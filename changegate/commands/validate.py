"""``changegate validate``: report every problem in every stack."""

from __future__ import annotations

import json
from pathlib import Path

import click

from changegate.options import format_option, root_option
from changegate.progress import Progress
from generator.contract.validate import ValidationReport, validate_repository
from generator.errors import ConfigError


@click.command()
@root_option
@click.option("--stack", "stacks", multiple=True, metavar="NAME",
              help="Check only this stack (repeatable).")
@click.option("--no-lint", is_flag=True, help="Skip cfn-lint (fast structural checks only).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="cfn-lint processes (default: one per CPU).")
@format_option
def validate(root: Path, stacks: tuple[str, ...], no_lint: bool, jobs: int | None,
             output_format: str) -> int:
    """Check pipelines/config.yaml and every stack under stacks/.

    Exit 0 when clean (warnings allowed), 1 when a stack has problems, 2 for usage or
    pipelines/config.yaml errors.
    """
    progress = Progress("validating", total=_steps(root, stacks, no_lint),
                        enabled=output_format == "text")
    try:
        report = validate_repository(root, only=stacks or None, lint=not no_lint, jobs=jobs,
                                     progress=progress)
    except ConfigError as exc:
        if output_format == "json":
            click.echo(json.dumps({"ok": False, "error": "config",
                                   "problems": [p.to_json() for p in exc.problems]}, indent=2))
        raise
    if output_format == "json":
        click.echo(json.dumps(_as_json(report), indent=2))
    else:
        click.echo(_as_text(report))
    return 0 if report.ok else 1


def _steps(root: Path, stacks: tuple[str, ...], no_lint: bool) -> int:
    # each stack is reported once when checked and once more when linted; Progress itself
    # stays quiet below its minimum, so it must know the total when it is created
    count = len(stacks) if stacks else sum(1 for p in (root / "stacks").glob("*/") if p.is_dir())
    return count * (1 if no_lint else 2)


def _as_text(report: ValidationReport) -> str:
    lines = [p.render() for p in report.problems]
    n_errors, n_warnings = len(report.errors), len(report.warnings)
    verdict = "ok" if report.ok else "FAILED"
    lint_note = f", {len(report.linted)} linted with cfn-lint" if report.linted else \
        ", cfn-lint skipped"
    lines.append(f"{verdict}: {len(report.checked)} stacks checked{lint_note}; "
                 f"{n_errors} errors, {n_warnings} warnings")
    return "\n".join(lines)


def _as_json(report: ValidationReport) -> dict:
    return {
        "ok": report.ok,
        "stacks": list(report.checked),
        "linted": list(report.linted),
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "problems": [p.to_json() for p in report.problems],
    }
