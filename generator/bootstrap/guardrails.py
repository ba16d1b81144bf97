"""The guardrail: the only way to change a managed stack is the pipeline (decision 11; issue 10, item 3).

A stack's service role is reused by anyone allowed to update the stack: "Provided that users have
permission to operate on the stack, CloudFormation uses this role even if the users don't have
permission to pass it" (CreateChangeSet API reference, RoleARN; security review H1). So changegate ships
one set of Deny statements in two forms:

- ``guardrail_policy``: a customer-managed policy in the bootstrap template, for operators to attach to
  every human and CI principal (and IAM Identity Center permission sets). It names changegate's buckets,
  topic and key exactly, with the template's own references.
- ``service_control_policy``: the same statements as an SCP for AWS Organizations, printed offline by
  ``changegate guardrails``. It cannot know the account, region or the names CloudFormation gave the
  buckets and topic, so it matches them by pattern (see ``_scp_targets``).

Every statement denies unless ``aws:PrincipalArn`` is one of the principals allowed that job, with
``ArnNotLike``. aws:PrincipalArn is the ARN of the principal that made the request, and for a role
session the role's ARN, not the session's (IAM user guide, reference_policies_condition-keys: AWS global
condition context keys, aws:PrincipalArn), so one role ARN covers every session of that role; it is in
the context of every signed request, so it works the same in an identity policy and in an SCP. Who may
do what:

- CloudFormation writes on the managed stacks, any change to the project's pipelines and to the sync
  CodeBuild project: changegate's roles (``<project>-changegate-*``: the pipeline roles, the execution
  role for nested stacks, the termination-protection and stack-policy roles) and the break-glass role;
- starting a stack pipeline: the sync role; starting the sync pipeline: only the break-glass role (its
  trigger is the push to the branch);
- ``PutApprovalResult``: the approvers from ``pipelines/config.yaml``;
- the buckets' configuration and policies, the topic, the key and changegate's IAM (its roles, its
  policies, the approver principals): only the break-glass role. No changegate role needs any of these:
  the bootstrap stack is deployed with the caller's credentials (changegate/deploy.py passes no role).

A principal that matches the role-name pattern is trusted, so the same statements keep everyone but the
break-glass role from creating, changing or passing a ``<project>-changegate-*`` role.

Library code: builds documents, never prints, never calls AWS.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from awacs.aws import (
    Action,
    ArnLike,
    ArnNotLike,
    Condition,
    ConditionElement,
    Deny,
    ForAnyValueStringEquals,
    PolicyDocument,
    Statement,
)
from troposphere import Sub
from troposphere.iam import ManagedPolicy

from generator import logical_ids, naming
from generator.contract.config import PipelinesConfig
from generator.errors import GenerateError

GUARDRAIL_POLICY = "GuardrailPolicy"  # its logical id in the bootstrap template
GUARDRAIL_PURPOSE = "guardrail"

# "The size of each managed policy cannot exceed 6,144 characters" and "IAM doesn't count white space
# when calculating the size of a policy against this limit" (IAM user guide, reference_iam-quotas).
MAX_MANAGED_POLICY_CHARS = 6_144
# "Service control policies: 5,120 characters" (AWS Organizations quotas, as quoted in the
# AWS::Organizations::Policy CloudFormation reference, Content). Organizations strips white space only
# when a policy is saved in the console; through the API or CLI it counts, so the JSON form is compact.
MAX_SCP_CHARS = 5_120

# A role the break-glass option accepts: one account (or "*", for an SCP on an OU whose accounts each
# have the role), a role name or path that may end in wildcards (IAM Identity Center roles carry a suffix).
BREAK_GLASS_RE = re.compile(r"\Aarn:aws(-cn|-us-gov)?:iam::(\d{12}|\*):role/[\w+=,.@/*-]{1,512}\Z")
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")

# CloudFormation on a managed stack: everything but reading. Written as NotAction so that an action AWS
# adds later (as it added the stack refactor actions) is denied too. Read-only prefixes per the
# service authorization reference (cfn-lint's Policies.json lists the actions): DetectStackDrift and
# DetectStackResourceDrift only record drift.
STACK_READS = ("cloudformation:Describe*", "cloudformation:Detect*", "cloudformation:Get*",
               "cloudformation:List*")
# The pipelines and the sync project: everything but reading, stopping an execution (`changegate stop`
# never lets a change through) and the two actions with their own statements below.
# The function the Change stage invokes (generator/bootstrap/function.py: review, stale guard, stack policy):
# invoking it by hand, or changing its code, would fake a review or a stack policy outside the pipeline.
FUNCTION_READS = ("lambda:Get*", "lambda:List*")
PIPELINE_READS = ("codebuild:BatchGet*", "codebuild:List*",
                  "codepipeline:Get*", "codepipeline:List*", "codepipeline:PutApprovalResult",
                  "codepipeline:StartPipelineExecution", "codepipeline:StopPipelineExecution")
# Bucket configuration, on the buckets' own ARNs (never their objects: the bucket policies decide who
# writes objects). Every bucket-level Put/Delete of the service authorization reference matches one of
# these (tests/generator/test_guardrails.py checks against cfn-lint's copy of it).
BUCKET_WRITES = ("s3:DeleteBucket*", "s3:PutBucket*", "s3:Put*Configuration")
# The approval topic: who may publish or subscribe is its policy's and the owners' business.
# sns:Set* is SetTopicAttributes and SetSubscriptionAttributes on a topic (the others name no topic).
TOPIC_WRITES = ("sns:AddPermission", "sns:DeleteTopic", "sns:PutDataProtectionPolicy", "sns:RemovePermission",
                "sns:Set*", "sns:Subscribe", "sns:Unsubscribe")
# The key: its policy, grants (L9), disabling and deletion; and its alias, by which the SCP finds it.
# CancelKeyDeletion and EnableKey stay open: they only undo damage.
KEY_WRITES = ("kms:CreateGrant", "kms:DisableKey", "kms:DisableKeyRotation", "kms:PutKeyPolicy",
              "kms:ScheduleKeyDeletion")
ALIAS_WRITES = ("kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias")
# changegate's EventBridge rules (<project>-changegate-*): the audit rule, whose targets write the audit
# records, and the termination-protection rules. Disabling one, or pointing it elsewhere, would stop
# the records (none could be forged: only the recorder writes audit/) or the protection, silently.
# On a rule's ARN, Put* is PutRule and PutTargets, Delete* DeleteRule, Disable* DisableRule (service
# authorization reference; short patterns: the SCP has 5,120 characters for everything).
RULE_WRITES = ("events:Put*", "events:Delete*", "events:Disable*", "events:RemoveTargets")
# Every IAM write on a role, user, group or policy; PassRole has its own statement, reads stay open.
IAM_WRITES = ("iam:Add*", "iam:Attach*", "iam:Create*", "iam:Deactivate*", "iam:Delete*", "iam:Detach*",
              "iam:Enable*", "iam:Put*", "iam:Remove*", "iam:Reset*", "iam:Resync*", "iam:Set*",
              "iam:Tag*", "iam:Untag*", "iam:Update*", "iam:Upload*")
# Attaching or detaching a policy is authorized on the principal, not the policy; iam:PolicyARN names the
# policy (IAM user guide, reference_policies_iam-condition-keys). The approvers policy must not be attached
# to anyone new; the guardrail must not be detached.
ATTACH = ("iam:AttachGroupPolicy", "iam:AttachRolePolicy", "iam:AttachUserPolicy")
DETACH = ("iam:DetachGroupPolicy", "iam:DetachRolePolicy", "iam:DetachUserPolicy")


@dataclass(frozen=True)
class Guardrail:
    """An SCP document and what it does not cover for this configuration (for the command to say)."""

    document: dict[str, Any]
    notes: tuple[str, ...]

    def json(self) -> str:
        """Exactly what to paste into AWS Organizations: compact, so white space never counts."""
        return compact_json(self.document)


@dataclass(frozen=True)
class _Targets:
    """The ARNs the statements name, as template intrinsics or as SCP patterns."""

    stacks: list
    pipelines: object
    sync_pipeline: object
    sync_project: object
    functions: object
    changegate_roles: object
    sync_role: object
    changegate_policies: object
    approvers_policy: object
    guardrail_policy: object | None  # None in the SCP
    buckets: list
    topic: object | None
    key: object | None  # None in the SCP: it finds the key by its alias
    alias: object
    rules: object  # changegate's EventBridge rules


def check_break_glass_role_arn(arn: str) -> str | None:
    """Why ``arn`` cannot be the break-glass role, or None when it can."""
    if BREAK_GLASS_RE.match(arn):
        return None
    return (f"{arn!r} is not an IAM role ARN: expected arn:aws:iam::<12-digit account or *>:role/<name> "
            "(aws-cn and aws-us-gov partitions too), for example arn:aws:iam::111122223333:role/BreakGlass")


def adopted_stack_names(project: str, stack_names: Iterable[str]) -> list[str]:
    """The managed stacks ``<project>-*`` does not cover, sorted (decision 7: named explicitly)."""
    prefix = f"{project}-"
    return sorted({name for name in stack_names if not name.startswith(prefix)})


def configured_stack_names(config: PipelinesConfig) -> list[str]:
    """The adopted stack names ``pipelines/config.yaml`` gives to enabled stacks (the rest are prefixed)."""
    return [s.stack_name for s in config.overrides.values() if s.stack_name and not s.disabled]


def guardrail_policy(config: PipelinesConfig, *, stack_names: Iterable[str], bucket_arns: Sequence,
                     key_arn, topic_arn, break_glass_role_arn: str | None = None) -> ManagedPolicy:
    """The managed policy ``<project>-changegate-guardrail``, attached to nobody by the template.

    ``bucket_arns``: the source and artifact buckets' ARNs (``GetAtt``); ``key_arn``: the artifact key's;
    ``topic_arn``: the approval topic's (a topic given as ``notifications.topic_arn`` is somebody else's
    and is left alone). Raises ``GenerateError`` for a bad break-glass ARN or when the policy would exceed
    IAM's 6,144 characters.
    """
    _check_break_glass(break_glass_role_arn)
    project = config.project
    stack_names = list(stack_names)
    arn = _TemplateArns()
    targets = _Targets(
        stacks=[arn.stack(n) for n in [f"{project}-*", *adopted_stack_names(project, stack_names)]],
        pipelines=arn.pipeline(f"{project}-*"),
        sync_pipeline=arn.pipeline(naming.sync_pipeline_name(project)),
        sync_project=arn.codebuild_project(naming.sync_project_name(project)),
        functions=arn.function(naming.role_name(project, "*")),
        changegate_roles=arn.role(naming.role_name(project, "*")),
        sync_role=arn.role(naming.role_name(project, "sync")),
        changegate_policies=arn.managed_policy(naming.role_name(project, "*")),
        approvers_policy=arn.managed_policy(naming.approvers_policy_name(project)),
        guardrail_policy=arn.managed_policy(guardrail_policy_name(project)),
        buckets=list(bucket_arns),
        topic=None if config.notifications.topic_arn else topic_arn,
        key=key_arn,
        alias=arn.alias(naming.artifact_key_alias(project)),
        rules=arn.rule(naming.role_name(project, "*")),
    )
    statements, _ = _statements(config, targets, break_glass_role_arn)
    document = PolicyDocument(Version="2012-10-17", Statement=statements)
    size = len(compact_json(_worst_case(_to_dict(document))))
    if size > MAX_MANAGED_POLICY_CHARS:
        raise GenerateError(_too_big("managed policy", size, MAX_MANAGED_POLICY_CHARS,
                                     "IAM's limit for a managed policy", stack_names, project))
    return ManagedPolicy(
        GUARDRAIL_POLICY, ManagedPolicyName=guardrail_policy_name(project),
        Description=(f"changegate {project}: attach to every human and CI principal; only the pipelines "
                     "change the managed stacks"),
        PolicyDocument=document)


def service_control_policy(config: PipelinesConfig, *, stack_names: Iterable[str] | None = None,
                           break_glass_role_arn: str | None = None, partition: str = "aws") -> Guardrail:
    """The guardrail as a service control policy, for every account and region it is attached to.

    ``stack_names`` defaults to the adopted names in ``config``. Raises ``GenerateError`` for a bad
    break-glass ARN or partition, or when the SCP would exceed Organizations' 5,120 characters.
    """
    _check_break_glass(break_glass_role_arn)
    if partition not in PARTITIONS:
        raise GenerateError(f"partition {partition!r} is not one of {', '.join(PARTITIONS)}")
    project = config.project
    names = configured_stack_names(config) if stack_names is None else list(stack_names)
    targets = _scp_targets(config, names, partition)
    statements, notes = _statements(config, targets, break_glass_role_arn)
    if targets.key is None:
        statements.append(_key_by_alias(project, break_glass_role_arn))
    document = _to_dict(PolicyDocument(Version="2012-10-17", Statement=statements))
    size = len(compact_json(document))
    if size > MAX_SCP_CHARS:
        raise GenerateError(_too_big("service control policy", size, MAX_SCP_CHARS,
                                     "the AWS Organizations limit for an SCP", names, project))
    return Guardrail(document, notes)


def guardrail_policy_name(project: str) -> str:
    return naming.role_name(project, GUARDRAIL_PURPOSE)


def compact_json(document: dict) -> str:
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


# ---------------------------------------------------------------- the statements

def _statements(config: PipelinesConfig, t: _Targets,
                break_glass: str | None) -> tuple[list[Statement], tuple[str, ...]]:
    notes: list[str] = []
    changegate = [t.changegate_roles]
    statements = [
        # The managed stacks, the pipelines, the sync project and changegate's functions: only reading.
        _deny("OnlyChangegateChanges", not_action=STACK_READS + PIPELINE_READS + FUNCTION_READS,
              resource=[*t.stacks, t.pipelines, t.sync_project, t.functions], allowed=changegate,
              break_glass=break_glass),
        # The sync starts the stack pipelines, pinned to what it uploaded (decision 4). Anyone else could
        # start one pinned to an older version, with any commit variables (review M5).
        _deny("OnlyTheSyncStarts", action=["codepipeline:StartPipelineExecution"],
              resource=[t.pipelines], allowed=[t.sync_role], break_glass=break_glass),
        # A new CodeBuild project or function running as the sync role would write the source bucket.
        _deny("OnlyChangegatePassesItsRoles", action=["iam:PassRole"], resource=[t.changegate_roles],
              allowed=changegate, break_glass=break_glass),
    ]
    approvers = sorted(config.approvers)
    groups = [a for a in approvers if ":group/" in a]
    if not approvers:
        notes.append("PutApprovalResult is not restricted: pipelines/config.yaml names no approvers")
    elif groups:
        # aws:PrincipalArn is a user's or role's ARN, never a group's: IAM offers no condition key for
        # group membership, so the members of an approver group cannot be told apart from anyone else.
        notes.append("PutApprovalResult is not restricted: approvers include groups "
                     f"({', '.join(groups)}), and aws:PrincipalArn never names a group; name roles or users")
    else:
        statements.append(_deny("OnlyApproversApprove", action=["codepipeline:PutApprovalResult"],
                                resource=[t.pipelines], allowed=approvers, break_glass=break_glass))
    if t.topic is None:
        notes.append("the approval topic is not covered: notifications.topic_arn names a topic changegate "
                     "does not own")
    # The sync pipeline's trigger is the push to the branch; a manual start could pin another commit of
    # any branch ("the source revision ID applies to all content in the repository, across all
    # branches", CodePipeline user guide, source overrides; review H4). Each action below applies only to
    # its own service's ARNs, so one statement holds them all.
    own = [*t.buckets, *([t.topic] if t.topic is not None else []), *([t.key] if t.key is not None else []),
           t.alias, t.sync_pipeline, t.changegate_roles, t.changegate_policies, t.rules, *approvers]
    actions = [*BUCKET_WRITES, *(TOPIC_WRITES if t.topic is not None else ()),
               *(KEY_WRITES if t.key is not None else ()), *ALIAS_WRITES, *IAM_WRITES, *RULE_WRITES,
               "codepipeline:StartPipelineExecution"]
    statements += [
        _deny("OnlyBreakGlassChangesChangegate", action=actions, resource=own, allowed=[],
              break_glass=break_glass),
        _deny("NobodyBecomesAnApprover", action=ATTACH + DETACH, resource=["*"], allowed=[],
              break_glass=break_glass, extra=[ArnLike("iam:PolicyARN", [t.approvers_policy])]),
    ]
    if t.guardrail_policy is not None:
        # Only the managed policy can be detached from inside the account; an SCP cannot.
        statements.append(_deny("NobodyDetachesTheGuardrail", action=DETACH, resource=["*"], allowed=[],
                                break_glass=break_glass,
                                extra=[ArnLike("iam:PolicyARN", [t.guardrail_policy])]))
    if not break_glass:
        notes.append("no break-glass role: while this is attached, nobody can deploy the bootstrap stack "
                     "or change changegate's roles, buckets, topic or key (pass --break-glass-role)")
    return statements, tuple(notes)


def _key_by_alias(project: str, break_glass: str | None) -> Statement:
    """The SCP's key statement: the key has no name to match, but it carries changegate's alias.

    kms:ResourceAliases controls access to a KMS key by the aliases associated with it, and is
    multi-valued, hence ForAnyValue (KMS developer guide, conditions-kms). Moving or deleting the alias
    is denied by the break-glass statement (the alias ARN is among its resources).
    """
    return _deny("OnlyBreakGlassChangesTheKey", action=KEY_WRITES, resource=["*"], allowed=[],
                 break_glass=break_glass,
                 extra=[ForAnyValueStringEquals("kms:ResourceAliases", [naming.artifact_key_alias(project)])])


def _deny(sid: str, *, resource: list, allowed: list, break_glass: str | None,
          action: Sequence[str] = (), not_action: Sequence[str] = (),
          extra: Sequence[ConditionElement] = ()) -> Statement:
    """Deny ``action`` (or everything but ``not_action``) on ``resource`` unless the caller is one of
    ``allowed`` or the break-glass role. ``extra`` conditions narrow what is denied."""
    exempt = [*allowed, *([break_glass] if break_glass else [])]
    elements = [*extra, *([ArnNotLike("aws:PrincipalArn", exempt)] if exempt else [])]
    kwargs: dict[str, Any] = {"Condition": Condition(elements)} if elements else {}
    if not_action:
        kwargs["NotAction"] = [_action(a) for a in not_action]
    else:
        kwargs["Action"] = [_action(a) for a in action]
    return Statement(Sid=sid, Effect=Deny, Resource=resource, **kwargs)


def _action(name: str) -> Action:
    prefix, action = name.split(":")
    return Action(prefix, action)


# ---------------------------------------------------------------- ARNs

class _TemplateArns:
    """ARNs of the deploying account and region, as ``Fn::Sub`` (the template's form)."""

    _P = "arn:${AWS::Partition}"
    _AR = "${AWS::Region}:${AWS::AccountId}"

    def stack(self, name: str) -> Sub:
        # Any region and account, as in the SCP: each adopted name is listed, and the 26 characters of
        # region and account per name decide how many fit. A project deploys once per account (its role
        # names are account-wide), so a stack of that name in another region is the project's too.
        return Sub(f"{self._P}:cloudformation:*:*:stack/{name}/*")

    def pipeline(self, name: str) -> Sub:
        return Sub(f"{self._P}:codepipeline:{self._AR}:{name}")

    def codebuild_project(self, name: str) -> Sub:
        return Sub(f"{self._P}:codebuild:{self._AR}:project/{name}")

    def role(self, name: str) -> Sub:
        return Sub(f"{self._P}:iam::${{AWS::AccountId}}:role/{name}")

    def managed_policy(self, name: str) -> Sub:
        return Sub(f"{self._P}:iam::${{AWS::AccountId}}:policy/{name}")

    def function(self, name: str) -> Sub:
        return Sub(f"{self._P}:lambda:{self._AR}:function:{name}")

    def alias(self, name: str) -> Sub:
        return Sub(f"{self._P}:kms:{self._AR}:{name}")

    def rule(self, name: str) -> Sub:
        return Sub(f"{self._P}:events:{self._AR}:rule/{name}")


def _scp_targets(config: PipelinesConfig, stack_names: Iterable[str], partition: str) -> _Targets:
    """The SCP's ARNs: any account and region of the OU, and patterns for what CloudFormation named.

    The buckets and the topic get their names from CloudFormation: a resource without a name gets a
    generated physical id made of the stack name, the logical id and a random string (CloudFormation
    user guide, "Name type"; lowercased for buckets). The
    bootstrap stack is always ``<project>-pipelines`` (changegate deploy), so both buckets match
    ``<project>-pipelines-*`` and so does the topic. A project of 20 characters gives at most
    30 + 1 + len("artifactbucket") + 1 + 13 = 59 characters, under S3's 63: the name is not truncated.
    Reading the deployed stack's outputs instead would need credentials in one account, while an SCP is
    attached to an organizational unit of many; the prefix is reserved for changegate anyway (review L12).
    """
    project = config.project
    p = f"arn:{partition}"
    bootstrap = naming.bootstrap_stack_name(project)
    return _Targets(
        stacks=[f"{p}:cloudformation:*:*:stack/{n}/*"
                for n in [f"{project}-*", *adopted_stack_names(project, stack_names)]],
        pipelines=f"{p}:codepipeline:*:*:{project}-*",
        sync_pipeline=f"{p}:codepipeline:*:*:{naming.sync_pipeline_name(project)}",
        sync_project=f"{p}:codebuild:*:*:project/{naming.sync_project_name(project)}",
        functions=f"{p}:lambda:*:*:function:{naming.role_name(project, '*')}",
        changegate_roles=f"{p}:iam::*:role/{naming.role_name(project, '*')}",
        sync_role=f"{p}:iam::*:role/{naming.role_name(project, 'sync')}",
        changegate_policies=f"{p}:iam::*:policy/{naming.role_name(project, '*')}",
        approvers_policy=f"{p}:iam::*:policy/{naming.approvers_policy_name(project)}",
        guardrail_policy=None,
        buckets=[f"{p}:s3:::{bootstrap}-*"],
        topic=None if config.notifications.topic_arn else f"{p}:sns:*:*:{bootstrap}-*",
        key=None,
        alias=f"{p}:kms:*:*:{naming.artifact_key_alias(project)}",
        rules=f"{p}:events:*:*:rule/{naming.role_name(project, '*')}",
    )


# ---------------------------------------------------------------- size

# The longest value each reference can take once CloudFormation resolves it, for the size check:
# partition "aws-us-gov" (10), a 14-character region (ap-southeast-4), a 12-digit account.
_WORST_PSEUDO = {"AWS::Partition": "aws-us-gov", "AWS::Region": "ap-southeast-4", "AWS::AccountId": "0" * 12}
# A GetAtt/Ref ARN of the bootstrap template: a bucket ARN is at most 20 + 63 characters; a key ARN
# 51 + 36; the topic's is 47 + a generated name of the stack name (30), "-ApprovalTopic-" and a
# 13-character suffix. Anything else: 128.
_WORST_REFERENCE = 128
_WORST_BY_LOGICAL_ID = {logical_ids.SOURCE_BUCKET: 83, logical_ids.ARTIFACT_BUCKET: 83,
                        logical_ids.ARTIFACT_KEY: 87, logical_ids.TOPIC: 105}


def _worst_case(node: Any) -> Any:
    if isinstance(node, list):
        return [_worst_case(v) for v in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
        return re.sub(r"\$\{([^}!]+)\}", lambda m: _WORST_PSEUDO.get(m.group(1), "x" * _WORST_REFERENCE),
                      node["Fn::Sub"])
    if set(node) & {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::If", "Fn::Join", "Fn::ImportValue"}:
        target = node.get("Ref") or (node.get("Fn::GetAtt") or [None])[0]
        return "x" * _WORST_BY_LOGICAL_ID.get(target, _WORST_REFERENCE)
    return {k: _worst_case(v) for k, v in node.items()}


def _to_dict(document: PolicyDocument) -> dict:
    from troposphere import encode_to_dict

    return encode_to_dict(document)


def _too_big(what: str, size: int, limit: int, whose: str, stack_names: Iterable[str], project: str) -> str:
    adopted = adopted_stack_names(project, stack_names)
    return (f"the guardrail {what} would be {size:,} characters without white space, over {whose} of "
            f"{limit:,}; {len(adopted)} adopted stack names are listed one by one "
            f"(stacks.<folder>.stack_name in pipelines/config.yaml)\n    hint: adopt fewer stacks under "
            f"their own names (stacks named {project}-<folder> cost nothing: one wildcard covers them all)")


def _check_break_glass(arn: str | None) -> None:
    if arn is None:
        return
    problem = check_break_glass_role_arn(arn)
    if problem:
        raise GenerateError(f"break-glass role: {problem}")
