"""``changegate stop STACK``: stop the running execution (not the same as rejecting its change set)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from changegate.aws import aws_from_context, aws_options
from changegate.executions import current_execution, stop_execution
from changegate.options import format_option, root_option
from changegate.targets import resolve
from generator.contract.config import load_config

# StopPipelineExecution's reason is at most 200 characters.
MAX_REASON = 200


@click.command()
@root_option
@click.argument("stack")
@click.option("--execution", "execution_id", default=None, metavar="ID",
              help="The execution to stop when several are in progress.")
@click.option("--abandon", is_flag=True,
              help="Do not wait for in-progress actions to finish (their outcome is left unknown).")
@click.option("--reason", default=None, metavar="TEXT", help=f"Recorded with the stop (<= {MAX_REASON}).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@aws_options
@format_option
def stop(root: Path, stack: str, execution_id: str | None, abandon: bool, reason: str | None, yes: bool,
         profile: str | None, region: str | None, output_format: str) -> int:
    """Stop the execution running on STACK's pipeline (StopPipelineExecution).

    Stopping ends the run; rejecting (changegate reject) is a verdict on its change set.
    Without --abandon, CodePipeline lets in-progress actions finish first.
    """
    if reason is not None and len(reason) > MAX_REASON:
        raise click.BadParameter(f"at most {MAX_REASON} characters, got {len(reason)}", param_hint="--reason")
    config = load_config(root)
    target = resolve(config, root, stack)
    codepipeline = aws_from_context(profile, region).client("codepipeline")
    execution = current_execution(codepipeline, target.pipeline, execution_id)
    how = "abandon" if abandon else "stop (letting in-progress actions finish)"
    if not yes and not click.confirm(f"{how.capitalize()} execution {execution} of {target.pipeline}?",
                                     err=True):
        click.echo("Nothing was done.", err=True)
        return 1
    result = stop_execution(codepipeline, target.pipeline, execution, abandon=abandon,
                            reason=reason or "Stopped with changegate stop")
    if output_format == "json":
        click.echo(json.dumps({"pipeline": result.pipeline, "execution_id": result.execution_id,
                               "abandon": result.abandon, "reason": result.reason}, indent=2))
    else:
        verb = "Abandoning" if abandon else "Stopping"
        click.echo(f"{verb} execution {result.execution_id} of {result.pipeline}.")
    return 0
