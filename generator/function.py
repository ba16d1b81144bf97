"""The stack-policy function: a Lambda function the stack pipelines invoke around ExecuteChangeSet.

Why a function (aws-fidelity notes, F6): ``CreateChangeSet`` has no stack-policy parameter, and
nothing documents that CodePipeline's CloudFormation action applies a TemplateConfiguration's
``StackPolicy`` in change-set modes. The owner's policy (``pipelines/policies``, written by the sync
into the stack archive's ``config.json``) must still protect the stack. So the Change stage invokes
``review/stack_policy.py`` twice:

- ``ApplyStackPolicy`` (after Approve, before ExecuteChangeSet): sets the policy on an existing stack,
  so the approved change executes under the owner's current policy. A stack being created
  (REVIEW_IN_PROGRESS) has nothing to protect yet and cannot take a policy: it is left alone.
- ``VerifyStackPolicy`` (after ExecuteChangeSet): sets it when needed (new stacks), then checks that
  ``GetStackPolicy`` returns exactly that policy, and fails the action otherwise.

Why not a CodeBuild step: a Lambda action starts in milliseconds and needs no buildspec, image or
artifact bucket access of its own (the action hands it short-lived artifact credentials); its code
is this package's (decision 9), packed by generator/functions.py into a content-addressed zip that
``changegate deploy`` uploads to the staging bucket before it creates the bootstrap change set.

Least privilege: the function's role may read and set the policy of the managed stacks only, report
job results (those two actions have no resource-level permission: ``*``), and write its own log
group. It reads the artifact with the job's own credentials, so it needs no S3 or KMS rights.
"""

from __future__ import annotations

from awacs import cloudformation as cfn
from awacs import codepipeline, logs
from awacs.aws import Action, Allow, Deny, Statement
from troposphere import GetAtt, Sub
from troposphere.awslambda import Code, Function
from troposphere.iam import Role
from troposphere.logs import LogGroup

from generator import arns, logical_ids, naming
from generator.buckets import RETAIN_EXCEPT_ON_CREATE
from generator.functions import function_archive, function_code_key
from generator.iam import service_role

HANDLER = "review.stack_policy.handler"
RUNTIME = "python3.12"  # the runtime's boto3 is what review/ imports; nothing else is packed
TIMEOUT_SECONDS = 60
MEMORY_MB = 128
LOG_RETENTION_DAYS = 365


def staging_bucket() -> Sub:
    """The bucket ``changegate deploy`` uploads the function code to (naming.staging_bucket_name)."""
    return Sub(naming.staging_bucket_name("${AWS::AccountId}", "${AWS::Region}"))


def function_log_group(project: str) -> LogGroup:
    # Created here, so Lambda never needs logs:CreateLogGroup. RetainExceptOnCreate (F7): kept
    # after the stack goes, but removed when the create that made it rolls back, so a retried
    # first deploy does not fail on an existing name.
    return LogGroup(logical_ids.STACK_POLICY_LOG_GROUP,
                    LogGroupName=naming.stack_policy_log_group_name(project),
                    RetentionInDays=LOG_RETENTION_DAYS,
                    DeletionPolicy=RETAIN_EXCEPT_ON_CREATE, UpdateReplacePolicy="Retain")


def function_role(project: str, stack_arns: list) -> Role:
    name = naming.role_name(project, naming.STACK_POLICY_PURPOSE)
    statements = [
        Statement(Sid="SetAndReadStackPolicies", Effect=Allow,
                  Action=[cfn.DescribeStacks, cfn.GetStackPolicy, cfn.SetStackPolicy], Resource=stack_arns),
        # "PutJobSuccessResult" and "PutJobFailureResult" support no resource-level permission;
        # AWS's sample policy for a Lambda action grants them on "*" (CodePipeline user guide,
        # actions-invoke-lambda-function).
        Statement(Sid="ReportJobResults", Effect=Allow,
                  Action=[codepipeline.PutJobFailureResult, codepipeline.PutJobSuccessResult],
                  Resource=["*"]),
        Statement(Sid="WriteOwnLogs", Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents],
                  Resource=[arns.log_streams(naming.stack_policy_log_group_name(project))]),
        # <project>-* matches the bootstrap stack: its policy is the operator's business.
        Statement(Sid="NeverTouchTheBootstrapStack", Effect=Deny, Action=[Action("cloudformation", "*")],
                  Resource=[arns.stack(naming.bootstrap_stack_name(project))]),
    ]
    return service_role(logical_ids.STACK_POLICY_ROLE, name, "lambda", statements)


def stack_policy_function(project: str, role: Role, log_group: LogGroup) -> Function:
    archive = function_archive()
    return Function(
        logical_ids.STACK_POLICY_FUNCTION,
        FunctionName=naming.stack_policy_function_name(project),
        Description=f"changegate {project}: apply the owner's stack policy around ExecuteChangeSet",
        Runtime=RUNTIME, Handler=HANDLER,
        Timeout=TIMEOUT_SECONDS, MemorySize=MEMORY_MB,
        Role=GetAtt(role, "Arn"),
        # Content-addressed: a change to review/ is a new key, so a new template and a code update.
        Code=Code(S3Bucket=staging_bucket(), S3Key=function_code_key(archive)),
        DependsOn=[log_group.title],
    )


def stack_policy_resources(project: str, stack_arns: list) -> tuple[Function, list]:
    """The function (its name is what the Lambda actions invoke), and every resource to add."""
    log_group = function_log_group(project)
    role = function_role(project, stack_arns)
    function = stack_policy_function(project, role, log_group)
    return function, [log_group, role, function]
