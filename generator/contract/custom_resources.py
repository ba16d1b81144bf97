"""Custom resources call only code of the deploying account, unless the owners allow more.

A custom resource (``AWS::CloudFormation::CustomResource``, ``Custom::*``) sends its create,
update and delete requests, with the template's properties, to its ``ServiceToken``: "The service
token that was given to the template developer by the service provider to access the service,
such as an Amazon SNS topic ARN or Lambda function ARN. The service token must be from the same
Region in which you are creating the stack" (CloudFormation Template Reference,
AWS::CloudFormation::CustomResource). A token in another account runs code nobody here reviewed,
with whatever the template passes it. So a token must be provably in the deploying account:

- ``Fn::GetAtt X.Arn`` or ``Ref X`` of a Lambda function or SNS topic defined in the same
  template (its code is then checked by ``content_sources.py``);
- an ARN, literal or built with ``Fn::Sub``, whose account is ``${AWS::AccountId}`` or the
  deploying account (``account_id`` in pipelines/config.yaml, or the account its ARNs name);

or be on ``custom_resources.allowed_service_tokens`` (an ARN, or a whole account).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.contract.config import CONFIG_RELPATH
from generator.contract.problems import Problem, error
from generator.contract.resolve import THIS_ACCOUNT, Resolver, arn_parts, line_at, path_text

CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"
# what GetAtt .Arn or Ref of a resource in the same template yields as a service token
_TOKEN_TYPES = {"AWS::Lambda::Function": "Fn::GetAtt", "AWS::Serverless::Function": "Fn::GetAtt",
                "AWS::SNS::Topic": "Ref", "AWS::Lambda::Alias": "Ref",
                "AWS::Lambda::Version": "Ref"}


def custom_resource_problems(template: Mapping, relpath: str, stack: str, resolver: Resolver,
                             deploying_account: str | None,
                             allowed: tuple[str, ...]) -> list[Problem]:
    problems = []
    resources = template.get("Resources")
    resources = resources if isinstance(resources, Mapping) else {}
    for logical_id, resource in resources.items():
        if not isinstance(resource, Mapping):
            continue
        kind = resource.get("Type")
        if not isinstance(kind, str) or not (kind == CUSTOM_RESOURCE or kind.startswith("Custom::")):
            continue
        properties = resource.get("Properties")
        token = properties.get("ServiceToken") if isinstance(properties, Mapping) else None
        path = ("Resources", logical_id, "Properties", "ServiceToken")
        verdict = _verdict(token, resources, resolver, deploying_account, allowed)
        if verdict is None:
            continue
        where = path_text(path)
        problems.append(error(
            relpath, "custom-resource-foreign",
            f"{verdict}: its requests would run code nobody reviewed here",
            key=where, line=line_at(template, path), stack=stack,
            hint="serve the custom resource from a Lambda function defined in this template (or "
                 "an ARN in this account with ${AWS::AccountId}), or ask an owner to add the "
                 f"token or its account to custom_resources.allowed_service_tokens in {CONFIG_RELPATH}"))
    return problems


def _verdict(token: Any, resources: Mapping, resolver: Resolver, deploying_account: str | None,
             allowed: tuple[str, ...]) -> str | None:
    """Why ``token`` is refused, or None when it is fine."""
    if isinstance(token, Mapping) and len(token) == 1:
        (function, argument), = token.items()
        target = _local_target(function, argument)
        if target is not None:
            resource = resources.get(target)
            kind = resource.get("Type") if isinstance(resource, Mapping) else None
            if _TOKEN_TYPES.get(kind) == function:
                return None
    text = resolver.string(token)
    if text is None:
        return ("the ServiceToken cannot be resolved offline (a parameter without a value, an "
                "import, another resource): it could name a function in any account")
    if text in allowed:
        return None
    parts = arn_parts(text)
    if parts is None or parts[2] not in ("lambda", "sns"):
        return f"the ServiceToken {text!r} is not a Lambda function or SNS topic ARN"
    account = parts[4]
    if account == THIS_ACCOUNT or account in allowed:
        return None
    if deploying_account is None:
        return (f"the ServiceToken {text!r} names account {account}, and {CONFIG_RELPATH} does "
                "not say which account changegate deploys to (account_id)")
    if account == deploying_account:
        return None
    return f"the ServiceToken {text!r} is in account {account}, not the deploying account " \
           f"{deploying_account}"


def _local_target(function: str, argument: Any) -> str | None:
    """The logical id a ``Fn::GetAtt X.Arn`` or ``Ref X`` names."""
    if function == "Ref" and isinstance(argument, str):
        return argument
    if function == "Fn::GetAtt":
        if isinstance(argument, str) and argument.endswith(".Arn"):
            return argument[:-4]
        if isinstance(argument, list) and len(argument) == 2 and argument[1] == "Arn":
            return argument[0] if isinstance(argument[0], str) else None
    return None
