"""``changegate changes STACK``: the change set waiting for approval, resource by resource."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import click

from changegate.approvals import read_request
from changegate.aws import aws_from_context, aws_options
from changegate.options import format_option, root_option
from changegate.origin import sync_identity
from changegate.render import approval_text, untrusted_text
from changegate.targets import resolve
from generator.contract.config import load_config


@click.command()
@root_option
@click.argument("stack")
@aws_options
@format_option
@click.pass_context
def changes(ctx: click.Context, root: Path, stack: str, profile: str | None, region: str | None,
            output_format: str) -> int:
    """Show the change set waiting for approval on STACK's pipeline: for each resource change the
    action, logical id, type, replacement (True / Conditional / False) and changed properties; then
    the review the pipeline's Review action makes of it, made here by the same code (risk tier,
    replacements, data loss, permission broadening, protected resources), the Review action's own
    RiskTier and Summary when it ran, and whether they differ; and how far the approvals are
    (waiting for 2 approvals, 1 of 2 approved (by X), second approval waived).

    The commit, author and subject shown come from the metadata the sync wrote on the object version
    the execution runs on; a warning says when the execution was not started by the sync or its
    commit variables disagree. Exit 3 when no approval is pending.
    """
    config = load_config(root)
    target = resolve(config, root, stack)
    aws = aws_from_context(profile, region)
    request = read_request(aws.client("codepipeline"), aws.client("cloudformation"), aws.client("s3"),
                           project=config.project, pipeline=target.pipeline, stack=target.stack,
                           sync=sync_identity(config.project, aws.account()), account=aws.account())
    if output_format == "json":
        if not request.origin.trusted:
            click.echo(untrusted_text(request.origin.problems), err=True)
        click.echo(json.dumps(request.to_json(), indent=2))
    else:
        now = (ctx.find_object(dict) or {}).get("now", lambda: datetime.now(timezone.utc))()
        click.echo(approval_text(request, now))
    return 0
