"""Where each of the project's pipelines stands: state, current stage, pending approval, last run.

CodePipeline's console shows one pipeline at a time; this reads all of them (every page of
ListPipelines, filtered to the project by name) into plain rows a command renders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from changegate.aws import AccessDeniedError, CredentialsError, aws_call, error_code, paginate
from generator.errors import AwsError
from generator.naming import PIPELINE_VARIABLES, change_set_name_for, folder_of_pipeline

log = logging.getLogger(__name__)

SOURCE_ACTION = "Source"
PLAN_MODE = "CHANGE_SET_REPLACE"


@dataclass(frozen=True)
class PendingApproval:
    """A manual approval waiting for a decision: what ``PutApprovalResult`` needs, and since when."""

    pipeline: str
    stage: str
    action: str
    token: str
    execution_id: str
    since: datetime | None = None


@dataclass(frozen=True)
class Execution:
    execution_id: str
    status: str  # InProgress | Succeeded | Failed | Stopped | Stopping | Superseded | Cancelled
    started: datetime | None = None
    ended: datetime | None = None  # None while in progress
    object_version: str | None = None  # the S3 version of the stack's archive it runs on
    commit: str | None = None
    author: str | None = None
    subject: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"execution_id": self.execution_id, "status": self.status,
                "started": _iso(self.started), "ended": _iso(self.ended),
                "object_version": self.object_version, "commit": self.commit,
                "author": self.author, "subject": self.subject}


@dataclass(frozen=True)
class PipelineState:
    """What GetPipelineState says: the stage an execution is in, and a pending approval."""

    pipeline: str
    current_stage: str | None
    stage_status: str | None
    pending: PendingApproval | None
    running: tuple[str, ...]  # execution ids in progress (or queued), in stage order


def list_project_pipelines(codepipeline: Any, project: str) -> dict[str, str]:
    """folder -> pipeline name, for every pipeline of the project (all pages of ListPipelines)."""
    found = {}
    with aws_call("codepipeline:ListPipelines", "*"):
        for summary in paginate(codepipeline, "list_pipelines", "pipelines"):
            folder = folder_of_pipeline(project, summary["name"])
            if folder is not None:
                found[folder] = summary["name"]
    return found


def read_state(codepipeline: Any, pipeline: str) -> PipelineState:
    with aws_call("codepipeline:GetPipelineState", f"pipeline {pipeline}"):
        try:
            response = codepipeline.get_pipeline_state(name=pipeline)
        except ClientError as exc:
            if error_code(exc) == "PipelineNotFoundException":
                raise AwsError(f"PipelineNotFoundException: no pipeline {pipeline} in this account and "
                               "region; is the bootstrap stack deployed (changegate deploy), and are "
                               "--region/--profile right?") from exc
            raise
    return parse_state(pipeline, response)


def parse_state(pipeline: str, response: dict[str, Any]) -> PipelineState:
    stages = response.get("stageStates", [])
    pending = None
    running: list[str] = []
    active, troubled = [], []
    for stage in stages:
        latest = stage.get("latestExecution") or {}
        if latest.get("status") == "InProgress":
            active.append(stage)
            running.append(latest["pipelineExecutionId"])
        elif latest.get("status") in ("Failed", "Stopped", "Stopping", "Cancelled"):
            troubled.append(stage)
        # executions queued at this stage's entry (QUEUED mode)
        running.extend(e["pipelineExecutionId"] for e in stage.get("inboundExecutions", [])
                       if e.get("status") == "InProgress")
        for action in stage.get("actionStates", []):
            execution = action.get("latestExecution") or {}
            # only a manual approval carries a token; it is open while InProgress
            if execution.get("status") == "InProgress" and execution.get("token") and latest:
                pending = PendingApproval(
                    pipeline=pipeline, stage=stage["stageName"], action=action["actionName"],
                    token=execution["token"], execution_id=latest["pipelineExecutionId"],
                    since=execution.get("lastStatusChange"))
    # the furthest stage something runs in; else where the last run stopped; else idle
    current = (active or troubled or [None])[-1]
    return PipelineState(pipeline, current and current.get("stageName"),
                         current and current["latestExecution"]["status"], pending,
                         tuple(dict.fromkeys(running)))


def last_execution(codepipeline: Any, pipeline: str) -> Execution | None:
    """The newest execution (one ListPipelineExecutions page of one), with its commit variables."""
    with aws_call("codepipeline:ListPipelineExecutions", f"pipeline {pipeline}"):
        summaries = codepipeline.list_pipeline_executions(
            pipelineName=pipeline, maxResults=1).get("pipelineExecutionSummaries", [])
    if not summaries:
        return None
    summary = summaries[0]
    execution_id = summary["pipelineExecutionId"]
    status = summary.get("status", "")
    version = next((r.get("revisionId") for r in summary.get("sourceRevisions", [])
                    if r.get("actionName") == SOURCE_ACTION), None)
    variables = execution_variables(codepipeline, pipeline, execution_id)
    commit, author, subject = (variables.get(name) for name in PIPELINE_VARIABLES)
    return Execution(execution_id=execution_id, status=status, started=summary.get("startTime"),
                     ended=None if status in ("InProgress", "Stopping") else summary.get("lastUpdateTime"),
                     object_version=version, commit=commit, author=author, subject=subject)


def execution_variables(codepipeline: Any, pipeline: str, execution_id: str) -> dict[str, str]:
    """The pipeline variables the sync set on this execution (CommitId, CommitAuthor, CommitSubject)."""
    with aws_call("codepipeline:GetPipelineExecution", f"pipeline {pipeline} execution {execution_id}"):
        execution = codepipeline.get_pipeline_execution(
            pipelineName=pipeline, pipelineExecutionId=execution_id)["pipelineExecution"]
    return {v["name"]: v.get("resolvedValue", "") for v in execution.get("variables", [])}


def planned_change_set(codepipeline: Any, project: str, pipeline: str, execution_id: str,
                       default_stack: str) -> tuple[str, str]:
    """(stack, change set name) the Plan action of this execution created.

    Read from the action's resolved configuration (ListActionExecutions), so what is shown is
    what that execution really made; the naming convention is the fallback when it is missing.
    """
    with aws_call("codepipeline:ListActionExecutions", f"pipeline {pipeline} execution {execution_id}"):
        for detail in paginate(codepipeline, "list_action_executions", "actionExecutionDetails",
                               pipelineName=pipeline, filter={"pipelineExecutionId": execution_id}):
            action_input = detail.get("input", {})
            provider = action_input.get("actionTypeId", {}).get("provider")
            resolved = action_input.get("resolvedConfiguration") or action_input.get("configuration") or {}
            if provider == "CloudFormation" and resolved.get("ActionMode") == PLAN_MODE:
                stack, name = resolved.get("StackName"), resolved.get("ChangeSetName")
                if stack and name and "#{" not in name:
                    return stack, name
    return default_stack, change_set_name_for(project, execution_id)


@dataclass(frozen=True)
class PipelineStatus:
    """One row of ``changegate status``."""

    folder: str
    stack: str
    pipeline: str | None
    note: str | None = None  # "no pipeline yet" | "stack removed from stacks/"
    state: PipelineState | None = None
    last: Execution | None = None
    change_summary: Any = None  # ChangeSummary of the pending approval's change set, when known
    change_set: str | None = None
    error: str | None = None  # a per-pipeline read failure, shown in its row

    @property
    def pending(self) -> PendingApproval | None:
        return self.state.pending if self.state else None

    @property
    def in_progress(self) -> bool:
        return bool(self.state and self.state.running) or (self.last is not None
                                                             and self.last.status == "InProgress")

    @property
    def failed(self) -> bool:
        return self.last is not None and self.last.status == "Failed"


@dataclass(frozen=True)
class StatusReport:
    rows: tuple[PipelineStatus, ...]

    @property
    def pending(self) -> int:
        return sum(r.pending is not None for r in self.rows)

    @property
    def failed(self) -> int:
        return sum(r.failed for r in self.rows)

    @property
    def in_progress(self) -> int:
        return sum(r.in_progress for r in self.rows)


ChangeSummaryReader = Callable[[str, str], Any]


def read_status(codepipeline: Any, project: str, stacks: dict[str, str], *,
                only: Iterable[str] | None = None, change_summary: ChangeSummaryReader | None = None,
                workers: int = 8) -> StatusReport:
    """A row per stack folder (``stacks``: folder -> stack name) and per orphaned pipeline.

    ``change_summary(stack, change_set)`` summarises a pending approval's change set. ``workers``
    reads pipelines in parallel (boto3 clients are thread-safe); tests use 1.
    """
    pipelines = list_project_pipelines(codepipeline, project)
    folders = sorted(set(stacks) | set(pipelines))
    if only is not None:
        wanted = set(only)
        folders = [f for f in folders if f in wanted]

    def one(folder: str) -> PipelineStatus:
        stack = stacks.get(folder) or f"{project}-{folder}"
        pipeline = pipelines.get(folder)
        if pipeline is None:
            return PipelineStatus(folder, stack, None, note="no pipeline yet")
        note = None if folder in stacks else "stack removed from stacks/"
        try:
            state = read_state(codepipeline, pipeline)
            last = last_execution(codepipeline, pipeline)
            summary = change_set = None
            if state.pending is not None and change_summary is not None:
                stack_name, change_set = planned_change_set(codepipeline, project, pipeline,
                                                            state.pending.execution_id, stack)
                summary = change_summary(stack_name, change_set)
        except (AccessDeniedError, CredentialsError):
            raise  # the same for every pipeline: one clear message, not 150 rows of it
        except AwsError as exc:
            return PipelineStatus(folder, stack, pipeline, note=note, error=str(exc))
        return PipelineStatus(folder, stack, pipeline, note=note, state=state, last=last,
                              change_summary=summary, change_set=change_set)

    if workers <= 1:
        rows = [one(folder) for folder in folders]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(one, folders))
    return StatusReport(tuple(rows))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
