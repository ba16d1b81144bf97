"""Roles and users a managed stack creates carry changegate's permissions boundary (issue 10 item 6).

The CloudFormation execution role is the one powerful role, and its own Deny statements keep it off
changegate's roles, buckets, key, function and bootstrap stack (generator/bootstrap/iam.py). A role it creates
would not carry those denies: one approved template could create an administrator role and, through
a Lambda-backed custom resource, undo the gate ("A person with permissions to create a role and
attach any policy can escalate their own permissions", CodePipeline user guide,
pipelines-create-service-role-cli; aws-fidelity notes F9). So the execution role may create a role
or user only with the boundary ``<project>-changegate-boundary``, which holds the same denies, and
may never remove a boundary. This module tells the template's author before the merge, with the
line to add, instead of letting ExecuteChangeSet fail with AccessDenied after an approval.

"A permissions boundary ... sets the maximum permissions that an identity-based policy can grant to
an IAM entity" (IAM user guide, access_policies_boundaries). SAM functions, state machines and APIs
that create their own role take ``PermissionsBoundary`` too (SAM resource reference).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator import naming
from generator.contract.problems import Problem, error
from generator.contract.resolve import line_at

# Resource types that create an IAM role or user, and when (None: always; else the property whose
# absence makes SAM create a role).
CREATES_PRINCIPAL = {
    "AWS::IAM::Role": None,
    "AWS::IAM::User": None,
    "AWS::Serverless::Function": "Role",
    "AWS::Serverless::StateMachine": "Role",
}


def boundary_reference(project: str) -> str:
    """What a template writes: the boundary's ARN, in this account and partition."""
    return ("!Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/"
            f"{naming.boundary_policy_name(project)}")


def names_the_boundary(value: Any, project: str) -> bool:
    """A literal or ``Fn::Sub`` ARN ending in ``:policy/<project>-changegate-boundary``."""
    if isinstance(value, Mapping) and set(value) == {"Fn::Sub"}:
        value = value["Fn::Sub"]
    return isinstance(value, str) and value.endswith(f":policy/{naming.boundary_policy_name(project)}")


def _global_boundary(template: Mapping) -> Any:
    """SAM's ``Globals.Function.PermissionsBoundary`` applies to every function."""
    globals_ = template.get("Globals")
    function = globals_.get("Function") if isinstance(globals_, Mapping) else None
    return function.get("PermissionsBoundary") if isinstance(function, Mapping) else None


def boundary_problems(template: Mapping, raw: bytes, relpath: str, stack: str, project: str) -> list[Problem]:
    """An error for every role or user the template creates without changegate's boundary."""
    if b"AWS::IAM::" not in raw and b"AWS::Serverless::" not in raw:
        return []
    resources = template.get("Resources")
    problems = []
    for logical_id, resource in resources.items() if isinstance(resources, Mapping) else ():
        if not isinstance(resource, Mapping) or resource.get("Type") not in CREATES_PRINCIPAL:
            continue
        kind = resource["Type"]
        properties = resource.get("Properties") if isinstance(resource.get("Properties"), Mapping) else {}
        own_role = CREATES_PRINCIPAL[kind]
        if own_role is not None and own_role in properties:
            continue  # SAM uses the given role and creates none
        boundary = properties.get("PermissionsBoundary")
        if boundary is None and kind == "AWS::Serverless::Function":
            boundary = _global_boundary(template)
        if names_the_boundary(boundary, project):
            continue
        path = ("Resources", logical_id, "Properties", "PermissionsBoundary")
        problems.append(error(
            relpath, "permissions-boundary",
            f"{kind} creates an IAM principal without the permissions boundary "
            f"{naming.boundary_policy_name(project)}: the execution role may create none without it "
            "(it keeps new roles off changegate's own resources), so the change would fail at Execute",
            key=f"Resources.{logical_id}.Properties.PermissionsBoundary", line=line_at(template, path),
            stack=stack,
            hint=f"add PermissionsBoundary: {boundary_reference(project)}"))
    return problems
