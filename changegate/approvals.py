"""Approve or reject a pending change set, bound to the execution whose change set was shown.

The approver reads a change set, thinks, confirms. Meanwhile someone else may have decided
and a newer execution reached the approval with its own change set. The state is read again
right before ``PutApprovalResult``: a different execution or token is refused, never decided.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from changegate.aws import aws_call, error_code
from changegate.changesets import ChangeSet, describe_change_set
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
from generator.errors import ChangegateError

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
                "change_set": self.change_set.to_json()}


def read_request(codepipeline: Any, cfn: Any, s3: Any, *, project: str, pipeline: str, stack: str,
                 sync: SyncIdentity) -> ApprovalRequest:
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
    change_set = describe_change_set(cfn, stack_name, change_set_name)
    execution = get_execution(codepipeline, pipeline, pending.execution_id)
    origin = read_origin(s3, pipeline=pipeline, execution=execution, details=details, sync=sync)
    if not origin.trusted:
        log.warning("execution %s of %s: %s", pending.execution_id, pipeline, "; ".join(origin.problems))
    return ApprovalRequest(pending, stack_name, change_set, origin)


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
    now = read_state(codepipeline, seen.pipeline).pending
    if now is None:
        raise ApprovalRaceError(f"the approval of execution {seen.execution_id} on {seen.pipeline} is no "
                                "longer pending (decided, expired or stopped meanwhile); nothing was done")
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

