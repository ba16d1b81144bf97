"""Where each of the project's pipelines stands: state, current action, pending approval, last run.

CodePipeline's console shows one pipeline at a time; this reads all of them (every page of
ListPipelines, filtered to the project) into plain rows a command renders.

A stack pipeline has two stages (generator/bootstrap/pipeline.py, names in generator/naming.py): ``Source``,
then ONE ``Change`` stage whose actions run in order (naming.CHANGE_RUN_ORDER): CreateChangeSet,
Review, then Approve and SecondApproval side by side (with WaiveSecondApproval), CheckChangeSet,
possibly WaitForWindow, ApplyStackPolicy, ExecuteChangeSet, VerifyStackPolicy. So "where an execution
is" is a stage AND an action (``Change/Approve``), two approvals may be open at once (``pendings``),
and executions queued behind it wait to enter the Change stage.

Which pipelines are the project's: ``<project>-<folder>`` for a folder of the repository (project
names hold no hyphen, so ``<project>-`` is no other project's prefix); a pipeline of that form
without a folder counts only when it has the stack pipeline's stages (Source, Change), so a
hand-made ``acme-tools`` pipeline in the same account is never listed as ``acme``'s.
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
from generator.naming import (
    APPROVAL_ACTIONS,
    CHANGE_STAGE,
    PIPELINE_VARIABLES,
    SOURCE_ACTION_NAME,
    SOURCE_STAGE,
    change_set_name_for,
    folder_of_pipeline,
    pipeline_name,
)
from review import history

log = logging.getLogger(__name__)

PLAN_MODE = "CHANGE_SET_REPLACE"
# "When a stage is skipped, the stage status is Skipped, and the action status is Didn't Run"
# (CodePipeline user guide, stage-conditions). The Change stage's entry condition skips every run
# the sync did not start (CommitId "unknown": a pipeline's creation run, a console "Release change").
SKIPPED = "Skipped"
SKIPPED_NOTE = "skipped: not started by the sync"
TROUBLED = ("Failed", "Stopped", "Stopping", "Cancelled")


class PipelineNotFoundError(AwsError):
    """The pipeline does not exist (in this account and region)."""


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
    """What GetPipelineState says: where executions are, what waits, and a pending approval."""

    pipeline: str
    current_stage: str | None
    stage_status: str | None
    pending: PendingApproval | None
    running: tuple[str, ...]  # execution ids in progress (or queued), in stage order
    current_action: str | None = None  # the action running (or failed) in current_stage
    # executions waiting to enter a stage (QUEUED mode): (execution id, stage name)
    queued: tuple[tuple[str, str], ...] = ()
    skipped: str | None = None  # the newest execution whose Change stage was skipped
    stages: tuple[str, ...] = ()  # the pipeline's stage names, in order
    positions: tuple[tuple[str, str], ...] = ()  # (execution id, "Change/Approve") in a stage
    # every open approval (Approve and SecondApproval run side by side); ``pending`` is the first
    pendings: tuple[PendingApproval, ...] = ()

    @property
    def where(self) -> str | None:
        """``Change/Approve``: the stage and the action the furthest execution is at."""
        if self.current_stage is None:
            return None
        return f"{self.current_stage}/{self.current_action}" if self.current_action else self.current_stage

    @property
    def is_stack_pipeline(self) -> bool:
        """True for the shape changegate generates for a stack (Source, then Change)."""
        return self.stages[:2] == (SOURCE_STAGE, CHANGE_STAGE)

    def position(self, execution_id: str) -> str:
        """Where one execution is: ``at Change/Approve`` or ``queued before Change``."""
        for found, where in self.positions:
            if found == execution_id:
                return f"at {where}"
        for found, stage in self.queued:
            if found == execution_id:
                return f"queued before {stage}"
        return "in progress"


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
                raise PipelineNotFoundError(
                    f"PipelineNotFoundException: no pipeline {pipeline} in this account and region; is "
                    "the bootstrap stack deployed (changegate deploy), and are --region/--profile right?"
                ) from exc
            raise
    return parse_state(pipeline, response)


def parse_state(pipeline: str, response: dict[str, Any]) -> PipelineState:
    stages = response.get("stageStates", [])
    pendings: list[PendingApproval] = []
    running: list[str] = []
    queued: list[tuple[str, str]] = []
    positions: list[tuple[str, str]] = []
    active, troubled = [], []
    skipped = None
    for stage in stages:
        name = stage.get("stageName", "")
        latest = stage.get("latestExecution") or {}
        status = latest.get("status")
        if status == "InProgress":
            active.append(stage)
            running.append(latest["pipelineExecutionId"])
            action = _action_with(stage, ("InProgress",))
            positions.append((latest["pipelineExecutionId"], f"{name}/{action}" if action else name))
        elif status in TROUBLED:
            troubled.append(stage)
        elif status == SKIPPED and name == CHANGE_STAGE:
            skipped = latest.get("pipelineExecutionId")
        # executions waiting to enter this stage (QUEUED mode); older responses carry only one
        inbound = list(stage.get("inboundExecutions") or [])
        if stage.get("inboundExecution"):
            inbound.append(stage["inboundExecution"])
        for waiting in inbound:
            if waiting.get("status") == "InProgress":
                queued.append((waiting["pipelineExecutionId"], name))
                running.append(waiting["pipelineExecutionId"])
        for action in stage.get("actionStates", []):
            execution = action.get("latestExecution") or {}
            # only a manual approval carries a token; it is open while InProgress, in a stage the
            # execution is still in (the stage lock: the stage's latest execution is the one waiting)
            if execution.get("status") == "InProgress" and execution.get("token") and status == "InProgress":
                pendings.append(PendingApproval(
                    pipeline=pipeline, stage=name, action=action["actionName"],
                    token=execution["token"], execution_id=latest["pipelineExecutionId"],
                    since=execution.get("lastStatusChange")))
    # Approve before SecondApproval (the order people decide them in), whatever the listing's order
    pendings.sort(key=lambda p: APPROVAL_ACTIONS.index(p.action) if p.action in APPROVAL_ACTIONS else 99)
    pending = pendings[0] if pendings else None
    # the furthest stage something runs in; else where the last run stopped; else idle
    current = (active or troubled or [None])[-1]
    action = None
    if current is not None:
        wanted = ("InProgress",) if current in active else ("Failed", "Abandoned")
        action = _action_with(current, wanted)
    return PipelineState(pipeline, current and current.get("stageName"),
                         current and current["latestExecution"]["status"], pending,
                         tuple(dict.fromkeys(running)), current_action=action,
                         queued=tuple(dict.fromkeys(queued)), skipped=skipped,
                         stages=tuple(stage.get("stageName", "") for stage in stages),
                         positions=tuple(positions), pendings=tuple(pendings))


def _action_with(stage: dict[str, Any], statuses: tuple[str, ...]) -> str | None:
    """The first action of ``stage`` (in RunOrder, as GetPipelineState lists them) in ``statuses``."""
    for action in stage.get("actionStates", []):
        if (action.get("latestExecution") or {}).get("status") in statuses:
            return action.get("actionName")
    return None


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
                    if r.get("actionName") == SOURCE_ACTION_NAME), None)
    variables = execution_variables(codepipeline, pipeline, execution_id)
    commit, author, subject = (variables.get(name) for name in PIPELINE_VARIABLES)
    return Execution(execution_id=execution_id, status=status, started=summary.get("startTime"),
                     ended=None if status in ("InProgress", "Stopping") else summary.get("lastUpdateTime"),
                     object_version=version, commit=commit, author=author, subject=subject)


def execution_variables(codepipeline: Any, pipeline: str, execution_id: str) -> dict[str, str]:
    """The pipeline variables set on this execution (CommitId, CommitAuthor, CommitSubject).

    Whoever starts an execution sets them: shown to approvers only through changegate/origin.py,
    which checks them against what the sync wrote.
    """
    execution = get_execution(codepipeline, pipeline, execution_id)
    return {v["name"]: v.get("resolvedValue", "") for v in execution.get("variables", [])}


def get_execution(codepipeline: Any, pipeline: str, execution_id: str) -> dict[str, Any]:
    """GetPipelineExecution's ``pipelineExecution``: variables, trigger, artifact revisions."""
    with aws_call("codepipeline:GetPipelineExecution", f"pipeline {pipeline} execution {execution_id}"):
        return codepipeline.get_pipeline_execution(
            pipelineName=pipeline, pipelineExecutionId=execution_id)["pipelineExecution"]


def action_details(codepipeline: Any, pipeline: str, execution_id: str | None = None) -> list[dict]:
    """Every action execution of ``pipeline`` (every page of ListActionExecutions), or of one execution."""
    kwargs: dict[str, Any] = {"pipelineName": pipeline}
    if execution_id is not None:
        kwargs["filter"] = {"pipelineExecutionId": execution_id}
    resource = f"pipeline {pipeline}" + (f" execution {execution_id}" if execution_id else "")
    with aws_call("codepipeline:ListActionExecutions", resource):
        return list(paginate(codepipeline, "list_action_executions", "actionExecutionDetails", **kwargs))


def planned_change_set(codepipeline: Any, project: str, pipeline: str, execution_id: str,
                       default_stack: str) -> tuple[str, str]:
    """(stack, change set name) the CreateChangeSet action of this execution created.

    Read from that action's resolved configuration (ListActionExecutions filtered to this
    execution), so what is shown is what this execution really made, never a queued neighbour's;
    the naming convention is the fallback when it is missing.
    """
    details = action_details(codepipeline, pipeline, execution_id)
    return change_set_in(details, project, execution_id, default_stack)


def change_set_in(details: Iterable[dict[str, Any]], project: str, execution_id: str,
                  default_stack: str) -> tuple[str, str]:
    """(stack, change set name) from one execution's action executions; the convention when absent."""
    found = plan_action(details, execution_id)
    if found is not None:
        return found
    return default_stack, change_set_name_for(project, execution_id)


def plan_action(details: Iterable[dict[str, Any]], execution_id: str) -> tuple[str, str] | None:
    """(stack, change set name) of the CreateChangeSet action execution of ``execution_id``, if any.

    The reading the recorder and ``changegate audit`` use too (review/history.py ``change_set_of``);
    of a retried CreateChangeSet, the latest.
    """
    found = history.change_set_of(list(details), execution_id)
    return (str(found["stack"]), str(found["name"])) if found else None


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
    pending_commit: str | None = None  # the commit of the execution waiting for approval
    approvals: str | None = None  # "waiting for 2 approvals", "1 of 2 approved (by X)", ...

    @property
    def skipped(self) -> bool:
        """The last run ended with its Change stage skipped: the sync did not start it."""
        return bool(self.state and self.last and self.state.skipped == self.last.execution_id)

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
    listing_denied: str | None = None  # the denied listing action, when rows come from the repository

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
    listing_denied = None
    try:
        pipelines = list_project_pipelines(codepipeline, project)
    except AccessDeniedError as exc:
        # ListPipelines takes no resource-level permission ("*" only), and an approver's role may
        # lack it (aws-fidelity notes, F12). The repository names every pipeline that should exist:
        # read those, and say that pipelines of removed folders cannot be seen.
        log.info("%s", exc)
        listing_denied = "codepipeline:ListPipelines"
        pipelines = {folder: pipeline_name(project, folder) for folder in stacks}
    folders = sorted(set(stacks) | set(pipelines))
    if only is not None:
        wanted = set(only)
        folders = [f for f in folders if f in wanted]

    def one(folder: str) -> PipelineStatus | None:
        stack = stacks.get(folder) or f"{project}-{folder}"
        pipeline = pipelines.get(folder)
        if pipeline is None:
            return PipelineStatus(folder, stack, None, note="no pipeline yet")
        note = None if folder in stacks else "stack removed from stacks/"
        try:
            try:
                state = read_state(codepipeline, pipeline)
            except PipelineNotFoundError:
                if listing_denied is None:
                    raise
                return PipelineStatus(folder, stack, None, note="no pipeline yet")
            if folder not in stacks and not state.is_stack_pipeline:
                # named like ours but not shaped like ours: someone else's pipeline, not an orphan
                log.debug("pipeline %s is not a changegate stack pipeline (stages %s): not listed",
                          pipeline, ", ".join(state.stages))
                return None
            last = last_execution(codepipeline, pipeline)
            summary = change_set = pending_commit = approvals = None
            if state.pending is not None:
                waiting = state.pending.execution_id
                if last is not None and last.execution_id == waiting:
                    pending_commit = last.commit
                else:  # a newer execution is queued behind the one waiting for approval
                    pending_commit = execution_variables(codepipeline, pipeline, waiting).get(
                        PIPELINE_VARIABLES[0])
                if change_summary is not None:
                    # one ListActionExecutions: the change set it planned and who decided what
                    details = action_details(codepipeline, pipeline, waiting)
                    stack_name, change_set = change_set_in(details, project, waiting, stack)
                    summary = change_summary(stack_name, change_set)
                    approvals = approval_progress(state, details)
        except (AccessDeniedError, CredentialsError):
            raise  # the same for every pipeline: one clear message, not 150 rows of it
        except AwsError as exc:
            return PipelineStatus(folder, stack, pipeline, note=note, error=str(exc))
        return PipelineStatus(folder, stack, pipeline, note=note, state=state, last=last,
                              change_summary=summary, change_set=change_set,
                              pending_commit=pending_commit, approvals=approvals)

    if workers <= 1:
        rows = [one(folder) for folder in folders]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(one, folders))
    return StatusReport(tuple(row for row in rows if row is not None), listing_denied)


def approval_progress(state: PipelineState, details: list[dict]) -> str:
    """How far the waiting execution's approvals are (changegate/two_approvals.py)."""
    from changegate.reviewed import pipeline_review
    from changegate.two_approvals import decided, progress  # it imports this module

    waiting = state.pending.execution_id if state.pending else ""
    open_actions = [p.action for p in state.pendings if p.execution_id == waiting]
    reviewed = pipeline_review(details, waiting)
    return progress(open_actions, decided(details, waiting), reviewed.risk if reviewed else None)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
