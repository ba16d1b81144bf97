"""``changegate audit STACK``: every change of a stack, its commit, object version, change set, approvals."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import click

from changegate.audit import RETENTION_NOTE, REVIEW_RISK, REVIEW_SUMMARY, AuditRecord, read_audit
from changegate.aws import aws_from_context, aws_options
from changegate.options import format_option, root_option
from changegate.origin import sync_identity
from changegate.render import provenance_text, when
from changegate.targets import resolve
from generator.contract.config import load_config


def parse_since(value: str | None) -> datetime | None:
    """``2026-11-01`` or ``2026-11-01T09:00`` (UTC unless an offset is given)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date: write 2026-11-01 or 2026-11-01T09:00Z",
                                 param_hint="--since") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@click.command()
@root_option
@click.argument("stack")
@click.option("--since", default=None, metavar="DATE",
              help="Only executions started at or after DATE (2026-11-01, or 2026-11-01T09:00Z; UTC).")
@aws_options
@format_option
@click.pass_context
def audit(ctx: click.Context, root: Path, stack: str, since: str | None, profile: str | None,
          region: str | None, output_format: str) -> int:
    """Every execution of STACK's pipeline, newest first: which commit (as the sync wrote it on the
    object version), which object version, which change set, who approved or rejected it and when
    (with the comment), and how it ended (executed, rejected, no changes, stopped, failed, skipped).

    CodePipeline keeps 12 months of execution history; older changes are in CloudTrail and in the
    source bucket's object versions.
    """
    moment = parse_since(since)
    config = load_config(root)
    target = resolve(config, root, stack)
    aws = aws_from_context(profile, region)
    obj = ctx.find_object(dict) or {}
    records = read_audit(aws.client("codepipeline"), aws.client("s3"), pipeline=target.pipeline,
                         sync=sync_identity(config.project, aws.account()), since=moment,
                         workers=obj.get("workers", 8))
    if output_format == "json":
        click.echo(json.dumps([r.to_json() for r in records], indent=2))
    else:
        click.echo(as_text(target.pipeline, records, moment))
    return 0


def as_text(pipeline: str, records: list[AuditRecord], since: datetime | None) -> str:
    scope = f" since {when(since)}" if since else ""
    count = f"{len(records)} execution{'s' if len(records) != 1 else ''}"
    blocks = [f"{pipeline}: {count}{scope}, newest first ({RETENTION_NOTE})"]
    blocks += [record_text(r) for r in records]
    return "\n\n".join(blocks)


def record_text(record: AuditRecord) -> str:
    origin = record.origin
    outcome = record.outcome + (f" ({record.outcome_detail})" if record.outcome_detail else "")
    by = f" by {origin.author}" if origin.author else ""
    subject = f": {origin.subject}" if origin.subject else ""
    source = origin.source
    rows = [("started", f"{when(record.started)}, ended {when(record.ended)}"),
            ("commit", f"{origin.commit or 'unknown'}{by}{subject}"),
            ("object", f"s3://{source.bucket}/{source.key} version {source.version}" if source.bucket
             else f"version {source.version or 'unknown'}"),
            ("origin", provenance_text(origin, version=False)),
            ("change set", f"{record.change_set[1]} on stack {record.change_set[0]}" if record.change_set
             else "none (no CreateChangeSet ran)")]
    if record.review:
        risk, summary = record.review.get(REVIEW_RISK), record.review.get(REVIEW_SUMMARY)
        rows.append(("review", f"{risk} risk: {summary}" if risk else summary or "-"))
    for decision in record.decisions:
        comment = f": {decision.comment}" if decision.comment else ""
        who = f" by {decision.by}" if decision.by else ""
        at = f" at {when(decision.at)}" if decision.at else ""
        rows.append((decision.action.lower(), f"{decision.verdict}{who}{at}{comment}"))
    if not record.decisions:
        rows.append(("approval", "none"))
    rows.append(("outcome", outcome))
    width = max(len(label) for label, _ in rows)
    lines = [f"Execution {record.execution_id}  {record.outcome.upper()}"]
    lines += [f"  {label.ljust(width)}  {value}" for label, value in rows]
    if not origin.trusted:
        lines.append("  WARNING: the origin of this change cannot be trusted:")
        lines += [f"    - {problem}" for problem in origin.problems]
    return "\n".join(lines)
