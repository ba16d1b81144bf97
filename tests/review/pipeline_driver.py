"""Run a generated stack pipeline's actions as CodePipeline would, against moto and two stand-ins.

The engine of tests/review/test_pipeline_end_to_end.py (its docstring says what is real, what is
recorded and why). Three parts:

- :class:`FakeCodePipeline`: CodePipeline's execution, job and approval APIs, which moto 5.2 lacks
  (no GetPipelineState, PutApprovalResult, StopPipelineExecution, ListActionExecutions, job results).
  Each caller gets its own boto3 client (the identity CodePipeline records as ``updatedBy`` and in
  the trigger) behind a botocore ``Stubber``: every call is answered just in time from the fake's
  state, the request is checked against botocore's input shape and the answer, queued with
  ``Stubber.add_response``, against the output shape. A call the fake does not serve fails the test.
- :class:`RecordedCloudFormation`: moto's CloudFormation (stacks, change sets, ExecuteChangeSet,
  DescribeStacks, Get/SetStackPolicy), except the CONTENT of DescribeChangeSet, which is
  CloudFormation's recorded answer, and the drift APIs moto does not have.
- :class:`StackPipeline`: the pipeline's stages and actions from the generated bootstrap template,
  driven in RunOrder, each configuration resolved as CodePipeline resolves it.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import re
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore import xform_name
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from botocore.validate import validate_parameters

from generator import naming
from review import steps

REGION = "eu-west-1"
ACCOUNT = "123456789012"
PROJECT = "acme"
SOURCE_BUCKET = "acme-pipelines-sourcebucket-1a2b3c4d5e6f"
ARTIFACT_BUCKET = "acme-pipelines-artifactbucket-9f8e7d6c5b4a"
# Who calls CodePipeline, as CodePipeline records it (ExecutionTrigger.triggerDetail, updatedBy): the
# sync runs in CodeBuild as the sync role; the steps function as its role, session = function name.
SYNC_ARN = (f"arn:aws:sts::{ACCOUNT}:assumed-role/{naming.role_name(PROJECT, naming.SYNC_SUFFIX)}/"
            "AWSCodeBuild-0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b")
FUNCTION_NAME = naming.steps_function_name(PROJECT)
FUNCTION_ROLE = naming.role_name(PROJECT, naming.STEPS_PURPOSE)
FUNCTION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/{FUNCTION_ROLE}/{FUNCTION_NAME}"
EXECUTION_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{naming.role_name(PROJECT, 'cloudformation')}"
PIPELINE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{naming.role_name(PROJECT, 'pipelines')}"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:acme-changegate-approvals"
# "The submitted information didn't contain changes..." (review-step facts §1)
NO_CHANGES_REASON = ("The submitted information didn't contain changes. Submit different information "
                     "to create a change set.")
NO_CHANGES = None  # a recording: CloudFormation found nothing to change
MAX_CONFIGURATION_VALUE = 1000
VARIABLE = re.compile(r"#\{([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\}")


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def _validate_output(model: Any, response: dict) -> None:
    """Check ``response`` against the operation's output shape, as Stubber.add_response does."""
    validate_parameters({k: v for k, v in response.items() if k != "ResponseMetadata"}, model.output_shape)


class Clock:
    """The time of the pipeline's world: CodePipeline's timestamps and the steps function's ``now``."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def tick(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**(delta or {"seconds": 20}))
        return self.now

    def set(self, moment: dt.datetime) -> None:
        assert moment >= self.now, "time only moves forward"
        self.now = moment


# ---- the template's intrinsic functions, as the deployed bootstrap stack resolves them ----

REFS = {"SourceBucket": SOURCE_BUCKET, "ArtifactBucket": ARTIFACT_BUCKET,
        "StackPolicyFunction": FUNCTION_NAME, "ApprovalTopic": TOPIC_ARN,
        "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}
ATTS = {"CloudFormationExecutionRole.Arn": EXECUTION_ROLE_ARN, "PipelineRole.Arn": PIPELINE_ROLE_ARN,
        "ArtifactKey.Arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}


def resolve(value: Any) -> Any:
    """``Ref``/``Fn::GetAtt``/``Fn::Sub`` of the action configurations, with the physical ids above."""
    if isinstance(value, list):
        return [resolve(v) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        assert value["Ref"] in REFS, f"the test does not know the physical id of Ref {value['Ref']}"
        return REFS[value["Ref"]]
    if set(value) == {"Fn::GetAtt"}:
        name = ".".join(value["Fn::GetAtt"]) if isinstance(value["Fn::GetAtt"], list) else value["Fn::GetAtt"]
        assert name in ATTS, f"the test does not know Fn::GetAtt {name}"
        return ATTS[name]
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return re.sub(r"\$\{([^}]+)\}", lambda m: REFS[m.group(1)] if m.group(1) in REFS
                      else ATTS[m.group(1)], value["Fn::Sub"])
    assert not any(k.startswith("Fn::") for k in value), f"the test cannot resolve {value}"
    return {k: resolve(v) for k, v in value.items()}


def stack_pipeline_definition(template: dict, pipeline: str) -> dict:
    """The ``AWS::CodePipeline::Pipeline`` properties of ``pipeline``, intrinsic functions resolved."""
    found = [r["Properties"] for r in template["Resources"].values()
             if r["Type"] == "AWS::CodePipeline::Pipeline" and r["Properties"].get("Name") == pipeline]
    assert len(found) == 1, f"the template has {len(found)} pipelines named {pipeline}"
    return resolve(found[0])


def api_declaration(definition: dict) -> dict:
    """The pipeline as GetPipeline returns it: CloudFormation's property names in the API's spelling
    (``Stages`` -> ``stages``, ``ActionTypeId`` -> ``actionTypeId``); configuration maps kept as they are."""
    def convert(value: Any, key: str = "") -> Any:
        if isinstance(value, list):
            return [convert(v) for v in value]
        if not isinstance(value, dict) or key == "Configuration":
            return value
        return {k[0].lower() + k[1:]: convert(v, k) for k, v in value.items()}

    declaration = convert(definition)
    declaration["version"] = 1
    return declaration


# ---- CodePipeline ----

@dataclass
class ActionRun:
    """One action execution, what ListActionExecutions and GetPipelineState report of it."""

    execution_id: str
    stage: str
    action: str
    type_id: dict[str, str]
    configuration: dict[str, str]
    resolved: dict[str, str]
    started: dt.datetime
    updated: dt.datetime
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "InProgress"
    updated_by: str | None = None
    token: str | None = None  # an open approval's token
    result: dict[str, Any] = field(default_factory=dict)  # ActionExecutionResult
    variables: dict[str, str] = field(default_factory=dict)  # outputVariables
    input_artifacts: list[dict] = field(default_factory=list)
    output_artifacts: list[dict] = field(default_factory=list)
    namespace: str | None = None
    role_arn: str | None = None
    continuation: str | None = None  # the Lambda asked to be called again with this token
    invocations: int = 0

    def detail(self) -> dict[str, Any]:
        type_id = {k[0].lower() + k[1:]: v for k, v in self.type_id.items()}  # Category -> category
        action_input: dict[str, Any] = {"actionTypeId": type_id, "configuration": dict(self.configuration),
                                        "resolvedConfiguration": dict(self.resolved), "region": REGION,
                                        "inputArtifacts": copy.deepcopy(self.input_artifacts)}
        if self.namespace:
            action_input["namespace"] = self.namespace
        if self.role_arn:
            action_input["roleArn"] = self.role_arn
        output: dict[str, Any] = {"outputArtifacts": copy.deepcopy(self.output_artifacts)}
        if self.result:
            output["executionResult"] = copy.deepcopy(self.result)
        if self.variables:
            output["outputVariables"] = dict(self.variables)
        item = {"pipelineExecutionId": self.execution_id, "actionExecutionId": self.id, "pipelineVersion": 1,
                "stageName": self.stage, "actionName": self.action, "startTime": self.started,
                "lastUpdateTime": self.updated, "status": self.status, "input": action_input,
                "output": output}
        if self.updated_by:
            item["updatedBy"] = self.updated_by
        return item


@dataclass
class PipelineExecution:
    id: str
    pipeline: str
    started: dt.datetime
    updated: dt.datetime
    trigger: dict[str, str]
    source_revisions: list[dict[str, str]]
    variables: dict[str, str]
    status: str = "InProgress"
    stop_reason: str | None = None
    summary: str | None = None
    artifact_revisions: list[dict] = field(default_factory=list)


class FakeCodePipeline:
    """CodePipeline's executions, jobs and approvals for the pipelines it is given (see module docstring)."""

    def __init__(self, clock: Clock, pipelines: dict[str, dict]) -> None:
        self.clock = clock
        self.pipelines = pipelines  # name -> resolved definition
        self.executions: dict[str, PipelineExecution] = {}
        self.actions: list[ActionRun] = []
        self.jobs: dict[str, ActionRun] = {}
        self.calls: list[tuple[str, str, dict]] = []  # (identity, operation, request)
        self._clients: dict[str, Any] = {}

    def client(self, identity: str) -> Any:
        """A CodePipeline client whose calls CodePipeline attributes to ``identity``."""
        if identity not in self._clients:
            made = client("codepipeline")
            stubber = Stubber(made)

            def answer(params: dict, model: Any, **_: Any) -> None:
                validate_parameters(params, model.input_shape)
                self.calls.append((identity, model.name, copy.deepcopy(params)))
                handler = getattr(self, f"_{xform_name(model.name)}", None)
                assert handler is not None, f"the fake CodePipeline does not serve {model.name}"
                method = xform_name(model.name)
                try:
                    response = handler(identity, **params)
                except _ServiceError as exc:
                    stubber.add_client_error(method, service_error_code=exc.code, service_message=exc.message,
                                             http_status_code=400, expected_params=copy.deepcopy(params))
                    return
                stubber.add_response(method, response, copy.deepcopy(params))

            made.meta.events.register("provide-client-params.codepipeline.*", answer)
            stubber.activate()
            self._clients[identity] = made
        return self._clients[identity]

    def calls_of(self, operation: str) -> list[tuple[str, dict]]:
        return [(who, request) for who, op, request in self.calls if op == operation]

    def runs(self, execution_id: str) -> list[ActionRun]:
        return [a for a in self.actions if a.execution_id == execution_id]

    def run_of(self, execution_id: str, action: str) -> ActionRun | None:
        found = [a for a in self.runs(execution_id) if a.action == action]
        return found[-1] if found else None

    # -- the operations (each returns the response; raises _ServiceError for an error answer) --

    def _start_pipeline_execution(self, identity: str, *, name: str, variables: list | None = None,
                                  sourceRevisions: list | None = None, **_: Any) -> dict:
        if name not in self.pipelines:
            raise _ServiceError("PipelineNotFoundException", f"Account '{ACCOUNT}' does not have a pipeline "
                                                             f"with name '{name}'")
        declared = {v["Name"]: v.get("DefaultValue") for v in self.pipelines[name].get("Variables", [])}
        given = {v["name"]: v["value"] for v in variables or []}
        assert set(given) <= set(declared), f"variables {set(given) - set(declared)} are not declared"
        now = self.clock.tick()
        execution = PipelineExecution(
            id=str(uuid.uuid4()), pipeline=name, started=now, updated=now,
            trigger={"triggerType": "StartPipelineExecution", "triggerDetail": identity},
            source_revisions=copy.deepcopy(sourceRevisions or []), variables={**declared, **given})
        self.executions[execution.id] = execution
        return {"pipelineExecutionId": execution.id}

    def _stop_pipeline_execution(self, identity: str, *, pipelineName: str, pipelineExecutionId: str,
                                 abandon: bool = False, reason: str | None = None) -> dict:
        execution = self.executions.get(pipelineExecutionId)
        if execution is None or execution.pipeline != pipelineName:
            raise _ServiceError("PipelineExecutionNotFoundException", "no such execution")
        if execution.status != "InProgress":
            raise _ServiceError("PipelineExecutionNotStoppableException", f"execution is {execution.status}")
        # "Stop and wait": the execution is Stopping until its in-progress actions complete
        execution.status, execution.stop_reason = ("Stopped" if abandon else "Stopping"), reason
        execution.updated = self.clock.tick()
        return {"pipelineExecutionId": pipelineExecutionId}

    def _put_job_success_result(self, identity: str, *, jobId: str, continuationToken: str | None = None,
                                outputVariables: dict | None = None, executionDetails: dict | None = None,
                                **_: Any) -> dict:
        run = self._job(jobId)
        run.updated = self.clock.tick(seconds=5)
        if continuationToken:
            assert not outputVariables, ("outputVariables can be included only when there is no "
                                         "continuation token (API reference, PutJobSuccessResult)")
            run.continuation = continuationToken
            return {}
        run.status, run.continuation = "Succeeded", None
        run.variables = dict(outputVariables or {})
        run.result = {"externalExecutionId": jobId}
        if executionDetails and executionDetails.get("summary"):
            run.result["externalExecutionSummary"] = executionDetails["summary"]
        return {}

    def _put_job_failure_result(self, identity: str, *, jobId: str, failureDetails: dict, **_: Any) -> dict:
        run = self._job(jobId)
        run.status, run.continuation, run.updated = "Failed", None, self.clock.tick(seconds=5)
        run.result = {"externalExecutionId": jobId,
                      "errorDetails": {"code": failureDetails["type"], "message": failureDetails["message"]}}
        return {}

    def _job(self, job_id: str) -> ActionRun:
        run = self.jobs.pop(job_id, None)
        if run is None:
            raise _ServiceError("JobNotFoundException", f"job {job_id} is not in progress")
        return run

    def _get_pipeline(self, identity: str, *, name: str, version: int | None = None) -> dict:
        if name not in self.pipelines:
            raise _ServiceError("PipelineNotFoundException", f"Account '{ACCOUNT}' does not have a pipeline "
                                                             f"with name '{name}'")
        created = self.clock.now - dt.timedelta(days=30)
        return {"pipeline": api_declaration(self.pipelines[name]),
                "metadata": {"pipelineArn": f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:{name}",
                             "created": created, "updated": created}}

    def _get_pipeline_state(self, identity: str, *, name: str) -> dict:
        definition = self.pipelines[name]
        stages = []
        for stage in definition["Stages"]:
            runs = [a for a in self.actions if a.stage == stage["Name"]
                    and self.executions[a.execution_id].pipeline == name]
            state: dict[str, Any] = {"stageName": stage["Name"], "inboundTransitionState": {"enabled": True},
                                     "actionStates": []}
            if runs:
                latest = runs[-1].execution_id
                in_stage = [a for a in runs if a.execution_id == latest]
                status = ("Failed" if any(a.status == "Failed" for a in in_stage)
                          else "InProgress" if any(a.status == "InProgress" for a in in_stage)
                          else self._stage_status(latest))
                state["latestExecution"] = {"pipelineExecutionId": latest, "status": status}
            for action in stage["Actions"]:
                mine = [a for a in runs if a.action == action["Name"]]
                entry: dict[str, Any] = {"actionName": action["Name"]}
                if mine:
                    run = mine[-1]
                    latest_execution: dict[str, Any] = {"actionExecutionId": run.id, "status": run.status,
                                                        "lastStatusChange": run.updated}
                    if run.token and run.status == "InProgress":
                        latest_execution["token"] = run.token
                    if run.updated_by:
                        latest_execution["lastUpdatedBy"] = run.updated_by
                    if run.result.get("errorDetails"):
                        latest_execution["errorDetails"] = dict(run.result["errorDetails"])
                    entry["latestExecution"] = latest_execution
                state["actionStates"].append(entry)
            stages.append(state)
        created = self.clock.now - dt.timedelta(days=30)
        return {"pipelineName": name, "pipelineVersion": 1, "stageStates": stages, "created": created,
                "updated": created}

    def _stage_status(self, execution_id: str) -> str:
        status = self.executions[execution_id].status
        return {"Stopping": "Stopping", "Stopped": "Stopped"}.get(status, "Succeeded")

    def _put_approval_result(self, identity: str, *, pipelineName: str, stageName: str, actionName: str,
                             result: dict, token: str) -> dict:
        candidates = [a for a in self.actions if (a.stage, a.action) == (stageName, actionName)
                      and self.executions[a.execution_id].pipeline == pipelineName]
        run = next((a for a in reversed(candidates) if a.token == token), None)
        if run is None:
            raise _ServiceError("InvalidApprovalTokenException", "The approval token is not valid")
        if run.status != "InProgress":
            raise _ServiceError("ApprovalAlreadyCompletedException", "The approval was already completed")
        now = self.clock.tick()
        run.status = "Succeeded" if result["status"] == "Approved" else "Failed"
        run.updated, run.updated_by = now, identity
        run.result = {"externalExecutionSummary": result["summary"]}
        if run.status == "Failed":
            run.result["errorDetails"] = {"code": "ApprovalRejected", "message": result["summary"]}
        return {"approvedAt": now}

    def _list_action_executions(self, identity: str, *, pipelineName: str, filter: dict | None = None,
                                maxResults: int = 100, nextToken: str | None = None) -> dict:
        wanted = (filter or {}).get("pipelineExecutionId")
        found = [a.detail() for a in reversed(self.actions)  # newest first
                 if self.executions[a.execution_id].pipeline == pipelineName
                 and (wanted is None or a.execution_id == wanted)]
        return _page(found, "actionExecutionDetails", maxResults, nextToken)

    def _get_pipeline_execution(self, identity: str, *, pipelineName: str, pipelineExecutionId: str) -> dict:
        execution = self.executions.get(pipelineExecutionId)
        if execution is None or execution.pipeline != pipelineName:
            raise _ServiceError("PipelineExecutionNotFoundException", "no such execution")
        item: dict[str, Any] = {
            "pipelineName": pipelineName, "pipelineVersion": 1, "pipelineExecutionId": execution.id,
            "status": execution.status, "artifactRevisions": copy.deepcopy(execution.artifact_revisions),
            "variables": [{"name": k, "resolvedValue": v} for k, v in execution.variables.items()],
            "trigger": dict(execution.trigger), "executionMode": "QUEUED", "executionType": "STANDARD"}
        if execution.summary:
            item["statusSummary"] = execution.summary
        return {"pipelineExecution": item}

    def _list_pipeline_executions(self, identity: str, *, pipelineName: str, maxResults: int = 100,
                                  nextToken: str | None = None, **_: Any) -> dict:
        summaries = []
        for execution in sorted((e for e in self.executions.values() if e.pipeline == pipelineName),
                                key=lambda e: e.started, reverse=True):
            item: dict[str, Any] = {
                "pipelineExecutionId": execution.id, "status": execution.status,
                "startTime": execution.started, "lastUpdateTime": execution.updated,
                "sourceRevisions": [{"actionName": r["actionName"], "revisionId": r["revisionValue"]}
                                    for r in execution.source_revisions],
                "trigger": dict(execution.trigger), "executionMode": "QUEUED", "executionType": "STANDARD"}
            if execution.stop_reason:
                item["stopTrigger"] = {"reason": execution.stop_reason}
            if execution.summary:
                item["statusSummary"] = execution.summary
            summaries.append(item)
        return _page(summaries, "pipelineExecutionSummaries", maxResults, nextToken)


class _ServiceError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _page(items: list, key: str, size: int, token: str | None) -> dict:
    start = int(token) if token else 0
    out: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        out["nextToken"] = str(start + size)
    return out


# ---- CloudFormation ----

class RecordedCloudFormation:
    """moto's CloudFormation, with CloudFormation's recorded answers where moto cannot give them.

    - DescribeChangeSet: moto answers (the change set must exist there: name, id, stack, creation time,
      parameters, status); its ``Changes`` become the recording bound to that change set, and a
      "no changes" recording becomes CloudFormation's FAILED/UNAVAILABLE answer. moto's own diff must
      agree with the recording, or the test fails (a recording that does not describe the edit the
      test made would prove nothing): the same "no changes" verdict, the same resources with the same
      actions. moto 5.2's diff has nothing else (measured: a tag edit and a replacing rename both
      come back as a bare ``Modify`` without Replacement, Scope, Details or PolicyAction).
    - DescribeStacks: moto never sets LastUpdatedTime (measured: None after ExecuteChangeSet and
      UpdateStack); CloudFormation does on every update, and the stale guard compares it. The time
      of each successful ExecuteChangeSet/UpdateStack through this client is added.
    - DetectStackDrift, DescribeStackDriftDetectionStatus, DescribeStackResourceDrifts: moto raises
      NotImplementedError (measured); answered as a completed detection that finds every resource
      IN_SYNC, in botocore's shapes.
    - DescribeEvents (CloudFormation's early validations and hooks, review/validations.py): moto raises
      NotImplementedError (measured); answered as CloudFormation does when no check failed: no events.
      The change set must exist in moto.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.client = client("cloudformation")
        self.moto = client("cloudformation")  # the truth, without any of this
        self.recorded: dict[str, list | None] = {}  # change set id -> Changes (NO_CHANGES: none)
        self.pending: list | str | None = "unset"
        self.updated: dict[str, dt.datetime] = {}  # stack id -> LastUpdatedTime
        self.calls: list[str] = []
        self.drift_detections: dict[str, str] = {}
        self.drift_requests: list[dict] = []  # DetectStackDrift requests
        events = self.client.meta.events
        events.register("provide-client-params.cloudformation.*", self._remember)
        events.register("after-call.cloudformation.DescribeChangeSet", self._describe_change_set)
        events.register("after-call.cloudformation.DescribeStacks", self._describe_stacks)
        events.register("after-call.cloudformation.ExecuteChangeSet", self._stack_updated)
        events.register("after-call.cloudformation.UpdateStack", self._stack_updated)
        for operation in ("DetectStackDrift", "DescribeStackDriftDetectionStatus",
                          "DescribeStackResourceDrifts"):
            events.register(f"before-call.cloudformation.{operation}", self._drift)
        events.register("before-call.cloudformation.DescribeEvents", self._checks)

    def will_describe(self, changes: list | None) -> None:
        """What CloudFormation describes for the next change set created: ``Changes``, or NO_CHANGES."""
        self.pending = copy.deepcopy(changes)

    def bind(self, change_set_id: str) -> None:
        assert self.pending != "unset", "the test recorded no CloudFormation answer for this change set"
        self.recorded[change_set_id] = self.pending  # type: ignore[assignment]
        self.pending = "unset"

    def _remember(self, params: dict, model: Any, context: dict, **_: Any) -> None:
        self.calls.append(model.name)
        context["changegate_params"] = copy.deepcopy(params)

    def _describe_change_set(self, http_response: Any, parsed: dict, model: Any, **_: Any) -> None:
        if http_response.status_code >= 300:
            return
        change_set_id = parsed["ChangeSetId"]
        assert change_set_id in self.recorded, f"no recorded answer for change set {change_set_id}"
        recorded = self.recorded[change_set_id]
        moto_empty = (parsed.get("Status") == "FAILED"
                      and "didn't contain changes" in parsed.get("StatusReason", ""))
        assert moto_empty == (recorded is NO_CHANGES), (
            f"the recording ({'no changes' if recorded is NO_CHANGES else 'changes'}) does not match the "
            f"edit: moto {'finds no' if moto_empty else 'finds'} changes in the template and parameters")
        if recorded is not NO_CHANGES:
            # moto names the changed resources and actions (nothing more): the recording must agree
            seen = sorted((c["ResourceChange"]["LogicalResourceId"], c["ResourceChange"]["Action"])
                          for c in parsed.get("Changes", []))
            claimed = sorted((c["ResourceChange"]["LogicalResourceId"], c["ResourceChange"]["Action"])
                             for c in recorded)
            assert seen == claimed, f"the recording describes {claimed}, moto finds {seen}"
        parsed.pop("NextToken", None)
        if recorded is NO_CHANGES:
            parsed.update(Status="FAILED", ExecutionStatus="UNAVAILABLE", StatusReason=NO_CHANGES_REASON,
                          Changes=[])
        else:
            parsed["Changes"] = copy.deepcopy(recorded)
        _validate_output(model, parsed)

    def _describe_stacks(self, http_response: Any, parsed: dict, model: Any, **_: Any) -> None:
        if http_response.status_code >= 300:
            return
        for stack in parsed.get("Stacks", []):
            assert "LastUpdatedTime" not in stack or stack["StackId"] not in self.updated, \
                "moto now sets LastUpdatedTime: drop the overlay"
            if stack["StackId"] in self.updated:
                stack["LastUpdatedTime"] = self.updated[stack["StackId"]]
        _validate_output(model, parsed)

    def _stack_updated(self, http_response: Any, parsed: dict, context: dict, **_: Any) -> None:
        if http_response.status_code >= 300:
            return
        name = context["changegate_params"]["StackName"]
        stack_id = self.moto.describe_stacks(StackName=name)["Stacks"][0]["StackId"]
        self.updated[stack_id] = self.clock.tick()

    def _drift(self, model: Any, params: dict, context: dict, **_: Any) -> tuple[AWSResponse, dict]:
        request = context["changegate_params"]
        now = self.clock.tick(seconds=2)
        if model.name == "DetectStackDrift":
            detection = str(uuid.uuid4())
            self.drift_detections[detection] = request["StackName"]
            self.drift_requests.append(request)
            response: dict[str, Any] = {"StackDriftDetectionId": detection}
        else:
            if model.name == "DescribeStackDriftDetectionStatus":
                stack = self.drift_detections[request["StackDriftDetectionId"]]
            else:
                stack = request["StackName"]
            found = self.moto.describe_stacks(StackName=stack)["Stacks"][0]
            if model.name == "DescribeStackDriftDetectionStatus":
                response = {"StackId": found["StackId"],
                            "StackDriftDetectionId": request["StackDriftDetectionId"],
                            "StackDriftStatus": "IN_SYNC", "DetectionStatus": "DETECTION_COMPLETE",
                            "DriftedStackResourceCount": 0, "Timestamp": now}
            else:
                resources = self.moto.describe_stack_resources(StackName=stack)["StackResources"]
                response = {"StackResourceDrifts": [
                    {"StackId": found["StackId"], "LogicalResourceId": r["LogicalResourceId"],
                     "PhysicalResourceId": r.get("PhysicalResourceId", ""), "ResourceType": r["ResourceType"],
                     "StackResourceDriftStatus": "IN_SYNC", "Timestamp": now}
                    for r in resources if "LogicalResourceId" in r]}
        _validate_output(model, response)
        return AWSResponse(None, 200, {}, None), response


    def _checks(self, model: Any, params: dict, context: dict, **_: Any) -> tuple[AWSResponse, dict]:
        request = context["changegate_params"]
        assert request["Filters"] == {"FailedEvents": True}
        self.moto.describe_change_set(ChangeSetName=request["ChangeSetName"])  # raises if there is none
        response: dict[str, Any] = {"OperationEvents": []}
        _validate_output(model, response)
        return AWSResponse(None, 200, {}, None), response


# ---- driving a stack pipeline ----

Person = str  # an approver's ARN, as CodePipeline records it in updatedBy


@dataclass
class Plan:
    """What happens around one execution: who approves, what changes meanwhile, how time passes."""

    approvals: dict[str, Person] = field(default_factory=dict)  # action -> who approves it
    before: dict[str, Callable[[], None]] = field(default_factory=dict)  # action -> run just before it starts
    # (action, attempt) before the function is called again for a continuation token
    waiting: Callable[[str, int], None] | None = None
    max_continuations: int = 5


class StackPipeline:
    """One generated stack pipeline: its stages and actions in RunOrder, against the fakes and moto."""

    def __init__(self, name: str, definition: dict, *, codepipeline: FakeCodePipeline,
                 cloudformation: RecordedCloudFormation, s3: Any, clock: Clock) -> None:
        self.name = name
        self.definition = definition
        self.codepipeline = codepipeline
        self.cfn = cloudformation
        self.s3 = s3
        self.clock = clock
        self.artifacts: dict[str, dict[str, dict]] = {}  # execution -> artifact name -> s3location

    # -- variables --

    def resolve_text(self, text: str, execution: PipelineExecution) -> str:
        """``#{codepipeline.X}``, ``#{variables.X}``, ``#{<namespace>.X}``, as CodePipeline resolves them."""
        def one(match: re.Match) -> str:
            namespace, name = match.groups()
            if namespace == "codepipeline":
                assert name == "PipelineExecutionId", name
                return execution.id
            if namespace == "variables":
                return execution.variables[name]
            done = [r for r in self.codepipeline.runs(execution.id)
                    if r.namespace == namespace and r.status == "Succeeded"]
            assert done, f"#{{{namespace}.{name}}}: no action of namespace {namespace} succeeded"
            assert name in done[-1].variables, f"#{{{namespace}.{name}}}: the action did not output {name}"
            return done[-1].variables[name]

        return VARIABLE.sub(one, text)

    # -- the run --

    def run(self, execution_id: str, plan: Plan | None = None) -> PipelineExecution:
        """Run the execution's stages until it ends (or waits for a person the plan does not name)."""
        plan = plan or Plan()
        execution = self.codepipeline.executions[execution_id]
        for stage in self.definition["Stages"]:
            if not self._enter(stage, execution):
                continue
            for order in sorted({a.get("RunOrder", 1) for a in stage["Actions"]}):
                group = [a for a in stage["Actions"] if a.get("RunOrder", 1) == order]
                outcome = self._run_group(stage["Name"], group, execution, plan)
                if outcome == "waiting":
                    return execution
                if execution.status in ("Stopping", "Stopped"):
                    execution.status, execution.updated = "Stopped", self.clock.tick()
                    return execution
                if outcome == "failed":
                    execution.status, execution.updated = "Failed", self.clock.tick()
                    return execution
        execution.status, execution.updated = "Succeeded", self.clock.tick()
        return execution

    def _enter(self, stage: dict, execution: PipelineExecution) -> bool:
        """Evaluate the stage's BeforeEntry conditions (VariableCheck rules); False: the stage is skipped."""
        for condition in (stage.get("BeforeEntry") or {}).get("Conditions", []):
            for rule in condition["Rules"]:
                assert rule["RuleTypeId"]["Provider"] == "VariableCheck", rule
                config = rule["Configuration"]
                value = self.resolve_text(config["Variable"], execution)
                passed = {"EQ": value == config["Value"], "NE": value != config["Value"],
                          "CONTAINS": config["Value"] in value}[config["Operator"]]
                if not passed:
                    assert condition["Result"] == "SKIP", condition
                    return False
        return True

    def _start(self, stage: str, action: dict, execution: PipelineExecution) -> ActionRun:
        configuration = {k: str(v) for k, v in action.get("Configuration", {}).items()}
        resolved = {k: self.resolve_text(v, execution) for k, v in configuration.items()}
        # an action configuration value: "Maximum length of 1000" (API reference, ActionDeclaration);
        # whether CodePipeline counts before or after variables resolve is not documented: after, here
        too_long = {k: len(v) for k, v in resolved.items() if not 1 <= len(v) <= MAX_CONFIGURATION_VALUE}
        assert not too_long, f"{action['Name']}: resolved configuration values out of bounds: {too_long}"
        now = self.clock.tick()
        run = ActionRun(execution_id=execution.id, stage=stage, action=action["Name"],
                        type_id=dict(action["ActionTypeId"]), configuration=configuration, resolved=resolved,
                        started=now, updated=now, namespace=action.get("Namespace"),
                        role_arn=action.get("RoleArn"),
                        input_artifacts=[{"name": a["Name"],
                                          "s3location": self.artifacts[execution.id][a["Name"]]}
                                         for a in action.get("InputArtifacts", [])])
        self.codepipeline.actions.append(run)
        return run

    def _run_group(self, stage: str, group: list[dict], execution: PipelineExecution, plan: Plan) -> str:
        for action in group:
            if action["Name"] in plan.before:
                plan.before[action["Name"]]()
        started = [(action, self._start(stage, action, execution)) for action in group]
        # approvals open first; the functions beside them start at the same time (the waiver looks for them)
        for action, run in started:
            category = action["ActionTypeId"]["Category"]
            if category == "Approval":
                run.token = str(uuid.uuid4())
            elif category == "Source":
                self._source(action, run, execution)
            elif category == "Deploy":
                self._cloudformation(action, run, execution)
        for action, run in started:
            if action["ActionTypeId"]["Category"] == "Invoke":
                self._invoke(action, run, execution)
        for attempt in range(1, plan.max_continuations + 1):
            self._people_act(started, plan)
            waiting = [(a, r) for a, r in started if r.status == "InProgress" and r.continuation]
            if not waiting:
                break
            for action, run in waiting:
                self.clock.tick(minutes=1)  # CodePipeline calls the function again later
                if plan.waiting:
                    plan.waiting(action["Name"], attempt)
                self._invoke(action, run, execution)
        if any(r.status == "InProgress" for _, r in started):
            return "waiting"
        return "failed" if any(r.status == "Failed" for _, r in started) else "succeeded"

    def _people_act(self, started: list[tuple[dict, ActionRun]], plan: Plan) -> None:
        for action, run in started:
            person = plan.approvals.get(action["Name"])
            is_approval = action["ActionTypeId"]["Category"] == "Approval"
            if person is None or run.status != "InProgress" or not is_approval:
                continue
            self.codepipeline.client(person).put_approval_result(
                pipelineName=self.name, stageName=run.stage, actionName=run.action, token=run.token,
                result={"status": "Approved",
                        "summary": f"Reviewed in the console ({person.rsplit('/', 1)[-1]})"})

    def _source(self, action: dict, run: ActionRun, execution: PipelineExecution) -> None:
        """The S3 source action: exactly the object version the execution was started with, copied as the
        output artifact (output variables per the CodePipeline user guide, action-reference-S3)."""
        config = run.resolved
        pinned = [r["revisionValue"] for r in execution.source_revisions
                  if r["actionName"] == action["Name"] and r["revisionType"] == "S3_OBJECT_VERSION_ID"]
        extra = {"VersionId": pinned[0]} if pinned else {}
        obj = self.s3.get_object(Bucket=config["S3Bucket"], Key=config["S3ObjectKey"], **extra)
        body, version = obj["Body"].read(), obj["VersionId"]
        artifact = action["OutputArtifacts"][0]["Name"]
        key = f"{self.name[:20]}/{artifact[:10]}/{uuid.uuid4().hex[:7]}"
        self.s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=body)
        self.artifacts.setdefault(execution.id, {})[artifact] = {"bucket": ARTIFACT_BUCKET, "key": key}
        run.output_artifacts = [{"name": artifact, "s3location": {"bucket": ARTIFACT_BUCKET, "key": key}}]
        run.result = {"externalExecutionId": version, "externalExecutionSummary": config["S3ObjectKey"]}
        run.variables = {"ETag": obj["ETag"].strip('"'), "VersionId": version,
                         "ObjectKey": config["S3ObjectKey"]}
        run.status, run.updated = "Succeeded", self.clock.tick()
        execution.artifact_revisions = [{"name": artifact, "revisionId": version,
                                         "revisionSummary": config["S3ObjectKey"], "created": run.updated}]

    def _artifact_file(self, execution: PipelineExecution, reference: str) -> bytes:
        """``SourceArtifact::template.yaml``: a file inside one of the execution's artifacts."""
        artifact, _, path = reference.partition("::")
        location = self.artifacts[execution.id][artifact]
        data = self.s3.get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.read(path)

    def _cloudformation(self, action: dict, run: ActionRun, execution: PipelineExecution) -> None:
        config = run.resolved
        try:
            if config["ActionMode"] == "CHANGE_SET_REPLACE":
                run.result = self._replace_change_set(config, execution)
            elif config["ActionMode"] == "CHANGE_SET_EXECUTE":
                run.result = self._execute_change_set(config)
            else:
                raise AssertionError(f"the test does not run ActionMode {config['ActionMode']}")
            run.status = "Succeeded"
        except (ClientError, _ActionFailed) as exc:
            run.status = "Failed"
            run.result = {"errorDetails": {"code": "JobFailed", "message": str(exc)[:5000]}}
        run.updated = self.clock.tick(minutes=1)

    def _replace_change_set(self, config: dict[str, str], execution: PipelineExecution) -> dict:
        """CHANGE_SET_REPLACE: "Creates the change set if it doesn't exist based on the stack name and
        template that you submit. If the change set exists, AWS CloudFormation deletes it, and then
        creates a new one" (CodePipeline user guide, action-reference-CloudFormation)."""
        stack, name = config["StackName"], config["ChangeSetName"]
        template = self._artifact_file(execution, config["TemplatePath"]).decode("utf-8")
        settings = (json.loads(self._artifact_file(execution, config["TemplateConfiguration"]))
                    if config.get("TemplateConfiguration") else {})
        try:
            status = self.cfn.moto.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        except ClientError:
            status = None
        if status is not None:
            existing = self.cfn.moto.list_change_sets(StackName=stack)["Summaries"]
            if any(c["ChangeSetName"] == name for c in existing):
                self.cfn.client.delete_change_set(StackName=stack, ChangeSetName=name)
        # The template goes by TemplateURL, an object in the artifact bucket (templates up to 1 MB). Also
        # because moto 5.2 refuses a TemplateBody identical to the stack's, with the same parameters
        # (ValidationError "No updates are to be performed.", measured), where CloudFormation creates the
        # change set and marks it FAILED "didn't contain changes" (review-step facts §1); by TemplateURL,
        # moto answers as CloudFormation does.
        key = f"{self.name[:20]}/{execution.id}/template.yaml"
        self.s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=template.encode("utf-8"))
        request: dict[str, Any] = {
            "StackName": stack, "ChangeSetName": name,
            "TemplateURL": f"https://{ARTIFACT_BUCKET}.s3.{REGION}.amazonaws.com/{key}",
            "ChangeSetType": "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE",
            "Parameters": [{"ParameterKey": k, "ParameterValue": v}
                           for k, v in settings.get("Parameters", {}).items()],
            "Tags": [{"Key": k, "Value": v} for k, v in settings.get("Tags", {}).items()]}
        if config.get("Capabilities"):
            request["Capabilities"] = config["Capabilities"].split(",")
        if config.get("RoleArn"):
            request["RoleARN"] = config["RoleArn"]
        created = self.cfn.client.create_change_set(**request)
        self.cfn.bind(created["Id"])
        found = self.cfn.moto.describe_change_set(StackName=stack, ChangeSetName=name)
        # An empty change set is FAILED with CloudFormation's "no changes" reason; whether CodePipeline's
        # action then succeeds is not documented (review-step facts §1): the design takes it as success
        # and leaves the verdict to the Review action.
        empty = "didn't contain changes" in found.get("StatusReason", "")
        if found["Status"] != "CREATE_COMPLETE" and not empty:
            raise _ActionFailed(f"change set {name}: {found['Status']} {found.get('StatusReason')}")
        return {"externalExecutionId": created["Id"], "externalExecutionSummary": f"change set {name}"}

    def _execute_change_set(self, config: dict[str, str]) -> dict:
        stack, name = config["StackName"], config["ChangeSetName"]
        self.cfn.client.execute_change_set(StackName=stack, ChangeSetName=name)
        status = self.cfn.moto.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if not status.endswith("_COMPLETE") or "ROLLBACK" in status:
            raise _ActionFailed(f"stack {stack} is {status} after executing {name}")
        return {"externalExecutionSummary": f"stack {stack}: {status}"}

    def _invoke(self, action: dict, run: ActionRun, execution: PipelineExecution) -> None:
        """Invoke the steps function as CodePipeline's Lambda invoke action does (action-reference-Lambda)."""
        assert run.resolved["FunctionName"] == FUNCTION_NAME, run.resolved
        job_id = str(uuid.uuid4())
        self.codepipeline.jobs[job_id] = run
        data: dict[str, Any] = {
            "actionConfiguration": {"configuration": dict(run.resolved)},
            "inputArtifacts": [{"name": a["name"], "revision": None,
                                "location": {"type": "S3",
                                             "s3Location": {"bucketName": a["s3location"]["bucket"],
                                                            "objectKey": a["s3location"]["key"]}}}
                               for a in run.input_artifacts],
            "outputArtifacts": [],
            "artifactCredentials": {"accessKeyId": "ASIAARTIFACTS", "secretAccessKey": "never-logged",
                                    "sessionToken": "never-logged"}}
        if run.continuation:
            data["continuationToken"] = run.continuation
        event = {"CodePipeline.job": {"id": job_id, "accountId": ACCOUNT, "data": data}}
        run.invocations += 1
        steps.run(event, codepipeline=self.codepipeline.client(FUNCTION_ARN), cloudformation=self.cfn.client,
                  artifact_s3=lambda credentials: self.s3, now=self.clock.now)
        assert job_id not in self.codepipeline.jobs, f"{action['Name']}: the function reported no result"


class _ActionFailed(Exception):
    pass
