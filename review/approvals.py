"""Two approvals for high-risk changes: who approved, and the waiver for the second one when not needed.

The Change stage holds two manual approval actions side by side (same RunOrder): ``Approve`` and
``SecondApproval``. CodePipeline cannot skip one action of a stage on a condition (stage conditions
skip whole stages, and a second stage would break the stage lock, aws-fidelity notes F4), so:

- the ``WaiveSecondApproval`` step runs beside them and, when the review's risk tier is not
  ``high`` (and the stack does not require two approvals always), approves ``SecondApproval`` itself
  with ``PutApprovalResult``, summary "Not required: ...". It finds the approval's token with
  ``GetPipelineState`` ("The token for each open approval request can be obtained using the
  GetPipelineState action", API reference, PutApprovalResult), waiting with continuation tokens
  until the action is open, and only for its own execution;
- the ``CheckChangeSet`` step (the stale guard) then reads both approvals of its execution with
  ``ListActionExecutions`` and, for a high-risk change, refuses unless both were approved, by two
  different identities, neither of them this function.

Why an approving function is acceptable here: its role may call PutApprovalResult on exactly the
``SecondApproval`` action of the stack pipelines (not ``Approve``); it waives only what the review
(its own code, whose outputs only it writes) rated below high; and the check refuses a high-risk
change whose second approval came from the function, so even a wrong waiver cannot let a high-risk
change through with one person.

The commit's author: "A high-risk change needs two approvals from different identities, neither
of them the commit's author where that is known" (issue 11). The author is what the sync read from
git (``Name <email>``, the ``CommitAuthor`` pipeline variable); it is known when it carries an email.
An approver is taken to be the author when the approval's session name (assumed role) or user name
(IAM user) equals that email or its local part, compared without case: AWS IAM Identity Center
names the session after the user's user name, which organizations usually set to the email or its
local part. A git author is self-declared, so this stops the honest case (an engineer approving
their own change), not a forger: the guardrails and the approvers' policy are what stop forgers.

Identities: an approval's ``updatedBy`` is the caller's ARN. For an assumed role that is
``arn:aws:sts::<account>:assumed-role/<role>/<session>``: two sessions of one role count as two
people only by their session names, which AWS IAM Identity Center sets to the user's name; with
plain roles, require ``sts:RoleSessionName`` = ``${aws:username}`` in the role's trust policy.

Standard library only (the clients are passed in): this runs inside the Lambda function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

REQUIRE_ON_RISK = "risk"  # two approvals for high-risk changes
REQUIRE_ALWAYS = "always"  # two approvals for every change of the stack
REQUIREMENTS = (REQUIRE_ON_RISK, REQUIRE_ALWAYS)
WAIVER_PREFIX = "Not required: "
# The default of the CommitAuthor variable and the sync's placeholder for an empty value
# (generator/naming.py VARIABLE_DEFAULT, sync/pipelines.py EMPTY_VALUE): no author known.
UNKNOWN_AUTHORS = ("", "unknown", "-")
_EMAIL = re.compile(r"<([^<>@\s]+@[^<>\s]+)>\s*\Z|\A\s*([^<>@\s]+@[^<>\s]+)\s*\Z")
_SESSION = re.compile(r"\Aarn:[^:]+:sts::\d{12}:assumed-role/[^/]+/(.+)\Z")
_USER = re.compile(r"\Aarn:[^:]+:iam::\d{12}:user/(?:.*/)?([^/]+)\Z")


class ApprovalError(Exception):
    """The approvals of this execution do not meet the rule; the message says how."""


@dataclass(frozen=True)
class Approval:
    action: str
    status: str  # Succeeded (approved), Failed (rejected), InProgress, Abandoned
    updated_by: str
    summary: str  # the approver's comment (externalExecutionSummary)


def two_needed(risk: str, requirement: str) -> bool:
    return requirement == REQUIRE_ALWAYS or risk == "high"


def approvals_of(codepipeline: Any, pipeline: str, execution: str,
                 actions: tuple[str, ...]) -> dict[str, Approval]:
    """The latest execution of each approval action in ``actions`` for this pipeline execution."""
    found: dict[str, Approval] = {}
    request: dict[str, Any] = {"pipelineName": pipeline, "filter": {"pipelineExecutionId": execution}}
    while True:
        page = codepipeline.list_action_executions(**request)
        for detail in page.get("actionExecutionDetails", []):
            name = detail.get("actionName")
            if name not in actions or name in found:  # newest first: keep the latest of a retried action
                continue
            result = (detail.get("output") or {}).get("executionResult") or {}
            found[name] = Approval(action=name, status=detail.get("status", ""),
                                   updated_by=detail.get("updatedBy", ""),
                                   summary=result.get("externalExecutionSummary", ""))
        if not page.get("nextToken"):
            return found
        request["nextToken"] = page["nextToken"]


def is_function(identity: str, function_role: str) -> bool:
    """Whether ``identity`` (an ARN) is a session of the role ``function_role`` (a role name)."""
    return f":assumed-role/{function_role}/" in identity or identity.endswith(f":role/{function_role}")


def author_email(author: str | None) -> str | None:
    """The email of a ``Name <email>`` (or bare email) author, lower case; None when not known."""
    if author is None or author.strip() in UNKNOWN_AUTHORS:
        return None
    found = _EMAIL.search(author)
    return (found.group(1) or found.group(2)).lower() if found else None


def is_author(identity: str, author: str | None) -> bool:
    """Whether the approver ``identity`` (an ARN) is the commit's ``author`` (module docstring)."""
    email = author_email(author)
    found = _SESSION.match(identity) or _USER.match(identity)
    if email is None or found is None:
        return False
    return found.group(1).lower() in (email, email.split("@", 1)[0])


def check_approvals(approvals: dict[str, Approval], *, first: str, second: str, risk: str, requirement: str,
                    function_role: str, author: str | None = None) -> str:
    """Return what was checked, or raise ApprovalError saying why the rule is not met.

    ``author`` is the commit's author as the sync read it (``Name <email>``); an approval by the
    author does not count where two are needed."""
    if not two_needed(risk, requirement):
        return f"risk {risk}: one approval is enough"
    why = "the stack requires two approvals" if requirement == REQUIRE_ALWAYS else f"risk {risk}"
    problems = []
    for name in (first, second):
        approval = approvals.get(name)
        if approval is None or approval.status != "Succeeded":
            problems.append(f"{name} is not approved ({approval.status if approval else 'no record'})")
        elif not approval.updated_by:
            problems.append(f"{name} names no approver")
        elif is_function(approval.updated_by, function_role):
            problems.append(f"{name} was waived by changegate, not approved by a person")
        elif is_author(approval.updated_by, author):
            problems.append(f"{name} was approved by {approval.updated_by}, the commit's author ({author}): "
                            "ask someone else to approve")
    if not problems and approvals[first].updated_by == approvals[second].updated_by:
        problems.append(f"both approvals come from the same identity {approvals[first].updated_by}")
    if problems:
        raise ApprovalError(f"{why}: two approvals by different people are needed; " + "; ".join(problems))
    return f"{why}: approved by {approvals[first].updated_by} and {approvals[second].updated_by}"


def approval_state(codepipeline: Any, pipeline: str, execution: str, stage: str,
                   action: str) -> tuple[str, str | None]:
    """(status, token) of ``action`` in ``execution``: ("InProgress", token) while it is open,
    ("Succeeded"/"Failed", None) once someone decided it, ("", None) before it opens."""
    state = codepipeline.get_pipeline_state(name=pipeline)
    for stage_state in state.get("stageStates", []):
        if stage_state.get("stageName") != stage:
            continue
        if (stage_state.get("latestExecution") or {}).get("pipelineExecutionId") != execution:
            return "", None
        for action_state in stage_state.get("actionStates", []):
            latest = action_state.get("latestExecution") or {}
            if action_state.get("actionName") == action:
                status = latest.get("status", "")
                return status, latest.get("token") if status == "InProgress" else None
    return "", None
