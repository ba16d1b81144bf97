"""The IAM of the bootstrap stack: pipeline role, sync role, CloudFormation execution role, approvers.

Decision 7, least privilege by naming: statements name this project's things with constant-size
wildcards on ``<project>-`` (plus adopted stacks by their exact names), never ``*`` where IAM
offers a narrower resource. ``<project>-*`` also matches the bootstrap stack ``<project>-pipelines``
and the sync pipeline ``<project>-sync``: explicit Deny statements take those back.
"""

from __future__ import annotations

from collections.abc import Iterable

from awacs import awslambda, codebuild, codepipeline, iam, logs, s3, sns
from awacs import cloudformation as cfn
from awacs.aws import (
    Action,
    Allow,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringLike,
    StringNotEquals,
)
from awacs.kms import Action as KmsAction
from troposphere import GetAtt, Sub
from troposphere.iam import ManagedPolicy, Policy, Role

from generator import logical_ids, naming
from generator.bootstrap import arns
from generator.bootstrap.kms import S3_IN_THIS_REGION, USE_ACTIONS
from generator.contract.config import PipelinesConfig

# Bucket-level settings of changegate's buckets, which no stack may change (IAM action names;
# "s3:PutBucket*" also covers PutBucketReplication, PutBucketLogging, PutBucketNotification...).
BUCKET_SETTINGS = ("DeleteBucket*", "PutAccelerateConfiguration", "PutAnalyticsConfiguration", "PutBucket*",
                   "PutEncryptionConfiguration", "PutIntelligentTieringConfiguration",
                   "PutInventoryConfiguration", "PutLifecycleConfiguration", "PutMetricsConfiguration",
                   "PutReplicationConfiguration")
# The roles of generator/bootstrap/protection.py (termination protection), beside the three of
# arns.project_roles.
PROTECTION_ROLE_PURPOSES = ("protection", "protection-events")
# The services whose trust policies carry aws:SourceAccount (F18): only where AWS documents that the
# service sends it when it assumes a role. Adding the condition where the service does not send it
# makes the role impossible to assume, and "There is no public documentation which lists all the
# services which supports the aws:SourceAccount and aws:SourceArn" (AWS Support, quoted in
# github.com/prowler-cloud/prowler/issues/2810).
# - ssm: the Automation service role's trust policy example has "aws:SourceAccount" (Systems Manager
#   user guide, automation-setup-iam).
# - codebuild: "Cross-service confused deputy prevention" shows the service role's trust policy with
#   "aws:SourceAccount" (CodeBuild user guide, cross-service-confused-deputy-prevention).
# - events: "For EventBridge event bus rule targets, the value of aws:SourceArn must be the rule ARN",
#   with aws:SourceAccount in the same example (EventBridge user guide,
#   cross-service-confused-deputy-prevention).
# Not codepipeline (its documented trust policy has no condition: CodePipeline user guide,
# pipelines-create-service-role-cli), not cloudformation (nothing documented for a stack's service
# role: CloudFormation user guide, using-iam-servicerole), not lambda (its execution-role trust
# policy example has none: Lambda developer guide, lambda-intro-execution-role).
SOURCE_ACCOUNT_SERVICES = frozenset({"codebuild", "events", "ssm"})


def managed_stack_arns(project: str, stack_names: Iterable[str]) -> list[Sub]:
    """``<project>-*`` and every adopted stack whose name lacks the prefix, sorted."""
    prefix = f"{project}-"
    adopted = sorted({name for name in stack_names if not name.startswith(prefix)})
    return [arns.stack(f"{prefix}*")] + [arns.stack(name) for name in adopted]


def _trust(service: str) -> PolicyDocument:
    statement = Statement(Effect=Allow, Principal=Principal("Service", f"{service}.amazonaws.com"),
                          Action=[Action("sts", "AssumeRole")])
    if service in SOURCE_ACCOUNT_SERVICES:
        # The service may assume the role only on behalf of this account (see SOURCE_ACCOUNT_SERVICES).
        statement.Condition = Condition(StringEquals("aws:SourceAccount", Sub("${AWS::AccountId}")))
    return PolicyDocument(Version="2012-10-17", Statement=[statement])


def _use_key(key_arn) -> Statement:
    return Statement(Sid="UseArtifactKey", Effect=Allow, Action=[KmsAction(a) for a in USE_ACTIONS],
                     Resource=[key_arn])


def _use_connection(service: str, connection_arn) -> Statement:
    return Statement(Sid="UseGitHubConnection", Effect=Allow, Action=[Action(service, "UseConnection")],
                     Resource=[connection_arn])


def service_role(logical_id: str, name: str, service: str, statements: list[Statement], **extra) -> Role:
    """A role only ``<service>.amazonaws.com`` assumes (for this account where documented); one policy."""
    return Role(logical_id, RoleName=name, AssumeRolePolicyDocument=_trust(service),
                Policies=[Policy(PolicyName=name, PolicyDocument=PolicyDocument(
                    Version="2012-10-17", Statement=statements))],
                **extra)


def _artifacts(artifact_bucket) -> list[Statement]:
    """Read and write a pipeline's artifacts, as CodePipeline's minimal service-role policy lists."""
    return [
        Statement(Sid="ReadWriteArtifacts", Effect=Allow,
                  Action=[s3.GetObject, s3.GetObjectVersion, s3.PutObject, s3.PutObjectAcl],
                  Resource=[arns.bucket_objects(artifact_bucket.title)]),
        Statement(Sid="ArtifactBucket", Effect=Allow,
                  Action=[s3.GetBucketAcl, s3.GetBucketLocation, s3.GetBucketVersioning, s3.ListBucket],
                  Resource=[GetAtt(artifact_bucket, "Arn")]),
    ]


def pipeline_role(config: PipelinesConfig, *, stack_names: Iterable[str], source_bucket, artifact_bucket,
                  key_arn, topic_arn) -> Role:
    """The role of the stack pipelines: plan, review, approve and execute change sets.

    It neither runs the sync nor uses the GitHub connection: those are the sync pipeline's
    (:func:`sync_pipeline_role`), so neither pipeline can do the other's job (issue 10 item 6).

    The artifact statements follow CodePipeline's minimal service-role policy, which grants
    "s3:PutObject", "s3:PutObjectAcl", "s3:GetObject", "s3:GetObjectVersion" on artifact objects
    and "s3:GetBucketVersioning", "s3:GetBucketAcl", "s3:GetBucketLocation" on artifact buckets
    (CodePipeline user guide, how-to-custom-role). Without PutObjectAcl the GitHub (connection)
    source action fails: "[GitHub] Upload to S3 failed with the following error: Access Denied"
    (github.com/aws/aws-cdk/issues/13557; F3).
    """
    project = config.project
    names = arns.project_roles(project)
    stacks = managed_stack_arns(project, stack_names)
    source_arn = GetAtt(source_bucket, "Arn")
    statements = [
        Statement(Sid="ReadStackArchives", Effect=Allow,
                  Action=[s3.GetObject, s3.GetObjectVersion],
                  Resource=[arns.bucket_objects(source_bucket.title, naming.DEFAULT_SOURCE_PREFIX)]),
        Statement(Sid="SourceBucketVersioning", Effect=Allow,
                  Action=[s3.GetBucketVersioning, s3.GetBucketLocation], Resource=[source_arn]),
        *_artifacts(artifact_bucket),
        _use_key(key_arn),
        # The change set name must carry the prefix (naming.change_set_name does).
        Statement(Sid="CreateChangeSets", Effect=Allow, Action=[cfn.CreateChangeSet], Resource=stacks,
                  Condition=Condition(StringLike("cloudformation:ChangeSetName",
                                                 naming.change_set_name_pattern(project)))),
        # Change set actions authorize against the stack ("describechangeset/executechangeset/
        # deletechangeset -> Resources: stack" in cfn-lint's IAM data): no changeSet/ resource (F22).
        # DescribeStackEvents lets ExecuteChangeSet show why an execution failed: without it the
        # console says "Status reason is not available because IAM role associated with the action
        # does not have CloudFormation DescribeStackEvents permission" (aws/aws-cdk#29534; F13).
        # SetStackPolicy stays: whether the action applies the TemplateConfiguration's StackPolicy
        # in CHANGE_SET_REPLACE mode is undocumented (F6), and if it does, it must not fail on it.
        Statement(Sid="ReviewAndExecuteChangeSets", Effect=Allow,
                  Action=[cfn.DeleteChangeSet, cfn.DescribeChangeSet, cfn.DescribeStackEvents,
                          cfn.DescribeStacks, cfn.ExecuteChangeSet, cfn.SetStackPolicy],
                  Resource=stacks),
        # ValidateTemplate supports no resource-level permission: "*" is the only resource IAM accepts.
        Statement(Sid="ValidateTemplates", Effect=Allow, Action=[cfn.ValidateTemplate], Resource=["*"]),
        Statement(Sid="PassExecutionRoleToCloudFormation", Effect=Allow, Action=[iam.PassRole],
                  Resource=[arns.role(names["cloudformation"])],
                  Condition=Condition(StringEquals("iam:PassedToService", "cloudformation.amazonaws.com"))),
        Statement(Sid="NotifyApprovers", Effect=Allow, Action=[sns.Publish], Resource=[topic_arn]),
        # The Change stage's ApplyStackPolicy and VerifyStackPolicy actions (generator/bootstrap/function.py).
        Statement(Sid="InvokeStackPolicyFunction", Effect=Allow, Action=[awslambda.InvokeFunction],
                  Resource=[arns.function(naming.steps_function_name(project))]),
        # <project>-* matches the bootstrap stack itself: a pipeline must never change it.
        Statement(Sid="NeverTouchTheBootstrapStack", Effect=Deny, Action=[Action("cloudformation", "*")],
                  Resource=[arns.stack(naming.bootstrap_stack_name(project))]),
    ]
    return service_role(logical_ids.PIPELINE_ROLE, names["pipeline"], "codepipeline", statements)


def sync_pipeline_role(config: PipelinesConfig, *, artifact_bucket, key_arn, connection_arn,
                       connection_service: str) -> Role:
    """The sync pipeline's role: its GitHub source (the connection) and the sync build, nothing else.

    It plans, executes and passes nothing, and cannot write the source bucket: the sync build does
    that as its own role (:func:`sync_role`).
    """
    project = config.project
    statements = [
        *_artifacts(artifact_bucket),
        _use_key(key_arn),
        _use_connection(connection_service, connection_arn),
        Statement(Sid="RunTheSync", Effect=Allow, Action=[codebuild.BatchGetBuilds, codebuild.StartBuild],
                  Resource=[arns.codebuild_project(naming.sync_project_name(project))]),
    ]
    return service_role(logical_ids.SYNC_PIPELINE_ROLE, arns.project_roles(project)["sync-pipeline"],
                        "codepipeline", statements)


def sync_role(config: PipelinesConfig, *, source_bucket, artifact_bucket, key_arn, connection_arn,
              connection_service: str) -> Role:
    """The CodeBuild role of ``changegate sync``: the only principal that writes the source bucket."""
    project = config.project
    prefix = naming.DEFAULT_SOURCE_PREFIX
    log_group = naming.sync_log_group_name(project)
    statements = [
        Statement(Sid="WriteBuildLogs", Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents],
                  Resource=[arns.log_streams(log_group)]),
        Statement(Sid="ReadSourceArtifact", Effect=Allow, Action=[s3.GetObject, s3.GetObjectVersion],
                  Resource=[arns.bucket_objects(artifact_bucket.title)]),
        # CodeBuild's service-role example has an "S3BucketIdentity" statement with these two
        # (CodeBuild user guide, setting-up); without them CloudTrail fills with AccessDenied (F22).
        Statement(Sid="ArtifactBucketIdentity", Effect=Allow, Action=[s3.GetBucketAcl, s3.GetBucketLocation],
                  Resource=[GetAtt(artifact_bucket, "Arn")]),
        _use_connection(connection_service, connection_arn),
        # s3:prefix is the request's Prefix: ListObjectsV2(Prefix="stacks/", Delimiter="/") matches.
        Statement(Sid="ListStackArchives", Effect=Allow, Action=[s3.ListBucket, s3.ListBucketVersions],
                  Resource=[GetAtt(source_bucket, "Arn")],
                  Condition=Condition(StringLike("s3:prefix", f"{prefix}*"))),
        # GetObject also allows HeadObject. DeleteObject without a version id only adds a delete
        # marker (a stack folder left the repository; its history stays): never DeleteObjectVersion.
        # The state manifest lives under the same prefix (<prefix>.changegate/state.json).
        Statement(Sid="WriteStackArchives", Effect=Allow,
                  Action=[s3.DeleteObject, s3.GetObject, s3.GetObjectVersion, s3.PutObject],
                  Resource=[arns.bucket_objects(source_bucket.title, prefix)]),
        # The sync refuses an unversioned bucket before it writes anything (sync/run.py): without
        # versions a pipeline could not be pinned, and an overwrite would lose the history.
        Statement(Sid="CheckSourceVersioning", Effect=Allow, Action=[s3.GetBucketVersioning],
                  Resource=[GetAtt(source_bucket, "Arn")]),
        _use_key(key_arn),
        # Only StartPipelineExecution: the sync reads no pipeline (F22: GetPipeline was unused).
        Statement(Sid="StartStackPipelines", Effect=Allow, Action=[codepipeline.StartPipelineExecution],
                  Resource=[arns.pipeline(f"{project}-*")]),
        # <project>-* matches the sync pipeline too: the sync must not start itself.
        Statement(Sid="NeverStartTheSyncItself", Effect=Deny, Action=[codepipeline.StartPipelineExecution],
                  Resource=[arns.pipeline(naming.sync_pipeline_name(project))]),
    ]
    return service_role(logical_ids.SYNC_ROLE, arns.project_roles(project)["sync"], "codebuild", statements)


def gate_denies(config: PipelinesConfig, *, source_bucket, artifact_bucket, key_arn,
                topic_arn) -> list[Statement]:
    """What no stack may do, whatever the execution role's managed policies grant.

    The execution role carries these denies, and so does the permissions boundary every role or user
    it creates must carry (generator/contract/boundaries.py): a stack cannot step around them by creating a
    principal of its own.
    """
    project = config.project
    boundary = arns.managed_policy(naming.boundary_policy_name(project))
    return [
        # Every role and managed policy named <project>-changegate-* (the approvers policy and the
        # boundary included), whether or not this template creates it: the guardrail exempts
        # principals by that name (generator/bootstrap/guardrails.py), so a stack that could create or change
        # one could make itself an exempt principal.
        Statement(Sid="NeverChangeChangegateIam", Effect=Deny, Action=[Action("iam", "*")],
                  Resource=[arns.role(naming.role_name(project, "*")),
                            arns.managed_policy(naming.role_name(project, "*"))]),
        # "A person with permissions to create a role and attach any policy can escalate their own
        # permissions" (CodePipeline user guide, pipelines-create-service-role-cli; F9): new roles and
        # users carry the boundary (the iam:PermissionsBoundary condition key, IAM user guide,
        # access_policies_boundaries), and no boundary is ever removed.
        Statement(Sid="NewPrincipalsCarryTheBoundary", Effect=Deny,
                  Action=[iam.CreateRole, iam.CreateUser, iam.PutRolePermissionsBoundary,
                          iam.PutUserPermissionsBoundary],
                  Resource=["*"], Condition=Condition(StringNotEquals("iam:PermissionsBoundary", boundary))),
        Statement(Sid="BoundariesStay", Effect=Deny, Resource=["*"],
                  Action=[iam.DeleteRolePermissionsBoundary, iam.DeleteUserPermissionsBoundary]),
        Statement(Sid="NeverTouchTheBootstrapStack", Effect=Deny, Action=[Action("cloudformation", "*")],
                  Resource=[arns.stack(naming.bootstrap_stack_name(project))]),
        # Every bucket-level setting (policy, versioning, lifecycle, encryption, public access,
        # ownership, replication, logging, notifications, deletion): objects stay IAM's business.
        Statement(Sid="NeverLoosenTheBuckets", Effect=Deny,
                  Action=[Action("s3", a) for a in BUCKET_SETTINGS],
                  Resource=[GetAtt(source_bucket, "Arn"), GetAtt(artifact_bucket, "Arn")]),
        # changegate's own machinery: the pipelines (an approval stage could be dropped), the sync
        # project (another buildspec), the steps function and the audit recorder (which writes the
        # audit records), the protection and audit rules and the runbook, the log groups (the sync's
        # audit trail), and the approvers' identities (aws-fidelity F9).
        Statement(Sid="NeverChangeThePipelines", Effect=Deny, Action=[Action("codepipeline", "*")],
                  Resource=[arns.pipeline(f"{project}-*")]),
        Statement(Sid="NeverChangeTheSyncProject", Effect=Deny, Action=[Action("codebuild", "*")],
                  Resource=[arns.codebuild_project(naming.sync_project_name(project))]),
        Statement(Sid="NeverChangeChangegatesFunctions", Effect=Deny, Action=[Action("lambda", "*")],
                  Resource=[arns.function(naming.steps_function_name(project)),
                            arns.function(naming.recorder_function_name(project))]),
        Statement(Sid="NeverChangeTheProtection", Effect=Deny,
                  Action=[Action("events", "*"), Action("ssm", "*")],
                  Resource=[arns.regional("events", f"rule/{naming.role_name(project, '*')}"),
                            arns.regional("ssm", f"document/{naming.role_name(project, '*')}"),
                            arns.regional("ssm", f"automation-definition/{naming.role_name(project, '*')}")]),
        Statement(Sid="NeverChangeTheLogs", Effect=Deny, Action=[Action("logs", "*")],
                  Resource=[arns.regional("logs", f"log-group:{name}*") for name in (
                      naming.sync_log_group_name(project), f"/aws/lambda/{naming.role_name(project, '*')}")]),
        Statement(Sid="NeverChangeTheApprovalTopic", Effect=Deny, Action=[Action("sns", "*")],
                  Resource=[topic_arn]),
        *([Statement(Sid="NeverChangeTheApprovers", Effect=Deny, Action=[Action("iam", "*")],
                     Resource=list(config.approvers))] if config.approvers else []),
        Statement(Sid="NeverDisableTheKey", Effect=Deny,
                  Action=[KmsAction(a) for a in ("CreateGrant", "DisableKey", "PutKeyPolicy",
                                                 "ScheduleKeyDeletion")],
                  Resource=[key_arn]),
    ]


def execution_role(config: PipelinesConfig, *, source_bucket, artifact_bucket, key_arn, topic_arn) -> Role:
    """The role CloudFormation uses to change the stacks: powerful, and only CloudFormation assumes it.

    Its permissions come from ``execution_role.managed_policy_arns`` (default PowerUserAccess).
    Whatever they grant, it may not touch changegate itself (:func:`gate_denies`).
    """
    names = arns.project_roles(config.project)
    denies = gate_denies(config, source_bucket=source_bucket, artifact_bucket=artifact_bucket,
                         key_arn=key_arn, topic_arn=topic_arn)
    # Content the sync packaged from a stack's folder (nested templates, code: sync/package.py):
    # "If you specify a service role, CloudFormation uses that role's credentials" (CloudFormation
    # user guide, using-iam-servicerole), so this role fetches a nested TemplateURL and Lambda reads
    # S3 code as it. Whatever its managed policies say, it reads the assets, and decrypts them only
    # through S3 (the key policy holds the same condition, generator/bootstrap/kms.py).
    reads = [
        Statement(Sid="ReadPackagedContent", Effect=Allow, Action=[s3.GetObject, s3.GetObjectVersion],
                  Resource=[arns.bucket_objects(logical_ids.SOURCE_BUCKET, naming.ASSETS_PREFIX)]),
        Statement(Sid="DecryptPackagedContent", Effect=Allow, Action=[KmsAction("Decrypt")],
                  Resource=[key_arn], Condition=Condition(StringEquals("kms:ViaService", S3_IN_THIS_REGION))),
    ]
    return service_role(logical_ids.EXECUTION_ROLE, names["cloudformation"], "cloudformation",
                        [*reads, *_stack_roles(config), *denies],
                        ManagedPolicyArns=list(config.execution_policy_arns))


# What CloudFormation calls to create, update and delete an AWS::IAM::Role and AWS::IAM::InstanceProfile
# (their resource schemas' handler permissions), and to hand a role to the service that uses it.
STACK_ROLE_ACTIONS = (
    "AddRoleToInstanceProfile", "AttachRolePolicy", "CreateInstanceProfile", "CreateRole",
    "DeleteInstanceProfile", "DeleteRole", "DeleteRolePolicy", "DetachRolePolicy", "GetInstanceProfile",
    "GetRole", "GetRolePolicy", "ListAttachedRolePolicies", "ListInstanceProfilesForRole",
    "ListRolePolicies", "ListRoleTags", "PassRole", "PutRolePermissionsBoundary", "PutRolePolicy",
    "RemoveRoleFromInstanceProfile", "TagInstanceProfile", "TagRole", "UntagInstanceProfile", "UntagRole",
    "UpdateAssumeRolePolicy", "UpdateRole", "UpdateRoleDescription",
)


def _stack_roles(config: PipelinesConfig) -> list[Statement]:
    """``execution_role.manage_stack_roles``: the stacks' own roles, instead of IAMFullAccess.

    CloudFormation names a role it creates ``<stack name>-<logical id>-<suffix>``, and managed stacks
    are ``<project>-<folder>``, so ``<project>-*`` covers them (an explicit RoleName must keep the
    prefix). The gate denies still hold: changegate's own roles stay out of reach, and every role
    created carries the boundary (:func:`gate_denies`).
    """
    if not config.manage_stack_roles:
        return []
    project = config.project
    profiles = Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:instance-profile/{project}-*")
    return [Statement(Sid="ManageTheStacksOwnRoles", Effect=Allow,
                      Action=[iam.Action(a) for a in STACK_ROLE_ACTIONS],
                      Resource=[arns.role(f"{project}-*"), profiles])]


def execution_boundary(config: PipelinesConfig, *, source_bucket, artifact_bucket, key_arn,
                       topic_arn) -> ManagedPolicy:
    """The permissions boundary of every role or user a managed stack creates.

    "A permissions boundary ... sets the maximum permissions that an identity-based policy can
    grant to an IAM entity" (IAM user guide, access_policies_boundaries): everything, except what
    the execution role may not do either. The stack's own policies still decide what the principal
    may do within it.
    """
    project = config.project
    statements = [Statement(Sid="AnythingTheStackGrants", Effect=Allow, Action=[Action("*")], Resource=["*"]),
                  *gate_denies(config, source_bucket=source_bucket, artifact_bucket=artifact_bucket,
                               key_arn=key_arn, topic_arn=topic_arn)]
    return ManagedPolicy(
        logical_ids.EXECUTION_BOUNDARY, ManagedPolicyName=naming.boundary_policy_name(project),
        Description=f"changegate {project}: the boundary of roles and users the managed stacks create",
        PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements))


def approvers_policy(config: PipelinesConfig, *, stack_names: Iterable[str]) -> ManagedPolicy:
    """Approve or reject this project's pipelines; read their state and their change sets. Nothing else.

    What ``changegate status``, ``changes`` and ``approve`` call (changegate/pipeline_state.py,
    approvals.py, changesets.py): ListPipelines, GetPipelineState, ListPipelineExecutions,
    GetPipelineExecution, ListActionExecutions, DescribeChangeSet (nested ones too, whose stacks are
    ``<stack>-<Logical>-<id>``), PutApprovalResult. The console's change-set page also reads the stack.
    """
    project = config.project
    pipelines = arns.pipeline(f"{project}-*")
    stacks = managed_stack_arns(project, stack_names)
    statements = [
        # The approval actions of every stack pipeline: <pipeline>/Change/Approve and
        # <pipeline>/Change/SecondApproval (high-risk changes need both, by different people).
        Statement(Sid="ApproveOrReject", Effect=Allow, Action=[codepipeline.PutApprovalResult],
                  Resource=[arns.approval_action(f"{project}-*", naming.CHANGE_STAGE, action)
                            for action in naming.APPROVAL_ACTIONS]),
        Statement(Sid="ReadPipelines", Effect=Allow,
                  Action=[codepipeline.GetPipeline, codepipeline.GetPipelineExecution,
                          codepipeline.GetPipelineState, codepipeline.ListActionExecutions,
                          codepipeline.ListPipelineExecutions],
                  Resource=[pipelines]),
        # ListPipelines has no resource type: AWS's approver example grants "codepipeline:ListPipelines"
        # on "*" (CodePipeline user guide, approvals-iam-permissions; F12). `changegate status` lists.
        Statement(Sid="ListPipelines", Effect=Allow, Action=[codepipeline.ListPipelines], Resource=["*"]),
        Statement(Sid="ReadChangeSets", Effect=Allow,
                  Action=[cfn.DescribeChangeSet, cfn.DescribeChangeSetHooks, cfn.DescribeStacks,
                          cfn.GetStackPolicy, cfn.ListChangeSets],
                  Resource=stacks),
        # Where a change comes from is read from the object version only the sync writes (decision
        # 12, changegate/origin.py): HeadObject is authorized as GetObject, as GetObjectVersion with
        # a VersionId (Amazon S3 API reference, HeadObject). No kms:Decrypt: a HEAD returns no
        # content, so approvers can read the metadata but not download the archives' bytes.
        Statement(Sid="ReadSourceObjectVersions", Effect=Allow, Action=[s3.GetObject, s3.GetObjectVersion],
                  Resource=[arns.bucket_objects(logical_ids.SOURCE_BUCKET, naming.DEFAULT_SOURCE_PREFIX)]),
        # `changegate audit` reads the audit records (review/record.py): ListObjectsV2 with
        # Prefix=audit/<pipeline>/ (s3:prefix is the request's Prefix) and GetObject. The recorder
        # encrypts each record without the S3 Bucket Key, so KMS sees the record's own ARN as
        # encryption context: this Decrypt opens audit records and nothing else in the bucket (the
        # archives' context is the bucket), and the key policy allows no more either
        # (generator/bootstrap/recorder.py key_statements).
        Statement(Sid="ListAuditRecords", Effect=Allow, Action=[s3.ListBucket],
                  Resource=[GetAtt(logical_ids.SOURCE_BUCKET, "Arn")],
                  Condition=Condition(StringLike("s3:prefix", f"{naming.AUDIT_PREFIX}*"))),
        Statement(Sid="ReadAuditRecords", Effect=Allow, Action=[s3.GetObject],
                  Resource=[arns.bucket_objects(logical_ids.SOURCE_BUCKET, naming.AUDIT_PREFIX)]),
        Statement(Sid="DecryptAuditRecords", Effect=Allow, Action=[KmsAction("Decrypt")],
                  Resource=[GetAtt(logical_ids.ARTIFACT_KEY, "Arn")],
                  Condition=Condition([
                      StringEquals("kms:ViaService", S3_IN_THIS_REGION),
                      StringLike("kms:EncryptionContext:aws:s3:arn",
                                 arns.bucket_objects(logical_ids.SOURCE_BUCKET, naming.AUDIT_PREFIX))])),
    ]
    policy = ManagedPolicy(
        logical_ids.APPROVERS_POLICY, ManagedPolicyName=naming.approvers_policy_name(project),
        Description=f"changegate {project}: approve or reject change sets, read pipelines and change sets",
        PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements))
    principals = _principals(config.approvers)
    for kind, attribute in (("role", "Roles"), ("user", "Users"), ("group", "Groups")):
        if principals[kind]:
            setattr(policy, attribute, principals[kind])
    return policy


def _principals(arns_: Iterable[str]) -> dict[str, list[str]]:
    """``arn:aws:iam::1:role/path/Name`` -> ``{"role": ["Name"]}``: attachments take names."""
    found: dict[str, list[str]] = {"role": [], "user": [], "group": []}
    for arn in arns_:
        kind, _, path = arn.split(":", 5)[5].partition("/")
        found[kind].append(path.rsplit("/", 1)[-1])
    return {kind: sorted(set(names)) for kind, names in found.items()}
