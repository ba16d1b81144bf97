"""One change-set pipeline per stack: Source -> Plan -> Approve -> Execute (V2, QUEUED).

Decision 5: QUEUED mode and one change set name per execution, so the change set an approver
reviewed is exactly the one that executes. The sync starts each pipeline itself (decision 4):
the S3 source never polls, and the sync sets the commit variables approvers see.
"""

from __future__ import annotations

from troposphere import Sub
from troposphere.codepipeline import (
    Actions,
    ActionTypeId,
    ArtifactStore,
    EncryptionKey,
    InputArtifacts,
    OutputArtifacts,
    Pipeline,
    Stages,
    VariableDeclaration,
)

from generator import logical_ids, naming
from generator.iam import APPROVE_ACTION, APPROVE_STAGE
from generator.stacks import LoadedStack

SOURCE_ARTIFACT = "SourceArtifact"
STAGE_ORDER = ("Source", "Plan", APPROVE_STAGE, "Execute")
VARIABLE_DEFAULT = "unknown"
VARIABLE_DESCRIPTIONS = {
    "CommitId": "Commit the sync uploaded this stack from",
    "CommitAuthor": "Author of that commit",
    "CommitSubject": "First line of that commit's message",
}
# CodePipeline limits a manual approval's CustomData to 500 characters.
MAX_CUSTOM_DATA = 500


def artifact_store(artifact_bucket, key_arn) -> ArtifactStore:
    return ArtifactStore(Type="S3", Location=artifact_bucket,
                         EncryptionKey=EncryptionKey(Type="KMS", Id=key_arn))


def pipeline_variables() -> list[VariableDeclaration]:
    return [VariableDeclaration(Name=name, DefaultValue=VARIABLE_DEFAULT,
                                Description=VARIABLE_DESCRIPTIONS[name])
            for name in naming.PIPELINE_VARIABLES]


def approval_custom_data(stack_name: str, change_set: str) -> str:
    """What the approver reads in the e-mail and the console, before opening the change set."""
    commit, author, subject = (f"#{{variables.{v}}}" for v in naming.PIPELINE_VARIABLES)
    return (f"Stack {stack_name}: review change set {change_set} before approving. "
            f"It comes from commit {commit} by {author}: {subject}")


def change_set_console_url(stack_name: str, change_set: str) -> Sub:
    """The change set in the CloudFormation console, by stack and change set name.

    Both names are letters, digits and hyphens; CodePipeline replaces the execution id
    variable before the link is shown.
    """
    return Sub("https://console.aws.amazon.com/cloudformation/home?region=${AWS::Region}"
               f"#/stacks/changesets/changes?stackId={stack_name}&changeSetId={change_set}")


def _action(name: str, category: str, provider: str, configuration: dict, **extra) -> Actions:
    return Actions(Name=name, ActionTypeId=ActionTypeId(Category=category, Owner="AWS", Provider=provider,
                                                        Version="1"),
                   Configuration=configuration, RunOrder=1, **extra)


def stack_pipeline(project: str, stack: LoadedStack, *, role_arn, artifact_bucket, key_arn, source_bucket,
                   execution_role_arn, topic_arn) -> Pipeline:
    settings = stack.settings
    change_set = naming.change_set_name(project)
    template_path = f"{SOURCE_ARTIFACT}::{naming.ARCHIVE_TEMPLATE}"
    plan_configuration = {
        "ActionMode": "CHANGE_SET_REPLACE",
        "StackName": stack.stack_name,
        "ChangeSetName": change_set,
        "TemplatePath": template_path,
        # The sync writes Parameters, Tags and the protected StackPolicy into this file.
        "TemplateConfiguration": f"{SOURCE_ARTIFACT}::{naming.ARCHIVE_CONFIG}",
        "RoleArn": execution_role_arn,
    }
    if settings.capabilities:
        plan_configuration["Capabilities"] = ",".join(settings.capabilities)
    stages = [
        Stages(Name="Source", Actions=[_action(
            naming.SOURCE_ACTION_NAME, "Source", "S3",
            {"S3Bucket": source_bucket, "S3ObjectKey": naming.source_object_key(stack.name),
             # The sync starts the pipeline, pinned to the version it uploaded (decision 4).
             "PollForSourceChanges": "false"},
            OutputArtifacts=[OutputArtifacts(Name=SOURCE_ARTIFACT)], Namespace="SourceVariables")]),
        Stages(Name="Plan", Actions=[_action(
            "CreateChangeSet", "Deploy", "CloudFormation", plan_configuration,
            InputArtifacts=[InputArtifacts(Name=SOURCE_ARTIFACT)])]),
        Stages(Name=APPROVE_STAGE, Actions=[_action(
            APPROVE_ACTION, "Approval", "Manual",
            {"NotificationArn": topic_arn,
             "CustomData": approval_custom_data(stack.stack_name, change_set),
             "ExternalEntityLink": change_set_console_url(stack.stack_name, change_set)},
            TimeoutInMinutes=settings.approval_timeout_minutes)]),
        Stages(Name="Execute", Actions=[_action(
            "ExecuteChangeSet", "Deploy", "CloudFormation",
            {"ActionMode": "CHANGE_SET_EXECUTE", "StackName": stack.stack_name,
             "ChangeSetName": change_set})]),
    ]
    return Pipeline(
        logical_ids.stack_pipeline(stack.name),
        Name=stack.pipeline_name,
        PipelineType="V2",
        ExecutionMode="QUEUED",
        RoleArn=role_arn,
        ArtifactStore=artifact_store(artifact_bucket, key_arn),
        Variables=pipeline_variables(),
        Stages=stages,
    )
