"""``changegate approve STACK`` and ``changegate reject STACK``: decide with the change set in view."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import click

from changegate.approvals import decide, for_caller, read_request, refuse_untrusted
from changegate.aws import aws_from_context, aws_options
from changegate.options import format_option, root_option
from changegate.origin import sync_identity
from changegate.render import approval_text
from changegate.targets import resolve
from generator.contract.config import load_config

# CodePipeline's ApprovalSummary is at most 512 characters.
MAX_SUMMARY = 512
# Prefixed to the recorded summary of an approval given with --force past a failed origin check.
FORCED_MARK = "[forced past origin checks]"


def _force_option(approve: bool):
    """``--force`` for approve only: refusing a suspicious change must always be possible."""
    if not approve:
        return lambda command: command
    return click.option("--force", is_flag=True,
                        help="Approve even when the change's origin fails a check (the warning says which).")


def _decision(approve: bool):
    verb = "approve" if approve else "reject"
    help_text = (f"{verb.capitalize()} the change set waiting on STACK's pipeline.\n\n"
                 "Shows the change set, the review the pipeline's own code makes of it (and the "
                 "pipeline's Review verdict beside it) and its commit, asks, then re-reads the pipeline "
                 "state and refuses (exit 4) if another execution is now waiting or the approval was "
                 "decided meanwhile. Exit 3 when nothing is pending.\n\n"
                 "Two approvals (high-risk changes): this decides Approve first, then SecondApproval, "
                 "never one you decided already"
                 + ("; approving the second one of an execution you approved is refused before anything "
                    "is sent (exit 6): the pipeline's check would refuse one person twice.\n\n" if approve
                    else ".\n\n") +
                 "The commit shown is the one the sync wrote on the object version the execution runs "
                 "on. When the execution was not started by the sync, its object version carries no "
                 "sync metadata, or its commit variables disagree with it, a warning says so"
                 + (" and approving is refused (exit 5) unless --force is given." if approve else
                    "; rejecting stays possible."))

    @click.command(name=verb, help=help_text)
    @root_option
    @click.argument("stack")
    @click.option("--comment", default=None, metavar="TEXT",
                  help=f"Why (recorded with the decision, at most {MAX_SUMMARY} characters).")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
    @_force_option(approve)
    @aws_options
    @format_option
    @click.pass_context
    def command(ctx: click.Context, root: Path, stack: str, comment: str | None, yes: bool,
                profile: str | None, region: str | None, output_format: str, force: bool = False) -> int:
        if comment is not None and len(comment) > MAX_SUMMARY:
            raise click.BadParameter(f"at most {MAX_SUMMARY} characters, got {len(comment)}",
                                     param_hint="--comment")
        config = load_config(root)
        target = resolve(config, root, stack)
        aws = aws_from_context(profile, region)
        codepipeline = aws.client("codepipeline")
        request = read_request(codepipeline, aws.client("cloudformation"), aws.client("s3"),
                               project=config.project, pipeline=target.pipeline, stack=target.stack,
                               sync=sync_identity(config.project, aws.account()), account=aws.account())
        # Approve first, then SecondApproval; never the other one of an execution this caller approved
        request = for_caller(request, aws.caller_arn(), approve=approve,
                             requirement=config.settings_for(target.folder).approvals)
        now = (ctx.find_object(dict) or {}).get("now", lambda: datetime.now(timezone.utc))()
        # shown on stderr with --format json, so stdout stays one JSON document
        click.echo(approval_text(request, now), err=output_format == "json")
        forced = approve and not request.origin.trusted
        if forced and not force:
            refuse_untrusted(request)  # before any question: nothing to confirm
        question = f"{verb.capitalize()} change set {request.change_set.name} on {request.stack}?"
        if not yes and not click.confirm(question, err=True):
            click.echo("Nothing was done.", err=True)
            return 1
        summary = comment or f"{'Approved' if approve else 'Rejected'} with changegate after reviewing " \
                             f"change set {request.change_set.name}"
        if forced:
            # the approval record (and so `changegate audit`) says it was forced past the checks
            summary = f"{FORCED_MARK} {summary}"
        decided_at = decide(codepipeline, request, approve=approve, summary=summary[:MAX_SUMMARY])
        past = "Approved" if approve else "Rejected"
        if output_format == "json":
            click.echo(json.dumps({"result": past.lower(), "decided_at": decided_at.isoformat()
                                   if decided_at else None, "forced": forced, **request.to_json()}, indent=2))
        else:
            click.echo(f"{past}: execution {request.pending.execution_id} of {request.pending.pipeline} "
                       f"({request.pending.action}, change set {request.change_set.name})"
                       + (", forced past the origin checks." if forced else "."))
        return 0

    return command


approve = _decision(approve=True)
reject = _decision(approve=False)
