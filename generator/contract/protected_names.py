"""Stacks that reach for changegate's own resources, its approvers, or trust other accounts.

The execution role is denied changes to changegate's resources, and the guardrail keeps other
principals off them, but a stack that names them is still an attempt worth stopping at review:
adding a user to the approvers group, attaching a policy to an approver role or to
``<project>-changegate-*``, writing to the bootstrap stack's buckets or topic. Those are errors.

A role trusted by another account is how access leaves the account; it is often intended (a
monitoring vendor, a CI account), so it is a warning. A role any AWS principal may assume
(``"AWS": "*"``) without a condition is an error.

Names are matched in the string values of resource properties, as written or as ``resolve.py``
resolves them. The text of the template is searched first, so a template that names none of
them costs one substring search per name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from generator import logical_ids, naming
from generator.contract.boundaries import names_the_boundary
from generator.contract.config import CONFIG_RELPATH, PipelinesConfig
from generator.contract.problems import Problem, error, warning
from generator.contract.resolve import THIS_ACCOUNT, Resolver, arn_parts, line_at, path_text

_NAME_CHARS = r"\-A-Za-z0-9+=,.@_"


Pattern = tuple[bytes, re.Pattern, str, bool]


@lru_cache(maxsize=8)
def protected_patterns(project: str, approvers: tuple[str, ...],
                       existing: tuple[str, ...] = ()) -> list[Pattern]:
    """(text to look for in the raw template, pattern of a property value, what it names,
    whether it counts only in IAM resources)."""
    bootstrap = naming.bootstrap_stack_name(project)
    named = [
        (f"{project}-changegate-", re.compile(re.escape(f"{project}-changegate-")),
         "changegate's own roles, policies and functions"),
        (f"{project}-changegate", re.compile(re.escape(naming.artifact_key_alias(project))
                                              + f"(?![{_NAME_CHARS}])"), "changegate's key alias"),
        (bootstrap, re.compile(f"(?<![{_NAME_CHARS}]){re.escape(bootstrap)}(?![{_NAME_CHARS}])"),
         "the bootstrap stack"),
        (naming.sync_pipeline_name(project),
         re.compile(f"(?<![{_NAME_CHARS}]){re.escape(naming.sync_pipeline_name(project))}"
                    f"(?![{_NAME_CHARS}])"), "the sync pipeline and project"),
    ]
    for logical_id in (logical_ids.SOURCE_BUCKET, logical_ids.ARTIFACT_BUCKET, logical_ids.TOPIC):
        # CloudFormation names them <stack>-<logical id>-<random>, buckets in lower case
        text = f"{bootstrap}-{logical_id}"
        named.append((text, re.compile(re.escape(text), re.IGNORECASE),
                      f"the bootstrap stack's {logical_id}"))
    for arn in existing:  # an existing topic or connection the owners configured
        named.append((arn, re.compile(re.escape(arn)), f"changegate's {arn.split(':')[2]} {arn}"))
    # IAM names are unique regardless of case ("PlatformApprovers" and "platformapprovers" are
    # one role), so every pattern ignores case, as the search of the raw text does
    patterns = [(text.encode(), re.compile(pattern.pattern, re.IGNORECASE), what, False)
                for text, pattern, what in named]
    for arn in approvers:
        # the ARN anywhere; the bare name only in IAM resources (a tag value may say "Admins")
        name = arn.rsplit("/", 1)[-1]
        patterns.append((arn.encode(), re.compile(re.escape(arn), re.IGNORECASE),
                         f"the approver {arn}", False))
        patterns.append((name.encode(), re.compile(
            f"(?<![{_NAME_CHARS}]){re.escape(name)}(?![{_NAME_CHARS}])", re.IGNORECASE),
            f"the approver {arn}", True))
    return patterns


def protected_name_problems(template: Mapping, raw: bytes, relpath: str, stack: str,
                            config: PipelinesConfig, resolver: Resolver,
                            patterns: list[Pattern]) -> list[Problem]:
    problems = []
    lowered = raw.lower()
    present = [(pattern, what, iam_only) for text, pattern, what, iam_only in patterns
               if text.lower() in lowered]
    resources = template.get("Resources")
    if present and isinstance(resources, Mapping):
        for path, value in _strings(resources, ("Resources",)):
            if len(path) < 4 or path[2] != "Properties":
                continue
            if path[3] == "PermissionsBoundary" and names_the_boundary(value, config.project):
                continue  # the one changegate name a stack must use (generator/contract/boundaries.py)
            kind = str(resources[path[1]].get("Type", ""))
            for pattern, what, iam_only in present:
                if (not iam_only or kind.startswith("AWS::IAM::")) and pattern.search(value):
                    where = path_text(path)
                    problems.append(error(
                        relpath, "touches-changegate",
                        f"{value!r} names {what}; a managed stack must not change "
                        "changegate's resources or who approves",
                        key=where, line=line_at(template, path), stack=stack,
                        hint="remove the reference; changegate's own resources and the approvers "
                             f"are owner settings in {CONFIG_RELPATH}, deployed with `changegate "
                             "deploy`"))
                    break
    if b"AssumeRolePolicyDocument" in raw and isinstance(resources, Mapping):
        problems.extend(_trust_problems(template, resources, relpath, stack, resolver,
                                        config.deploying_account()))
    return problems


def _strings(node: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _strings(item, (*path, index))


def _trust_problems(template: Mapping, resources: Mapping, relpath: str, stack: str,
                    resolver: Resolver, deploying_account: str | None) -> list[Problem]:
    problems = []
    for logical_id, resource in resources.items():
        if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::IAM::Role":
            continue
        properties = resource.get("Properties")
        document = properties.get("AssumeRolePolicyDocument") if isinstance(properties, Mapping) else None
        statements = document.get("Statement") if isinstance(document, Mapping) else None
        if isinstance(statements, Mapping):
            statements = [statements]
        for index, statement in enumerate(statements if isinstance(statements, list) else ()):
            if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
                continue
            path = ("Resources", logical_id, "Properties", "AssumeRolePolicyDocument",
                    "Statement", index, "Principal")
            principal = statement.get("Principal")
            if principal == "*":
                principals: Any = ["*"]
            elif isinstance(principal, Mapping) and "AWS" in principal:
                principals = principal["AWS"]
                principals = principals if isinstance(principals, list) else [principals]
                path = (*path, "AWS")
            else:
                continue
            for value in principals:
                if _names_local_resource(value, resources):
                    continue  # a role or user of this template: this account
                found = _trust_finding(value, resolver, deploying_account,
                                       has_condition=bool(statement.get("Condition")))
                if found is None:
                    continue
                report, message, hint = found
                where = path_text(path)
                problems.append(report(relpath, "role-trusts-other-account", message,
                                       key=where, line=line_at(template, path), stack=stack,
                                       hint=hint))
    return problems


def _trust_finding(value: Any, resolver: Resolver, deploying_account: str | None, *,
                   has_condition: bool):
    text = resolver.string(value)
    if text == "*":
        if has_condition:
            return (warning, "the role may be assumed by any AWS principal that meets the "
                    "statement's condition", "make sure the condition pins the caller "
                    "(aws:PrincipalOrgID, sts:ExternalId, aws:SourceAccount)")
        return (error, "the role may be assumed by any AWS principal of any account (\"*\" "
                "without a condition)", "name the accounts or roles that may assume it, or add "
                "a condition (aws:PrincipalOrgID, sts:ExternalId)")
    if text is None:
        return (warning, "the principal cannot be resolved offline: the role may trust another "
                "account", "name the principal literally so that reviewers see whom it trusts")
    account = text if re.fullmatch(r"[0-9]{12}", text) else None
    parts = arn_parts(text) if account is None else None
    if parts is not None and parts[2] == "iam":
        account = parts[4]
    if account is None or account in (THIS_ACCOUNT, deploying_account):
        return None
    return (warning, f"the role trusts account {account}"
            + ("" if deploying_account is None else f", not the deploying account {deploying_account}")
            + ": principals there can assume it", "make sure this cross-account trust is "
            "intended (and limit it with sts:ExternalId or aws:PrincipalOrgID)")


def _names_local_resource(value: Any, resources: Mapping) -> bool:
    """``Fn::GetAtt X.Arn`` or ``Ref X`` of a resource in the same template."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    (function, argument), = value.items()
    if function == "Ref":
        return isinstance(argument, str) and argument in resources
    if function == "Fn::GetAtt":
        target = argument.split(".")[0] if isinstance(argument, str) else (
            argument[0] if isinstance(argument, list) and argument else None)
        return isinstance(target, str) and target in resources
    return False
