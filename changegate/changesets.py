"""Read a CloudFormation change set (every page, nested stacks included) and summarise it.

What an approver must see before approving: what is added, modified, removed, and above
all what is *replaced* (a replaced database is a new, empty database).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from changegate.aws import aws_call, error_code
from generator.errors import AwsError

PIPELINE_TYPE = "AWS::CodePipeline::Pipeline"
NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"
# CloudFormation's reasons for a change set that changes nothing (CREATE, UPDATE wordings).
EMPTY_REASONS = ("didn't contain changes", "No updates are to be performed")
MAX_NESTING = 5
# The console's host per partition (the partition is the ARN's second field).
CONSOLE_HOSTS = {"aws": "console.aws.amazon.com", "aws-cn": "console.amazonaws.cn",
                 "aws-us-gov": "console.amazonaws-us-gov.com"}


@dataclass(frozen=True)
class ResourceChange:
    action: str  # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    resource_type: str
    physical_id: str | None = None
    replacement: str | None = None  # "True" | "Conditional" | "False"; None for Add/Remove
    properties: tuple[str, ...] = ()  # changed property paths, e.g. "Properties.BucketName"
    stack: str = ""  # the nested stack's logical id path, "" for the top-level stack

    @property
    def replaces(self) -> bool:
        return self.replacement in ("True", "Conditional")

    @property
    def address(self) -> str:
        return f"{self.stack}/{self.logical_id}" if self.stack else self.logical_id


@dataclass(frozen=True)
class ChangeSummary:
    adds: int = 0
    modifies: int = 0
    removes: int = 0
    replacements: int = 0
    conditional_replacements: int = 0

    @property
    def total(self) -> int:
        return self.adds + self.modifies + self.removes

    def render(self) -> str:
        text = f"{self.adds} to add, {self.modifies} to modify, {self.removes} to remove"
        if self.replacements or self.conditional_replacements:
            text += f"; REPLACES {self.replacements}"
            if self.conditional_replacements:
                text += f" (+{self.conditional_replacements} conditionally)"
        return text

    def short(self) -> str:
        """``+1 ~2 -0`` and the replacements, for a table cell."""
        text = f"+{self.adds} ~{self.modifies} -{self.removes}"
        replaced = self.replacements + self.conditional_replacements
        return f"{text} replaces {replaced}" if replaced else text

    def to_json(self) -> dict[str, int]:
        return {"adds": self.adds, "modifies": self.modifies, "removes": self.removes,
                "replacements": self.replacements,
                "conditional_replacements": self.conditional_replacements}


@dataclass(frozen=True)
class ChangeSet:
    stack: str
    name: str
    change_set_id: str
    status: str  # CREATE_PENDING | CREATE_IN_PROGRESS | CREATE_COMPLETE | FAILED | ...
    execution_status: str
    status_reason: str = ""
    created: datetime | None = None
    changes: tuple[ResourceChange, ...] = field(default_factory=tuple)
    stack_id: str = ""  # the stack's ARN

    @property
    def console_url(self) -> str | None:
        """The change set's page in the CloudFormation console, or None outside the known partitions.

        The host follows the partition in the change set's ARN (aws-fidelity notes, F16: a fixed
        console.aws.amazon.com is wrong in aws-cn and aws-us-gov), and the link carries ARNs, the
        form the console itself uses. No AWS document describes these parameters: open one link on
        a sandbox account to confirm (notes, section 2, question 8).
        """
        parts = self.change_set_id.split(":")
        if len(parts) < 6 or not self.stack_id:
            return None
        host = CONSOLE_HOSTS.get(parts[1])
        if host is None:
            return None
        return (f"https://{host}/cloudformation/home?region={parts[3]}#/stacks/changesets/changes"
                f"?stackId={quote(self.stack_id, safe='')}&changeSetId={quote(self.change_set_id, safe='')}")

    @property
    def is_empty(self) -> bool:
        """True for CloudFormation's "no changes" failure, the only FAILED that is not an error."""
        return self.status == "FAILED" and any(r in self.status_reason for r in EMPTY_REASONS)

    @property
    def summary(self) -> ChangeSummary:
        # a nested stack's own Modify row only says "something inside changed": count what is inside
        rows = [c for c in self.changes
                if not (c.resource_type == NESTED_STACK_TYPE and c.action == "Modify")]
        return ChangeSummary(
            adds=sum(c.action == "Add" for c in rows),
            modifies=sum(c.action in ("Modify", "Dynamic") for c in rows),
            removes=sum(c.action == "Remove" for c in rows),
            replacements=sum(c.replacement == "True" for c in rows),
            conditional_replacements=sum(c.replacement == "Conditional" for c in rows))

    def pipelines(self, action: str) -> list[str]:
        """Logical ids (or, for removals, names) of the pipelines this change set adds or removes."""
        return [c.physical_id or c.logical_id if action == "Remove" else c.logical_id
                for c in self.changes if c.resource_type == PIPELINE_TYPE and c.action == action]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack, "name": self.name, "id": self.change_set_id, "status": self.status,
            "execution_status": self.execution_status, "status_reason": self.status_reason,
            "created": self.created.isoformat() if self.created else None,
            "summary": self.summary.to_json(), "console_url": self.console_url,
            "changes": [{"action": c.action, "logical_id": c.logical_id, "type": c.resource_type,
                         "physical_id": c.physical_id, "replacement": c.replacement,
                         "properties": list(c.properties), "stack": c.stack or None}
                        for c in self.changes],
        }


def describe_change_set(cfn: Any, stack: str, name: str, *, nested: bool = True) -> ChangeSet:
    """The change set ``name`` of ``stack``, every page of it, with nested stacks' changes inlined."""
    pages = _pages(cfn, stack, name)
    first = pages[0]
    changes: list[ResourceChange] = []
    for page in pages:
        for change in page.get("Changes", []):
            resource = change.get("ResourceChange")
            if resource is None:
                continue
            changes.append(_resource_change(resource, ""))
            nested_id = resource.get("ChangeSetId")
            if nested and nested_id and resource.get("ResourceType") == NESTED_STACK_TYPE:
                changes.extend(_nested_changes(cfn, nested_id, resource["LogicalResourceId"], 1))
    return ChangeSet(
        stack=first.get("StackName", stack), name=first.get("ChangeSetName", name),
        change_set_id=first.get("ChangeSetId", ""), status=first.get("Status", ""),
        execution_status=first.get("ExecutionStatus", ""), status_reason=first.get("StatusReason", ""),
        created=first.get("CreationTime"), changes=tuple(changes), stack_id=first.get("StackId", ""))


def _pages(cfn: Any, stack: str, name: str) -> list[dict[str, Any]]:
    with aws_call("cloudformation:DescribeChangeSet", f"stack/{stack} change set {name}"):
        try:
            return list(cfn.get_paginator("describe_change_set").paginate(
                StackName=stack, ChangeSetName=name))
        except ClientError as exc:
            if error_code(exc) == "ChangeSetNotFound":
                raise AwsError(f"ChangeSetNotFound: no change set {name} on stack {stack} "
                               "(deleted, already executed, or never created)") from exc
            raise


def _nested_changes(cfn: Any, change_set_id: str, path: str, depth: int) -> list[ResourceChange]:
    if depth > MAX_NESTING:
        return []
    changes: list[ResourceChange] = []
    with aws_call("cloudformation:DescribeChangeSet", f"nested change set {change_set_id}"):
        pages = list(cfn.get_paginator("describe_change_set").paginate(ChangeSetName=change_set_id))
    for page in pages:
        for change in page.get("Changes", []):
            resource = change.get("ResourceChange")
            if resource is None:
                continue
            changes.append(_resource_change(resource, path))
            nested_id = resource.get("ChangeSetId")
            if nested_id and resource.get("ResourceType") == NESTED_STACK_TYPE:
                changes.extend(_nested_changes(cfn, nested_id, f"{path}/{resource['LogicalResourceId']}",
                                               depth + 1))
    return changes


def _resource_change(resource: dict[str, Any], stack: str) -> ResourceChange:
    paths = []
    for detail in resource.get("Details", []):
        path = _property_path(detail.get("Target", {}))
        if path and path not in paths:
            paths.append(path)
    return ResourceChange(
        action=resource.get("Action", ""), logical_id=resource.get("LogicalResourceId", ""),
        resource_type=resource.get("ResourceType", ""), physical_id=resource.get("PhysicalResourceId"),
        replacement=resource.get("Replacement"), properties=tuple(paths), stack=stack)


def _property_path(target: dict[str, Any]) -> str:
    # Path ("/Properties/BucketName") is the precise one; older responses only give Attribute/Name
    if target.get("Path"):
        return target["Path"].strip("/").replace("/", ".")
    attribute, name = target.get("Attribute", ""), target.get("Name")
    return f"{attribute}.{name}" if name else attribute
