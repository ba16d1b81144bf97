"""The capabilities a template needs, derived from the template instead of discovered at Plan.

CloudFormation refuses a change set whose template needs a capability the caller did not
acknowledge (``InsufficientCapabilities``), and in changegate the caller is the stack's pipeline,
configured from ``pipelines/config.yaml``. Without this check a template that adds an IAM role
passes review, merges, and fails at Plan.

The rules, from the CloudFormation API reference (CreateChangeSet and CreateStack, "Capabilities"):

- "The following IAM resources require you to specify either the CAPABILITY_IAM or
  CAPABILITY_NAMED_IAM capability. If you have IAM resources, you can specify either capability.
  If you have IAM resources with custom names, you must specify CAPABILITY_NAMED_IAM."
  The list: AWS::IAM::AccessKey, Group, InstanceProfile, ManagedPolicy, Policy, Role, User,
  UserToGroupAddition.
- CAPABILITY_AUTO_EXPAND: "Some template contain macros ... This includes the AWS::Include and
  AWS::Serverless transforms, which are macros hosted by CloudFormation." The same text adds that
  it "doesn't apply to creating change sets, and specifying it when creating change sets has no
  effect" -- except for macros in nested stacks, where change sets do ask for it (AWS's own
  pipelines add it to the CloudFormation action: awslabs/aws-deployment-framework PR 100,
  aws/copilot-cli PR 1024). Requiring it for every transform costs nothing and never fails a Plan.
- SAM (AWS::Serverless-2016-10-31) expands resources into IAM roles and policies: a Function or
  StateMachine without a ``Role`` gets a generated role, a Connector generates policies, a
  GraphQLApi generates roles for its data sources and logs. Those need CAPABILITY_IAM as well.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

IAM = "CAPABILITY_IAM"
NAMED_IAM = "CAPABILITY_NAMED_IAM"
AUTO_EXPAND = "CAPABILITY_AUTO_EXPAND"

# resource type -> the property that gives it a custom name (None: it has no such property)
IAM_RESOURCES: Mapping[str, str | None] = {
    "AWS::IAM::AccessKey": None,
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Policy": None,  # PolicyName names an inline policy, not an IAM resource
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::UserToGroupAddition": None,
}
# SAM resources that create a role unless the template gives one ("Role" property)
SAM_ROLE_UNLESS_GIVEN = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")
# SAM resources that always create IAM roles or policies
SAM_ALWAYS_IAM = ("AWS::Serverless::Connector", "AWS::Serverless::GraphQLApi")


@dataclass(frozen=True)
class Need:
    """One capability the template needs, and the first thing in the template that needs it."""

    capability: str
    where: str  # a key path: Resources.TaskRole, Transform, Resources.X.Properties...
    why: str  # "AWS::IAM::Role with RoleName", "the AWS::Serverless-2016-10-31 transform"
    count: int = 1  # how many things in the template need it


def required_capabilities(template: Mapping, *, inline_transforms: bool = True) -> list[Need]:
    """What ``template`` needs, strongest first; CAPABILITY_NAMED_IAM replaces CAPABILITY_IAM.

    ``inline_transforms=False`` skips the walk for ``Fn::Transform`` (a caller that knows the
    file's text holds no "Transform" saves walking every node of every template).
    """
    found: dict[str, list[tuple[str, str]]] = {IAM: [], NAMED_IAM: [], AUTO_EXPAND: []}
    transforms = _transforms(template.get("Transform"))
    for name in transforms:
        found[AUTO_EXPAND].append(("Transform", f"the {name} transform (a macro)"))
    for where in _inline_transforms(template, ()) if inline_transforms else ():
        found[AUTO_EXPAND].append((where, "Fn::Transform (a macro)"))
    resources = template.get("Resources")
    if isinstance(resources, Mapping):
        for logical_id, resource in resources.items():
            if not isinstance(resource, Mapping):
                continue
            kind = str(resource.get("Type", ""))
            properties = resource.get("Properties")
            properties = properties if isinstance(properties, Mapping) else {}
            where = f"Resources.{logical_id}"
            if kind in IAM_RESOURCES:
                name_key = IAM_RESOURCES[kind]
                if name_key and name_key in properties:
                    found[NAMED_IAM].append((where, f"{kind} with {name_key}"))
                else:
                    found[IAM].append((where, kind))
            elif kind.startswith("AWS::Serverless::"):
                if not transforms:
                    found[AUTO_EXPAND].append((where, f"{kind} (a SAM resource: a macro)"))
                if kind in SAM_ALWAYS_IAM or (kind in SAM_ROLE_UNLESS_GIVEN
                                              and "Role" not in properties):
                    found[IAM].append((where, f"{kind}, which creates an IAM role or policy"))
    needs = []
    for capability in (NAMED_IAM, IAM, AUTO_EXPAND):
        if capability == IAM and found[NAMED_IAM]:
            continue  # CAPABILITY_NAMED_IAM covers unnamed resources too
        if found[capability]:
            where, why = found[capability][0]
            needs.append(Need(capability, where, why, len(found[capability])))
    return needs


def missing_capabilities(needs: list[Need], granted: tuple[str, ...]) -> list[Need]:
    """The needs ``granted`` does not cover (CAPABILITY_NAMED_IAM also covers CAPABILITY_IAM)."""
    have = set(granted)
    if NAMED_IAM in have:
        have.add(IAM)
    return [need for need in needs if need.capability not in have]


def _transforms(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v.get("Name", v)) if isinstance(v, Mapping) else str(v) for v in value]
    if isinstance(value, Mapping):
        return [str(value.get("Name", "a transform"))]
    return []


def _inline_transforms(node: Any, path: tuple[str, ...]) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "Fn::Transform":
                yield ".".join(path) or "the top level"
            else:
                yield from _inline_transforms(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _inline_transforms(item, (*path, str(index)))
