"""Recorded-style DescribeChangeSet responses in botocore's real shapes, and a stubbed client serving them.

Every response goes through botocore's Stubber, which validates it against the service model's
output shape for DescribeChangeSet (a misspelt field or a wrong type fails the test), and every
request against the input shape (IncludePropertyValues, NextToken, the nested change set's ARN).
"""

from __future__ import annotations

import datetime as dt
import json

import boto3
from botocore.stub import Stubber

REGION = "eu-west-1"
ACCOUNT = "123456789012"
STACK = "acme-database"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/5b1e0c60-0f00-11ef-9a7e-0a1b2c3d4e5f"
CHANGE_SET = "acme-6f1c2a34-1d2e-4f5a-9b8c-7d6e5f4a3b2c"
CHANGE_SET_ID = (f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/{CHANGE_SET}/"
                 "0c4b0d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e")
CREATED = dt.datetime(2026, 12, 2, 5, 0, tzinfo=dt.timezone.utc)


def change(logical_id: str, resource_type: str, action: str, *, replacement: str | None = None,
           policy_action: str | None = None, details: list | None = None, before: dict | None = None,
           after: dict | None = None, nested: str | None = None, drift: str | None = None) -> dict:
    raw: dict = {"Action": action, "LogicalResourceId": logical_id, "ResourceType": resource_type,
                 "Scope": sorted({d["Target"]["Attribute"] for d in details or []}),
                 "Details": details or []}
    if action != "Add":
        raw["PhysicalResourceId"] = f"{logical_id.lower()}-phys"
    if replacement is not None:
        raw["Replacement"] = replacement
    if policy_action is not None:
        raw["PolicyAction"] = policy_action
    if before is not None:
        raw["BeforeContext"] = json.dumps(before)
    if after is not None:
        raw["AfterContext"] = json.dumps(after)
    if nested is not None:
        raw["ChangeSetId"] = nested
    if drift is not None:
        raw["ResourceDriftStatus"] = drift
    return {"Type": "Resource", "ResourceChange": raw}


def detail(name: str, *, attribute: str = "Properties", recreation: str = "Never",
           source: str = "DirectModification", before: str | None = None, after: str | None = None) -> dict:
    target: dict = {"Attribute": attribute, "RequiresRecreation": recreation, "AttributeChangeType": "Modify"}
    if name:
        target["Name"] = name
        target["Path"] = f"/Properties/{name}"
    if before is not None:
        target["BeforeValue"] = before
    if after is not None:
        target["AfterValue"] = after
    return {"Target": target, "Evaluation": "Static", "ChangeSource": source}


def response(changes: list, *, status: str = "CREATE_COMPLETE", execution: str = "AVAILABLE",
             reason: str | None = None, next_token: str | None = None, stack: str = STACK,
             stack_id: str = STACK_ID, name: str = CHANGE_SET, change_set_id: str = CHANGE_SET_ID,
             parent: str | None = None) -> dict:
    out = {"ChangeSetName": name, "ChangeSetId": change_set_id, "StackId": stack_id, "StackName": stack,
           "CreationTime": CREATED, "ExecutionStatus": execution, "Status": status, "Changes": changes,
           "Capabilities": [], "NotificationARNs": [], "Parameters": [], "Tags": [],
           "IncludeNestedStacks": parent is not None or any("ChangeSetId" in c["ResourceChange"]
                                                            for c in changes)}
    if reason is not None:
        out["StatusReason"] = reason
    if next_token is not None:
        out["NextToken"] = next_token
    if parent is not None:
        out["ParentChangeSetId"] = parent
        out["RootChangeSetId"] = parent
    return out


def empty_response(reason: str = "The submitted information didn't contain changes. Submit different "
                                 "information to create a change set.") -> dict:
    return response([], status="FAILED", execution="UNAVAILABLE", reason=reason)


class StubbedCloudFormation:
    """A CloudFormation client whose DescribeChangeSet answers come, in order, from ``pages``.

    ``pages`` is a list of (expected request, response) pairs.
    """

    def __init__(self) -> None:
        self.client = boto3.client("cloudformation", region_name=REGION, aws_access_key_id="x",
                                   aws_secret_access_key="x")
        self.stubber = Stubber(self.client)

    def page(self, resp: dict, **request) -> StubbedCloudFormation:
        self.stubber.add_response("describe_change_set", resp, {"IncludePropertyValues": True, **request})
        return self

    def first(self, resp: dict) -> StubbedCloudFormation:
        return self.page(resp, StackName=STACK, ChangeSetName=CHANGE_SET)
