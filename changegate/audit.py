"""The history of a stack's changes: for every execution, which commit, which object version, which
change set, who approved or rejected it and when, and how it ended (issue 11, item 7).

Everything is read from CodePipeline's own records and the source bucket, nothing from a store of
changegate's: ListPipelineExecutions (every page), ListActionExecutions (every page, the whole
pipeline at once: a year of a busy stack is a few dozen requests rather than one per execution),
GetPipelineExecution (variables and trigger) and HeadObject on each execution's object version
(changegate/origin.py: the commit the sync wrote, and whether the sync started the run).

CodePipeline keeps this history for a year: "Pipeline history is limited to the most recent 12
months, based on pipeline execution start times" (API reference, ListPipelineExecutions) and
"Action execution history is retained for up to 12 months" (ListActionExecutions). Older changes
are only in CloudTrail (PutApprovalResult, StartPipelineExecution) and the source bucket's versions.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import pairwise
from typing import Any

from changegate.aws import aws_call
from changegate.origin import Origin, SyncIdentity, assess, metadata_or_error, source_object
from changegate.pipeline_state import action_details, get_execution, plan_action
from generator import naming

log = logging.getLogger(__name__)

APPROVAL_CATEGORY = "Approval"
# The review step (review/steps.py) stops an execution whose change set is empty with this reason.
NO_CHANGES_REASON = "No changes"
# The Review action's output variables (review/steps.py OUT_SUMMARY, OUT_RISK), when the stage has one.
REVIEW_SUMMARY, REVIEW_RISK = "Summary", "RiskTier"
RETENTION_NOTE = "CodePipeline keeps 12 months of execution history"


@dataclass(frozen=True)
class Decision:
    """One manual approval action of an execution: its verdict, who gave it, when, and the comment."""

    action: str
    verdict: str  # approved | rejected | pending | failed (expired or failed without a person)
    by: str | None  # ActionExecutionDetail.updatedBy: "The ARN of the user who changed the ... details"
    at: datetime | None
    comment: str | None

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "verdict": self.verdict, "by": self.by, "at": _iso(self.at),
                "comment": self.comment}


@dataclass(frozen=True)
class AuditRecord:
    pipeline: str
    execution_id: str
    status: str  # the execution's own status (Succeeded, Failed, Stopped, ...)
    started: datetime | None
    ended: datetime | None
    outcome: str  # executed | rejected | no changes | stopped | failed | skipped | in progress | ...
    outcome_detail: str | None
    origin: Origin
    change_set: tuple[str, str] | None  # (stack, change set name) the CreateChangeSet action made
    decisions: tuple[Decision, ...] = ()
    review: dict[str, str] = field(default_factory=dict)  # the Review action's Summary and RiskTier

    def to_json(self) -> dict[str, Any]:
        origin = self.origin
        return {
            "pipeline": self.pipeline, "execution_id": self.execution_id, "status": self.status,
            "started": _iso(self.started), "ended": _iso(self.ended),
            "outcome": self.outcome, "outcome_detail": self.outcome_detail,
            "commit": origin.commit, "author": origin.author, "subject": origin.subject,
            "trusted": origin.trusted,
            "object": {"bucket": origin.source.bucket, "key": origin.source.key,
                       "version": origin.source.version},
            "change_set": None if self.change_set is None else {"stack": self.change_set[0],
                                                                 "name": self.change_set[1]},
            "decisions": [d.to_json() for d in self.decisions],
            "review": dict(self.review) or None,
            "origin": origin.to_json(),
        }


def read_audit(codepipeline: Any, s3: Any, *, pipeline: str, sync: SyncIdentity,
               since: datetime | None = None, workers: int = 8) -> list[AuditRecord]:
    """Every execution of ``pipeline`` started at or after ``since`` (all of them without), newest first."""
    summaries = [s for s in list_executions(codepipeline, pipeline, since)
                 if since is None or _after(s.get("startTime"), since)]
    if not summaries:
        return []
    by_execution: dict[str, list[dict]] = defaultdict(list)
    for detail in action_details(codepipeline, pipeline):
        by_execution[detail.get("pipelineExecutionId", "")].append(detail)
    heads: dict[tuple, tuple] = {}

    def one(summary: dict[str, Any]) -> AuditRecord:
        execution_id = summary["pipelineExecutionId"]
        details = by_execution.get(execution_id, [])
        execution = get_execution(codepipeline, pipeline, execution_id)
        fallback = next((r.get("revisionId") for r in summary.get("sourceRevisions", [])
                         if r.get("actionName") == naming.SOURCE_ACTION_NAME), None)
        source = source_object(details, fallback)
        key = (source.bucket, source.key, source.version)
        if key not in heads:
            heads[key] = metadata_or_error(s3, source)
        metadata, error = heads[key]
        variables = {v["name"]: v.get("resolvedValue", "") for v in execution.get("variables", [])}
        origin = assess(source=source, metadata=metadata, metadata_error=error, variables=variables,
                        trigger=execution.get("trigger") or summary.get("trigger"), sync=sync)
        outcome, detail = outcome_of(summary, details)
        status = summary.get("status", "")
        return AuditRecord(
            pipeline=pipeline, execution_id=execution_id, status=status, started=summary.get("startTime"),
            ended=None if status in ("InProgress", "Stopping") else summary.get("lastUpdateTime"),
            outcome=outcome, outcome_detail=detail, origin=origin,
            change_set=plan_action(details, execution_id), decisions=decisions_of(details),
            review=review_of(details))

    if workers <= 1:
        records = [one(summary) for summary in summaries]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            records = list(pool.map(one, summaries))
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(records, key=lambda r: _aware(r.started) or epoch, reverse=True)


def list_executions(codepipeline: Any, pipeline: str, since: datetime | None) -> Iterator[dict[str, Any]]:
    """ListPipelineExecutions, every page; with ``since``, no page after one that reaches back past it.

    The API "Gets a summary of the most recent executions for a pipeline", newest first. A page is
    taken to end the search only when it is itself in that order and ends before ``since``; a page
    in any other order makes the search go on, so an unexpected order costs requests, never records.
    """
    with aws_call("codepipeline:ListPipelineExecutions", f"pipeline {pipeline}"):
        for page in codepipeline.get_paginator("list_pipeline_executions").paginate(pipelineName=pipeline):
            summaries = page.get("pipelineExecutionSummaries", [])
            yield from summaries
            times = [_aware(s.get("startTime")) for s in summaries]
            if since is None or not times or None in times:
                continue
            newest_first = all(a >= b for a, b in pairwise(times))
            if newest_first and times[-1] < _aware(since):
                return


def decisions_of(details: list[dict]) -> tuple[Decision, ...]:
    """The manual approval actions of one execution, in the order they ran."""
    found = []
    for detail in _ordered(details):
        if detail.get("input", {}).get("actionTypeId", {}).get("category") != APPROVAL_CATEGORY:
            continue
        status, by = detail.get("status"), detail.get("updatedBy")
        result = detail.get("output", {}).get("executionResult", {})
        comment = result.get("externalExecutionSummary") or result.get("errorDetails", {}).get("message")
        if status == "Succeeded":
            verdict = "approved"
        elif status == "Failed":
            # a rejection is a person's PutApprovalResult; an approval that expired was nobody's
            verdict = "rejected" if by else "failed"
        elif status == "InProgress":
            verdict, comment = "pending", None
        else:
            verdict = (status or "unknown").lower()
        found.append(Decision(detail.get("actionName", ""), verdict, by,
                              detail.get("lastUpdateTime") if verdict != "pending" else None, comment))
    return tuple(found)


def review_of(details: list[dict]) -> dict[str, str]:
    for detail in details:
        variables = detail.get("output", {}).get("outputVariables") or {}
        if detail.get("stageName") == naming.CHANGE_STAGE and REVIEW_SUMMARY in variables:
            return {k: variables[k] for k in (REVIEW_SUMMARY, REVIEW_RISK) if k in variables}
    return {}


def outcome_of(summary: dict[str, Any], details: list[dict]) -> tuple[str, str | None]:
    """How an execution ended, in the words an auditor asks with, and the reason where there is one."""
    status = summary.get("status", "")
    details = _ordered(details)
    change = [d for d in details if d.get("stageName") == naming.CHANGE_STAGE]
    executed = any(d.get("actionName") == naming.EXECUTE_ACTION and d.get("status") == "Succeeded"
                   for d in change)
    if status == "InProgress":
        running = [d for d in details if d.get("status") == "InProgress"]
        where = f"{running[-1].get('stageName')}/{running[-1].get('actionName')}" if running else None
        return "in progress", f"at {where}" if where else None
    if status == "Succeeded":
        if executed:
            return "executed", None
        if not change:
            # the Change stage's entry condition skips a run the sync did not start (pipeline_state.py)
            return "skipped", "the Change stage was skipped: the run was not started by the sync"
        return "succeeded", "no ExecuteChangeSet action ran"
    if status in ("Stopped", "Stopping"):
        reason = (summary.get("stopTrigger") or {}).get("reason") or summary.get("statusSummary")
        if reason and reason.startswith(NO_CHANGES_REASON):
            return "no changes", reason
        return "stopped" if status == "Stopped" else "stopping", reason
    if status == "Failed":
        rejected = [d for d in decisions_of(details) if d.verdict == "rejected"]
        if rejected:
            return "rejected", f"by {rejected[-1].by}"
        failed = [d for d in details if d.get("status") == "Failed"]
        if failed:
            last = failed[-1]
            result = last.get("output", {}).get("executionResult", {})
            message = result.get("errorDetails", {}).get("message") or result.get("externalExecutionSummary")
            where = f"at {last.get('stageName')}/{last.get('actionName')}"
            return "failed", f"{where}: {message}" if message else where
        return "failed", summary.get("statusSummary")
    return status.lower() or "unknown", summary.get("statusSummary")


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def _after(moment: datetime | None, since: datetime) -> bool:
    moment = _aware(moment)
    return moment is not None and moment >= _aware(since)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _ordered(details: list[dict]) -> list[dict]:
    """Action executions in the order they started (the API documents no order)."""
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(details, key=lambda d: _aware(d.get("startTime")) or epoch)
