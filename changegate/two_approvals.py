"""Two approvals from the approver's side: which one to decide, and how far the execution is.

The Change stage holds ``Approve`` and ``SecondApproval`` side by side (review/approvals.py says
why). A person decides whichever of the two is still open and that they have not decided already,
``Approve`` first. Approving the other one of an execution they already approved is refused here,
before anything is sent: the pipeline's ``CheckChangeSet`` would refuse the execution anyway ("both
approvals come from the same identity"), after the approval was spent.

Who decided an approval is read as CheckChangeSet reads it: the action execution's ``updatedBy``
(ListActionExecutions), compared as a whole ARN; the waiver's approvals carry the summary prefix
``review.approvals.WAIVER_PREFIX``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from changegate.pipeline_state import PendingApproval
from generator.errors import ChangegateError
from generator.naming import APPROVAL_ACTIONS, APPROVE_ACTION, CHANGE_STAGE, SECOND_APPROVAL_ACTION
from review.approvals import WAIVER_PREFIX, Approval, is_author, two_needed

APPROVED = "Succeeded"
REJECTED = "Failed"
_RISK = re.compile(r"risk (\w+)")
_ASSUMED = re.compile(r"\Aarn:[^:]+:sts::\d{12}:assumed-role/(.+)\Z")
_IAM = re.compile(r"\Aarn:[^:]+:iam::\d{12}:(.+)\Z")


class SameApproverError(ChangegateError):
    """The caller already approved the other approval of this execution."""

    exit_code = 6


class AuthorApproverError(ChangegateError):
    """The caller wrote the commit of a change that needs two approvals by other people."""

    exit_code = 6


def refuse_author(caller: str | None, author: str | None, *, risk: str | None, requirement: str,
                  second: Approval | None, execution_id: str) -> None:
    """``AuthorApproverError`` when the caller is the commit's author and the change needs two
    approvals: the pipeline's ``CheckChangeSet`` refuses such an approval (review/approvals.py), so
    sending it would only spend the approval and fail the execution. A waived second approval, or a
    risk below high on a stack that does not require two always, lets the author approve alone."""
    if not caller or not is_author(caller, author) or waived(second):
        return
    if not two_needed(risk or "", requirement):
        return
    why = "the stack requires two approvals" if risk != "high" else "risk high"
    raise AuthorApproverError(
        f"you ({caller}) wrote this change ({author}); {why}, and neither approval may come from the "
        f"commit's author. Nothing was done for execution {execution_id}: ask two other approvers "
        "(reject stays possible)")


def decided(details: Iterable[dict], execution_id: str) -> dict[str, Approval]:
    """The latest action execution of each approval action of ``execution_id`` (newest first, as
    ListActionExecutions lists them and review.approvals.approvals_of reads them)."""
    found: dict[str, Approval] = {}
    for detail in details:
        name = detail.get("actionName")
        if detail.get("stageName", CHANGE_STAGE) != CHANGE_STAGE or name not in APPROVAL_ACTIONS:
            continue
        if detail.get("pipelineExecutionId", execution_id) != execution_id or name in found:
            continue
        result = (detail.get("output") or {}).get("executionResult") or {}
        found[name] = Approval(action=name, status=detail.get("status", ""),
                               updated_by=detail.get("updatedBy", ""),
                               summary=result.get("externalExecutionSummary", ""))
    return found


def waived(approval: Approval | None) -> bool:
    return approval is not None and approval.status == APPROVED and approval.summary.startswith(WAIVER_PREFIX)


def who(identity: str) -> str:
    """``Approvers/alice`` for a role session, ``user/bob`` for an IAM user, else the ARN as given."""
    for pattern in (_ASSUMED, _IAM):
        match = pattern.match(identity)
        if match:
            return match.group(1)
    return identity or "unknown"


def progress(open_actions: Iterable[str], approvals: dict[str, Approval], risk: str | None = None) -> str:
    """``waiting for 2 approvals``, ``1 of 2 approved (by X)``, ``second approval waived (risk low)``."""
    waiting = [a for a in APPROVAL_ACTIONS if a in set(open_actions)]
    second = approvals.get(SECOND_APPROVAL_ACTION)
    if waived(second):
        if risk is None:
            match = _RISK.search(second.summary)
            risk = match.group(1) if match else "not high"
        text = f"second approval waived (risk {risk})"
        return f"{text}; waiting for 1 approval" if waiting else text
    if len(waiting) == 2:
        return "waiting for 2 approvals"
    approved = [a for name, a in approvals.items() if a.status == APPROVED and name not in waiting]
    if waiting and approved:
        return f"1 of 2 approved (by {who(approved[0].updated_by)})"
    if waiting:
        return "waiting for 1 approval"
    return "approvals decided"


@dataclass(frozen=True)
class Choice:
    """The approval to decide, and why that one."""

    pending: PendingApproval
    note: str


def choose(open_approvals: Iterable[PendingApproval], approvals: dict[str, Approval], *, caller: str | None,
           approve: bool) -> Choice:
    """The open approval this caller decides: Approve first, then SecondApproval, never one they
    decided; ``SameApproverError`` when approving would make them both approvers of one execution."""
    by_action = {p.action: p for p in open_approvals}
    mine = [a for a in approvals.values() if caller and a.updated_by == caller and a.action not in by_action]
    ordered = [by_action[a] for a in APPROVAL_ACTIONS if a in by_action]
    if not ordered:
        raise ValueError("no open approval to choose from")
    chosen = ordered[0]
    if approve and mine and any(a.status == APPROVED for a in mine):
        first = next(a for a in mine if a.status == APPROVED)
        raise SameApproverError(
            f"you ({caller}) already approved {first.action} of execution {chosen.execution_id}; "
            f"{chosen.action} needs a different person. Nothing was done: the pipeline's CheckChangeSet "
            "refuses one person approving twice, so a second approval by you would only fail the "
            "execution. Ask another approver (reject stays possible)")
    if len(ordered) == 2:
        note = (f"deciding {chosen.action} (1 of 2 approvals; {ordered[1].action} stays open for "
                "another person)")
    elif chosen.action == SECOND_APPROVAL_ACTION:
        first = approvals.get(APPROVE_ACTION)
        by = f" by {who(first.updated_by)}" if first and first.status == APPROVED else ""
        note = f"deciding {chosen.action} ({APPROVE_ACTION} already approved{by})"
    else:
        second = approvals.get(SECOND_APPROVAL_ACTION)
        note = f"deciding {chosen.action}" + ("; the second approval was waived" if waived(second) else "")
    return Choice(chosen, note)
