"""Read a change set as CloudFormation describes it: every page, property values, nested change sets.

``read_change_set(cfn, stack, change_set)`` returns a :class:`ChangeSetView`, the plain data
:mod:`review.assess` judges. It calls ``DescribeChangeSet`` with ``IncludePropertyValues=True``
("If true, the returned changes include detailed changes in the property values", CloudFormation
API reference, DescribeChangeSet) and follows ``NextToken`` until the last page. A ``ResourceChange``
whose ``ChangeSetId`` is set points at "the change set ID of the nested change set" (API reference,
ResourceChange): it is read the same way, by ARN, and kept under its parent.

CodePipeline's CHANGE_SET_REPLACE action has no IncludeNestedStacks parameter (review-step facts §1),
so a pipeline's change set usually shows a nested stack only as a Modify of its
``AWS::CloudFormation::Stack`` resource; nested change sets are read whenever they exist.

Standard library only (the clients are passed in): this runs inside the Lambda function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# Status FAILED with one of these reasons means "nothing to change", not a failure (review-step
# facts §1: "The submitted information didn't contain changes. Submit different information to
# create a change set."; some code paths say "No updates are to be performed.").
NO_CHANGES_REASONS = ("The submitted information didn't contain changes", "No updates are to be performed")
# Nested change sets deeper than this are not followed (CloudFormation nests at most 5 levels in
# practice; the bound only keeps a malformed answer from looping).
MAX_NESTING = 10


class ChangeSetError(Exception):
    """The change set cannot be reviewed (failed for another reason, not found, still being made)."""


@dataclass(frozen=True)
class Detail:
    """One ``ResourceChangeDetail``: what changes in a resource, and whether it recreates it."""

    attribute: str  # Properties, Metadata, Tags, DeletionPolicy, ...
    name: str  # the property name (Target.Name), "" for attributes without one
    requires_recreation: str  # Never, Conditionally, Always ("" when not given)
    change_source: str = ""
    evaluation: str = ""  # Static or Dynamic
    causing_entity: str = ""
    change_type: str = ""  # Add, Remove, Modify, SyncWithActual
    before: str | None = None  # Target.BeforeValue ("Large values can be truncated")
    after: str | None = None
    drift: str = ""  # Target.Drift.DriftStatus when CloudFormation reports drift for the property


@dataclass(frozen=True)
class ResourceChangeView:
    """One ``ResourceChange`` of a change set (or of a nested one: ``stack`` says which)."""

    stack: str
    logical_id: str
    resource_type: str
    action: str  # Add, Modify, Remove, Import, Dynamic, SyncWithActual
    physical_id: str = ""
    replacement: str = ""  # True, False, Conditional ("" for Add/Remove)
    # Delete, Retain, Snapshot, ReplaceAndDelete, ReplaceAndRetain, ReplaceAndSnapshot
    policy_action: str = ""
    scope: tuple[str, ...] = ()
    details: tuple[Detail, ...] = ()
    before: dict | None = None  # BeforeContext, decoded ("encoded JSON string")
    after: dict | None = None  # AfterContext, decoded
    drift_status: str = ""  # ResourceDriftStatus (drift-aware change sets)
    nested_change_set_id: str = ""
    hook_invocations: int = 0


@dataclass(frozen=True)
class ChangeSetView:
    stack_name: str
    stack_id: str
    change_set_name: str
    change_set_id: str
    status: str
    execution_status: str
    status_reason: str = ""
    creation_time: str = ""
    changes: tuple[ResourceChangeView, ...] = ()
    nested: tuple[ChangeSetView, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        """CloudFormation found nothing to change (the change set FAILED with a no-changes reason).

        A CREATE_COMPLETE change set without resource changes is NOT empty: it can still change
        outputs or stack-level settings, and it is executable. Only CloudFormation's own
        "no changes" answer means there is nothing to execute.
        """
        return self.status == "FAILED" and any(r in self.status_reason for r in NO_CHANGES_REASONS)

    def all_changes(self) -> list[ResourceChangeView]:
        """Every resource change, the nested change sets' right after the stack resource that holds them."""
        by_id = {n.change_set_id: n for n in self.nested}
        out: list[ResourceChangeView] = []
        for change in self.changes:
            out.append(change)
            nested = by_id.get(change.nested_change_set_id)
            if nested is not None:
                out.extend(nested.all_changes())
        return out


def _context(text: Any) -> dict | None:
    if not text or not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _detail(raw: dict) -> Detail:
    target = raw.get("Target") or {}
    return Detail(attribute=target.get("Attribute", ""),
                  name=target.get("Name", "") or target.get("Path", ""),
                  requires_recreation=target.get("RequiresRecreation", ""),
                  change_source=raw.get("ChangeSource", ""), evaluation=raw.get("Evaluation", ""),
                  causing_entity=raw.get("CausingEntity", ""),
                  change_type=target.get("AttributeChangeType", ""),
                  before=target.get("BeforeValue"), after=target.get("AfterValue"),
                  drift=(target.get("Drift") or {}).get("DriftStatus", ""))


def _resource_change(stack: str, change: dict) -> ResourceChangeView | None:
    if change.get("Type", "Resource") != "Resource" or "ResourceChange" not in change:
        return None
    raw = change["ResourceChange"]
    return ResourceChangeView(
        stack=stack, logical_id=raw.get("LogicalResourceId", ""), resource_type=raw.get("ResourceType", ""),
        action=raw.get("Action", ""), physical_id=raw.get("PhysicalResourceId", ""),
        replacement=raw.get("Replacement", ""), policy_action=raw.get("PolicyAction", ""),
        scope=tuple(raw.get("Scope") or ()), details=tuple(_detail(d) for d in raw.get("Details") or ()),
        before=_context(raw.get("BeforeContext")), after=_context(raw.get("AfterContext")),
        drift_status=raw.get("ResourceDriftStatus", ""), nested_change_set_id=raw.get("ChangeSetId", ""),
        hook_invocations=int(change.get("HookInvocationCount") or 0))


def _pages(cfn: Any, **request: Any) -> list[dict]:
    pages = []
    token = None
    while True:
        page = cfn.describe_change_set(IncludePropertyValues=True, **request,
                                       **({"NextToken": token} if token else {}))
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            return pages


def _read(cfn: Any, request: dict, depth: int) -> ChangeSetView:
    pages = _pages(cfn, **request)
    first = pages[0]
    stack = first.get("StackName", "")
    raw_changes = [raw for page in pages for raw in page.get("Changes") or ()]
    changes = tuple(c for c in (_resource_change(stack, raw) for raw in raw_changes) if c is not None)
    nested = []
    if depth < MAX_NESTING:
        for change in changes:
            if change.nested_change_set_id:
                nested.append(_read(cfn, {"ChangeSetName": change.nested_change_set_id}, depth + 1))
    created = first.get("CreationTime")
    return ChangeSetView(
        stack_name=stack, stack_id=first.get("StackId", ""), change_set_name=first.get("ChangeSetName", ""),
        change_set_id=first.get("ChangeSetId", ""), status=first.get("Status", ""),
        execution_status=first.get("ExecutionStatus", ""), status_reason=first.get("StatusReason", "") or "",
        creation_time=created.isoformat() if hasattr(created, "isoformat") else str(created or ""),
        changes=changes, nested=tuple(nested))


def read_change_set(cfn: Any, stack: str, change_set: str) -> ChangeSetView:
    """The change set ``change_set`` (name or ARN) of ``stack``, with every page and nested change set.

    Raises ``ChangeSetError`` when the change set does not exist, is still being created, or
    failed for a reason other than "no changes" (then it cannot be reviewed, nor executed).
    """
    from botocore.exceptions import ClientError

    try:
        view = _read(cfn, {"StackName": stack, "ChangeSetName": change_set}, 0)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ChangeSetNotFound":
            raise ChangeSetError(f"change set {change_set} of stack {stack} does not exist") from exc
        raise
    if view.status == "FAILED" and not view.is_empty:
        raise ChangeSetError(f"change set {change_set} of stack {stack} failed: {view.status_reason}")
    if view.status not in ("CREATE_COMPLETE", "FAILED"):
        raise ChangeSetError(f"change set {change_set} of stack {stack} is {view.status}, "
                             "not CREATE_COMPLETE")
    return view
