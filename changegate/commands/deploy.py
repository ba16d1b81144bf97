"""``changegate deploy``: deploy the bootstrap stack of pipelines by hand, through a change set."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from changegate import deploy as deploying
from changegate.aws import aws_from_context, aws_options
from changegate.options import format_option, root_option
from changegate.regions import check_region
from changegate.render import change_set_text, when
from generator.contract.config import PipelinesConfig, load_config
from generator.errors import UsageError
from generator.naming import bootstrap_stack_name

COMMITTED_TEMPLATE = "pipelines/pipelines.json"


def _check_account(config: PipelinesConfig, account: str) -> None:
    """Refuse credentials of another account than the one pipelines/config.yaml names.

    The approvers policy is attached to principals by name (``role/PlatformApprovers``): deployed
    into another account, it would grant approval rights to that account's principal of the same
    name (issue 9, item 4).
    """
    expected = config.deploying_account()
    if expected is not None and expected != account:
        raise UsageError(
            f"these credentials are for account {account}, but pipelines/config.yaml deploys to account "
            f"{expected} (account_id, or the account its approver, topic and connection ARNs name); "
            f"nothing was deployed. Use credentials of account {expected} (--profile), or correct "
            "account_id and the ARNs in pipelines/config.yaml")


@click.command()
@root_option
@click.option("--template", "template_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help=f"Deploy this template file (e.g. the committed {COMMITTED_TEMPLATE}) "
                                 "instead of generating it.")
@click.option("--yes", is_flag=True, help="Execute without asking (for scripts).")
@click.option("--dry-run", is_flag=True, help="Show the change set, then delete it; change nothing.")
@click.option("--no-region-check", is_flag=True,
              help="Deploy even where cfn-lint's resource lists or CodePipeline's documentation say a "
                   "resource type or action the template uses does not exist (when AWS has added it since).")
@aws_options
@format_option
@click.pass_context
def deploy(ctx: click.Context, root: Path, template_path: Path | None, yes: bool, dry_run: bool,
           no_region_check: bool, profile: str | None, region: str | None, output_format: str) -> int:
    """Deploy the bootstrap stack (<project>-pipelines) through a change set.

    Refuses a region that lacks a resource type or action the template uses (naming both).
    Uploads the stack-policy function's code, and the nested stacks' templates when the bootstrap
    template is sharded, to the staging bucket (once per content), shows
    the change set (adds, modifies, removes, replacements, pipelines added and removed), asks
    before executing it, follows the stack events until the stack settles, then turns
    termination protection on. Exit 0 when deployed or nothing changed.
    """
    config = load_config(root)
    stack = bootstrap_stack_name(config.project)
    body, shards = _templates(root, template_path)
    function = _function_code(body, template_path)
    aws = aws_from_context(profile, region)
    obj = ctx.find_object(dict) or {}
    sleep, clock = obj.get("sleep", time.sleep), obj.get("clock", time.monotonic)
    cfn, s3 = aws.client("cloudformation"), aws.client("s3")
    region_name = cfn.meta.region_name
    if not no_region_check:
        for checked in (body, *(shard.body for shard in shards)):
            check_region(checked, region_name)
    account = aws.account()
    _check_account(config, account)
    plan = deploying.prepare(cfn, s3, stack=stack, body=body, account=account, region=region_name,
                             function=function, shards=shards, sleep=sleep, clock=clock)
    text = output_format == "text"
    if text and plan.bucket.created:
        tls = "TLS only" if plan.bucket.tls_only else "no TLS-only policy: the endpoint is plain http"
        click.echo(f"Created staging bucket {plan.bucket.name} (encrypted, versioned, private, {tls})",
                   err=True)
    if text and plan.function_uploaded:
        click.echo(f"Uploaded function code to s3://{plan.bucket.name}/{function.key} "
                   f"({len(function.data):,} bytes)", err=True)
    if text and shards:
        click.echo(f"Nested stacks (shards): {len(shards)} templates staged in s3://{plan.bucket.name}/, "
                   f"{len(plan.shards_uploaded)} of them uploaded now", err=True)
    change_set = plan.change_set
    if change_set.is_empty:
        deploying.discard(cfn, stack, change_set.name, plan.change_set_type)
        warning = deploying.ensure_termination_protection(cfn, stack)
        _emit(output_format, {"stack": stack, "result": "nothing to deploy", "warning": warning},
              f"Nothing to deploy: stack {stack} is up to date.", warning)
        return 0
    if text:
        click.echo(_plan_text(plan))
    if dry_run or not (yes or click.confirm(f"Execute this change set on {stack}?", err=True)):
        deploying.discard(cfn, stack, change_set.name, plan.change_set_type)
        reason = "dry run" if dry_run else "not confirmed"
        _emit(output_format, {"stack": stack, "result": reason, "change_set": change_set.to_json()},
              f"{reason.capitalize()}: change set {change_set.name} deleted, nothing executed.")
        return 0 if dry_run else 1

    def on_event(event: deploying.StackEvent) -> None:
        if text:
            reason = f"  {event.reason}" if event.reason else ""
            click.echo(f"{when(event.timestamp)}  {event.status:<28} {event.resource_type:<32} "
                       f"{event.logical_id}{reason}", err=True)

    outcome = deploying.execute(cfn, plan, on_event=on_event, sleep=sleep, clock=clock)
    result = {"stack": stack, "result": "deployed" if outcome.succeeded else "failed",
              "status": outcome.status, "change_set": change_set.to_json(),
              "failures": [{"logical_id": e.logical_id, "type": e.resource_type, "status": e.status,
                            "reason": e.reason} for e in outcome.failures],
              "warning": outcome.protection_warning,
              "function_code": {"key": function.key, "uploaded": plan.function_uploaded},
              "shards": [{"logical_id": shard.logical_id, "key": shard.key,
                          "uploaded": shard.key in plan.shards_uploaded} for shard in shards]}
    if outcome.succeeded:
        _emit(output_format, result, f"Deployed: stack {stack} is {outcome.status}; "
              "termination protection is on." if not outcome.protection_warning else
              f"Deployed: stack {stack} is {outcome.status}.", outcome.protection_warning)
        return 0
    lines = [f"FAILED: stack {stack} is {outcome.status}. Failing resources:"]
    lines += [f"  {e.logical_id} ({e.resource_type}) {e.status}: {e.reason}" for e in outcome.failures]
    _emit(output_format, result, "\n".join(lines))
    return 1


def _templates(root: Path, template_path: Path | None) -> tuple[str, tuple[deploying.ShardTemplate, ...]]:
    """The bootstrap template as deployed (compact), generated from ``root`` or read from
    ``--template``, and the templates of its nested stacks when it is sharded."""
    from generator.bootstrap.shards import render_bootstrap  # troposphere: only when deploying
    from generator.bootstrap.template import deployable_json

    if template_path is None:
        templates = render_bootstrap(root)
        return deployable_json(templates.text), tuple(
            deploying.ShardTemplate(s.logical_id, s.key, s.body) for s in templates.shards)
    try:
        body = deployable_json(template_path.read_text("utf-8"))
    except ValueError as exc:
        raise UsageError(f"{template_path}: not a JSON template ({exc})\n    hint: pass the generated "
                         "pipelines/pipelines.json, or leave --template out to generate it") from None
    return body, _committed_shards(template_path, json.loads(body))


def _committed_shards(template_path: Path, template: dict) -> tuple[deploying.ShardTemplate, ...]:
    """The shard files of the nested stacks a committed parent holds (their files and keys are in
    Metadata.Changegate.Shards), each checked against the content-addressed key the parent names for
    it: a stale shard file would deploy other content. A nested stack the template no longer holds
    (step 1 of crossing into shards, docs/bootstrap-stack.md) needs no file."""
    from generator.bootstrap.shards import NESTED_STACK_TYPE, compact, shard_key

    metadata = (template.get("Metadata") or {}).get("Changegate") or {}
    project, named = metadata.get("Project", ""), metadata.get("Shards") or {}
    held = {lid for lid, r in (template.get("Resources") or {}).items()
            if isinstance(r, dict) and r.get("Type") == NESTED_STACK_TYPE}
    shards = []
    for logical_id, shard in sorted(named.items()):
        if logical_id not in held:
            continue
        path = template_path.parent / shard["Template"]
        try:
            body = compact(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{template_path} is sharded, but its nested stack {logical_id}'s template "
                             f"{path} cannot be read ({exc})\n    hint: run changegate generate and "
                             "commit pipelines/shards/ with pipelines/pipelines.json") from None
        if shard_key(project, body) != shard["Key"]:
            raise UsageError(f"{path} is not the template {template_path} names for {logical_id} "
                             f"({shard['Key']})\n    hint: run changegate generate and commit "
                             "pipelines/shards/ with pipelines/pipelines.json")
        shards.append(deploying.ShardTemplate(logical_id, shard["Key"], body))
    return tuple(shards)


def _function_code(body: str, template_path: Path | None) -> deploying.FunctionCode:
    """The stack-policy function's zip as this changegate builds it, checked against the template.

    The template names the code by its hash (generator/bootstrap/functions.py); a ``--template`` generated by
    another version of changegate would name code that is never uploaded, and the deployment would
    fail late, inside CloudFormation.
    """
    from generator.bootstrap.functions import FUNCTION_KEY_PREFIX, function_archive, function_code_key

    archive = function_archive()
    code = deploying.FunctionCode(function_code_key(archive), archive.data, archive.sha256)
    named = sorted(_function_keys(json.loads(body), FUNCTION_KEY_PREFIX) - {code.key})
    if named:
        source = template_path or "the generated template"
        raise UsageError(f"{source} names function code {', '.join(named)}, but this changegate builds "
                         f"{code.key}\n    hint: regenerate it (changegate generate) with this version of "
                         "changegate, or leave --template out")
    return code


def _function_keys(template: dict, prefix: str) -> set[str]:
    keys = set()
    for resource in (template.get("Resources") or {}).values():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Lambda::Function":
            key = ((resource.get("Properties") or {}).get("Code") or {}).get("S3Key")
            if isinstance(key, str) and key.startswith(prefix):
                keys.add(key)
    return keys


def _plan_text(plan: deploying.DeployPlan) -> str:
    change_set = plan.change_set
    verb = "create" if plan.change_set_type == "CREATE" else "update"
    lines = [change_set_text(change_set, heading=f"Change set {change_set.name} to {verb} stack "
                                                 f"{plan.stack}: {change_set.summary.render()}")]
    for label, action in (("Pipelines added", "Add"), ("Pipelines removed", "Remove")):
        names = change_set.pipelines(action)
        if names:
            lines.append(f"{label}: {', '.join(names)}")
    moving = _pipelines_moving(change_set)
    if moving:
        lines.append(
            f"WARNING: {len(moving)} pipelines move between the bootstrap stack and its nested stacks "
            f"({', '.join(moving[:5])}{', ...' if len(moving) > 5 else ''}). CloudFormation creates the "
            "new pipeline before it deletes the old one of the same name, so this update fails and rolls "
            "back. See docs/bootstrap-stack.md (How many stacks it holds) for the two-step deployment.")
    return "\n".join(lines)


def _pipelines_moving(change_set) -> list[str]:
    """Logical ids of pipelines added in one stack of the hierarchy and removed from another."""
    added = {c.logical_id for c in change_set.changes if c.resource_type == "AWS::CodePipeline::Pipeline"
             and c.action == "Add"}
    return sorted(c.logical_id for c in change_set.changes if c.resource_type == "AWS::CodePipeline::Pipeline"
                  and c.action == "Remove" and c.logical_id in added)


def _emit(output_format: str, data: dict, text: str, warning: str | None = None) -> None:
    if output_format == "json":
        click.echo(json.dumps(data, indent=2, default=str))
        return
    click.echo(text)
    if warning:
        click.echo(f"WARNING: {warning}", err=True)
