"""CloudFormation's own checks of a change set: its early (pre-deployment) validations and its hooks.

"Returns different types of events including: ... Validation errors - Failures from CloudFormation
Early Validations. ... Hook invocation errors - Failures from CloudFormation Hook during stack
operations" (CloudFormation API reference, DescribeEvents; "One of ChangeSetName, OperationId or
StackName must be specified"). With ``Filters.FailedEvents`` "only returns failed events within the
operation". A check that fails in FAIL mode fails the change set itself (CreateChangeSet fails and
nobody is asked); what reaches the review are the ones in WARN mode, or skipped: the approver sees
each, and the change is at least medium risk.

DescribeEvents is newer than some SDKs (the Lambda runtime's boto3 among them, possibly), and older
roles may lack ``cloudformation:DescribeEvents``: then the review says the checks could not be read
and goes on; it never fails because of them.

Only the standard library, boto3 and botocore: this runs inside the Lambda function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VALIDATION_ERROR = "VALIDATION_ERROR"
HOOK_INVOCATION_ERROR = "HOOK_INVOCATION_ERROR"
# A change set's creation is one operation: a handful of pages at most; the bound keeps a
# misbehaving paginator from holding the review.
MAX_PAGES = 20


@dataclass(frozen=True)
class CheckResult:
    kind: str  # "validation" or "hook"
    name: str  # ValidationName, or the HookType
    status: str  # ValidationStatus (FAILED, SKIPPED) or HookStatus
    mode: str  # ValidationFailureMode or HookFailureMode (FAIL, WARN)
    logical_id: str
    resource_type: str
    reason: str
    path: str = ""  # ValidationPath: where in the resource's properties

    def describe(self) -> str:
        what = "validation" if self.kind == "validation" else "hook"
        where = f" at {self.path}" if self.path else ""
        mode = f", {self.mode}" if self.mode else ""
        return f"{what} {self.name} {self.status.lower()}{mode}{where}: {self.reason or 'no reason given'}"


@dataclass(frozen=True)
class Checks:
    results: tuple[CheckResult, ...] = ()
    unavailable: str = ""  # why the checks could not be read ("" when they were)

    @property
    def note(self) -> str:
        if self.unavailable:
            return f"CloudFormation's checks could not be read: {self.unavailable}"
        if not self.results:
            return "CloudFormation's checks: none failed"
        return f"CloudFormation's checks: {len(self.results)} reported a problem"


def read_checks(cloudformation: Any, change_set_id: str) -> Checks:
    """The failed or skipped validations and hook invocations of the change set's creation."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not hasattr(cloudformation, "describe_events"):
        return Checks(unavailable="this SDK has no DescribeEvents")
    request: dict[str, Any] = {"ChangeSetName": change_set_id, "Filters": {"FailedEvents": True}}
    results: list[CheckResult] = []
    try:
        for _ in range(MAX_PAGES):
            page = cloudformation.describe_events(**request)
            results.extend(_result(event) for event in page.get("OperationEvents", [])
                           if event.get("EventType") in (VALIDATION_ERROR, HOOK_INVOCATION_ERROR))
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return Checks(unavailable=f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip(": "))
    except BotoCoreError as exc:
        return Checks(unavailable=str(exc))
    return Checks(tuple(results))


def _result(event: dict) -> CheckResult:
    if event.get("EventType") == VALIDATION_ERROR:
        return CheckResult("validation", event.get("ValidationName", ""), event.get("ValidationStatus", ""),
                           event.get("ValidationFailureMode", ""), event.get("LogicalResourceId", ""),
                           event.get("ResourceType", ""), event.get("ValidationStatusReason", ""),
                           event.get("ValidationPath", ""))
    return CheckResult("hook", event.get("HookType", ""), event.get("HookStatus", ""),
                       event.get("HookFailureMode", ""), event.get("LogicalResourceId", ""),
                       event.get("ResourceType", ""), event.get("HookStatusReason", ""))
