"""Termination protection for the managed stacks, declared in the bootstrap template.

A CodePipeline CloudFormation action cannot turn termination protection on, and decision 9
forbids code hidden in the template. So the bootstrap stack wires AWS services together:

    CloudFormation "Stack Status Change" (CREATE_COMPLETE / UPDATE_COMPLETE) on the default bus
      -> EventBridge rule matching exactly the stacks whose settings want protection
      -> SSM Automation runbook, one ``aws:executeAwsApi`` step:
         cloudformation:UpdateTerminationProtection(EnableTerminationProtection=true, StackName=<stack id>)

UPDATE_COMPLETE is there so that an adopted stack (or one that existed before this feature)
is protected by its next executed change set. The call is idempotent.

The rule's pattern: ``detail.stack-id`` must start with one of the prefixes
``arn:<partition>:cloudformation:<region>:<account>:stack/<name>/``, one per protected stack, the
exact name closed with ``/`` (the stack id goes on with ``/<uuid>``). Never shortened: the nested
stacks of a managed stack are named ``<name>-<LogicalId>-<random>``, and "You can't enable or disable
termination protection directly on a nested stack" (CloudFormation user guide,
using-cfn-protect-stacks), so a shortened prefix such as ``stack/acme-n`` would start a runbook that
fails for every nested stack event (aws-fidelity notes, F17). Exact ``stack/<name>/`` matches neither
those nor ``acme-db2`` for ``acme-db``. Only ``prefix`` is used: it is the one operator every event bus
supports with a list of values, and a list is an OR. When the pattern would exceed EventBridge's
4,096 characters the entries are split over several rules (same target), about 40 stacks a rule,
so the size of each rule is bounded whatever the number of stacks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from awacs import cloudformation as cfn
from awacs import iam
from awacs.aws import Action, Allow, Condition, Deny, Statement, StringEquals
from troposphere import AWSObject, GetAtt, Sub
from troposphere.events import InputTransformer, Rule, Target
from troposphere.iam import Role
from troposphere.ssm import Document

from generator import logical_ids, naming
from generator.bootstrap import arns
from generator.bootstrap.iam import PROTECTION_ROLE_PURPOSES, service_role
from generator.contract.stacks import LoadedStack
from generator.errors import GenerateError

# The stack statuses after which a stack is (re)protected.
PROTECTED_STATUSES = ("CREATE_COMPLETE", "UPDATE_COMPLETE")
EVENT_SOURCE = "aws.cloudformation"
EVENT_DETAIL_TYPE = "CloudFormation Stack Status Change"
# PutRule's EventPattern: at most 4,096 characters (EventBridge API reference).
MAX_EVENT_PATTERN = 4096
# What Fn::Sub puts into a stack id prefix, at its longest: partition ("aws-us-gov"), region (16
# characters, longer than any today: "ap-southeast-5" has 14) and account. The size check uses these,
# so a pattern that fits here fits in every region.
_WORST_CASE_HEAD = "arn:aws-us-gov:cloudformation:xx-xxxxxxxxxx-9:123456789012:stack/"
# The runbook's parameter, and the step that makes the one API call.
STACK_ID_PARAMETER = "StackId"
STEP_NAME = "EnableTerminationProtection"
TARGET_ID = "EnableTerminationProtection"
# A stack id as CloudFormation reports it (DescribeStacks StackId).
STACK_ID_PATTERN = r"^arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:[0-9]{12}:stack/[A-Za-z][A-Za-z0-9-]*/.+$"


def protection_sets(project: str, stacks: Mapping[str, LoadedStack]) -> tuple[list[str], list[str]]:
    """(stack names to protect, other known stack names), each sorted.

    Protected: stacks with a pipeline whose settings say ``termination_protection``. Known and
    not protected: the others (opted out or disabled) and the bootstrap stack.
    """
    protected = {s.stack_name for s in stacks.values()
                 if not s.settings.disabled and s.settings.termination_protection}
    others = {s.stack_name for s in stacks.values()} | {naming.bootstrap_stack_name(project)}
    return sorted(protected), sorted(others - protected)


def name_prefixes(protected: Iterable[str]) -> list[str]:
    """One exact ``<name>/`` prefix per protected stack, sorted: never shortened (F17).

    A shorter prefix would also match the managed stacks' nested stacks (``<name>-<Logical>-<id>``)
    and names not yet known (a stack added later, opted out).
    """
    return sorted({f"{name}/" for name in protected})


def event_pattern(prefixes: Iterable[str]) -> dict:
    """The rule's pattern: one stack-status event of a stack whose id starts with a prefix."""
    return {
        "source": [EVENT_SOURCE],
        "detail-type": [EVENT_DETAIL_TYPE],
        "detail": {
            "stack-id": [{"prefix": arns.stack_id_prefix(p)} for p in prefixes],
            "status-details": {"status": list(PROTECTED_STATUSES)},
        },
    }


def pattern_size(prefixes: Iterable[str]) -> int:
    """The pattern's length once CloudFormation has resolved it, in the longest partition and region."""
    resolved = {
        "source": [EVENT_SOURCE],
        "detail-type": [EVENT_DETAIL_TYPE],
        "detail": {"stack-id": [{"prefix": _WORST_CASE_HEAD + p} for p in prefixes],
                   "status-details": {"status": list(PROTECTED_STATUSES)}},
    }
    return len(json.dumps(resolved))


def split_prefixes(prefixes: list[str], limit: int = MAX_EVENT_PATTERN) -> list[list[str]]:
    """``prefixes`` in order, in as few groups as keep each rule's pattern within ``limit``."""
    groups: list[list[str]] = []
    for prefix in prefixes:
        if groups and pattern_size([*groups[-1], prefix]) <= limit:
            groups[-1].append(prefix)
        else:
            groups.append([prefix])
    return groups


def automation_document(project: str) -> Document:
    """The runbook: one ``aws:executeAwsApi`` step, run as the automation role named in it.

    The role is fixed in the document (``assumeRole``), not a parameter a caller could choose.
    ``NewVersion``: a change of content makes a new default version of the same named document.
    """
    name = naming.protection_document_name(project)
    if name.lower().startswith(naming.SSM_RESERVED_DOCUMENT_PREFIXES):
        raise GenerateError(f"pipelines/config.yaml project: the SSM document name {name!r} starts with a "
                            "prefix SSM reserves for AWS (aws, amazon, amzn)\n"
                            "    hint: choose a project name that does not start with one")
    content = {
        "schemaVersion": "0.3",
        "description": f"changegate {project}: turn termination protection on for one managed stack.",
        "assumeRole": arns.role(_automation_role_name(project)),
        "parameters": {
            STACK_ID_PARAMETER: {"type": "String", "description": "The stack id from the stack status event",
                                 "allowedPattern": STACK_ID_PATTERN},
        },
        "mainSteps": [{
            "name": STEP_NAME,
            "action": "aws:executeAwsApi",
            "inputs": {
                "Service": "cloudformation",
                "Api": "UpdateTerminationProtection",
                "EnableTerminationProtection": True,
                "StackName": f"{{{{ {STACK_ID_PARAMETER} }}}}",
            },
        }],
    }
    return Document(logical_ids.PROTECTION_DOCUMENT, Name=name, DocumentType="Automation",
                    DocumentFormat="JSON", UpdateMethod="NewVersion", Content=content)


def automation_role(project: str, stack_arns: list[Sub]) -> Role:
    """The role the runbook runs as: protect (and read) the managed stacks, nothing else."""
    name = _automation_role_name(project)
    statements = [
        Statement(Sid="ProtectManagedStacks", Effect=Allow,
                  Action=[cfn.DescribeStacks, cfn.UpdateTerminationProtection], Resource=stack_arns),
        # <project>-* matches the bootstrap stack: `changegate deploy` protects it, not this role.
        Statement(Sid="NeverTouchTheBootstrapStack", Effect=Deny, Action=[Action("cloudformation", "*")],
                  Resource=[arns.stack(naming.bootstrap_stack_name(project))]),
    ]
    return service_role(logical_ids.PROTECTION_ROLE, name, "ssm", statements)


def events_role(project: str) -> Role:
    """The role EventBridge starts the runbook with: that runbook only, passing the automation role only."""
    name = _events_role_name(project)
    statements = [
        Statement(Sid="StartTheProtectionRunbook", Effect=Allow,
                  Action=[Action("ssm", "StartAutomationExecution")],
                  Resource=[arns.automation_definition(f"${{{logical_ids.PROTECTION_DOCUMENT}}}", "*")]),
        Statement(Sid="PassTheAutomationRoleToSsm", Effect=Allow, Action=[iam.PassRole],
                  Resource=[arns.role(_automation_role_name(project))],
                  Condition=Condition(StringEquals("iam:PassedToService", "ssm.amazonaws.com"))),
    ]
    return service_role(logical_ids.PROTECTION_EVENTS_ROLE, name, "events", statements)


def protection_rules(project: str, groups: list[list[str]], events_role_arn) -> list[Rule]:
    rules = []
    for index, group in enumerate(groups, start=1):
        target = Target(
            Id=TARGET_ID, Arn=arns.automation_definition(f"${{{logical_ids.PROTECTION_DOCUMENT}}}"),
            RoleArn=events_role_arn,
            InputTransformer=InputTransformer(
                InputPathsMap={"stackId": "$.detail.stack-id"},
                InputTemplate=json.dumps({STACK_ID_PARAMETER: ["<stackId>"]})))
        rules.append(Rule(
            logical_ids.protection_rule(index), Name=naming.protection_rule_name(project, index),
            Description=f"changegate {project}: turn termination protection on for the managed stacks "
                        f"({index}/{len(groups)})",
            State="ENABLED", EventPattern=event_pattern(group), Targets=[target]))
    return rules


def termination_protection(project: str, stacks: Mapping[str, LoadedStack],
                           stack_arns: list[Sub]) -> list[AWSObject]:
    """Every resource that protects the managed stacks; none when no stack wants protection.

    ``stack_arns``: the managed stacks as IAM resources (``<project>-*`` and adopted names).
    """
    protected, _ = protection_sets(project, stacks)
    if not protected:
        return []
    groups = split_prefixes(name_prefixes(protected))
    document = automation_document(project)
    role = automation_role(project, stack_arns)
    starter = events_role(project)
    return [document, role, starter, *protection_rules(project, groups, GetAtt(starter, "Arn"))]


def _automation_role_name(project: str) -> str:
    return naming.role_name(project, PROTECTION_ROLE_PURPOSES[0])


def _events_role_name(project: str) -> str:
    return naming.role_name(project, PROTECTION_ROLE_PURPOSES[1])
