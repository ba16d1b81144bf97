"""The recorder: one JSON audit record per finished execution of a stack pipeline (issue 11, item 7).

    CodePipeline "Pipeline Execution State Change", final states, pipelines "<project>-*"
      -> ONE EventBridge rule ``<project>-changegate-audit`` (default bus)
      -> the function ``<project>-changegate-recorder`` (review/record.py; the steps function's zip)
      -> s3://<source bucket>/audit/<pipeline>/<start UTC>-<execution id>.json, written once

Five resources whatever the number of stacks (the bootstrap template holds ~185 stacks under
CloudFormation's 1 MB): the rule, the function, its role, its log group and the permission that lets
EventBridge invoke it.

The event (CodePipeline user guide, detect-state-changes-cloudwatch-events)::

    {"detail-type": "CodePipeline Pipeline Execution State Change", "source": "aws.codepipeline",
     "detail": {"pipeline": "myPipeline", "version": 1, "state": "SUCCEEDED",
                "execution-id": "12345678-...", "pipeline-execution-attempt": 1.0, ...}, ...}

Final states only: CANCELED, FAILED, STOPPED, SUCCEEDED and SUPERSEDED (the page's pipeline-level
states besides STARTED, STOPPING and RESUMED, after which the execution goes on). The pattern matches
the project's prefix (``prefix`` matching, EventBridge user guide, eb-event-patterns-content-based-
filtering); an event pattern cannot AND a prefix with an exclusion in one field, so the sync pipeline
``<project>-sync`` matches too and the recorder ignores it (review/record.py ``is_stack_pipeline``).

Least privilege: the role reads executions of the stack pipelines (never the sync pipeline: Deny),
writes objects under ``audit/`` of the source bucket only (its policy here, and the bucket policy
lets nobody else write there and it nothing else, generator/bootstrap/buckets.py), and may have S3
generate data keys with changegate's key for those objects only (kms:ViaService and the object's
encryption context: the recorder writes without the bucket's S3 Bucket Key, review/record.py). The
steps role gets no S3 write. The key policy's side is :func:`key_statements`.
"""

from __future__ import annotations

from awacs import codepipeline, logs
from awacs import s3 as s3_actions
from awacs.aws import Action, Allow, ArnLike, Condition, Deny, Principal, Statement, StringEquals, StringLike
from awacs.kms import Action as KmsAction
from troposphere import GetAtt, Ref, Sub
from troposphere.awslambda import Code, Environment, Function, Permission
from troposphere.events import Rule, Target
from troposphere.iam import Role
from troposphere.logs import LogGroup

from generator import logical_ids, naming
from generator.bootstrap import arns
from generator.bootstrap.buckets import RETAIN_EXCEPT_ON_CREATE
from generator.bootstrap.function import LOG_RETENTION_DAYS, MEMORY_MB, RUNTIME, staging_bucket
from generator.bootstrap.functions import function_archive, function_code_key
from generator.bootstrap.iam import service_role
from generator.bootstrap.kms import S3_IN_THIS_REGION

HANDLER = "review.record.handler"
# A record takes a few reads (GetPipelineExecution, a page or two of ListPipelineExecutions and of
# ListActionExecutions) and one PutObject: seconds. The timeout leaves room for throttled retries.
TIMEOUT_SECONDS = 120
# Logical ids (generator/logical_ids.py holds them with the others), named here as recorder.X too.
RECORDER_FUNCTION = logical_ids.RECORDER_FUNCTION
RECORDER_ROLE = logical_ids.RECORDER_ROLE
RECORDER_LOG_GROUP = logical_ids.RECORDER_LOG_GROUP
AUDIT_RULE = logical_ids.AUDIT_RULE
AUDIT_RULE_PERMISSION = logical_ids.AUDIT_RULE_PERMISSION
TARGET_ID = "Recorder"
EVENT_SOURCE = "aws.codepipeline"
EVENT_DETAIL_TYPE = "CodePipeline Pipeline Execution State Change"
FINAL_STATES = ("CANCELED", "FAILED", "STOPPED", "SUCCEEDED", "SUPERSEDED")
# The encryption context S3 gives KMS for an object written without an S3 Bucket Key is the
# object's ARN, with one "the encryption context will be the bucket Amazon Resource Name (ARN) and
# not the object ARN" (S3 user guide, configuring-bucket-key). The key policy
# cannot name the source bucket (the bucket names the key: a cycle), so it names the audit/ prefix
# of any bucket; only changegate's roles encrypt with the key, and only the recorder writes audit/.
ENCRYPTION_CONTEXT = "kms:EncryptionContext:aws:s3:arn"
AUDIT_OBJECTS_OF_ANY_BUCKET = Sub(f"arn:${{AWS::Partition}}:s3:::*/{naming.AUDIT_PREFIX}*")


def audit_objects() -> Sub:
    """The source bucket's audit records: ``<source bucket ARN>/audit/*``."""
    return arns.bucket_objects(logical_ids.SOURCE_BUCKET, naming.AUDIT_PREFIX)


def event_pattern(project: str) -> dict:
    return {"source": [EVENT_SOURCE], "detail-type": [EVENT_DETAIL_TYPE],
            "detail": {"state": list(FINAL_STATES), "pipeline": [{"prefix": f"{project}-"}]}}


def recorder_log_group(project: str) -> LogGroup:
    # As the steps function's (generator/bootstrap/function.py): created here so Lambda needs no
    # logs:CreateLogGroup, encrypted with changegate's key (whose policy covers
    # /aws/lambda/<project>-changegate-*).
    return LogGroup(RECORDER_LOG_GROUP, LogGroupName=naming.recorder_log_group_name(project),
                    RetentionInDays=LOG_RETENTION_DAYS, KmsKeyId=GetAtt(logical_ids.ARTIFACT_KEY, "Arn"),
                    DeletionPolicy=RETAIN_EXCEPT_ON_CREATE, UpdateReplacePolicy="Retain")


def recorder_role(project: str, key_arn) -> Role:
    stack_pipelines = arns.pipeline(f"{project}-*")
    statements = [
        # review/record.py build_record: the execution (variables, trigger), its summary (start, end,
        # stop reason: GetPipelineExecution has neither) and its action executions.
        Statement(Sid="ReadStackPipelineExecutions", Effect=Allow,
                  Action=[codepipeline.GetPipelineExecution, codepipeline.ListActionExecutions,
                          codepipeline.ListPipelineExecutions],
                  Resource=[stack_pipelines]),
        # <project>-* matches the sync pipeline: the recorder never reads it.
        Statement(Sid="NeverTheSyncPipeline", Effect=Deny, Action=[Action("codepipeline", "*")],
                  Resource=[arns.pipeline(naming.sync_pipeline_name(project))]),
        # PutObject only (IfNoneMatch: written once); no delete, no tagging, no ACL, no read.
        Statement(Sid="WriteAuditRecords", Effect=Allow, Action=[s3_actions.PutObject],
                  Resource=[audit_objects()]),
        # S3 asks KMS for a data key on the recorder's behalf, for an audit record only.
        Statement(Sid="EncryptAuditRecordsViaS3", Effect=Allow, Action=[KmsAction("GenerateDataKey")],
                  Resource=[key_arn],
                  Condition=Condition([StringEquals("kms:ViaService", S3_IN_THIS_REGION),
                                       StringLike(ENCRYPTION_CONTEXT, audit_objects())])),
        Statement(Sid="WriteOwnLogs", Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents],
                  Resource=[arns.log_streams(naming.recorder_log_group_name(project))]),
    ]
    return service_role(RECORDER_ROLE, naming.role_name(project, naming.RECORDER_PURPOSE), "lambda",
                        statements)


def recorder_function(project: str, role: Role, log_group: LogGroup, *, source_bucket, key_arn) -> Function:
    archive = function_archive()  # the review package: the steps function's zip, the same key
    return Function(
        RECORDER_FUNCTION,
        FunctionName=naming.recorder_function_name(project),
        Description=f"changegate {project}: one audit record per finished execution of a stack pipeline",
        Runtime=RUNTIME, Handler=HANDLER, Timeout=TIMEOUT_SECONDS, MemorySize=MEMORY_MB,
        Role=GetAtt(role, "Arn"),
        Code=Code(S3Bucket=staging_bucket(), S3Key=function_code_key(archive)),
        # review/record.py ENV_*: where to write, which pipelines are stack pipelines, the key, and
        # whose approval of SecondApproval is the waiver.
        Environment=Environment(Variables={
            "RECORDS_BUCKET": source_bucket,
            "PIPELINE_PREFIX": f"{project}-",
            "SKIP_PIPELINES": naming.sync_pipeline_name(project),
            "RECORDS_KEY_ARN": key_arn,
            "STEPS_ROLE": naming.role_name(project, naming.STEPS_PURPOSE),
        }),
        DependsOn=[log_group.title],
    )


def audit_rule(project: str, function: Function) -> Rule:
    return Rule(AUDIT_RULE, Name=naming.audit_rule_name(project),
                Description=f"changegate {project}: every pipeline execution's final state, to the recorder",
                State="ENABLED", EventPattern=event_pattern(project),
                Targets=[Target(Id=TARGET_ID, Arn=GetAtt(function, "Arn"))])


def rule_permission(function: Function, rule: Rule) -> Permission:
    # A resource-based policy statement on the function: only this rule, of this account, invokes it
    # ("For EventBridge event bus rule targets, the value of aws:SourceArn must be the rule ARN",
    # EventBridge user guide, cross-service-confused-deputy-prevention).
    return Permission(AUDIT_RULE_PERMISSION, FunctionName=Ref(function), Action="lambda:InvokeFunction",
                      Principal="events.amazonaws.com", SourceArn=GetAtt(rule, "Arn"),
                      SourceAccount=Sub("${AWS::AccountId}"))


def recorder_resources(project: str, *, source_bucket, key_arn) -> list:
    """The rule, the function, its role, its log group and the rule's permission: five in all."""
    log_group = recorder_log_group(project)
    role = recorder_role(project, key_arn)
    function = recorder_function(project, role, log_group, source_bucket=source_bucket, key_arn=key_arn)
    rule = audit_rule(project, function)
    return [log_group, role, function, rule, rule_permission(function, rule)]


def key_statements(project: str) -> list[Statement]:
    """What the key policy (generator/bootstrap/kms.py) must add for the records.

    - the recorder's S3 uploads of audit records (GenerateDataKey via S3, audit objects only);
    - reading audit records is left to IAM (the approvers policy grants it): Decrypt via S3, for audit
      objects only. The archives and artifacts are encrypted under the bucket's S3 Bucket Key, whose
      encryption context is the bucket, never an ``audit/`` object: this opens none of them.
    """
    recorder = arns.role(naming.role_name(project, naming.RECORDER_PURPOSE))
    via_s3_for_records = [StringEquals("kms:ViaService", S3_IN_THIS_REGION),
                          StringLike(ENCRYPTION_CONTEXT, AUDIT_OBJECTS_OF_ANY_BUCKET)]
    return [
        Statement(Sid="RecorderEncryptsAuditRecords", Effect=Allow,
                  Principal=Principal("AWS", arns.account_root()), Action=[KmsAction("GenerateDataKey")],
                  Resource=["*"],
                  Condition=Condition([ArnLike("aws:PrincipalArn", recorder), *via_s3_for_records])),
        Statement(Sid="AuditRecordsReadableAsIamAllows", Effect=Allow,
                  Principal=Principal("AWS", arns.account_root()), Action=[KmsAction("Decrypt")],
                  Resource=["*"], Condition=Condition(via_s3_for_records)),
    ]
