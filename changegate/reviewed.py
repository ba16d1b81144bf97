"""The review the pipeline runs, run again here: what ``changes``, ``approve`` and ``reject`` show.

Issue 11 (item 2): "``changegate changes`` prints the same review, produced by the same code". So the
change set is read with ``review.changeset.read_change_set`` and judged with ``review.assess.assess``,
the functions the Review action calls (review/steps.py ``review_step``); nothing here judges anything.

Two inputs may differ from the pipeline's, and the output says when the verdicts differ:

- the stack policy: the Review action reads the owner's policy from the source archive's
  config.json (the one ApplyStackPolicy is about to set); approvers may not read the artifacts
  (decision 7), so this reads the policy the stack has now (``GetStackPolicy``, granted to approvers).
  They differ only when the change itself changes the stack policy, or on a stack's first change;
- the account: the caller's, which is the stack's for every pipeline changegate generates.

When the pipeline's Review action already ran, its ``RiskTier`` and ``Summary`` output variables
(ListActionExecutions ``output.outputVariables``) are shown beside this review.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from changegate.aws import AccessDeniedError, aws_call
from changegate.changesets import ChangeSet, ResourceChange
from generator.errors import AwsError
from generator.naming import CHANGE_STAGE, REVIEW_ACTION
from review.assess import Review, assess
from review.changeset import ChangeSetError, ChangeSetView, read_change_set
from review.validations import read_checks

log = logging.getLogger(__name__)

# The Review action's output variables (review/steps.py OUT_RISK, OUT_SUMMARY) and its summary budget
# when its UserParameters name none (review/steps.py DEFAULT_SUMMARY_MAX).
OUT_RISK = "RiskTier"
OUT_SUMMARY = "Summary"
DEFAULT_SUMMARY_MAX = 300


@dataclass(frozen=True)
class PipelineReview:
    """What the pipeline's own Review action said (its output variables)."""

    risk: str
    summary: str
    summary_max: int = DEFAULT_SUMMARY_MAX


@dataclass(frozen=True)
class LocalReview:
    """The review of the waiting change set, and what it rests on."""

    view: ChangeSetView
    review: Review
    policy_note: str  # where the stack policy came from, or why none was used
    pipeline: PipelineReview | None = None

    @property
    def differences(self) -> tuple[str, ...]:
        """How this review differs from the pipeline's (empty: it agrees, or the pipeline's is unknown)."""
        if self.pipeline is None:
            return ()
        found = []
        if self.pipeline.risk != self.review.risk:
            found.append(f"risk: the pipeline said {self.pipeline.risk}, this review says {self.review.risk}")
        if self.pipeline.summary != self.review.summary_line(self.pipeline.summary_max):
            found.append("summary: the pipeline's differs from this review's")
        return tuple(found)

    def to_json(self) -> dict[str, Any]:
        return {"review": self.review.to_dict(), "stack_policy": self.policy_note,
                "pipeline_review": None if self.pipeline is None else {
                    "risk": self.pipeline.risk, "summary": self.pipeline.summary},
                "differences": list(self.differences)}


def current_policy(cfn: Any, stack: str) -> tuple[dict | None, str]:
    """(the stack's policy, a note saying where it came from); (None, why) when it cannot be read."""
    try:
        with aws_call("cloudformation:GetStackPolicy", f"stack/{stack}"):
            body = cfn.get_stack_policy(StackName=stack).get("StackPolicyBody")
    except AccessDeniedError as exc:
        log.info("%s", exc)
        return None, "stack policy not read (cloudformation:GetStackPolicy denied): protection not judged"
    except AwsError as exc:  # a stack the change set creates has no policy yet
        log.info("%s", exc)
        return None, "no stack policy read (the stack does not exist yet, or the call failed)"
    if not body:
        return None, "the stack has no stack policy"
    try:
        policy = json.loads(body)
    except ValueError:
        return None, "the stack's policy is not JSON: protection not judged"
    return (policy if isinstance(policy, dict) else None), "the stack's current policy (GetStackPolicy)"


def _review_detail(details: list[dict], execution_id: str) -> dict | None:
    """This execution's Review action execution, when it ran."""
    for detail in details:
        if (detail.get("stageName"), detail.get("actionName")) != (CHANGE_STAGE, REVIEW_ACTION):
            continue
        if detail.get("pipelineExecutionId", execution_id) == execution_id:
            return detail
    return None


def pipeline_review(details: list[dict], execution_id: str) -> PipelineReview | None:
    """The Review action's outputs in this execution's action executions, when it ran and succeeded."""
    detail = _review_detail(details, execution_id)
    outputs = ((detail or {}).get("output") or {}).get("outputVariables") or {}
    if OUT_RISK not in outputs:
        return None
    return PipelineReview(outputs[OUT_RISK], outputs.get(OUT_SUMMARY, ""), _summary_max(detail))


def _review_parameters(detail: dict) -> dict:
    action_input = detail.get("input") or {}
    configuration = action_input.get("resolvedConfiguration") or action_input.get("configuration") or {}
    try:
        parameters = json.loads(configuration.get("UserParameters") or "{}")
    except (TypeError, ValueError):
        return {}
    return parameters if isinstance(parameters, dict) else {}


def _stateful_types(details: list[dict], execution_id: str) -> frozenset[str]:
    """The stack's extra stateful types, as this execution's Review action was given them."""
    detail = _review_detail(details, execution_id)
    found = _review_parameters(detail).get("StatefulTypes") if detail else None
    return frozenset(t for t in found if isinstance(t, str)) if isinstance(found, list) else frozenset()


def _summary_max(detail: dict) -> int:
    value = _review_parameters(detail).get("SummaryMax")
    try:
        return int(value) if value else DEFAULT_SUMMARY_MAX
    except (TypeError, ValueError):
        return DEFAULT_SUMMARY_MAX


def read_review(cfn: Any, stack: str, change_set: str, *, account: str | None,
                details: list[dict] | None = None, execution_id: str = "") -> LocalReview:
    """Read and judge ``change_set`` of ``stack`` as the Review action does."""
    with aws_call("cloudformation:DescribeChangeSet", f"stack/{stack} change set {change_set}"):
        try:
            view = read_change_set(cfn, stack, change_set)
        except ChangeSetError as exc:
            raise AwsError(f"cannot review: {exc}") from exc
    policy, note = current_policy(cfn, stack)
    # CloudFormation's own checks of the change set, read as the Review action reads them; a role or
    # SDK without DescribeEvents gets a note, not an error (review/validations.py)
    checks = read_checks(cfn, view.change_set_id or change_set)
    review = assess(view, policy=policy, account=account, checks=checks,
                    stateful_types=_stateful_types(details or [], execution_id))
    return LocalReview(view, review, note, pipeline_review(details or [], execution_id))


def as_change_set(view: ChangeSetView) -> ChangeSet:
    """The view as changegate's ChangeSet (the table ``changes`` prints), without reading it again."""
    changes = []
    for change in view.all_changes():
        paths: list[str] = []
        for detail in change.details:
            path = f"{detail.attribute}.{detail.name}" if detail.name else detail.attribute
            if path and path not in paths:
                paths.append(path)
        changes.append(ResourceChange(
            action=change.action, logical_id=change.logical_id, resource_type=change.resource_type,
            physical_id=change.physical_id or None, replacement=change.replacement or None,
            properties=tuple(paths), stack="" if change.stack == view.stack_name else change.stack))
    return ChangeSet(stack=view.stack_name, name=view.change_set_name, change_set_id=view.change_set_id,
                     status=view.status, execution_status=view.execution_status,
                     status_reason=view.status_reason, created=_created(view.creation_time),
                     changes=tuple(changes),
                     stack_id=view.stack_id)


def _created(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
