"""``changegate guardrails``: print the service control policy that keeps everyone off the managed stacks.

Offline: it reads ``pipelines/config.yaml`` only (no AWS credentials), so the owners can review the SCP
in a pull request before an organization administrator attaches it.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from changegate.options import root_option
from generator.bootstrap.guardrails import (
    MAX_SCP_CHARS,
    PARTITIONS,
    adopted_stack_names,
    check_break_glass_role_arn,
    configured_stack_names,
    guardrail_policy_name,
    service_control_policy,
)
from generator.contract.config import load_config
from generator.errors import UsageError

EXPLANATION = """\
changegate guardrail for project {project}: a service control policy (SCP) for AWS Organizations.

It denies, to every principal except changegate's roles ({project}-changegate-*) and the break-glass
role{break_glass}:
  - CloudFormation writes on the managed stacks ({project}-*{adopted}): updates, change sets,
    deletion, stack policy, termination protection, rollbacks, imports, refactors, tags;
  - changing, deleting, retrying or overriding the project's pipelines and the sync CodeBuild project
    (starting builds, new buildspecs, resource policies);
  - invoking or changing changegate's Lambda functions ({project}-changegate-*);
  - starting a stack pipeline (only the sync role may) and starting the sync pipeline (nobody: a push
    to the branch starts it);
  - approving or rejecting (codepipeline:PutApprovalResult) except for the approvers in
    pipelines/config.yaml;
  - changing changegate's buckets' policies and configuration, its topic, its key and alias, its IAM
    roles and policies and the approver principals, or attaching the approvers policy to anyone.
{notes}
Where it goes: in the management account, AWS Organizations > Policies > Service control policies >
Create policy, paste the JSON below (or `changegate guardrails --format json`), then attach it to the
account that holds the pipelines, or to its organizational unit. It does not apply to the management
account itself, nor to service-linked roles. Inside the account, also attach the managed policy
{policy} (created by the bootstrap stack) to every human and CI principal.

{size:,} of {limit:,} characters used.

{document}
"""


@click.command()
@root_option
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: only the SCP document, ready to paste into AWS Organizations.")
@click.option("--break-glass-role", "break_glass_role", metavar="ARN", default=None,
              help="The one role the guardrail does not restrict (it deploys the bootstrap stack and "
                   "repairs stacks by hand), e.g. arn:aws:iam::111122223333:role/BreakGlass.")
@click.option("--partition", type=click.Choice(PARTITIONS), default="aws", show_default=True,
              help="The AWS partition of the organization.")
def guardrails(root: Path, output_format: str, break_glass_role: str | None, partition: str) -> int:
    """Print the service control policy that keeps everyone but changegate off the managed stacks,
    pipelines, sync project, buckets, topic and key.
    """
    if break_glass_role is not None:
        problem = check_break_glass_role_arn(break_glass_role)
        if problem:
            raise UsageError(f"--break-glass-role: {problem}")
    config = load_config(root)
    guardrail = service_control_policy(config, break_glass_role_arn=break_glass_role, partition=partition)
    if output_format == "json":
        click.echo(guardrail.json())
        return 0
    adopted = adopted_stack_names(config.project, configured_stack_names(config))
    notes = "".join(f"Not covered: {note}.\n" for note in guardrail.notes)
    click.echo(EXPLANATION.format(
        project=config.project, break_glass=f" ({break_glass_role})" if break_glass_role else "",
        adopted=f" and {', '.join(adopted)}" if adopted else "", notes=notes and f"\n{notes}",
        policy=guardrail_policy_name(config.project), size=len(guardrail.json()), limit=MAX_SCP_CHARS,
        document=json.dumps(guardrail.document, indent=2, sort_keys=True)), nl=False)
    return 0
