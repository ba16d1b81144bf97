"""What CodePipeline's own records say about one execution of a stack pipeline (issue 11, item 7).

One reading for both sides: the recorder (review/record.py) turns an execution that just ended into
the JSON audit record, and ``changegate audit`` (changegate/audit.py) reads the executions that have
no record yet (in progress, older than the recorder, or a recorder failure) from CodePipeline's
history with the same functions, so an execution reads the same whichever way it is found.

The inputs are CodePipeline's API shapes as botocore returns them: ``ListActionExecutions``'
``actionExecutionDetails`` (for one execution or a whole pipeline), a ``ListPipelineExecutions``
summary and ``GetPipelineExecution``'s ``pipelineExecution``. The ListActionExecutions API documents
no order for its items, so everything here orders them by start time itself.

Standard library only (review/ runs inside Lambda from a small zip; tests/review/test_review_imports.py
enforces it): the clients are passed in, and nothing here imports boto3 or botocore.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

# The shape of a stack pipeline (generator/naming.py; tests/review/test_history.py keeps them equal).
SOURCE_STAGE = "Source"
SOURCE_ACTION = "Source"
CHANGE_STAGE = "Change"
PLAN_ACTION = "CreateChangeSet"
REVIEW_ACTION = "Review"
EXECUTE_ACTION = "ExecuteChangeSet"
SECOND_APPROVAL_ACTION = "SecondApproval"
APPROVAL_CATEGORY = "Approval"
# The CreateChangeSet action's mode (generator/bootstrap/pipeline.py writes it; changegate/pipeline_state.py).
PLAN_MODE = "CHANGE_SET_REPLACE"
# The review step (review/steps.py) stops an execution whose change set is empty with this reason.
NO_CHANGES_REASON = "No changes"
# The Review action's output variables (review/steps.py OUT_SUMMARY, OUT_RISK, OUT_CHANGE_SET_ID).
REVIEW_SUMMARY, REVIEW_RISK, REVIEW_CHANGE_SET_ID = "Summary", "RiskTier", "ChangeSetId"
# The S3 source action's output variable with the object version it read ("VersionId: The version
# ID for the object version related to the source change that triggered the pipeline", CodePipeline
# user guide, action-reference-S3).
VERSION_VARIABLE = "VersionId"
# What the waiver writes as SecondApproval's summary (review/approvals.py WAIVER_PREFIX).
WAIVER_PREFIX = "Not required: "
# Statuses of an execution that is not over ("InProgress", "Stopping"; API reference, PipelineExecution).
RUNNING = ("InProgress", "Stopping")

# Outcomes, in the words an auditor asks with.
EXECUTED, REJECTED, NO_CHANGES, SKIPPED = "executed", "rejected", "no changes", "skipped"
SUCCEEDED, STOPPED, STOPPING = "succeeded", "stopped", "stopping"
FAILED, IN_PROGRESS = "failed", "in progress"


@dataclass(frozen=True)
class Decision:
    """One manual approval action of an execution: its verdict, who gave it, when, and the comment."""

    action: str
    verdict: str  # approved | rejected | waived | pending | failed (expired, or failed without a person)
    by: str | None  # ActionExecutionDetail.updatedBy: "The ARN of the user who changed the ... details"
    at: datetime | None
    comment: str | None

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "verdict": self.verdict, "by": self.by, "at": iso(self.at),
                "comment": self.comment}


def action_executions(codepipeline: Any, pipeline: str, execution_id: str | None = None) -> list[dict]:
    """Every page of ListActionExecutions for ``pipeline``, or for one execution of it."""
    request: dict[str, Any] = {"pipelineName": pipeline}
    if execution_id is not None:
        request["filter"] = {"pipelineExecutionId": execution_id}
    found: list[dict] = []
    while True:
        page = codepipeline.list_action_executions(**request)
        found.extend(page.get("actionExecutionDetails", []))
        if not page.get("nextToken"):
            return found
        request["nextToken"] = page["nextToken"]


def variables_of(execution: dict[str, Any]) -> dict[str, str]:
    """GetPipelineExecution's pipeline variables, name -> resolved value."""
    return {v["name"]: v.get("resolvedValue", "") for v in execution.get("variables", []) if "name" in v}


def decisions_of(details: list[dict], *, steps_role: str | None = None) -> tuple[Decision, ...]:
    """The manual approval actions of one execution, in the order they ran.

    An approval of SecondApproval by the steps function (review/approvals.py: its summary starts with
    "Not required: ") is the waiver, ``waived``: with ``steps_role`` (the function's role name) only
    when that role's session gave it, so a person's comment cannot pass for the waiver.
    """
    found = []
    for detail in ordered(details):
        if detail.get("input", {}).get("actionTypeId", {}).get("category") != APPROVAL_CATEGORY:
            continue
        status, by = detail.get("status"), detail.get("updatedBy")
        result = detail.get("output", {}).get("executionResult", {})
        comment = result.get("externalExecutionSummary") or result.get("errorDetails", {}).get("message")
        if status == "Succeeded":
            verdict = "waived" if _waived(detail.get("actionName"), by, comment, steps_role) else "approved"
        elif status == "Failed":
            # a rejection is a person's PutApprovalResult; an approval that expired was nobody's
            verdict = "rejected" if by else "failed"
        elif status == "InProgress":
            verdict, comment = "pending", None
        else:
            verdict = (status or "unknown").lower()
        found.append(Decision(detail.get("actionName", ""), verdict, by,
                              aware(detail.get("lastUpdateTime")) if verdict != "pending" else None, comment))
    return tuple(found)


def _waived(action: str | None, by: str | None, comment: str | None, steps_role: str | None) -> bool:
    if action != SECOND_APPROVAL_ACTION or not (comment or "").startswith(WAIVER_PREFIX):
        return False
    if steps_role is None:
        return True
    by = by or ""
    return f":assumed-role/{steps_role}/" in by or by.endswith(f":role/{steps_role}")


def review_of(details: list[dict]) -> dict[str, str]:
    """The Review action's Summary and RiskTier (its output variables), when the stage ran one."""
    for detail in ordered(details):
        variables = detail.get("output", {}).get("outputVariables") or {}
        if detail.get("stageName") == CHANGE_STAGE and REVIEW_SUMMARY in variables:
            return {k: variables[k] for k in (REVIEW_SUMMARY, REVIEW_RISK) if k in variables}
    return {}


def change_set_of(details: list[dict], execution_id: str) -> dict[str, str | None] | None:
    """The change set this execution's CreateChangeSet action made: stack, name and (from the Review
    action's ChangeSetId output) id; None when no CreateChangeSet ran.

    Read from the action's resolved configuration, so it is what this execution really made, never
    a queued neighbour's (``#{codepipeline.PipelineExecutionId}`` resolved).
    """
    found = None
    for detail in ordered(details):
        if detail.get("pipelineExecutionId", execution_id) != execution_id:
            continue
        if (detail.get("stageName"), detail.get("actionName")) != (CHANGE_STAGE, PLAN_ACTION):
            continue
        action_input = detail.get("input", {})
        resolved = action_input.get("resolvedConfiguration") or action_input.get("configuration") or {}
        provider = action_input.get("actionTypeId", {}).get("provider")
        stack, name = resolved.get("StackName"), resolved.get("ChangeSetName")
        if provider == "CloudFormation" and resolved.get("ActionMode") == PLAN_MODE and stack and name \
                and "#{" not in name:
            found = {"stack": stack, "name": name, "id": None}  # the latest, when the action was retried
    if found is not None:
        for detail in ordered(details):
            if (detail.get("stageName"), detail.get("actionName")) == (CHANGE_STAGE, REVIEW_ACTION) \
                    and detail.get("pipelineExecutionId", execution_id) == execution_id:
                variables = detail.get("output", {}).get("outputVariables") or {}
                found["id"] = variables.get(REVIEW_CHANGE_SET_ID) or found["id"]
    return found


def source_of(details: list[dict], fallback_version: str | None = None) -> tuple[str | None, str | None,
                                                                                  str | None]:
    """(bucket, key, version) of the object version the Source action of these executions read."""
    for detail in details:
        if (detail.get("stageName"), detail.get("actionName")) != (SOURCE_STAGE, SOURCE_ACTION):
            continue
        action_input = detail.get("input", {})
        configuration = action_input.get("resolvedConfiguration") or action_input.get("configuration") or {}
        output = detail.get("output", {})
        version = (output.get("outputVariables", {}).get(VERSION_VARIABLE)
                   or output.get("executionResult", {}).get("externalExecutionId") or fallback_version)
        return configuration.get("S3Bucket"), configuration.get("S3ObjectKey"), version
    return None, None, fallback_version


def summary_version(summary: dict[str, Any]) -> str | None:
    """The object version a ListPipelineExecutions summary names for the Source action."""
    return next((r.get("revisionId") for r in summary.get("sourceRevisions", [])
                 if r.get("actionName") == SOURCE_ACTION), None)


def outcome_of(summary: dict[str, Any], details: list[dict]) -> tuple[str, str | None]:
    """How an execution ended, in the words an auditor asks with, and the reason where there is one.

    ``summary`` holds ``status`` and, when known, ``stopTrigger`` and ``statusSummary`` (a
    ListPipelineExecutions summary, or the same keys from GetPipelineExecution).
    """
    status = summary.get("status", "")
    details = ordered(details)
    change = [d for d in details if d.get("stageName") == CHANGE_STAGE]
    executed = any(d.get("actionName") == EXECUTE_ACTION and d.get("status") == "Succeeded" for d in change)
    if status == "InProgress":
        running = [d for d in details if d.get("status") == "InProgress"]
        where = f"{running[-1].get('stageName')}/{running[-1].get('actionName')}" if running else None
        return IN_PROGRESS, f"at {where}" if where else None
    if status == "Succeeded":
        if executed:
            return EXECUTED, None
        if not change:
            # the Change stage's entry condition skips a run the sync did not start
            return SKIPPED, "the Change stage was skipped: the run was not started by the sync"
        return SUCCEEDED, "no ExecuteChangeSet action ran"
    if status in ("Stopped", "Stopping"):
        reason = (summary.get("stopTrigger") or {}).get("reason") or summary.get("statusSummary")
        if reason and reason.startswith(NO_CHANGES_REASON):
            return NO_CHANGES, reason
        return (STOPPED if status == "Stopped" else STOPPING), reason
    if status == "Failed":
        rejected = [d for d in decisions_of(details) if d.verdict == "rejected"]
        if rejected:
            return REJECTED, f"by {rejected[-1].by}"
        failed = [d for d in details if d.get("status") == "Failed"]
        if failed:
            last = failed[-1]
            result = last.get("output", {}).get("executionResult", {})
            message = result.get("errorDetails", {}).get("message") or result.get("externalExecutionSummary")
            where = f"at {last.get('stageName')}/{last.get('actionName')}"
            return FAILED, f"{where}: {message}" if message else where
        return FAILED, summary.get("statusSummary")
    # Superseded, Cancelled ("The pipeline's definition was updated before the pipeline execution
    # could be completed", API reference, PipelineExecution), or a status added later
    return status.lower() or "unknown", summary.get("statusSummary")


def aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC (``2026-11-13T12:04:00+00:00``), or None."""
    moment = aware(moment)
    return moment.astimezone(timezone.utc).isoformat() if moment else None


def ordered(details: list[dict]) -> list[dict]:
    """Action executions in the order they started (the API documents no order)."""
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(details, key=lambda d: aware(d.get("startTime")) or epoch)
