"""CodePipeline's records of one stack pipeline's executions, in the API's shapes, for tests.

ListActionExecutions' ``ActionExecutionDetail`` (Source, CreateChangeSet, Review, the approvals,
ExecuteChangeSet) and ListPipelineExecutions' ``PipelineExecutionSummary``, as a generated stack
pipeline produces them. tests/review (the recorder's reading, review/history.py) and
tests/changegate (``changegate audit``) build their histories with the same builders, so both
read the same shapes. Importable from every test folder: pytest puts tests/ on sys.path for
tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from generator import naming

EXECUTION_ID_VARIABLE = "#{codepipeline.PipelineExecutionId}"
CHANGE_SET_NAME = f"acme-{EXECUTION_ID_VARIABLE}"


def uuid_for(n: int) -> str:
    """Execution ``n``'s id."""
    return f"{n:08x}-1111-4222-8333-444455556666"


@dataclass(frozen=True)
class Records:
    pipeline: str
    stack: str
    key: str  # the stack's archive in the source bucket
    source_bucket: str
    artifact_bucket: str
    sync_arn: str  # who starts the executions (the trigger's detail)
    started: Callable[[int], datetime]  # when execution n started

    def detail(self, n: int, stage: str, action: str, category: str, provider: str,
               configuration: dict | None = None, *, status: str = "Succeeded", minutes: int = 0,
               output: dict | None = None, updated_by: str | None = None) -> dict[str, Any]:
        """One ActionExecutionDetail of execution ``n``."""
        configuration = configuration or {}
        resolved = {k: v.replace(EXECUTION_ID_VARIABLE, uuid_for(n)) for k, v in configuration.items()}
        start = self.started(n) + timedelta(minutes=minutes)
        item = {"pipelineExecutionId": uuid_for(n), "actionExecutionId": f"{n}-{action}",
                "pipelineVersion": 3, "stageName": stage, "actionName": action, "startTime": start,
                "lastUpdateTime": start + timedelta(minutes=1), "status": status,
                "input": {"actionTypeId": {"category": category, "owner": "AWS", "provider": provider,
                                           "version": "1"},
                          "configuration": configuration, "resolvedConfiguration": resolved,
                          "region": "us-east-1"},
                "output": output or {}}
        if updated_by:
            item["updatedBy"] = updated_by
        return item

    def source(self, n: int, version: str) -> dict[str, Any]:
        return self.detail(
            n, naming.SOURCE_STAGE, naming.SOURCE_ACTION_NAME, "Source", "S3",
            {"S3Bucket": self.source_bucket, "S3ObjectKey": self.key, "PollForSourceChanges": "false"},
            output={"outputArtifacts": [{"name": "SourceArtifact", "s3location": {
                "bucket": self.artifact_bucket, "key": f"{self.pipeline}/SourceArti/{n}"}}],
                "executionResult": {"externalExecutionId": version, "externalExecutionSummary": self.key},
                "outputVariables": {"ETag": "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", "VersionId": version}})

    def plan(self, n: int, status: str = "Succeeded") -> dict[str, Any]:
        return self.detail(n, naming.CHANGE_STAGE, naming.PLAN_ACTION, "Deploy", "CloudFormation",
                           {"ActionMode": "CHANGE_SET_REPLACE", "StackName": self.stack,
                            "ChangeSetName": CHANGE_SET_NAME,
                            "TemplatePath": "SourceArtifact::template.yaml"},
                           status=status, minutes=1)

    def review(self, n: int, summary: str, risk: str = "high",
               change_set_id: str | None = None) -> dict[str, Any]:
        """The Review action's outputs; ``ChangeSetId`` only when given (older reviews lack it)."""
        variables = {"HasChanges": "true", "RiskTier": risk, "Summary": summary}
        if change_set_id is not None:
            variables["ChangeSetId"] = change_set_id
        return self.detail(n, naming.CHANGE_STAGE, naming.REVIEW_ACTION, "Invoke", "Lambda",
                           {"FunctionName": "acme-changegate-steps"}, minutes=2,
                           output={"executionResult": {"externalExecutionSummary": summary},
                                   "outputVariables": variables})

    def approval(self, n: int, status: str, by: str | None = None, comment: str | None = None,
                 action: str = naming.APPROVE_ACTION, minutes: int = 3) -> dict[str, Any]:
        result = {"externalExecutionSummary": comment} if comment else {}
        return self.detail(n, naming.CHANGE_STAGE, action, "Approval", "Manual",
                           {"CustomData": f"Review change set {CHANGE_SET_NAME}"},
                           status=status, minutes=minutes, updated_by=by,
                           output={"executionResult": result} if result else {})

    def execute(self, n: int, status: str = "Succeeded", message: str | None = None) -> dict[str, Any]:
        output = ({"executionResult": {"errorDetails": {"code": "JobFailed", "message": message}}}
                  if message else {})
        return self.detail(n, naming.CHANGE_STAGE, naming.EXECUTE_ACTION, "Deploy", "CloudFormation",
                           {"ActionMode": "CHANGE_SET_EXECUTE", "StackName": self.stack,
                            "ChangeSetName": CHANGE_SET_NAME},
                           status=status, minutes=40, output=output)

    def summary(self, n: int, status: str, version: str, *, trigger: dict | None = None,
                stop_reason: str | None = None) -> dict[str, Any]:
        """One PipelineExecutionSummary."""
        item = {"pipelineExecutionId": uuid_for(n), "status": status, "startTime": self.started(n),
                "executionMode": "QUEUED", "executionType": "STANDARD",
                "sourceRevisions": [{"actionName": naming.SOURCE_ACTION_NAME, "revisionId": version,
                                     "revisionSummary": self.key}],
                "trigger": trigger or {"triggerType": "StartPipelineExecution",
                                       "triggerDetail": self.sync_arn}}
        if status not in ("InProgress", "Stopping"):
            item["lastUpdateTime"] = self.started(n) + timedelta(minutes=45)
        if stop_reason:
            item["stopTrigger"] = {"reason": stop_reason}
        return item
