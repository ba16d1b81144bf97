"""``changegate sync``: ship the stacks that changed to the source bucket and start their pipelines.

Thin: options (defaults from the environment the generated CodeBuild project sets), boto3
clients from the standard AWS configuration (``AWS_PROFILE``, ``AWS_REGION``,
``AWS_ENDPOINT_URL``...), then ``sync.run.run_sync`` and the report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from changegate.options import format_option, root_option
from changegate.progress import Progress
from generator import naming
from generator.errors import SyncError

LIST_LIMIT = 10  # names shown per category in the text report


@click.command()
@click.option("--bucket", envvar=naming.ENV_SOURCE_BUCKET, required=True, metavar="NAME",
              help=f"Source bucket (default: ${naming.ENV_SOURCE_BUCKET}).")
@click.option("--prefix", envvar=naming.ENV_SOURCE_PREFIX, default=naming.DEFAULT_SOURCE_PREFIX,
              show_default=True,
              help=f"Key prefix of the stack archives (${naming.ENV_SOURCE_PREFIX}). The pipelines read "
                   f"{naming.DEFAULT_SOURCE_PREFIX}; any other prefix needs --no-start or --dry-run.")
@root_option
@click.option("--commit", envvar="CODEBUILD_RESOLVED_SOURCE_VERSION", metavar="SHA",
              help="Commit being synced: an id or branch name git resolves to a full id (default: "
                   "$CODEBUILD_RESOLVED_SOURCE_VERSION, else git HEAD). stacks/ and pipelines/ in the "
                   "working tree must be exactly that commit's.")
@click.option("--dry-run", is_flag=True, help="Report what would be uploaded and started; change nothing.")
@click.option("--no-start", is_flag=True,
              help="Upload only; the pipelines stay pending and the next sync starts them.")
@click.option("--force", is_flag=True,
              help="Replace content recorded from commits that are not ancestors (a deliberate rollback).")
@click.option("--jobs", type=click.IntRange(min=1), default=None, help="cfn-lint processes (default: CPUs).")
@format_option
def sync(bucket: str, prefix: str, root: Path, commit: str | None, dry_run: bool, no_start: bool,
         force: bool, jobs: int | None, output_format: str) -> int:
    """Validate every stack, upload the changed ones, start exactly their pipelines.

    Exit 0 when done; 1 when validation fails (nothing uploaded), a step failed (re-run to
    converge), the bucket is not versioned, a rollback is refused or a concurrent sync of a newer
    commit won; 2 for usage errors (a --commit git cannot resolve, uncommitted changes under
    stacks/ or pipelines/, a --prefix the pipelines do not read) and pipelines/config.yaml errors.
    """
    import boto3
    from botocore.config import Config

    from sync.run import DEFAULT_WORKERS, SyncOptions, run_sync

    if prefix and not prefix.endswith("/"):
        prefix += "/"
    options = SyncOptions(bucket=bucket, prefix=prefix, commit=commit or None, dry_run=dry_run,
                          start=not no_start, force=force, jobs=jobs)
    config = Config(max_pool_connections=DEFAULT_WORKERS * 2, retries={"mode": "standard"},
                    user_agent_extra="changegate-sync")
    session = boto3.Session()
    s3 = session.client("s3", config=config)
    # no CodePipeline client (and no region needed) when nothing will be started
    codepipeline = session.client("codepipeline", config=config) if options.start and not dry_run else None

    def progress(label: str, total: int) -> Progress:
        return Progress(label, total, enabled=output_format == "text")

    report = run_sync(root, s3, codepipeline, options, progress=progress)
    if output_format == "json":
        click.echo(json.dumps(as_json(report), indent=2))
    else:
        click.echo(as_text(report))
    if not report.valid:
        return 1
    if report.failures:
        raise SyncError(f"{len(report.failures)} step(s) failed; re-run the sync to converge")
    return 0


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:LIST_LIMIT])
    return shown + (f", ... and {len(names) - LIST_LIMIT} more" if len(names) > LIST_LIMIT else "")


def as_text(report: Any) -> str:
    lines = []
    validation = report.validation
    if validation is not None:
        lines += [p.render() for p in validation.problems]
    if not report.valid:
        errors = len(validation.errors) if validation else 0
        lines.append(f"FAILED: validation found {errors} errors: nothing uploaded, nothing started")
        lines += report.notes
        return "\n".join(lines)
    head = f"s3://{report.bucket}/{report.prefix}"
    commit = report.commit
    if commit.id:
        head += f" at {commit.id[:12]}" + (f" ({commit.author}: {commit.subject})" if commit.subject else "")
    lines.append(("dry run: " if report.dry_run else "sync: ") + head)
    for label, names in (("added", report.added), ("changed", report.changed),
                         ("removed", report.removed)):
        if names:
            lines.append(f"  {label} {len(names)}: {_names(names)}")
    for folder, execution in sorted(report.started.items()):
        lines.append(f"  started {folder}: execution {execution}")
    waiting: dict[str, list[str]] = {}
    for folder, why in sorted(report.not_started.items()):
        waiting.setdefault(why, []).append(folder)
    for why, names in waiting.items():
        lines.append(f"  not started ({why}) {len(names)}: {_names(names)}")
    if report.disabled:
        lines.append(f"  disabled (archived, no pipeline) {len(report.disabled)}: {_names(report.disabled)}")
    lines += [f"note: {n}" for n in report.notes]
    lines += [f"warning: {w}" for w in report.warnings]
    lines += [f"error: {f}" for f in report.failures]
    verdict = "FAILED" if report.failures else ("would do" if report.dry_run else "ok")
    lines.append(f"{verdict}: {len(report.added)} added, {len(report.changed)} changed, "
                 f"{len(report.removed)} removed, {len(report.unchanged)} unchanged; "
                 f"{len(report.started)} pipelines started")
    return "\n".join(lines)


def as_json(report: Any) -> dict:
    validation = report.validation
    return {
        "ok": report.ok,
        "dry_run": report.dry_run,
        "bucket": report.bucket,
        "prefix": report.prefix,
        "commit": {"id": report.commit.id, "author": report.commit.author,
                   "subject": report.commit.subject},
        "added": report.added,
        "changed": report.changed,
        "removed": report.removed,
        "unchanged": len(report.unchanged),
        "uploaded": report.uploaded,
        "started": report.started,
        "not_started": report.not_started,
        "disabled": report.disabled,
        "notes": report.notes,
        "warnings": report.warnings,
        "failures": report.failures,
        "linted": list(validation.linted) if validation else [],
        "problems": [p.to_json() for p in validation.problems] if validation else [],
    }
