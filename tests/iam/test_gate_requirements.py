"""The gate's remaining promises from issue 10 (items 3 and 6), as IAM verdicts on the generated template.

Kept apart from test_roles.py because each names a change to the template that issue 10 asks for:
separate roles for the sync pipeline and the stack pipelines, a permissions boundary on roles the
execution role creates, denies covering the pipelines, the sync
project, the approvers, the topic, the protection machinery, the logs and the buckets' settings, and
grants of the key.
"""

from __future__ import annotations

from policy_eval import ACCOUNT, REGION, Decision
from roles_setup import (
    APPROVER,
    Setup,
    allowed,
    verdict,
)

from generator import naming


def test_stack_pipelines_role_is_not_the_sync_pipelines(s: Setup, template: dict) -> None:
    """Issue 10 item 6: the stack pipelines cannot run the sync build or use the GitHub connection."""
    pipeline = s.principal("stack-pipelines")
    project = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{naming.sync_project_name(s.project)}"
    assert s.jobs["stack-pipelines"] != s.jobs["sync-pipeline"]
    assert not allowed(s.world, pipeline, "codebuild:StartBuild", project)
    connection = s.world.resolver.value(template["Outputs"]["ConnectionArn"]["Value"])
    assert not allowed(s.world, pipeline, f"{s.connection_service}:UseConnection", connection)



def test_sync_pipeline_deploys_nothing(s: Setup) -> None:
    """Issue 10 item 6: the sync pipeline's role plans, executes and passes nothing."""
    role_ = s.principal("sync-pipeline")
    stack_arn = s.stack_arn(naming.stack_name(s.project, s.folder))
    assert not allowed(s.world, role_, "cloudformation:CreateChangeSet", stack_arn,
                       cloudformation__ChangeSetName=s.change_set)
    assert not allowed(s.world, role_, "cloudformation:ExecuteChangeSet", stack_arn)
    assert not allowed(s.world, role_, "iam:PassRole", s.world.role(s.jobs["execution"]).arn,
                       iam__PassedToService="cloudformation.amazonaws.com")
    assert not allowed(s.world, role_, "s3:PutObject", s.source_object(naming.source_object_key(s.folder)))



def test_execution_role_cannot_switch_off_the_gate(s: Setup) -> None:
    """Issue 10 item 6: its denies cover the pipelines, the sync project and approver principals."""
    execution = s.principal("execution")
    for pipeline in (naming.sync_pipeline_name(s.project), naming.pipeline_name(s.project, s.folder)):
        for action in ("codepipeline:UpdatePipeline", "codepipeline:DeletePipeline"):
            assert verdict(s.world, execution, action, s.pipeline_arn(pipeline)) is Decision.EXPLICIT_DENY, \
                f"{action} {pipeline}"
    project = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{naming.sync_project_name(s.project)}"
    for action in ("codebuild:UpdateProject", "codebuild:StartBuild"):
        assert verdict(s.world, execution, action, project) is Decision.EXPLICIT_DENY, action
    assert verdict(s.world, execution, "iam:PutRolePolicy", APPROVER.arn) is Decision.EXPLICIT_DENY
    # ...and the topic, the protection rules and runbook, the sync's log group, the buckets' configuration.
    r, a, p = REGION, ACCOUNT, s.project
    others = {
        "events:PutRule": f"arn:aws:events:{r}:{a}:rule/{naming.protection_rule_name(p, 1)}",
        "events:DeleteRule": f"arn:aws:events:{r}:{a}:rule/{naming.protection_rule_name(p, 1)}",
        "ssm:UpdateDocument": f"arn:aws:ssm:{r}:{a}:document/{naming.protection_document_name(p)}",
        "logs:DeleteLogGroup": f"arn:aws:logs:{r}:{a}:log-group:{naming.sync_log_group_name(p)}:*",
        "s3:PutBucketReplication": s.source_bucket,
        "s3:PutEncryptionConfiguration": s.source_bucket,
        "s3:PutBucketPublicAccessBlock": s.artifact_bucket,
    }
    for action, resource in others.items():
        assert verdict(s.world, execution, action, resource) is Decision.EXPLICIT_DENY, f"{action} {resource}"


def test_execution_role_leaves_the_approval_topic_alone(example) -> None:
    """Issue 10 item 6: the topic (the example creates one)."""
    s, template = example
    topic = s.world.resolver.value(s.topic(template))
    execution = s.principal("execution")
    for action in ("sns:SetTopicAttributes", "sns:DeleteTopic", "sns:Subscribe", "sns:AddPermission"):
        assert verdict(s.world, execution, action, topic) is Decision.EXPLICIT_DENY, action


def test_execution_role_creates_roles_only_inside_the_boundary(s: Setup) -> None:
    """Issue 10 item 6: roles it creates carry the permissions boundary that holds the same denies."""
    execution = s.principal("execution")
    new_role = f"arn:aws:iam::{ACCOUNT}:role/acme-network-flowlogs"
    assert not allowed(s.world, execution, "iam:CreateRole", new_role)
    boundaries = [arn for info in s.world.roles.values() for arn in [info.boundary_arn] if arn]
    boundaries += [arn for arn in s.world.managed if "boundary" in arn]
    assert boundaries, "the template defines no permissions boundary"
    assert allowed(s.world, execution, "iam:CreateRole", new_role, iam__PermissionsBoundary=boundaries[0])


def test_execution_role_denies_itself_grants_of_the_key(s: Setup) -> None:
    """Issue 10 item 6: the execution role's own denies cover kms:CreateGrant (the key policy already
    refuses it today; this keeps the role held if the key policy changes)."""
    execution = s.principal("execution")
    assert verdict(s.world, execution, "kms:CreateGrant", s.key,
                   {"kms:GrantIsForAWSResource": "true"}) is Decision.EXPLICIT_DENY
