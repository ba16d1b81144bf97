"""``changegate audit STACK``: every change of a stack, its commit, object version, change set, approvals."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import click

from changegate.audit import (
    FROM_RECORD,
    RETENTION_NOTE,
    REVIEW_RISK,
    REVIEW_SUMMARY,
    AuditRecord,
    AuditReport,
    read_audit,
)
from changegate.aws import aws_from_context, aws_options
from changegate.options import format_option, root_option
from changegate.origin import sync_identity
from changegate.render import provenance_text, when
from changegate.targets import resolve
from generator import naming
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
    object version), which object version, which change set, the review, who approved or rejected it
    and when (with the comment), and how it ended (executed, rejected, no changes, stopped, failed,
    skipped, superseded).

    Read from the audit records the recorder writes beside the stack's archive (one per finished
    execution, kept with the bucket), and from CodePipeline's history (12 months) for executions
    without one: in progress, older than the recorder, or a recorder failure. Each entry says which.
    """
    moment = parse_since(since)
    config = load_config(root)
    target = resolve(config, root, stack)
    aws = aws_from_context(profile, region)
    obj = ctx.find_object(dict) or {}
    report = read_audit(aws.client("codepipeline"), aws.client("s3"), pipeline=target.pipeline,
                        sync=sync_identity(config.project, aws.account()), since=moment,
                        workers=obj.get("workers", 8), cloudformation=aws.client("cloudformation"),
                        project=config.project,
                        steps_role=naming.role_name(config.project, naming.STEPS_PURPOSE))
    if output_format == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(as_text(report, moment))
    return 0


def as_text(report: AuditReport, since: datetime | None) -> str:
    scope = f" since {when(since)}" if since else ""
    records = sum(e.source == FROM_RECORD for e in report.entries)
    count = f"{len(report.entries)} execution{'s' if len(report.entries) != 1 else ''}"
    blocks = [f"{report.pipeline}: {count}{scope}, newest first ({records} from audit records; "
              f"{RETENTION_NOTE})"]
    blocks += [f"NOTE: {note}" for note in report.notes]
    blocks += [record_text(r) for r in report.entries]
    if report.bad:
        lines = [f"UNREADABLE AUDIT RECORDS in s3://{report.bucket} ({len(report.bad)}): each is kept as it "
                 "is; its execution is shown from CodePipeline's history when that still has it"]
        lines += [f"  {bad.key}: {bad.problem}" for bad in report.bad]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def record_text(record: AuditRecord) -> str:
    origin = record.origin
    outcome = record.outcome + (f" ({record.outcome_detail})" if record.outcome_detail else "")
    by = f" by {origin.author}" if origin.author else ""
    subject = f": {origin.subject}" if origin.subject else ""
    source = origin.source
    change_set = record.change_set
    rows = [("started", f"{when(record.started)}, ended {when(record.ended)}"),
            ("commit", f"{origin.commit or 'unknown'}{by}{subject}"),
            ("object", f"s3://{source.bucket}/{source.key} version {source.version}" if source.bucket
             else f"version {source.version or 'unknown'}"),
            ("origin", provenance_text(origin, version=False)),
            ("change set", f"{change_set['name']} on stack {change_set['stack']}"
             + (f" ({change_set['id']})" if change_set.get("id") else "") if change_set
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
    rows.append(("from", record.source + (f" {record.record_key}" if record.record_key else "")))
    width = max(len(label) for label, _ in rows)
    lines = [f"Execution {record.execution_id}  {record.outcome.upper()}"]
    lines += [f"  {label.ljust(width)}  {value}" for label, value in rows]
    if not origin.trusted:
        lines.append("  WARNING: the origin of this change cannot be trusted:")
        lines += [f"    - {problem}" for problem in origin.problems]
    return "\n".join(lines)
