"""Drift of the resources a change touches: detected before the approval request, bounded in time.

Issue 11: "drift detection before the approval request, bounded in time, reported as unknown when it
does not finish"; drift being overwritten is high risk. The Review step (review/steps.py) calls:

1. :func:`touched`: the logical ids the change set modifies or removes in the stack itself. Added
   and imported resources have nothing to drift from; "When detecting drift on a stack,
   CloudFormation doesn't detect drift on any nested stacks belonging to that stack" (API reference,
   DetectStackDrift), so resources of nested change sets are not asked about.
2. :func:`start`: ``DetectStackDrift`` with those ids (``LogicalResourceIds``: 1 to 200 members,
   botocore's model of the API; with more, the whole stack). The step then returns a continuation
   token (:class:`Pending`) and CodePipeline invokes it again later.
3. :func:`finish` on each later call: ``DescribeStackDriftDetectionStatus``; once
   ``DETECTION_COMPLETE`` or ``DETECTION_FAILED`` ("Results will be available for resources on which
   CloudFormation successfully completed drift detection", CloudFormation user guide,
   using-cfn-stack-drift), every page of ``DescribeStackResourceDrifts``, keeping only results of
   this detection; past the deadline, drift is unknown.

Whose permissions read the resources: "In order to successfully perform drift detection on a stack,
a user must have the following permissions: Read permission for each resource that supports drift
detection included in the stack. For example, if the stack includes an AWS::EC2::Instance
resource, you must have ec2:DescribeInstances permission ..." (CloudFormation user guide,
using-cfn-stack-drift, "Considerations when detecting drift"): the caller's, here the steps
function's role. That role gets no broad read rights by default (owners may attach read policies:
pipelines/config.yaml ``review.drift.read_policies``), so a resource it cannot read comes back
without a result or NOT_CHECKED, and the review says "drift unknown (not permitted to read: ...)".

Standard library only (the client is passed in): this runs inside the Lambda function.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

# DetectStackDrift's LogicalResourceIds: "min": 1, "max": 200 (botocore's model of the API).
MAX_LOGICAL_IDS = 200
DEFAULT_TIMEOUT_SECONDS = 300
# Resource drift statuses the review reports (StackResourceDriftStatus; botocore's model also has
# UNKNOWN and UNSUPPORTED, which the review reports as unknown).
IN_SYNC, MODIFIED, DELETED, NOT_CHECKED, UNKNOWN = "IN_SYNC", "MODIFIED", "DELETED", "NOT_CHECKED", "UNKNOWN"
DRIFTED = (MODIFIED, DELETED)
TOUCHING_ACTIONS = ("Modify", "Remove")
# Stacks that cannot be asked: none yet (the change set creates it), or one a change set is
# creating (REVIEW_IN_PROGRESS: no resources yet).
NOT_DETECTABLE = ("NONE", "REVIEW_IN_PROGRESS")
MAX_REASON = 160
# Words CloudFormation and the services use when the caller may not read a resource.
_DENIED = ("not authorized", "accessdenied", "access denied", "unauthorizedoperation", "forbidden")


class DriftTokenError(ValueError):
    """A continuation token this module did not write."""


@dataclass(frozen=True)
class Pending:
    """A detection in progress, carried between the step's calls in the continuation token.

    The token is small (well under PutJobSuccessResult's "Maximum length of 2048"): the detection
    id (at most 36 characters, botocore's model), when it started, and the stack's state the review
    saw on its first call (what CheckChangeSet compares later, taken before the wait).
    """

    detection_id: str
    started: int  # epoch seconds, the function's clock
    stack_status: str
    stack_updated: str

    def token(self) -> str:
        return json.dumps({"drift": self.detection_id, "since": self.started, "status": self.stack_status,
                           "updated": self.stack_updated}, separators=(",", ":"))

    @classmethod
    def parse(cls, token: str) -> Pending:
        try:
            data = json.loads(token)
            return cls(str(data["drift"]), int(data["since"]), str(data["status"]), str(data["updated"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise DriftTokenError(f"continuation token {token[:80]!r} is not a drift detection's") from exc


@dataclass(frozen=True)
class ResourceDrift:
    logical_id: str
    status: str  # IN_SYNC, MODIFIED, DELETED, NOT_CHECKED or UNKNOWN
    reason: str = ""  # why it is NOT_CHECKED or UNKNOWN

    @property
    def drifted(self) -> bool:
        return self.status in DRIFTED

    @property
    def unknown(self) -> bool:
        return self.status in (NOT_CHECKED, UNKNOWN)


@dataclass(frozen=True)
class DriftResult:
    """Each touched resource's drift, and one line saying what was done (or why nothing was)."""

    note: str
    resources: tuple[ResourceDrift, ...] = ()

    def of(self, logical_id: str) -> ResourceDrift | None:
        return next((r for r in self.resources if r.logical_id == logical_id), None)


def shorten(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def touched(view) -> list[str]:
    """The logical ids the change set modifies or removes in the stack itself (sorted, unique)."""
    return sorted({c.logical_id for c in view.changes if c.action in TOUCHING_ACTIONS and c.logical_id})


def not_run(note: str) -> DriftResult:
    return DriftResult(note=note)


def all_unknown(logical_ids: list[str], reason: str, note: str) -> DriftResult:
    return DriftResult(note=note, resources=tuple(ResourceDrift(i, UNKNOWN, reason) for i in logical_ids))


def start(cfn, stack: str, logical_ids: list[str]) -> str:
    """Start a detection of ``logical_ids`` (the whole stack when there are more than the API takes)."""
    request: dict = {"StackName": stack}
    if len(logical_ids) <= MAX_LOGICAL_IDS:
        request["LogicalResourceIds"] = list(logical_ids)
    return cfn.detect_stack_drift(**request)["StackDriftDetectionId"]


def _results(cfn, stack: str, since: dt.datetime) -> dict[str, dict]:
    """Every resource result of the stack's latest detections at or after ``since``, by logical id.

    DescribeStackResourceDrifts returns the latest result of every resource ever checked: those of
    an earlier detection (a resource this one could not read, or an earlier whole-stack run) are
    older than this detection's start, and are not this review's answer.
    """
    found: dict[str, dict] = {}
    request: dict = {"StackName": stack}
    while True:
        page = cfn.describe_stack_resource_drifts(**request)
        for drift in page.get("StackResourceDrifts") or ():
            when = drift.get("Timestamp")
            if isinstance(when, dt.datetime) and when >= since:
                found[drift["LogicalResourceId"]] = drift
        if not page.get("NextToken"):
            return found
        request["NextToken"] = page["NextToken"]


def _why_unknown(failed: bool, reason: str) -> str:
    if any(word in reason.lower() for word in _DENIED):
        return f"not permitted to read: {shorten(reason)}"
    if failed:
        return f"detection failed: {shorten(reason)}" if reason else "detection failed"
    return shorten(reason) if reason else "CloudFormation does not check this resource type"


def finish(cfn, stack: str, logical_ids: list[str], pending: Pending, *, now: dt.datetime,
           timeout_seconds: int) -> DriftResult | None:
    """The touched resources' drift once the detection ended; None while it runs within the deadline."""
    status = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=pending.detection_id)
    detection = status.get("DetectionStatus", "")
    elapsed = (now - dt.datetime.fromtimestamp(pending.started, dt.timezone.utc)).total_seconds()
    if detection not in ("DETECTION_COMPLETE", "DETECTION_FAILED"):
        if elapsed < timeout_seconds:
            return None
        return all_unknown(logical_ids, f"detection did not finish in {timeout_seconds} s",
                           f"drift detection {pending.detection_id} did not finish in {timeout_seconds} s")
    failed = detection == "DETECTION_FAILED"
    # "Timestamp: Time at which the stack drift detection operation was initiated" (API reference,
    # DescribeStackDriftDetectionStatus): CloudFormation's own clock, so no skew against the
    # resources' timestamps; the function's clock only when it is missing.
    since = status.get("Timestamp")
    if not isinstance(since, dt.datetime):
        since = dt.datetime.fromtimestamp(pending.started, dt.timezone.utc)
    found = _results(cfn, stack, since)
    stack_reason = str(status.get("DetectionStatusReason") or "")
    resources = []
    for logical_id in logical_ids:
        drift = found.get(logical_id)
        state = drift.get("StackResourceDriftStatus", "") if drift else ""
        if state in (IN_SYNC, MODIFIED, DELETED):
            resources.append(ResourceDrift(logical_id, state))
            continue
        reason = str((drift or {}).get("DriftStatusReason") or "")
        if not reason and (failed or drift is None):
            reason = stack_reason
        if drift is None and not failed and not reason:
            reason = "no result from this detection"
        resources.append(ResourceDrift(logical_id, NOT_CHECKED if state == NOT_CHECKED else UNKNOWN,
                                       _why_unknown(failed, reason)))
    outcome = "failed" if failed else "complete"
    note = f"drift detection {pending.detection_id} {outcome} after {int(elapsed)} s"
    if failed and stack_reason:
        note += f": {shorten(stack_reason)}"
    return DriftResult(note=note, resources=tuple(resources))
