"""``changegate status``: every pipeline of the project at a glance, pending approvals first."""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from changegate.aws import AccessDeniedError, CredentialsError, aws_from_context, aws_options, one_line
from changegate.changesets import ChangeSummary, describe_change_set
from changegate.options import format_option, root_option
from changegate.pipeline_state import SKIPPED, SKIPPED_NOTE, PipelineStatus, StatusReport, read_status
from changegate.render import age, table, when
from changegate.targets import resolve, stack_folders, stack_names
from generator.contract.config import load_config
from generator.errors import AwsError

log = logging.getLogger(__name__)


@click.command()
@root_option
@click.argument("stacks", nargs=-1, metavar="[STACK]...")
@click.option("--watch", is_flag=True, help="Refresh until interrupted (Ctrl-C).")
@click.option("--interval", type=click.IntRange(min=5), default=30, show_default=True,
              help="Seconds between refreshes with --watch.")
@aws_options
@format_option
@click.pass_context
def status(ctx: click.Context, root: Path, stacks: tuple[str, ...], watch: bool, interval: int,
           profile: str | None, region: str | None, output_format: str) -> int:
    """One table for all the project's pipelines (or only STACK...): state, where the furthest
    execution is (Change/Approve) and how many wait behind it, pending approval and its change set,
    last execution, commit and object version. A run the sync did not start shows as Skipped."""
    config = load_config(root)
    names = stack_names(config, stack_folders(root))
    only = [resolve(config, root, name).folder for name in stacks] or None
    aws = aws_from_context(profile, region)
    obj = ctx.find_object(dict) or {}
    sleep = obj.get("sleep", time.sleep)
    now = obj.get("now", lambda: datetime.now(timezone.utc))
    codepipeline, cfn = aws.client("codepipeline"), aws.client("cloudformation")

    def change_summary(stack: str, change_set: str) -> ChangeSummary | None:
        try:
            return describe_change_set(cfn, stack, change_set).summary
        except (AccessDeniedError, CredentialsError):
            raise
        except AwsError as exc:  # deleted or not readable: the row says "unknown", the table stays
            log.info("change set %s of %s: %s", change_set, stack, exc)
            return None

    while True:
        report = read_status(codepipeline, config.project, names, only=only,
                             change_summary=change_summary, workers=obj.get("workers", 8))
        if output_format == "json":
            click.echo(json.dumps(as_json(config.project, report), indent=2))
        else:
            if watch and sys.stdout.isatty():
                click.clear()
            click.echo(as_text(config.project, report, now()))
        if not watch:
            return 0
        try:
            sleep(interval)
        except KeyboardInterrupt:
            return 0


def as_text(project: str, report: StatusReport, now: datetime) -> str:
    rows = report.rows
    lines = [f"{project}: {len(rows)} stacks; {report.pending} pending approval"
             f"{'s' if report.pending != 1 else ''}, {report.failed} failed, "
             f"{report.in_progress} in progress   ({when(now)})"]
    if report.listing_denied:
        lines.append(f"note: {report.listing_denied} is denied to these credentials: the rows are the "
                     "repository's stacks only (a pipeline whose folder was removed is not shown); ask for "
                     f"{report.listing_denied} on *")
    if not rows:
        return "\n".join([*lines, "no stacks and no pipelines"])
    headers = ["STACK", "STATE", "WHERE", "PENDING APPROVAL", "LAST START", "LAST END", "COMMIT",
               "OBJECT VERSION", "NOTE"]
    lines.append(table(headers, [_row(r, now) for r in rows]))
    return "\n".join(lines)


def _row(row: PipelineStatus, now: datetime) -> list[str]:
    last = row.last
    if row.pipeline is None:
        state = "-"
    elif row.error:
        state = "unknown"
    elif row.skipped:
        state = SKIPPED  # the execution itself may read Succeeded: say what really happened
    else:
        state = last.status if last else "never run"
    where = row.state.where if row.state and row.state.where else "-"
    if row.state and row.state.queued:
        where += f" (+{len(row.state.queued)} queued)"
    pending = "-"
    if row.pending is not None:
        summary = row.change_summary.short() if row.change_summary else "change set unknown"
        commit = f" (commit {row.pending_commit[:8]})" if row.pending_commit else ""
        approvals = f"; {row.approvals}" if row.approvals else ""
        pending = f"{age(row.pending.since, now)}: {summary}{commit}{approvals}"
    note = one_line(row.error, 400) if row.error else row.note or (SKIPPED_NOTE if row.skipped else "")
    return [row.stack, state, where, pending, when(last.started if last else None),
            when(last.ended if last else None), (last.commit or "-")[:8] if last else "-",
            (last.object_version or "-")[:12] if last else "-", note]


def as_json(project: str, report: StatusReport) -> dict[str, Any]:
    return {
        "project": project,
        "totals": {"stacks": len(report.rows), "pending_approvals": report.pending,
                   "failed": report.failed, "in_progress": report.in_progress},
        "listing_denied": report.listing_denied,
        "pipelines": [{
            "folder": r.folder, "stack": r.stack, "pipeline": r.pipeline, "note": r.note,
            "error": r.error,
            "current_stage": r.state.current_stage if r.state else None,
            "current_action": r.state.current_action if r.state else None,
            "where": r.state.where if r.state else None,
            "stage_status": r.state.stage_status if r.state else None,
            "queued": [{"execution_id": e, "before_stage": stage}
                       for e, stage in (r.state.queued if r.state else ())],
            "skipped": r.skipped,
            "pending_approval": None if r.pending is None else {
                "execution_id": r.pending.execution_id, "stage": r.pending.stage,
                "action": r.pending.action, "commit": r.pending_commit, "approvals": r.approvals,
                "open_approvals": [p.action for p in r.state.pendings
                                   if p.execution_id == r.pending.execution_id],
                "since": r.pending.since.isoformat() if r.pending.since else None,
                "change_set": r.change_set,
                "summary": r.change_summary.to_json() if r.change_summary else None},
            "last_execution": r.last.to_json() if r.last else None,
        } for r in report.rows],
    }
