"""The steps function: the Lambda function every Lambda action of the stack pipelines invokes.

One function, ``<project>-changegate-steps`` (review/steps.py), told by each action's UserParameters
which step it runs:

- ``Review`` (after CreateChangeSet): reads and judges the change set (every page, property values,
  nested change sets), outputs the approval's text and link; an empty change set is deleted and
  the execution stopped before the approval (decision 6). It reads the owner's stack policy from
  the source artifact, to say which changes it protects.
- ``CheckChangeSet`` (after Approve): the stale guard.
- ``ApplyStackPolicy`` and ``VerifyStackPolicy`` (around ExecuteChangeSet): the owner's stack policy
  (aws-fidelity notes, F6). ``CreateChangeSet`` has no stack-policy parameter, and nothing
  documents that CodePipeline's CloudFormation action applies a TemplateConfiguration's
  ``StackPolicy`` in change-set modes, so the function sets it and proves it took.

Why a function and not a CodeBuild step: a Lambda action starts in milliseconds and needs no
buildspec, image or artifact bucket access of its own (the action hands it short-lived artifact
credentials); its code is this package's (decision 9), packed by generator/bootstrap/functions.py into a
content-addressed zip that ``changegate deploy`` uploads to the staging bucket before it creates
the bootstrap change set.

Least privilege: the function's role may read the managed stacks and their change sets, delete a
change set (only the empty ones, in code), set their stack policy, detect their drift, stop an
execution of a stack pipeline (never the sync pipeline), report job results (no resource-level
permission: ``*``), and write its own log group. It reads the artifact with the job's own
credentials: no S3 or KMS rights.

Drift detection reads each resource with the caller's permissions: "In order to successfully
perform drift detection on a stack, a user must have the following permissions: Read permission for
each resource that supports drift detection included in the stack ... cloudformation:DetectStackDrift
... cloudformation:DetectStackResourceDrift" (CloudFormation user guide, using-cfn-stack-drift,
"Considerations when detecting drift"). The role gets no such read rights by itself: resources it
cannot read are reported as "drift unknown (not permitted to read: ...)". Owners who want them
checked attach read policies knowingly (pipelines/config.yaml ``defaults.review.drift.read_policies``).
"""

from __future__ import annotations

from awacs import cloudformation as cfn
from awacs import codepipeline, logs
from awacs.aws import Action, Allow, Deny, Statement
from troposphere import GetAtt, Sub
from troposphere.awslambda import Code, Function
from troposphere.iam import Role
from troposphere.logs import LogGroup

from generator import logical_ids, naming
from generator.bootstrap import arns
from generator.bootstrap.buckets import RETAIN_EXCEPT_ON_CREATE
from generator.bootstrap.functions import function_archive, function_code_key
from generator.bootstrap.iam import service_role

HANDLER = "review.steps.handler"
RUNTIME = "python3.12"  # the runtime's boto3 is what review/ imports; nothing else is packed
# A review reads every page of a change set and its nested ones: minutes at most, far under the
# 20 minutes CodePipeline waits for a Lambda action's reply (CodePipeline user guide, limits).
TIMEOUT_SECONDS = 300
MEMORY_MB = 128
LOG_RETENTION_DAYS = 365


def staging_bucket() -> Sub:
    """The bucket ``changegate deploy`` uploads the function code to (naming.staging_bucket_name)."""
    return Sub(naming.staging_bucket_name("${AWS::AccountId}", "${AWS::Region}"))


def function_log_group(project: str) -> LogGroup:
    # Created here, so Lambda never needs logs:CreateLogGroup. RetainExceptOnCreate (F7): kept
    # after the stack goes, but removed when the create that made it rolls back, so a retried
    # first deploy does not fail on an existing name.
    # Encrypted with changegate's key, which lets CloudWatch Logs use it for changegate's log groups
    # only (generator/bootstrap/kms.py); the reviews log stack and change set names.
    return LogGroup(logical_ids.STACK_POLICY_LOG_GROUP,
                    LogGroupName=naming.steps_log_group_name(project),
                    RetentionInDays=LOG_RETENTION_DAYS, KmsKeyId=GetAtt(logical_ids.ARTIFACT_KEY, "Arn"),
                    DeletionPolicy=RETAIN_EXCEPT_ON_CREATE, UpdateReplacePolicy="Retain")


def function_role(project: str, stack_arns: list, read_policies: tuple[str, ...] = ()) -> Role:
    """The steps function's role; ``read_policies`` are managed policies the owners attach for drift
    detection (pipelines/config.yaml ``defaults.review.drift.read_policies``)."""
    name = naming.role_name(project, naming.STEPS_PURPOSE)
    stack_pipelines = arns.pipeline(f"{project}-*")
    statements = [
        Statement(Sid="SetAndReadStackPolicies", Effect=Allow,
                  Action=[cfn.DescribeStacks, cfn.GetStackPolicy, cfn.SetStackPolicy], Resource=stack_arns),
        # Review and CheckChangeSet read the change set (DescribeChangeSet, with nested ones under
        # the same stack prefix); Review deletes it when it is empty. Change set actions authorize
        # against the stack ("describechangeset/deletechangeset -> Resources: stack" in cfn-lint's
        # IAM data; F22).
        Statement(Sid="ReviewChangeSets", Effect=Allow,
                  Action=[cfn.DeleteChangeSet, cfn.DescribeChangeSet], Resource=stack_arns),
        # Review reads CloudFormation's own checks of the change set (early validations, hooks:
        # review/validations.py) with DescribeEvents by the change set's ARN ("describeevents ->
        # Resources: changeset, stack" in cfn-lint's IAM data): the pipelines' change sets only.
        Statement(Sid="ReadChangeSetChecks", Effect=Allow, Action=[cfn.DescribeEvents],
                  Resource=[*stack_arns, arns.change_set(naming.change_set_name_pattern(project))]),
        # Review detects the drift of the resources the change touches (review/drift.py). Start and
        # results authorize against the stack ("detectstackdrift", "detectstackresourcedrift",
        # "describestackresourcedrifts" -> Resources: stack, in cfn-lint's IAM data); the user guide
        # names both Detect actions as needed for a stack's detection.
        Statement(Sid="DetectDriftOfManagedStacks", Effect=Allow,
                  Action=[cfn.DescribeStackResourceDrifts, cfn.DetectStackDrift,
                          cfn.DetectStackResourceDrift],
                  Resource=stack_arns),
        # "describestackdriftdetectionstatus" has no resource type in cfn-lint's IAM data (the request
        # names only a detection id, no stack): "*" is the only resource it can be granted on. It reads
        # the status of a detection, nothing of the resources.
        Statement(Sid="ReadDriftDetectionStatus", Effect=Allow,
                  Action=[cfn.DescribeStackDriftDetectionStatus], Resource=["*"]),
        # Review stops its own execution when the change set is empty (stop and wait, never abandon);
        # the waiver finds the second approval's token (GetPipelineState) and the check reads who
        # approved (ListActionExecutions).
        Statement(Sid="StopEmptyExecutionsAndReadApprovals", Effect=Allow,
                  Action=[codepipeline.GetPipelineState, codepipeline.ListActionExecutions,
                          codepipeline.StopPipelineExecution],
                  Resource=[stack_pipelines]),
        # The waiver approves SecondApproval, and nothing else: never Approve, never another stage
        # (review/approvals.py says why this is safe; CheckChangeSet refuses a high-risk change the
        # function approved). PutApprovalResult's resource is the action (approvals-iam-permissions).
        Statement(Sid="WaiveOnlyTheSecondApproval", Effect=Allow, Action=[codepipeline.PutApprovalResult],
                  Resource=[arns.approval_action(f"{project}-*", naming.CHANGE_STAGE,
                                                 naming.SECOND_APPROVAL_ACTION)]),
        # "PutJobSuccessResult" and "PutJobFailureResult" support no resource-level permission;
        # AWS's sample policy for a Lambda action grants them on "*" (CodePipeline user guide,
        # actions-invoke-lambda-function).
        Statement(Sid="ReportJobResults", Effect=Allow,
                  Action=[codepipeline.PutJobFailureResult, codepipeline.PutJobSuccessResult],
                  Resource=["*"]),
        Statement(Sid="WriteOwnLogs", Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents],
                  Resource=[arns.log_streams(naming.steps_log_group_name(project))]),
        # <project>-* matches the bootstrap stack: its policy is the operator's business.
        Statement(Sid="NeverTouchTheBootstrapStack", Effect=Deny, Action=[Action("cloudformation", "*")],
                  Resource=[arns.stack(naming.bootstrap_stack_name(project))]),
        # ... and <project>-* matches the sync pipeline: the function never stops it.
        Statement(Sid="NeverStopTheSync", Effect=Deny, Action=[Action("codepipeline", "*")],
                  Resource=[arns.pipeline(naming.sync_pipeline_name(project))]),
    ]
    extra = {"ManagedPolicyArns": list(read_policies)} if read_policies else {}
    return service_role(logical_ids.STACK_POLICY_ROLE, name, "lambda", statements, **extra)


def steps_function(project: str, role: Role, log_group: LogGroup) -> Function:
    archive = function_archive()
    return Function(
        logical_ids.STACK_POLICY_FUNCTION,
        FunctionName=naming.steps_function_name(project),
        Description=f"changegate {project}: review change sets, guard them until they execute, apply "
                    "the owner's stack policy",
        Runtime=RUNTIME, Handler=HANDLER,
        Timeout=TIMEOUT_SECONDS, MemorySize=MEMORY_MB,
        Role=GetAtt(role, "Arn"),
        # Content-addressed: a change to review/ is a new key, so a new template and a code update.
        Code=Code(S3Bucket=staging_bucket(), S3Key=function_code_key(archive)),
        DependsOn=[log_group.title],
    )


def steps_resources(project: str, stack_arns: list,
                    read_policies: tuple[str, ...] = ()) -> tuple[Function, list]:
    """The function (its name is what the Lambda actions invoke), and every resource to add.

    ``read_policies``: the config's ``drift_read_policies`` (template.py passes them)."""
    log_group = function_log_group(project)
    role = function_role(project, stack_arns, read_policies)
    function = steps_function(project, role, log_group)
    return function, [log_group, role, function]
