"""Approve or reject a pending change set, bound to the execution whose change set was shown.

The approver reads a change set, thinks, confirms. Meanwhile someone else may have decided
and a newer execution reached the approval with its own change set. The state is read again
right before ``PutApprovalResult``: a different execution or token is refused, never decided.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from changegate.aws import aws_call, error_code
from changegate.changesets import ChangeSet
from changegate.origin import Origin, SyncIdentity, read_origin
from changegate.pipeline_state import (
    SKIPPED_NOTE,
    PendingApproval,
    PipelineState,
    action_details,
    change_set_in,
    get_execution,
    read_state,
)
from changegate.reviewed import LocalReview, as_change_set, read_review
from changegate.two_approvals import choose, decided, progress, refuse_author
from generator.errors import ChangegateError
from generator.naming import SECOND_APPROVAL_ACTION
from review.approvals import REQUIRE_ON_RISK, Approval

log = logging.getLogger(__name__)


class NothingPendingError(ChangegateError):
    """No approval is waiting on this pipeline."""

    exit_code = 3


class ApprovalRaceError(ChangegateError):
    """The pending approval changed between showing its change set and deciding."""

    exit_code = 4


class UntrustedOriginError(ChangegateError):
    """The change's origin fails a check (changegate/origin.py): approving needs ``--force``."""

    exit_code = 5


@dataclass(frozen=True)
class ApprovalRequest:
    """A pending approval with what the approver must see: the change set and where it comes from."""

    pending: PendingApproval
    stack: str
    change_set: ChangeSet
    origin: Origin
    review: LocalReview | None = None  # the pipeline's review code run here (changegate/reviewed.py)
    waiting: tuple[PendingApproval, ...] = ()  # every open approval of the execution
    approvals: dict[str, Approval] = field(default_factory=dict)  # who decided which, so far
    note: str = ""  # which approval is decided, and why that one

    @property
    def progress(self) -> str:
        """``waiting for 2 approvals``, ``1 of 2 approved (by X)``, ``second approval waived (risk low)``."""
        pipeline = self.review.pipeline if self.review else None
        return progress([p.action for p in self.waiting], self.approvals, pipeline.risk if pipeline else None)

    # what is shown: from the object version's metadata, or variables marked by origin.provenance
    @property
    def commit(self) -> str | None:
        return self.origin.commit

    @property
    def author(self) -> str | None:
        return self.origin.author

    @property
    def subject(self) -> str | None:
        return self.origin.subject

    def to_json(self) -> dict[str, Any]:
        return {"pipeline": self.pending.pipeline, "stage": self.pending.stage,
                "action": self.pending.action, "execution_id": self.pending.execution_id,
                "pending_since": self.pending.since.isoformat() if self.pending.since else None,
                "stack": self.stack, "commit": self.commit, "author": self.author,
                "subject": self.subject, "object_version": self.origin.source.version,
                "trusted": self.origin.trusted, "origin": self.origin.to_json(),
                "approvals": {"progress": self.progress, "open": [p.action for p in self.waiting],
                              "decided": {name: {"status": a.status, "by": a.updated_by, "summary": a.summary}
                                          for name, a in self.approvals.items()}},
                **(self.review.to_json() if self.review else {}),
                "change_set": self.change_set.to_json()}


def read_request(codepipeline: Any, cfn: Any, s3: Any, *, project: str, pipeline: str, stack: str,
                 sync: SyncIdentity, account: str | None = None) -> ApprovalRequest:
    """The approval pending on ``pipeline``, its change set and its origin; ``NothingPendingError`` when none.

    The commit, author and subject come from the metadata of the object version the execution runs
    on, and the execution's trigger must be the sync (changegate/origin.py, decision 12).
    """
    state = read_state(codepipeline, pipeline)
    if state.pending is None:
        raise NothingPendingError(f"no approval is pending on pipeline {pipeline}{_whereabouts(state)}")
    pending = state.pending
    details = action_details(codepipeline, pipeline, pending.execution_id)
    stack_name, change_set_name = change_set_in(details, project, pending.execution_id, stack)
    # the Review action's own code, on the same change set (issue 11, item 2)
    local = read_review(cfn, stack_name, change_set_name, account=account, details=details,
                        execution_id=pending.execution_id)
    execution = get_execution(codepipeline, pipeline, pending.execution_id)
    origin = read_origin(s3, pipeline=pipeline, execution=execution, details=details, sync=sync)
    if not origin.trusted:
        log.warning("execution %s of %s: %s", pending.execution_id, pipeline, "; ".join(origin.problems))
    open_approvals = tuple(p for p in state.pendings if p.execution_id == pending.execution_id)
    return ApprovalRequest(pending, stack_name, as_change_set(local.view), origin, local,
                           open_approvals or (pending,), decided(details, pending.execution_id))


def for_caller(request: ApprovalRequest, caller: str | None, *, approve: bool,
               requirement: str = REQUIRE_ON_RISK) -> ApprovalRequest:
    """The request bound to the approval this caller decides (changegate/two_approvals.py ``choose``);
    ``SameApproverError`` when approving would make them both approvers of the execution,
    ``AuthorApproverError`` when the caller wrote the commit of a change that needs two approvals
    (``requirement`` is the stack's ``approvals`` setting)."""
    if approve:
        # the risk the pipeline's Review reported; this machine's review of the same change set if none
        local = request.review
        risk = (local.pipeline.risk if local.pipeline else local.review.risk) if local else None
        refuse_author(caller, request.origin.author, risk=risk, requirement=requirement,
                      second=request.approvals.get(SECOND_APPROVAL_ACTION),
                      execution_id=request.pending.execution_id)
    choice = choose(request.waiting or (request.pending,), request.approvals, caller=caller, approve=approve)
    return replace(request, pending=choice.pending, note=choice.note)


def refuse_untrusted(request: ApprovalRequest) -> None:
    """``UntrustedOriginError`` unless the origin checks hold; rejecting never calls this."""
    if request.origin.trusted:
        return
    reasons = "; ".join(request.origin.problems)
    raise UntrustedOriginError(
        f"refusing to approve execution {request.pending.execution_id} of {request.pending.pipeline}: "
        f"{reasons}. Nothing was done. Reject it (always allowed), or approve with --force if you "
        "know where this change comes from")


def _whereabouts(state: PipelineState) -> str:
    if state.current_stage:
        return f" (it is at {state.where}: {state.stage_status})"
    if state.skipped:
        return f" (its last run, {state.skipped}, was {SKIPPED_NOTE})"
    return ""


def decide(codepipeline: Any, request: ApprovalRequest, *, approve: bool, summary: str) -> datetime | None:
    """``PutApprovalResult`` for exactly ``request``'s execution; refuse if anything moved."""
    seen = request.pending
    state = read_state(codepipeline, seen.pipeline)
    # the same approval action, still open (the other one of the pair may be open too)
    now = next((p for p in state.pendings if p.action == seen.action), None)
    if now is None and state.pending is not None and state.pending.execution_id != seen.execution_id:
        now = state.pending  # a newer execution waits: say so below
    if now is None:
        raise ApprovalRaceError(f"the approval ({seen.action}) of execution {seen.execution_id} on "
                                f"{seen.pipeline} is no longer pending (decided, expired or stopped "
                                "meanwhile); nothing was done")
    if now.execution_id != seen.execution_id or now.token != seen.token:
        raise ApprovalRaceError(
            f"the pending approval on {seen.pipeline} changed while you were reading: execution "
            f"{now.execution_id} now waits, not {seen.execution_id} whose change set you saw. "
            "Nothing was done; run the command again to review the new change set")
    status = "Approved" if approve else "Rejected"
    action = "codepipeline:PutApprovalResult"
    resource = f"pipeline {seen.pipeline} action {seen.stage}/{seen.action}"
    with aws_call(action, resource):
        try:
            response = codepipeline.put_approval_result(
                pipelineName=seen.pipeline, stageName=seen.stage, actionName=seen.action,
                result={"summary": summary, "status": status}, token=seen.token)
        except ClientError as exc:
            if error_code(exc) in ("ApprovalAlreadyCompletedException", "InvalidApprovalTokenException"):
                raise ApprovalRaceError(f"{error_code(exc)}: the approval of execution {seen.execution_id} "
                                        f"on {seen.pipeline} was decided or replaced meanwhile; "
                                        "nothing was done") from exc
            raise
    log.info("%s execution %s of %s", status.lower(), seen.execution_id, seen.pipeline)
    return response.get("approvedAt")

