"""Every role of the generated bootstrap template: it can do its job, and nothing that breaks the gate.

Every request is judged by tests/iam/policy_eval.py with the role's policies, the bucket, key and topic
policies and the conditions evaluated, for the example template and the variant (roles_setup.py).

Requests carry what the real caller sends: the sync's uploads carry no encryption header (the bucket's
default encryption applies: sync/run.py), its listings ``Prefix=stacks/`` (sync/state.py), the
pipeline's CreateChangeSet the change set name ``<project>-<execution id>`` (naming.change_set_name).

Teeth: the ``*_flips`` tests mutate the generated policies (drop the statement, widen it to ``*``, drop
its condition) and assert the verdict changes, so each guarded permission is shown to come from the
statement the test names, not from an accident of the evaluator; and
``test_every_permission_stays_on_changegates_resources`` holds every Allow any role gets, now or later,
to changegate's own resources.
"""

from __future__ import annotations

import uuid

import pytest
from policy_eval import ACCOUNT, REGION, Decision, Principal, role
from roles_setup import (
    APPROVER,
    EXECUTION_ID,
    JOB_SERVICES,
    OTHER_PROJECT,
    SOURCE_ACCOUNT_SERVICES,
    Setup,
    allowed,
    intruder_world,
    verdict,
)

from generator import naming
from sync.state import manifest_key


def pipeline_upload_context(s: Setup) -> dict[str, str]:
    """What CodePipeline's artifact uploads carry: SSE-KMS with the artifact store's key.

    AWS's example policy for an artifact store denies ``s3:PutObject`` unless
    ``s3:x-amz-server-side-encryption`` is ``aws:kms`` (CodePipeline user guide,
    security_iam_resource-based-policy-examples), which CodePipeline's own uploads pass. The sync's
    uploads, by contrast, carry no header (sync/run.py): the bucket's default encryption applies.
    """
    return {"s3:x-amz-server-side-encryption": "aws:kms",
            "s3:x-amz-server-side-encryption-aws-kms-key-id": s.key}


# ------------------------------------------------------------------ every role, and its trust

def test_every_role_has_a_job(s: Setup) -> None:
    """No role without a job: each is what a pipeline, the sync, CloudFormation, the function or the
    protection runs as."""
    assert set(s.world.roles) == set(s.jobs.values()), (s.jobs, sorted(s.world.roles))
    assert set(s.jobs) >= {"stack-pipelines", "sync-pipeline", "sync", "execution"}


def test_each_role_is_assumable_by_its_service_only(s: Setup) -> None:
    for job, role_name in s.jobs.items():
        own = JOB_SERVICES[job]
        assert s.world.can_assume(role_name, own).allowed, f"{job}: {own} cannot assume {role_name}"
        services = s.world.role(role_name).services
        assert services == [own], f"{job}: the trust policy names {services}"
        for other in set(JOB_SERVICES.values()) - {own}:
            assert not s.world.can_assume(role_name, other).allowed, f"{other} may assume {role_name}"
        if own in SOURCE_ACCOUNT_SERVICES:
            assert not s.world.can_assume(role_name, own, source_account="999999999999").allowed, \
                f"{role_name}: {own} may assume it on behalf of another account"


def test_source_account_condition_flips(s: Setup) -> None:
    role_name = s.jobs["sync"]
    world = s.world.copy()
    for statement in world.role(role_name).trust["Statement"]:
        statement.pop("Condition", None)
    assert world.can_assume(role_name, JOB_SERVICES["sync"], source_account="999999999999").allowed


# Actions that support no resource-level permission: "*" is the only resource IAM accepts for them
# (Service Authorization Reference; AWS's own examples grant them on "*").
WILDCARD_ONLY_ACTIONS = frozenset({
    "cloudformation:validatetemplate", "codepipeline:listpipelines",
    "codepipeline:putjobsuccessresult", "codepipeline:putjobfailureresult",
    "cloudformation:describestackdriftdetectionstatus",  # names only a detection id
})


def _foreign_resources(service_prefix: str) -> list[str]:
    """Resources of the same service that are not changegate's (another project, another bucket)."""
    r, a, other = REGION, ACCOUNT, OTHER_PROJECT
    return {
        "s3": ["arn:aws:s3:::elsewhere", "arn:aws:s3:::elsewhere/stacks/network.zip"],
        "kms": [f"arn:aws:kms:{r}:{a}:key/ffffffff-ffff-4fff-8fff-ffffffffffff"],
        "sns": [f"arn:aws:sns:{r}:{a}:elsewhere"],
        "cloudformation": [f"arn:aws:cloudformation:{r}:{a}:stack/{other}-x/{uuid.UUID(int=9)}",
                           f"arn:aws:cloudformation:{r}:{a}:stack/elsewhere/{uuid.UUID(int=9)}"],
        "codepipeline": [f"arn:aws:codepipeline:{r}:{a}:{other}-x",
                         f"arn:aws:codepipeline:{r}:{a}:{other}-x/{naming.CHANGE_STAGE}/{naming.APPROVE_ACTION}"],
        "codebuild": [f"arn:aws:codebuild:{r}:{a}:project/{naming.sync_project_name(other)}"],
        "logs": [f"arn:aws:logs:{r}:{a}:log-group:/aws/codebuild/{other}-sync:log-stream:x",
                 f"arn:aws:logs:{r}:{a}:log-group:/aws/lambda/elsewhere:log-stream:x"],
        "lambda": [f"arn:aws:lambda:{r}:{a}:function:elsewhere"],
        "iam": [f"arn:aws:iam::{a}:role/elsewhere"],
        "codeconnections": [f"arn:aws:codeconnections:{r}:{a}:connection/ffffffff"],
        "codestar-connections": [f"arn:aws:codestar-connections:{r}:{a}:connection/ffffffff"],
        "ssm": [f"arn:aws:ssm:{r}:{a}:automation-definition/elsewhere:$DEFAULT"],
    }[service_prefix]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _scoped_principals(s: Setup) -> dict[str, Principal]:
    """Every principal whose permissions are changegate's own (the execution role's are the owners')."""
    found = {job: s.principal(job) for job in s.jobs if job != "execution"}
    found["approvers"] = APPROVER
    return found


def test_every_permission_stays_on_changegates_resources(s: Setup) -> None:
    """Whatever a role may do, it may not do it to another project's or anyone else's resource.

    Built from the roles' own statements, so a permission added later is held to it too; only actions
    without resource-level permissions may name "*".
    """
    contexts = [{"cloudformation:ChangeSetName": s.change_set, "s3:prefix": naming.DEFAULT_SOURCE_PREFIX,
                 "iam:PassedToService": service} for service in sorted(set(JOB_SERVICES.values()))]
    checked = 0
    for job, principal in _scoped_principals(s).items():
        for document in s.world.documents_of(principal):
            for statement in document["Statement"]:
                if statement["Effect"] != "Allow":
                    continue
                assert "NotAction" not in statement and "NotResource" not in statement, \
                    f"{job}: an Allow with NotAction or NotResource ({statement.get('Sid')})"
                actions, resources = _as_list(statement["Action"]), _as_list(statement["Resource"])
                if "*" in resources:
                    wide = {a.lower() for a in actions} - WILDCARD_ONLY_ACTIONS
                    assert not wide, f"{job}: {sorted(wide)} on every resource ({statement.get('Sid')})"
                    continue
                for action in actions:
                    concrete = action.replace("*", "")
                    for resource in _foreign_resources(action.split(":", 1)[0]):
                        for context in contexts:
                            checked += 1
                            assert not s.world.check(principal, concrete, resource, context).allowed, \
                                f"{job} may {concrete} on {resource} ({statement.get('Sid')})"
    assert checked > 100  # the loop really ran over the roles' statements


# ------------------------------------------------------------------ the sync (CodeBuild, `changegate sync`)

def test_sync_uploads_lists_and_deletes_stack_archives_and_the_manifest(s: Setup) -> None:
    sync = s.principal("sync")
    archive = naming.source_object_key(s.folder)
    manifest = manifest_key(naming.DEFAULT_SOURCE_PREFIX)
    for key in (archive, manifest):
        for action in ("s3:PutObject", "s3:GetObject"):
            assert allowed(s.world, sync, action, s.source_object(key)), f"sync cannot {action} {key}"
    assert allowed(s.world, sync, "s3:DeleteObject", s.source_object(archive))  # a removed stack
    assert allowed(s.world, sync, "s3:ListBucket", s.source_bucket, s3__prefix=naming.DEFAULT_SOURCE_PREFIX)
    assert allowed(s.world, sync, "s3:ListBucket", s.source_bucket, s3__prefix=archive)  # _listed_absent
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert allowed(s.world, sync, action, s.key), f"sync cannot {action} with the key"


def test_sync_starts_stack_pipelines_and_reads_its_input(s: Setup, template: dict) -> None:
    sync = s.principal("sync")
    for folder in s.stacks:
        pipeline = naming.pipeline_name(s.project, folder)
        assert allowed(s.world, sync, "codepipeline:StartPipelineExecution", s.pipeline_arn(pipeline))
    assert allowed(s.world, sync, "s3:GetObject", s.artifact_object("acme-sync/SourceArti/abc"))
    for action in ("s3:GetBucketAcl", "s3:GetBucketLocation"):  # CodeBuild's S3BucketIdentity
        assert allowed(s.world, sync, action, s.artifact_bucket), action
    # CODEBUILD_CLONE_REF: CodeBuild clones through the connection, as the sync's role.
    connection = s.world.resolver.value(template["Outputs"]["ConnectionArn"]["Value"])
    assert allowed(s.world, sync, f"{s.connection_service}:UseConnection", connection)
    log_stream = (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{naming.sync_log_group_name(s.project)}"
                  ":log-stream:build-1")
    assert allowed(s.world, sync, "logs:PutLogEvents", log_stream)


def test_sync_writes_nothing_outside_stacks(s: Setup) -> None:
    sync = s.principal("sync")
    for key in ("pipelines/config.yaml", "other/network.zip", "network.zip", "stacksX/network.zip"):
        for action in ("s3:PutObject", "s3:DeleteObject"):
            assert not allowed(s.world, sync, action, s.source_object(key)), f"sync may {action} {key}"
    assert not allowed(s.world, sync, "s3:PutObject", s.artifact_object("x"))
    # Deleting a version would erase what was deployed: only delete markers.
    assert not allowed(s.world, sync, "s3:DeleteObjectVersion",
                       s.source_object(naming.source_object_key(s.folder)))


def test_sync_lists_only_under_the_prefix(s: Setup) -> None:
    sync = s.principal("sync")
    assert not allowed(s.world, sync, "s3:ListBucket", s.source_bucket)  # no Prefix
    assert not allowed(s.world, sync, "s3:ListBucket", s.source_bucket, s3__prefix="other/")


def test_sync_starts_neither_itself_nor_other_projects_nor_touches_stacks(s: Setup) -> None:
    sync = s.principal("sync")
    sync_pipeline = s.pipeline_arn(naming.sync_pipeline_name(s.project))
    assert verdict(s.world, sync, "codepipeline:StartPipelineExecution", sync_pipeline) \
        is Decision.EXPLICIT_DENY
    other = s.pipeline_arn(naming.pipeline_name(OTHER_PROJECT, "x"))
    assert not allowed(s.world, sync, "codepipeline:StartPipelineExecution", other)
    assert not allowed(s.world, sync, "codepipeline:UpdatePipeline", s.pipeline_arn(f"{s.project}-network"))
    for stack in (*s.stacks.values(), s.bootstrap):
        assert not allowed(s.world, sync, "cloudformation:CreateChangeSet", s.stack_arn(stack),
                           cloudformation__ChangeSetName=s.change_set)
    assert not allowed(s.world, sync, "iam:PassRole", s.world.role(s.jobs["execution"]).arn)
    assert not allowed(s.world, sync, "s3:PutBucketPolicy", s.source_bucket)


def test_sync_permissions_flip(s: Setup) -> None:
    sync = s.principal("sync")
    archive = s.source_object(naming.source_object_key(s.folder))
    assert not allowed(s.world.without(sync, "Allow", "s3:PutObject"), sync, "s3:PutObject", archive)
    assert not allowed(s.world.without(sync, "Allow", "codepipeline:StartPipelineExecution"), sync,
                       "codepipeline:StartPipelineExecution",
                       s.pipeline_arn(naming.pipeline_name(s.project, s.folder)))
    # The scope, not the action list, keeps the sync out of other keys, listings and its own pipeline.
    assert allowed(s.world.widened(sync, "s3:PutObject"), sync, "s3:PutObject", s.source_object("other/x"))
    assert allowed(s.world.widened(sync, "s3:ListBucket"), sync, "s3:ListBucket", s.source_bucket)
    sync_pipeline = s.pipeline_arn(naming.sync_pipeline_name(s.project))
    assert allowed(s.world.without(sync, "Deny", "codepipeline:StartPipelineExecution"), sync,
                   "codepipeline:StartPipelineExecution", sync_pipeline)


# ------------------------------------------------------------------ the stack pipelines (CodePipeline)

def test_stack_pipeline_plans_reviews_and_executes_its_change_set(s: Setup, template: dict) -> None:
    pipeline = s.principal("stack-pipelines")
    execution_role = s.world.role(s.jobs["execution"]).arn
    for stack in s.stacks.values():
        stack_arn = s.stack_arn(stack)
        assert allowed(s.world, pipeline, "cloudformation:CreateChangeSet", stack_arn,
                       cloudformation__ChangeSetName=s.change_set), f"cannot plan {stack}"
        for action in ("DescribeChangeSet", "ExecuteChangeSet", "DeleteChangeSet", "DescribeStacks"):
            assert allowed(s.world, pipeline, f"cloudformation:{action}", stack_arn), f"{action} {stack}"
    assert allowed(s.world, pipeline, "iam:PassRole", execution_role,
                   iam__PassedToService="cloudformation.amazonaws.com")
    source = s.source_object(naming.source_object_key(s.folder))
    for action in ("s3:GetObject", "s3:GetObjectVersion"):
        assert allowed(s.world, pipeline, action, source)
    for action in ("s3:PutObject", "s3:GetObject"):
        assert s.world.check(pipeline, action, s.artifact_object(f"{s.project}-network/SourceArti/x"),
                             pipeline_upload_context(s)).allowed, action
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        assert allowed(s.world, pipeline, action, s.key)
    # The S3 source action and the artifact store (CodePipeline's minimal service-role policy).
    for bucket in (s.source_bucket, s.artifact_bucket):
        for action in ("s3:GetBucketVersioning", "s3:GetBucketLocation"):
            assert allowed(s.world, pipeline, action, bucket), f"{action} {bucket}"
    assert allowed(s.world, pipeline, "cloudformation:ValidateTemplate", "*")
    topic = s.topic(template)
    if isinstance(topic, str):  # an existing topic: its policy is not the template's
        assert allowed(s.world, pipeline, "sns:Publish", topic)
    else:
        assert allowed(s.world, pipeline, "sns:Publish", s.world.resolver.value(topic))


def test_stack_pipeline_invokes_only_the_change_function(s: Setup) -> None:
    if "change-function" not in s.jobs:
        pytest.fail("the Change stage invokes no function (issue 10 expects the stack-policy actions)")
    pipeline = s.principal("stack-pipelines")
    function = s.function_arn
    assert allowed(s.world, pipeline, "lambda:InvokeFunction", function)
    assert not allowed(s.world, pipeline, "lambda:InvokeFunction",
                       f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other")
    assert not allowed(s.world, pipeline, "lambda:UpdateFunctionCode", function)


def test_stack_pipeline_change_sets_carry_the_prefix_and_stay_off_the_bootstrap(s: Setup) -> None:
    pipeline = s.principal("stack-pipelines")
    stack_arn = s.stack_arn(naming.stack_name(s.project, s.folder))
    foreign_name = naming.change_set_name_for(OTHER_PROJECT, EXECUTION_ID)
    assert not allowed(s.world, pipeline, "cloudformation:CreateChangeSet", stack_arn,
                       cloudformation__ChangeSetName=foreign_name)
    assert not allowed(s.world, pipeline, "cloudformation:CreateChangeSet", stack_arn)  # no name, no plan
    bootstrap = s.stack_arn(s.bootstrap)
    for action in ("CreateChangeSet", "ExecuteChangeSet", "UpdateStack", "DeleteStack", "SetStackPolicy"):
        assert verdict(s.world, pipeline, f"cloudformation:{action}", bootstrap,
                       {"cloudformation:ChangeSetName": s.change_set}) is Decision.EXPLICIT_DENY, action
    other_stack = s.stack_arn(naming.stack_name(OTHER_PROJECT, "x"))
    assert not allowed(s.world, pipeline, "cloudformation:CreateChangeSet", other_stack,
                       cloudformation__ChangeSetName=s.change_set)
    # A pipeline changes stacks through change sets only.
    for action in ("UpdateStack", "DeleteStack", "UpdateTerminationProtection"):
        assert not allowed(s.world, pipeline, f"cloudformation:{action}", stack_arn), action


def test_stack_pipeline_passes_only_the_execution_role_and_only_to_cloudformation(s: Setup) -> None:
    pipeline = s.principal("stack-pipelines")
    execution_role = s.world.role(s.jobs["execution"]).arn
    for service in ("lambda.amazonaws.com", "ec2.amazonaws.com", "codebuild.amazonaws.com"):
        assert not allowed(s.world, pipeline, "iam:PassRole", execution_role, iam__PassedToService=service)
    assert not allowed(s.world, pipeline, "iam:PassRole", execution_role)  # the key must be there
    for job, name in s.jobs.items():
        if job != "execution":
            assert not allowed(s.world, pipeline, "iam:PassRole", s.world.role(name).arn,
                               iam__PassedToService="cloudformation.amazonaws.com"), name


def test_stack_pipeline_cannot_write_sources(s: Setup) -> None:
    pipeline = s.principal("stack-pipelines")
    archive = s.source_object(naming.source_object_key(s.folder))
    assert verdict(s.world, pipeline, "s3:PutObject", archive) is not Decision.ALLOW
    assert not allowed(s.world, pipeline, "s3:DeleteObject", archive)
    assert not allowed(s.world, pipeline, "codepipeline:StartPipelineExecution",
                       s.pipeline_arn(naming.sync_pipeline_name(s.project)))


def test_stack_pipeline_permissions_flip(s: Setup) -> None:
    pipeline = s.principal("stack-pipelines")
    stack_arn = s.stack_arn(naming.stack_name(s.project, s.folder))
    execution_role = s.world.role(s.jobs["execution"]).arn
    assert not allowed(s.world.without(pipeline, "Allow", "cloudformation:CreateChangeSet"), pipeline,
                       "cloudformation:CreateChangeSet", stack_arn,
                       cloudformation__ChangeSetName=s.change_set)
    assert not allowed(s.world.without(pipeline, "Allow", "iam:PassRole"), pipeline, "iam:PassRole",
                       execution_role, iam__PassedToService="cloudformation.amazonaws.com")
    # The condition keeps foreign change set names out; PassedToService keeps the role with CloudFormation.
    assert allowed(s.world.widened(pipeline, "cloudformation:CreateChangeSet"), pipeline,
                   "cloudformation:CreateChangeSet", stack_arn,
                   cloudformation__ChangeSetName=naming.change_set_name_for(OTHER_PROJECT, EXECUTION_ID))
    assert allowed(s.world.widened(pipeline, "iam:PassRole"), pipeline, "iam:PassRole", execution_role,
                   iam__PassedToService="lambda.amazonaws.com")
    # The explicit Deny, not the prefix, keeps the bootstrap stack out (acme-* matches acme-pipelines).
    assert allowed(s.world.without(pipeline, "Deny", "cloudformation:CreateChangeSet"), pipeline,
                   "cloudformation:CreateChangeSet", s.stack_arn(s.bootstrap),
                   cloudformation__ChangeSetName=s.change_set)


# ------------------------------------------------------------------ the sync pipeline (CodePipeline)

def test_sync_pipeline_runs_the_sync_build_from_the_connection(s: Setup, template: dict) -> None:
    role_ = s.principal("sync-pipeline")
    project = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{naming.sync_project_name(s.project)}"
    for action in ("codebuild:StartBuild", "codebuild:BatchGetBuilds"):
        assert allowed(s.world, role_, action, project)
    assert not allowed(s.world, role_, "codebuild:StartBuild",
                       f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{naming.sync_project_name(OTHER_PROJECT)}")
    connection = s.world.resolver.value(template["Outputs"]["ConnectionArn"]["Value"])
    assert allowed(s.world, role_, f"{s.connection_service}:UseConnection", connection)
    another = connection.rsplit("/", 1)[0] + "/11111111-1111-1111-1111-111111111111"
    assert not allowed(s.world, role_, f"{s.connection_service}:UseConnection", another)
    artifact = s.artifact_object(f"{naming.sync_pipeline_name(s.project)}/SourceArti/x")
    assert s.world.check(role_, "s3:PutObject", artifact, pipeline_upload_context(s)).allowed
    assert allowed(s.world, role_, "kms:GenerateDataKey", s.key)


# ------------------------------------------------------------------ the execution role (CloudFormation)

def test_execution_role_deploys_what_its_managed_policies_allow(s: Setup) -> None:
    execution = s.principal("execution")
    assert allowed(s.world, execution, "ec2:CreateVpc", f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/*")
    assert allowed(s.world, execution, "s3:CreateBucket", "arn:aws:s3:::acme-network-logs")
    assert allowed(s.world, execution, "sns:CreateTopic", f"arn:aws:sns:{REGION}:{ACCOUNT}:acme-alarms")


def test_execution_role_manages_the_stacks_own_roles_inside_the_boundary(example) -> None:
    """execution_role.manage_stack_roles (the example's): the stacks' roles, never anyone else's."""
    s, _ = example
    execution = s.principal("execution")
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/{naming.boundary_policy_name(s.project)}"
    task_role = f"arn:aws:iam::{ACCOUNT}:role/acme-service-TaskRole-1A2B3C"
    assert allowed(s.world, execution, "iam:CreateRole", task_role, iam__PermissionsBoundary=boundary)
    assert allowed(s.world, execution, "iam:AttachRolePolicy", task_role)
    assert verdict(s.world, execution, "iam:CreateRole", task_role) is Decision.EXPLICIT_DENY  # no boundary
    unbound = verdict(s.world, execution, "iam:DeleteRolePermissionsBoundary", task_role)
    assert unbound is Decision.EXPLICIT_DENY
    assert not allowed(s.world, execution, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/other-TaskRole",
                       iam__PermissionsBoundary=boundary)
    sync_role = f"arn:aws:iam::{ACCOUNT}:role/{naming.role_name(s.project, 'sync')}"
    assert verdict(s.world, execution, "iam:PutRolePolicy", sync_role) is Decision.EXPLICIT_DENY
    opened = s.world.without(execution, "Allow", "iam:CreateRole")
    assert not allowed(opened, execution, "iam:CreateRole", task_role, iam__PermissionsBoundary=boundary)


def test_execution_role_cannot_change_changegates_iam(s: Setup) -> None:
    execution = s.principal("execution")
    for job, name in s.jobs.items():
        arn = s.world.role(name).arn
        for action in ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy",
                       "iam:DeleteRole", "iam:DeleteRolePermissionsBoundary"):
            assert verdict(s.world, execution, action, arn) is Decision.EXPLICIT_DENY, f"{action} on {job}"
    approvers_policy = f"arn:aws:iam::{ACCOUNT}:policy/{naming.approvers_policy_name(s.project)}"
    assert verdict(s.world, execution, "iam:CreatePolicyVersion", approvers_policy) is Decision.EXPLICIT_DENY


def test_execution_role_cannot_touch_the_bootstrap_stack(s: Setup) -> None:
    execution = s.principal("execution")
    for action in ("UpdateStack", "DeleteStack", "CreateChangeSet", "ExecuteChangeSet", "SetStackPolicy",
                   "UpdateTerminationProtection"):
        assert verdict(s.world, execution, f"cloudformation:{action}", s.stack_arn(s.bootstrap)) \
            is Decision.EXPLICIT_DENY, action


def test_execution_role_cannot_loosen_the_buckets_or_the_key(s: Setup) -> None:
    execution = s.principal("execution")
    for bucket in (s.source_bucket, s.artifact_bucket):
        for action in ("s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning",
                       "s3:PutLifecycleConfiguration", "s3:DeleteBucket"):
            assert verdict(s.world, execution, action, bucket) is Decision.EXPLICIT_DENY, f"{action} {bucket}"
    for action in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey"):
        assert verdict(s.world, execution, action, s.key) is Decision.EXPLICIT_DENY, action
    # Neither does it read or write what the pipelines read: key policy and bucket policy hold.
    # Decrypt only through S3, for the content the sync packaged (nested templates, code): CloudFormation
    # and Lambda fetch it as this role. Directly, or through another service, never.
    assert not allowed(s.world, execution, "kms:Decrypt", s.key)
    via_s3, via_sqs = f"s3.{REGION}.amazonaws.com", f"sqs.{REGION}.amazonaws.com"
    assert not allowed(s.world, execution, "kms:Decrypt", s.key, kms__ViaService=via_sqs)
    assert allowed(s.world, execution, "kms:Decrypt", s.key, kms__ViaService=via_s3)
    assert not allowed(s.world, execution, "kms:GenerateDataKey", s.key, kms__ViaService=via_s3)
    asset = s.source_object(f"{naming.ASSETS_PREFIX}network/abc.json")
    assert allowed(s.world, execution, "s3:GetObject", asset)
    assert verdict(s.world, execution, "s3:PutObject", s.source_object(naming.source_object_key(s.folder))) \
        is Decision.EXPLICIT_DENY


def test_execution_role_cannot_grant_itself_the_key(s: Setup) -> None:
    """Issue 10 item 6: no kms:CreateGrant for the execution role (a grant would give it Decrypt)."""
    execution = s.principal("execution")
    assert not allowed(s.world, execution, "kms:CreateGrant", s.key)
    assert not allowed(s.world, execution, "kms:CreateGrant", s.key, kms__GrantIsForAWSResource="true")


def test_execution_role_cannot_change_the_change_function(s: Setup) -> None:
    if "change-function" not in s.jobs:
        pytest.fail("no Change-stage function in the template")
    execution = s.principal("execution")
    function = s.function_arn
    for action in ("lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:DeleteFunction",
                   "lambda:AddPermission"):
        assert verdict(s.world, execution, action, function) is Decision.EXPLICIT_DENY, action


def test_execution_role_permissions_flip(s: Setup) -> None:
    execution = s.principal("execution")
    sync_role = s.world.role(s.jobs["sync"]).arn
    assert allowed(s.world.without(execution, "Deny", "iam:PutRolePolicy"), execution, "iam:PutRolePolicy",
                   sync_role)
    assert allowed(s.world.without(execution, "Deny", "s3:PutBucketPolicy"), execution, "s3:PutBucketPolicy",
                   s.source_bucket)
    assert allowed(s.world.without(execution, "Deny", "cloudformation:UpdateStack"), execution,
                   "cloudformation:UpdateStack", s.stack_arn(s.bootstrap))
    assert allowed(s.world.without(execution, "Deny", "kms:PutKeyPolicy"), execution, "kms:PutKeyPolicy",
                   s.key)


# ------------------------------------------------------------------ the Change stage's function (Lambda)

def test_change_function_sets_stack_policies_on_managed_stacks_only(s: Setup) -> None:
    if "change-function" not in s.jobs:
        pytest.fail("no Change-stage function in the template")
    function = s.principal("change-function")
    for stack in s.stacks.values():
        for action in ("cloudformation:SetStackPolicy", "cloudformation:GetStackPolicy"):
            assert allowed(s.world, function, action, s.stack_arn(stack)), f"{action} {stack}"
    assert allowed(s.world, function, "codepipeline:PutJobSuccessResult", "*")
    own_logs = (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{s.function_name}"
                ":log-stream:2026/12/02/[$LATEST]abc")
    assert allowed(s.world, function, "logs:PutLogEvents", own_logs)
    assert verdict(s.world, function, "cloudformation:SetStackPolicy", s.stack_arn(s.bootstrap)) \
        is Decision.EXPLICIT_DENY
    assert not allowed(s.world, function, "cloudformation:SetStackPolicy",
                       s.stack_arn(naming.stack_name(OTHER_PROJECT, "x")))
    for action in ("cloudformation:UpdateStack", "cloudformation:ExecuteChangeSet",
                   "cloudformation:DeleteStack"):
        assert not allowed(s.world, function, action, s.stack_arn(naming.stack_name(s.project, s.folder)))
    assert not allowed(s.world, function, "codepipeline:PutApprovalResult",
                       s.approval_arn(naming.pipeline_name(s.project, s.folder)))
    widened = s.world.widened(function, "cloudformation:SetStackPolicy")
    assert allowed(widened, function, "cloudformation:SetStackPolicy",
                   s.stack_arn(naming.stack_name(OTHER_PROJECT, "x")))


def test_change_function_reviews_and_stops_only_stack_pipeline_executions(s: Setup) -> None:
    """Issue 11: the Review step reads change sets, deletes empty ones and stops its own execution;
    the stale guard reads them too. Only on managed stacks and stack pipelines."""
    if "change-function" not in s.jobs:
        pytest.fail("no Change-stage function in the template")
    function = s.principal("change-function")
    for stack in s.stacks.values():
        for action in ("cloudformation:DescribeChangeSet", "cloudformation:DeleteChangeSet"):
            assert allowed(s.world, function, action, s.stack_arn(stack)), f"{action} {stack}"
    assert verdict(s.world, function, "cloudformation:DeleteChangeSet", s.stack_arn(s.bootstrap)) \
        is Decision.EXPLICIT_DENY
    assert not allowed(s.world, function, "cloudformation:DeleteChangeSet",
                       s.stack_arn(naming.stack_name(OTHER_PROJECT, "x")))
    stack_pipeline = s.pipeline_arn(naming.pipeline_name(s.project, s.folder))
    assert allowed(s.world, function, "codepipeline:StopPipelineExecution", stack_pipeline)
    assert verdict(s.world, function, "codepipeline:StopPipelineExecution",
                   s.pipeline_arn(naming.sync_pipeline_name(s.project))) is Decision.EXPLICIT_DENY
    assert not allowed(s.world, function, "codepipeline:StopPipelineExecution",
                       s.pipeline_arn(naming.pipeline_name(OTHER_PROJECT, "x")))
    for action in ("codepipeline:StartPipelineExecution", "codepipeline:PutApprovalResult",
                   "codepipeline:UpdatePipeline"):
        assert not allowed(s.world, function, action, stack_pipeline), action
    # the sync pipeline's deny is what keeps it out: without it acme-* would let the function stop it
    unguarded = s.world.without(function, "Deny", "codepipeline:StopPipelineExecution")
    assert allowed(unguarded, function, "codepipeline:StopPipelineExecution",
                   s.pipeline_arn(naming.sync_pipeline_name(s.project)))
    # the waiver approves SecondApproval, never Approve; the check reads who approved
    second = f"{stack_pipeline}/{naming.CHANGE_STAGE}/{naming.SECOND_APPROVAL_ACTION}"
    assert allowed(s.world, function, "codepipeline:PutApprovalResult", second)
    assert not allowed(s.world, function, "codepipeline:PutApprovalResult",
                       s.approval_arn(naming.pipeline_name(s.project, s.folder)))
    for action in ("codepipeline:GetPipelineState", "codepipeline:ListActionExecutions"):
        assert allowed(s.world, function, action, stack_pipeline), action
    # and a person gives the second approval a high-risk change needs
    assert allowed(s.world, APPROVER, "codepipeline:PutApprovalResult", second)


# ------------------------------------------------------------------ termination protection (SSM, EventBridge)

def test_protection_role_protects_managed_stacks_only(s: Setup) -> None:
    if "protection" not in s.jobs:
        pytest.fail("no termination protection in the template")
    protection = s.principal("protection")
    for stack in s.protected:
        assert allowed(s.world, protection, "cloudformation:UpdateTerminationProtection", s.stack_arn(stack))
    assert verdict(s.world, protection, "cloudformation:UpdateTerminationProtection",
                   s.stack_arn(s.bootstrap)) is Decision.EXPLICIT_DENY
    assert not allowed(s.world, protection, "cloudformation:UpdateTerminationProtection",
                       s.stack_arn(naming.stack_name(OTHER_PROJECT, "x")))
    assert not allowed(s.world, protection, "cloudformation:DeleteStack", s.stack_arn(s.protected[0]))
    widened = s.world.widened(protection, "cloudformation:UpdateTerminationProtection")
    assert allowed(widened, protection, "cloudformation:UpdateTerminationProtection",
                   s.stack_arn(naming.stack_name(OTHER_PROJECT, "x")))


def test_protection_events_role_starts_the_runbook_as_the_protection_role_only(s: Setup) -> None:
    if "protection-events" not in s.jobs:
        pytest.fail("no termination protection in the template")
    events = s.principal("protection-events")
    document = naming.protection_document_name(s.project)
    runbook = f"arn:aws:ssm:{REGION}:{ACCOUNT}:automation-definition/{document}:$DEFAULT"
    assert allowed(s.world, events, "ssm:StartAutomationExecution", runbook)
    assert not allowed(s.world, events, "ssm:StartAutomationExecution",
                       f"arn:aws:ssm:{REGION}:{ACCOUNT}:automation-definition/AWS-DeleteStack:$DEFAULT")
    protection = s.world.role(s.jobs["protection"]).arn
    assert allowed(s.world, events, "iam:PassRole", protection, iam__PassedToService="ssm.amazonaws.com")
    assert not allowed(s.world, events, "iam:PassRole", protection,
                       iam__PassedToService="lambda.amazonaws.com")
    assert not allowed(s.world, events, "iam:PassRole", s.world.role(s.jobs["execution"]).arn,
                       iam__PassedToService="ssm.amazonaws.com")
    assert allowed(s.world.widened(events, "iam:PassRole"), events, "iam:PassRole", protection,
                   iam__PassedToService="lambda.amazonaws.com")


# ------------------------------------------------------------------ approvers (the managed policy)

def test_approvers_approve_this_projects_change_stage_and_read(s: Setup) -> None:
    for stack_folder in s.stacks:
        pipeline = naming.pipeline_name(s.project, stack_folder)
        assert allowed(s.world, APPROVER, "codepipeline:PutApprovalResult", s.approval_arn(pipeline))
        for action in ("GetPipelineState", "GetPipelineExecution", "ListActionExecutions"):
            assert allowed(s.world, APPROVER, f"codepipeline:{action}", s.pipeline_arn(pipeline)), action
    for stack in s.stacks.values():
        assert allowed(s.world, APPROVER, "cloudformation:DescribeChangeSet", s.stack_arn(stack)), stack
    # `changegate status` lists the pipelines; ListPipelines has no resource type.
    assert allowed(s.world, APPROVER, "codepipeline:ListPipelines", "*")


def test_approvers_approve_nothing_else(s: Setup) -> None:
    foreign = naming.pipeline_name(OTHER_PROJECT, "x")
    assert not allowed(s.world, APPROVER, "codepipeline:PutApprovalResult", s.approval_arn(foreign))
    own = naming.pipeline_name(s.project, s.folder)
    elsewhere = f"{s.pipeline_arn(own)}/{naming.SOURCE_STAGE}/{naming.SOURCE_ACTION_NAME}"
    assert not allowed(s.world, APPROVER, "codepipeline:PutApprovalResult", elsewhere)
    for action in ("StartPipelineExecution", "UpdatePipeline", "StopPipelineExecution",
                   "RetryStageExecution"):
        assert not allowed(s.world, APPROVER, f"codepipeline:{action}", s.pipeline_arn(own)), action
    stack_arn = s.stack_arn(naming.stack_name(s.project, s.folder))
    for action in ("ExecuteChangeSet", "CreateChangeSet", "UpdateStack"):
        assert not allowed(s.world, APPROVER, f"cloudformation:{action}", stack_arn,
                           cloudformation__ChangeSetName=s.change_set), action
    # Reading stays within the project too.
    assert not allowed(s.world, APPROVER, "codepipeline:GetPipelineState", s.pipeline_arn(foreign))
    assert not allowed(s.world, APPROVER, "cloudformation:DescribeChangeSet",
                       s.stack_arn(naming.stack_name(OTHER_PROJECT, "x")))
    # Someone the policy is not attached to approves nothing.
    assert not allowed(s.world, role("SomeoneElse"), "codepipeline:PutApprovalResult", s.approval_arn(own))


def test_approvers_policy_reaches_every_configured_principal(variant) -> None:
    """A role with a path, a user and a group (attached by name in the deploying account)."""
    s, _ = variant
    own = s.approval_arn(naming.pipeline_name(s.project, s.folder))
    for principal in (role("Leads", path="/teams/"), Principal(f"arn:aws:iam::{ACCOUNT}:user/alice")):
        assert allowed(s.world, principal, "codepipeline:PutApprovalResult", own), principal.arn
    groups = [p["groups"] for p in s.world.managed.values() if p["groups"]]
    assert groups == [["Platform"]]


def test_approvers_permissions_flip(s: Setup) -> None:
    own = s.approval_arn(naming.pipeline_name(s.project, s.folder))
    assert not allowed(s.world.without(APPROVER, "Allow", "codepipeline:PutApprovalResult"), APPROVER,
                       "codepipeline:PutApprovalResult", own)
    assert allowed(s.world.widened(APPROVER, "codepipeline:PutApprovalResult"), APPROVER,
                   "codepipeline:PutApprovalResult", s.approval_arn(naming.pipeline_name(OTHER_PROJECT, "x")))


# ------------------------------------------------------------------ resource policies against everyone else

def test_only_the_sync_writes_source_objects(s: Setup) -> None:
    world, intruder = intruder_world(s)
    archive = s.source_object(naming.source_object_key(s.folder))
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectTagging",
                   "s3:PutObjectRetention", "s3:RestoreObject"):
        assert verdict(world, intruder, action, archive) is Decision.EXPLICIT_DENY, action
    # Reading is IAM's business (and the key's): the bucket policy does not get in the way.
    assert verdict(world, intruder, "s3:GetObject", archive) is Decision.ALLOW
    # Without the bucket policy's Deny the PowerUser would write.
    opened = world.without_resource_statement(archive, "Deny", "s3:PutObject")
    assert allowed(opened, intruder, "s3:PutObject", archive)


def test_everyone_needs_tls(s: Setup) -> None:
    sync = s.principal("sync")
    archive = s.source_object(naming.source_object_key(s.folder))
    insecure = {"aws:SecureTransport": "false"}
    assert verdict(s.world, sync, "s3:PutObject", archive, insecure) is Decision.EXPLICIT_DENY
    pipeline = s.principal("stack-pipelines")
    assert verdict(s.world, pipeline, "s3:GetObject", s.artifact_object("x"), insecure) \
        is Decision.EXPLICIT_DENY
    assert allowed(s.world.without_resource_statement(archive, "Deny", "s3:*"), sync, "s3:PutObject", archive,
                   aws__SecureTransport="false")


def test_approval_requests_travel_over_tls(example) -> None:
    s, template = example  # the example creates its topic (the variant names an existing one)
    topic = s.world.resolver.value(s.topic(template))
    pipeline = s.principal("stack-pipelines")
    insecure = {"aws:SecureTransport": "false"}
    assert verdict(s.world, pipeline, "sns:Publish", topic, insecure) is Decision.EXPLICIT_DENY
    opened = s.world.without_resource_statement(topic, "Deny", "sns:Publish")
    assert allowed(opened, pipeline, "sns:Publish", topic, aws__SecureTransport="false")


def test_only_changegates_roles_use_the_key(s: Setup) -> None:
    world, intruder = intruder_world(s)
    for action in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"):
        assert not allowed(world, intruder, action, s.key), action
    # The key policy's condition, not IAM, stops the PowerUser (whose IAM policy allows kms:*).
    opened = world.widened_resource_statement(s.key, "kms:Decrypt")
    assert allowed(opened, intruder, "kms:Decrypt", s.key)


def test_the_key_grants_only_for_aws_resources(s: Setup) -> None:
    """Issue 10 item 6: 'allows grants only for AWS resources'."""
    world, intruder = intruder_world(s)
    assert not allowed(world, intruder, "kms:CreateGrant", s.key)
    # Were the key policy to delegate CreateGrant to IAM again (the old "Create*"), the Deny would still
    # refuse every grant that is not for an AWS resource; without the Deny, the PowerUser would grant.
    delegating = world.copy()
    delegating.key_policies[s.key]["Statement"].append(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:CreateGrant",
         "Resource": "*"})
    assert not allowed(delegating, intruder, "kms:CreateGrant", s.key, kms__GrantIsForAWSResource="false")
    assert allowed(delegating, intruder, "kms:CreateGrant", s.key, kms__GrantIsForAWSResource="true")
    assert allowed(delegating.without_resource_statement(s.key, "Deny", "kms:CreateGrant"), intruder,
                   "kms:CreateGrant", s.key, kms__GrantIsForAWSResource="false")


def test_only_the_pipelines_publish_approval_requests(example) -> None:
    """Issue 10 item 3: the topic policy denies other publishers (the example creates its topic)."""
    s, template = example
    topic = s.world.resolver.value(s.topic(template))
    assert topic in s.world.topic_policies
    world, intruder = intruder_world(s)
    assert verdict(world, intruder, "sns:Publish", topic) is Decision.EXPLICIT_DENY
    opened = world.without_resource_statement(topic, "Deny", "sns:Publish")
    assert allowed(opened, intruder, "sns:Publish", topic)
