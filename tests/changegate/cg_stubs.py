"""Realistic CodePipeline and CloudFormation responses for botocore's Stubber.

They follow botocore's service model (Stubber validates every request and response against
it) and the shapes AWS documents. Kept out of conftest.py so test modules can import them by a
name no other test directory uses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.stub import Stubber
from pipeline_records import uuid_for

from changegate.aws import Aws
from generator.naming import (
    APPROVE_ACTION,
    CHANGE_ACTIONS,
    CHANGE_STAGE,
    PLAN_ACTION,
    REVIEW_ACTION,
    SECOND_APPROVAL_ACTION,
    SOURCE_ACTION_NAME,
    SOURCE_STAGE,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"
SOURCE_BUCKET = "acme-pipelines-sourcebucket-1a2b3c4d5e6f"
ARTIFACT_BUCKET = "acme-pipelines-artifactbucket-9f8e7d6c5b4a"
EMPTY_ZIP_SHA256 = "8739c76e681f900923b900c9df0ef75cf421d39cabb54650c4b9ad19b6a76d85"
# What ExecutionTrigger.triggerDetail holds for a StartPipelineExecution call: "the user ARN for a
# user-initiated start-pipeline-execution CLI command" (CodePipeline API reference). The sync runs
# in CodeBuild as the sync role, whose session CodeBuild names after the build.
SYNC_ARN = (f"arn:aws:sts::{ACCOUNT}:assumed-role/acme-changegate-sync/"
            "AWSCodeBuild-0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b")
# Who runs the commands in these tests (GetCallerIdentity's Arn; an approval's updatedBy is this form),
# another approver, and the steps function's session (the waiver of SecondApproval).
APPROVER_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Approvers_0123456789abcdef/alice"
OTHER_APPROVER_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Approvers_0123456789abcdef/bob"
FUNCTION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/acme-changegate-steps/acme-changegate-steps"


# ---- realistic CodePipeline and CloudFormation responses ----



def token_for(n: int, action: str = APPROVE_ACTION) -> str:
    """The approval token of execution n's ``action`` (each approval action has its own)."""
    return f"{n:08x}-{'aaaa' if action == APPROVE_ACTION else 'bbbb'}-4bbb-8ccc-ddddeeeeffff"




def _action_state(name: str, status: str = "Succeeded", **extra: Any) -> dict:
    return {"actionName": name, "latestExecution": {
        "actionExecutionId": f"{name.lower()}-old", "status": status,
        "lastStatusChange": NOW - timedelta(days=2), **extra}}


def state(pipeline: str, *, pending: int | None = None, running: int | None = None,
          running_action: str = PLAN_ACTION, failed: int | None = None, failed_action: str = PLAN_ACTION,
          queued: tuple[int, ...] = (), skipped: int | None = None,
          open_approvals: tuple[str, ...] = (APPROVE_ACTION,)) -> dict:
    """GetPipelineState of a stack pipeline: stage Source, then ONE stage Change whose actions run in
    RunOrder (naming.CHANGE_ACTIONS: CreateChangeSet, Review, Approve and SecondApproval side by side with
    WaiveSecondApproval, CheckChangeSet, ApplyStackPolicy, ExecuteChangeSet, VerifyStackPolicy).

    ``pending``: execution n waits at Change/Approve (and at each action of ``open_approvals``, each
    with its own token; an approval of the pair not open is shown approved in this run);
    ``running``: execution n runs ``running_action`` (Source: still in the Source stage); ``failed``:
    execution n failed at ``failed_action``; ``queued``: executions waiting to enter the Change stage
    (QUEUED mode: the stage is locked by the one inside); ``skipped``: execution n's Change stage was
    skipped by its entry condition (a run the sync did not start). Otherwise the stages show an older,
    successful run.
    """
    old = uuid_for(1)
    source = {"stageName": SOURCE_STAGE, "inboundTransitionState": {"enabled": True},
              "actionStates": [_action_state(SOURCE_ACTION_NAME)],
              "latestExecution": {"pipelineExecutionId": old, "status": "Succeeded"}}
    change = {"stageName": CHANGE_STAGE, "inboundTransitionState": {"enabled": True},
              "actionStates": [_action_state(name) for name in CHANGE_ACTIONS],
              "latestExecution": {"pipelineExecutionId": old, "status": "Succeeded"}}
    actions = {a["actionName"]: a for a in change["actionStates"]}

    def reach_change(n: int, status: str) -> None:
        source["latestExecution"] = {"pipelineExecutionId": uuid_for(n), "status": "Succeeded"}
        change["latestExecution"] = {"pipelineExecutionId": uuid_for(n), "status": status}

    def until(action: str, status: str, **extra: Any) -> None:
        for name in CHANGE_ACTIONS:  # earlier actions of this run succeeded, later ones show the old run
            if name == action:
                actions[name]["latestExecution"].update(status=status, actionExecutionId=f"{name}-now",
                                                        **extra)
                return
            actions[name]["latestExecution"].update(actionExecutionId=f"{name}-now")

    if skipped is not None:
        reach_change(skipped, "Skipped")
        change["beforeEntryConditionState"] = {
            "latestExecution": {"status": "Failed", "summary": "Variable check failed: CommitId"},
            "conditionStates": [{"latestExecution": {"status": "Failed",
                                                     "lastStatusChange": NOW - timedelta(hours=1)},
                                 "ruleStates": [{"ruleName": "StartedBySync", "latestExecution": {
                                     "ruleExecutionId": "rule-1", "status": "Failed",
                                     "summary": "unknown EQ unknown",
                                     "lastStatusChange": NOW - timedelta(hours=1)}}]}]}
    if failed is not None:
        reach_change(failed, "Failed")
        until(failed_action, "Failed", errorDetails={"code": "JobFailed", "message": "Template format error"})
    if running is not None:
        if running_action == SOURCE_ACTION_NAME:
            source["latestExecution"] = {"pipelineExecutionId": uuid_for(running), "status": "InProgress"}
            source["actionStates"][0]["latestExecution"]["status"] = "InProgress"
        else:
            reach_change(running, "InProgress")
            until(running_action, "InProgress")
    if pending is not None:
        reach_change(pending, "InProgress")
        until(APPROVE_ACTION, "Succeeded")
        for name in (APPROVE_ACTION, SECOND_APPROVAL_ACTION):
            latest = actions[name]["latestExecution"]
            latest.update(actionExecutionId=f"{name}-now")
            if name in open_approvals:
                latest.update(status="InProgress", token=token_for(pending, name),
                              lastStatusChange=NOW - timedelta(hours=2, minutes=3))
    if queued:
        change["inboundExecutions"] = [{"pipelineExecutionId": uuid_for(n), "status": "InProgress",
                                        "type": "STANDARD"} for n in queued]
    return {"pipelineName": pipeline, "pipelineVersion": 1, "stageStates": [source, change],
            "created": NOW - timedelta(days=30), "updated": NOW - timedelta(days=30)}


def foreign_state(pipeline: str) -> dict:
    """GetPipelineState of a pipeline someone made by hand: Source, Build (not changegate's shape)."""
    stages = [{"stageName": name, "actionStates": [_action_state(action)],
               "latestExecution": {"pipelineExecutionId": uuid_for(1), "status": "Succeeded"}}
              for name, action in (("Source", "Checkout"), ("Build", "Compile"))]
    return {"pipelineName": pipeline, "pipelineVersion": 3, "stageStates": stages,
            "created": NOW - timedelta(days=30), "updated": NOW - timedelta(days=30)}


def executions(n: int, status: str = "Succeeded", version: str = "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY") -> dict:
    summary = {"pipelineExecutionId": uuid_for(n), "status": status,
               "startTime": NOW - timedelta(hours=3), "executionMode": "QUEUED",
               "executionType": "STANDARD",
               "sourceRevisions": [{"actionName": SOURCE_ACTION_NAME, "revisionId": version,
                                    "revisionSummary": "network.zip"}],
               "trigger": {"triggerType": "StartPipelineExecution", "triggerDetail": SYNC_ARN}}
    if status not in ("InProgress", "Stopping"):
        summary["lastUpdateTime"] = NOW - timedelta(hours=2, minutes=50)
    return {"pipelineExecutionSummaries": [summary], "nextToken": "next"}


def execution(pipeline: str, n: int, commit: str = COMMIT, *, author: str = "Ada Lovelace",
              subject: str = "Widen the VPC CIDR", trigger: dict | None = None) -> dict:
    return {"pipelineExecution": {
        "pipelineName": pipeline, "pipelineVersion": 1, "pipelineExecutionId": uuid_for(n),
        "status": "InProgress", "executionMode": "QUEUED", "executionType": "STANDARD",
        "artifactRevisions": [{"name": "SourceArtifact", "revisionId": "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
                               "created": NOW - timedelta(hours=3)}],
        "variables": [{"name": "CommitId", "resolvedValue": commit},
                      {"name": "CommitAuthor", "resolvedValue": author},
                      {"name": "CommitSubject", "resolvedValue": subject}],
        "trigger": trigger if trigger is not None else {"triggerType": "StartPipelineExecution",
                                                        "triggerDetail": SYNC_ARN}}}


def action_executions(pipeline: str, n: int, stack: str, project: str = "acme", *,
                      version: str = "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", key: str = "stacks/x.zip",
                      approvals: dict[str, tuple[str, str, str]] | None = None,
                      review: dict[str, str] | None = None) -> dict:
    """ListActionExecutions for one execution, newest first: the approvals already decided
    (``approvals``: action -> (status, updatedBy, summary), as CheckChangeSet reads them), the Review
    action with its output variables (``review``), the CreateChangeSet action's resolved configuration,
    and the Source action (bucket, key and the version it read: the S3 source action's output
    variables ETag and VersionId)."""
    def detail(stage: str, action: str, category: str, provider: str, configuration: dict,
               output: dict | None = None) -> dict:
        resolved = {k: v.replace("#{codepipeline.PipelineExecutionId}", uuid_for(n))
                    for k, v in configuration.items()}
        return {"pipelineExecutionId": uuid_for(n), "actionExecutionId": f"{stage}-{n}",
                "pipelineVersion": 1, "stageName": stage, "actionName": action,
                "startTime": NOW - timedelta(hours=3), "lastUpdateTime": NOW - timedelta(hours=2),
                "status": "Succeeded",
                "input": {"actionTypeId": {"category": category, "owner": "AWS", "provider": provider,
                                           "version": "1"},
                          "configuration": configuration, "resolvedConfiguration": resolved,
                          "region": REGION}, "output": output or {}}
    plan = {"ActionMode": "CHANGE_SET_REPLACE", "StackName": stack,
            "ChangeSetName": f"{project}-#{{codepipeline.PipelineExecutionId}}",
            "TemplatePath": "SourceArtifact::template.yaml"}
    decided = []
    for action, (status, by, summary) in (approvals or {}).items():
        entry = detail(CHANGE_STAGE, action, "Approval", "Manual", {},
                       {"executionResult": {"externalExecutionId": f"{action}-{n}",
                                            "externalExecutionSummary": summary}})
        entry.update(status=status, updatedBy=by, actionExecutionId=f"{action}-{n}")
        decided.append(entry)
    reviewed = []
    if review is not None:
        reviewed.append(detail(CHANGE_STAGE, REVIEW_ACTION, "Invoke", "Lambda",
                               {"FunctionName": f"{project}-changegate-steps",
                                "UserParameters": '{"Step": "review", "SummaryMax": "300"}'},
                               {"executionResult": {"externalExecutionId": f"review-{n}",
                                                    "externalExecutionSummary": review.get("Summary", "")},
                                "outputVariables": review}))
    return {"actionExecutionDetails": [
        *decided, *reviewed,
        detail(CHANGE_STAGE, PLAN_ACTION, "Deploy", "CloudFormation", plan),
        detail(SOURCE_STAGE, SOURCE_ACTION_NAME, "Source", "S3",
               {"S3Bucket": SOURCE_BUCKET, "S3ObjectKey": key, "PollForSourceChanges": "false"},
               {"outputArtifacts": [{"name": "SourceArtifact", "s3location": {
                   "bucket": ARTIFACT_BUCKET, "key": f"{pipeline}/SourceArti/x1y2z3"}}],
                "executionResult": {"externalExecutionId": version, "externalExecutionSummary": key},
                "outputVariables": {"ETag": "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", "VersionId": version}}),
    ]}


def change_set(stack: str, name: str, changes: list[dict] | None = None,
               next_token: str | None = None) -> dict:
    response = {"ChangeSetName": name, "StackName": stack,
                "ChangeSetId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/{name}/abc",
                "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack}/def",
                "ExecutionStatus": "AVAILABLE", "Status": "CREATE_COMPLETE",
                "CreationTime": NOW - timedelta(hours=2, minutes=5),
                "Changes": changes if changes is not None else REALISTIC_CHANGES}
    if next_token:
        response["NextToken"] = next_token
    return response


REALISTIC_CHANGES = [
    {"Type": "Resource", "ResourceChange": {
        "Action": "Modify", "LogicalResourceId": "Vpc", "PhysicalResourceId": "vpc-0abc",
        "ResourceType": "AWS::EC2::VPC", "Replacement": "True", "Scope": ["Properties"],
        "Details": [{"Target": {"Attribute": "Properties", "Name": "CidrBlock",
                                "RequiresRecreation": "Always", "Path": "/Properties/CidrBlock"},
                     "Evaluation": "Static", "ChangeSource": "DirectModification"}]}},
    {"Type": "Resource", "ResourceChange": {
        "Action": "Modify", "LogicalResourceId": "Subnet", "PhysicalResourceId": "subnet-0abc",
        "ResourceType": "AWS::EC2::Subnet", "Replacement": "Conditional", "Scope": ["Properties", "Tags"],
        "Details": [{"Target": {"Attribute": "Properties", "Name": "VpcId", "RequiresRecreation": "Always"},
                     "Evaluation": "Dynamic", "ChangeSource": "ResourceReference", "CausingEntity": "Vpc"},
                    {"Target": {"Attribute": "Tags", "RequiresRecreation": "Never"},
                     "Evaluation": "Static", "ChangeSource": "DirectModification"}]}},
    {"Type": "Resource", "ResourceChange": {
        "Action": "Add", "LogicalResourceId": "FlowLogs", "ResourceType": "AWS::EC2::FlowLog",
        "Scope": [], "Details": []}},
]


@dataclass
class Stubs:
    """Stubbed CodePipeline and CloudFormation clients, and an ``Aws`` holding them."""

    codepipeline: Any
    cloudformation: Any
    s3: Any = None  # a moto-backed S3 client (moto has S3 versions and metadata)
    cp: Stubber = field(init=False)
    cfn: Stubber = field(init=False)

    def __post_init__(self) -> None:
        self.cp = Stubber(self.codepipeline)
        self.cfn = Stubber(self.cloudformation)
        self.cp.activate()
        self.cfn.activate()

    @property
    def aws(self) -> Aws:
        clients = {"codepipeline": self.codepipeline, "cloudformation": self.cloudformation}
        if self.s3 is not None:
            clients["s3"] = self.s3
        return Aws(None, clients=clients, account=ACCOUNT, arn=APPROVER_ARN)

    def put_source(self, pipeline: str, metadata: dict[str, str] | None = None, *,
                   commit: str = COMMIT) -> tuple[str, str]:
        """Upload the stack's archive as the sync does (with its metadata); (key, version id)."""
        key = f"stacks/{pipeline.removeprefix('acme-')}.zip"
        if metadata is None:
            metadata = {"changegate-sha256": EMPTY_ZIP_SHA256, "changegate-commit": commit}
        response = self.s3.put_object(Bucket=SOURCE_BUCKET, Key=key, Body=b"PK\x05\x06" + bytes(18),
                                      ContentType="application/zip", Metadata=metadata)
        return key, response["VersionId"]

    def verify(self) -> None:
        self.cp.assert_no_pending_responses()
        self.cfn.assert_no_pending_responses()

    # request/response pairs, named after the calls
    def get_pipeline_state(self, pipeline: str, **kwargs: Any) -> None:
        self.cp.add_response("get_pipeline_state", state(pipeline, **kwargs), {"name": pipeline})

    def list_pipeline_executions(self, pipeline: str, n: int, **kwargs: Any) -> None:
        self.cp.add_response("list_pipeline_executions", executions(n, **kwargs),
                             {"pipelineName": pipeline, "maxResults": 1})

    def get_pipeline_execution(self, pipeline: str, n: int, **kwargs: Any) -> None:
        self.cp.add_response("get_pipeline_execution", execution(pipeline, n, **kwargs),
                             {"pipelineName": pipeline, "pipelineExecutionId": uuid_for(n)})

    def list_action_executions(self, pipeline: str, n: int, stack: str, *, commit: str = COMMIT,
                               metadata: dict[str, str] | None = None,
                               approvals: dict[str, tuple[str, str, str]] | None = None,
                               review: dict[str, str] | None = None) -> str:
        """Execution n's action executions; its Source read a version the sync wrote (commit ``commit``,
        or exactly ``metadata``) just now. Returns that version id."""
        key, version = self.put_source(pipeline, metadata, commit=commit)
        self.cp.add_response("list_action_executions",
                             action_executions(pipeline, n, stack, version=version, key=key,
                                               approvals=approvals, review=review),
                             {"pipelineName": pipeline, "filter": {"pipelineExecutionId": uuid_for(n)}})
        return version

    def describe_change_set(self, stack: str, name: str, **kwargs: Any) -> None:
        self.cfn.add_response("describe_change_set", change_set(stack, name, **kwargs),
                              {"StackName": stack, "ChangeSetName": name})

    def review_change_set(self, stack: str, name: str, *, policy: dict | None = None, **kwargs: Any) -> None:
        """What the review reads (review/changeset.py, changegate/reviewed.py): DescribeChangeSet with
        IncludePropertyValues, then the stack's policy (GetStackPolicy: no body when it has none)."""
        self.cfn.add_response("describe_change_set", change_set(stack, name, **kwargs),
                              {"StackName": stack, "ChangeSetName": name, "IncludePropertyValues": True})
        body = {"StackPolicyBody": json.dumps(policy)} if policy is not None else {}
        self.cfn.add_response("get_stack_policy", body, {"StackName": stack})
        # then CloudFormation's own checks of it (review/validations.py): none failed
        described = change_set(stack, name, **kwargs)
        self.cfn.add_response("describe_events", {"OperationEvents": []},
                              {"ChangeSetName": described.get("ChangeSetId") or name,
                               "Filters": {"FailedEvents": True}})
