"""The sync: a V2 pipeline on the configured branch, then CodeBuild running ``changegate sync``.

The source action hands CodeBuild a clone reference (``CODEBUILD_CLONE_REF``) instead of a zip:
CodeBuild clones the repository with its history, which the sync needs to compare commits.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Retain
from troposphere.codebuild import (
    Artifacts,
    CloudWatchLogs,
    Environment,
    EnvironmentVariable,
    LogsConfig,
    Project,
    Source,
)
from troposphere.codepipeline import (
    Actions,
    ActionTypeId,
    GitBranchFilterCriteria,
    GitConfiguration,
    GitPushFilter,
    InputArtifacts,
    OutputArtifacts,
    Pipeline,
    PipelineTriggerDeclaration,
    Stages,
)
from troposphere.logs import LogGroup

from generator import logical_ids, naming
from generator.bootstrap.buckets import RETAIN_EXCEPT_ON_CREATE
from generator.bootstrap.pipeline import SOURCE_ARTIFACT, artifact_store
from generator.contract.config import PipelinesConfig

BUILDSPEC = "buildspecs/sync.yml"
SOURCE_ACTION = "GitHub"
LOG_RETENTION_DAYS = 365
# Lambda compute starts in seconds. It allows no custom build timeout (always 15 minutes at
# most), no VPC, no Docker and writes only under /tmp (the buildspec installs into /tmp).
LAMBDA = {"Type": "LINUX_LAMBDA_CONTAINER", "ComputeType": "BUILD_LAMBDA_2GB",
          "Image": "aws/codebuild/amazonlinux-x86_64-lambda-standard:python3.12"}
CONTAINER = {"Type": "LINUX_CONTAINER", "ComputeType": "BUILD_GENERAL1_SMALL",
             "Image": "aws/codebuild/amazonlinux2-x86_64-standard:5.0"}
CONTAINER_TIMEOUT_MINUTES = 30


def sync_log_group(config: PipelinesConfig) -> LogGroup:
    # Retained: the sync's logs are part of the audit trail, even after the bootstrap stack goes.
    # Except when the create that made it rolls back: a named, retained log group would make the
    # retried first deploy fail on "already exists" (F7, see buckets.py). Encrypted with changegate's
    # key (commit subjects and author names are in these logs); the key policy lets CloudWatch Logs
    # use it for this log group only (kms.py).
    return LogGroup(logical_ids.SYNC_LOG_GROUP, LogGroupName=naming.sync_log_group_name(config.project),
                    RetentionInDays=LOG_RETENTION_DAYS, KmsKeyId=GetAtt(logical_ids.ARTIFACT_KEY, "Arn"),
                    DeletionPolicy=RETAIN_EXCEPT_ON_CREATE, UpdateReplacePolicy=Retain)


def sync_project(config: PipelinesConfig, *, role_arn, key_arn, source_bucket,
                 log_group: LogGroup) -> Project:
    compute = LAMBDA if config.sync_compute == "lambda" else CONTAINER
    environment = Environment(
        EnvironmentVariables=[
            EnvironmentVariable(Name=naming.ENV_SOURCE_BUCKET, Type="PLAINTEXT", Value=source_bucket),
            EnvironmentVariable(Name=naming.ENV_SOURCE_PREFIX, Type="PLAINTEXT",
                                Value=naming.DEFAULT_SOURCE_PREFIX),
        ],
        **compute)
    # troposphere 4.11 rejects LINUX_LAMBDA_CONTAINER, which CodeBuild accepts.
    environment.no_validation()
    project = Project(
        logical_ids.SYNC_PROJECT,
        Name=naming.sync_project_name(config.project),
        Description=f"changegate {config.project}: changegate sync (GitHub -> source bucket)",
        ServiceRole=role_arn,
        EncryptionKey=key_arn,
        Source=Source(Type="CODEPIPELINE", BuildSpec=BUILDSPEC),
        Artifacts=Artifacts(Type="CODEPIPELINE"),
        Environment=environment,
        LogsConfig=LogsConfig(CloudWatchLogs=CloudWatchLogs(Status="ENABLED", GroupName=Ref(log_group))),
    )
    if config.sync_compute != "lambda":
        project.TimeoutInMinutes = CONTAINER_TIMEOUT_MINUTES
    return project


def sync_pipeline(config: PipelinesConfig, *, role_arn, artifact_bucket, key_arn, connection_arn,
                  project: Project) -> Pipeline:
    """SUPERSEDED: each sync reconciles the whole repository, so only the newest commit matters."""
    source = Actions(
        Name=SOURCE_ACTION,
        ActionTypeId=ActionTypeId(Category="Source", Owner="AWS", Provider="CodeStarSourceConnection",
                                  Version="1"),
        Configuration={"ConnectionArn": connection_arn, "FullRepositoryId": config.repository.name,
                       "BranchName": config.repository.branch,
                       "OutputArtifactFormat": "CODEBUILD_CLONE_REF"},
        OutputArtifacts=[OutputArtifacts(Name=SOURCE_ARTIFACT)], Namespace="SourceVariables", RunOrder=1)
    build = Actions(
        Name="Sync",
        ActionTypeId=ActionTypeId(Category="Build", Owner="AWS", Provider="CodeBuild", Version="1"),
        Configuration={"ProjectName": Ref(project)},
        InputArtifacts=[InputArtifacts(Name=SOURCE_ARTIFACT)], RunOrder=1)
    return Pipeline(
        logical_ids.SYNC_PIPELINE,
        Name=naming.sync_pipeline_name(config.project),
        PipelineType="V2",
        ExecutionMode="SUPERSEDED",
        RoleArn=role_arn,
        ArtifactStore=artifact_store(artifact_bucket, key_arn),
        # Only pushes to the configured branch start the sync (threat: unreviewed branches).
        Triggers=[PipelineTriggerDeclaration(
            ProviderType="CodeStarSourceConnection",
            GitConfiguration=GitConfiguration(
                SourceActionName=SOURCE_ACTION,
                Push=[GitPushFilter(Branches=GitBranchFilterCriteria(Includes=[config.repository.branch]))]))],
        Stages=[Stages(Name="Source", Actions=[source]), Stages(Name="Sync", Actions=[build])],
    )


__all__ = ["sync_log_group", "sync_pipeline", "sync_project"]
