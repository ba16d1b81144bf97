"""A small IAM policy evaluator for the statement forms changegate's bootstrap template emits.

Why not moto: stock moto 5.2 evaluates only ``StringEquals`` conditions, authorizes CodePipeline
calls against ``*`` and applies bucket-policy denies to every caller, so the roles' real scoping
cannot be tested with it (../shared/notes/security-review.md, section 6). This module evaluates
one same-account request against identity policies, an optional resource policy (bucket, key,
topic or trust policy) and an optional permissions boundary, following AWS's documented logic:

- Policy evaluation logic, single account
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html):
  "An explicit deny in any of the policies overrides the allow." and "If either the identity-based
  policy or the resource-based policy within the same account allows the request and the other
  doesn't, the request is still allowed."
- (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html):
  "By default, all requests are implicitly denied" and "An explicit deny overrides an explicit allow."
- Condition operators
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
  "If the key that you specify in a policy condition is not present in the request context, the
  values do not match and the condition is false. If the policy condition requires that the key is
  not matched, such as StringNotLike or ArnNotLike, and the right key is not present, the condition
  is true. This logic applies to all condition operators except ...IfExists and Null check."
  For ...IfExists: "If the key is not present, evaluate the condition element as true", so a Deny
  written with a negated ...IfExists operator applies to every request that lacks the key.
  ArnEquals and ArnLike share one definition there: "Case-sensitive matching of the ARN. Each of the
  six colon-delimited components of the ARN is checked separately and each can include multi-character
  match wildcards (*) or single-character match wildcards (?)." Several values for one key are OR,
  several keys and operators are AND (IAM JSON policy elements: Condition,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html, which
  also says "Context key names are not case-sensitive").
- KMS key policies (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html):
  "Unless the key policy explicitly allows it, you cannot use IAM policies to allow access to a KMS
  key. Without permission from the key policy, IAM policies that allow permissions have no effect.
  (You can use an IAM policy to deny a permission to a KMS key without permission from a key policy.)"
  The default key policy's statement for the account principal is what "enables IAM policies"
  (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
- Principal (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html):
  an account principal in a resource policy delegates to the account, whose identity policies then
  decide. This evaluator therefore counts an Allow for the account principal as a grant only together
  with an identity-policy Allow (KMS documents exactly this; for S3 and SNS it is the conservative
  reading), while a Deny for the account principal applies to every principal of the account.

Not modelled (changegate's policies do not use them; the evaluator refuses them loudly instead of
guessing): Date, IpAddress and Binary operators, policy variables (``${aws:username}``), SCPs, session
policies, grants, cross-account requests.

``Resolver`` turns the generated template's intrinsics (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::If,
Fn::Select, Fn::FindInMap, pseudo parameters) into concrete values for a fixed account and region,
so the policies become plain JSON.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "111122223333"
REGION = "eu-west-1"
PARTITION = "aws"


class PolicyError(ValueError):
    """A policy or template form this evaluator does not model: fail loudly rather than guess."""


class Decision(enum.Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"

    @property
    def allowed(self) -> bool:
        return self is Decision.ALLOW


# ---------------------------------------------------------------- principals and requests

@dataclass(frozen=True)
class Principal:
    """Who calls. ``arn`` is ``aws:PrincipalArn`` (for an assumed role: the role's ARN)."""

    arn: str
    service: str | None = None  # "codepipeline.amazonaws.com" for a service principal

    @property
    def account(self) -> str | None:
        if self.service:
            return None
        parts = self.arn.split(":")
        return parts[4] if len(parts) > 4 else None

    @property
    def is_service(self) -> bool:
        return self.service is not None


def role(name: str, account: str = ACCOUNT, path: str = "/") -> Principal:
    return Principal(f"arn:{PARTITION}:iam::{account}:role{path}{name}")


def user(name: str, account: str = ACCOUNT) -> Principal:
    return Principal(f"arn:{PARTITION}:iam::{account}:user/{name}")


def service(name: str) -> Principal:
    return Principal(arn=name, service=name)


ContextValue = str | Sequence[str]


@dataclass(frozen=True)
class Request:
    principal: Principal
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def value(self, key: str) -> ContextValue | None:
        """A context value by case-insensitive key, with the keys every signed request carries."""
        wanted = key.lower()
        for name, value in self.context.items():
            if name.lower() == wanted:
                return value
        if self.principal.is_service:
            return None
        defaults = {"aws:principalarn": self.principal.arn, "aws:principalaccount": self.principal.account,
                    "aws:securetransport": "true"}
        return defaults.get(wanted)


# ---------------------------------------------------------------- matching

def _glob(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    if "${" in pattern:
        raise PolicyError(f"policy variables are not modelled: {pattern!r}")
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(rf"\A{body}\Z", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def string_like(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return bool(_glob(pattern, ignore_case=ignore_case).match(value))


def action_matches(pattern: str, action: str) -> bool:
    """Action names are not case-sensitive; ``*`` and ``?`` are wildcards."""
    return string_like(pattern, action, ignore_case=True)


def arn_like(pattern: str, arn: str) -> bool:
    """Six colon-delimited components, each matched on its own (the resource keeps its colons)."""
    if pattern == "*":
        return True
    want, have = pattern.split(":", 5), arn.split(":", 5)
    if len(want) != 6 or len(have) != 6:
        return False
    return all(string_like(w, h) for w, h in zip(want, have, strict=True))


def _listify(value: Any) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def _text(value: Any) -> str:
    # awacs writes Bool values as JSON booleans; the policy language compares their text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise PolicyError(f"unresolved or unexpected policy value: {value!r}")


# ---------------------------------------------------------------- conditions

def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise PolicyError(f"not a number: {text!r}") from exc


_MATCHERS = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: string_like(p, v),
    "ArnEquals": arn_like,
    "ArnLike": arn_like,
    "NumericEquals": lambda p, v: _number(v) == _number(p),
    "NumericLessThan": lambda p, v: _number(v) < _number(p),
    "NumericLessThanEquals": lambda p, v: _number(v) <= _number(p),
    "NumericGreaterThan": lambda p, v: _number(v) > _number(p),
    "NumericGreaterThanEquals": lambda p, v: _number(v) >= _number(p),
    "Bool": lambda p, v: p.lower() == v.lower(),
}
# Negated operators: true when the value matches none of the policy values (and when the key is absent).
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def _parse_operator(operator: str) -> tuple[str | None, str, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> ("ForAnyValue", "StringLike", True)."""
    qualifier = None
    for prefix in ("ForAnyValue:", "ForAllValues:"):
        if operator.startswith(prefix):
            qualifier, operator = prefix[:-1], operator[len(prefix):]
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    if if_exists:
        operator = operator[: -len("IfExists")]
    if operator not in _MATCHERS and operator not in _NEGATED and operator != "Null":
        raise PolicyError(f"condition operator {operator!r} is not modelled")
    return qualifier, operator, if_exists


def _key_condition(operator: str, key: str, policy_values: Iterable[Any], request: Request) -> bool:
    qualifier, base, if_exists = _parse_operator(operator)
    wanted = [_text(v) for v in policy_values]
    present = request.value(key)
    if base == "Null":
        # "true": the key must be absent; "false": it must be present (and not empty).
        absent = present is None or present == [] or present == ()
        return any((w.lower() == "true") == absent for w in wanted)
    negated = base in _NEGATED
    matcher = _MATCHERS[_NEGATED.get(base, base)]

    def one(value: str) -> bool:
        hit = any(matcher(w, value) for w in wanted)
        return not hit if negated else hit

    values = None if present is None else _listify(present)
    if qualifier == "ForAllValues":
        # Absent or empty: vacuously true (every one of no values matches).
        return values is None or all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return values is not None and any(one(v) for v in values)
    if values is None:
        return if_exists or negated
    if len(values) != 1:
        raise PolicyError(f"context key {key!r} has several values: use ForAnyValue/ForAllValues")
    return one(values[0])


def conditions_hold(condition: Mapping[str, Mapping[str, Any]] | None, request: Request) -> bool:
    """Every operator and every key must hold (AND); one key's several values are OR."""
    if not condition:
        return True
    return all(_key_condition(operator, key, _listify(values), request)
               for operator, block in condition.items() for key, values in block.items())


# ---------------------------------------------------------------- statements

class PrincipalMatch(enum.Enum):
    NONE = 0
    ACCOUNT = 1  # matched through the account principal: a delegation to the account's IAM policies
    DIRECT = 2   # matched by name, or by "*"


def _account_of_principal_value(value: str) -> str | None:
    if re.fullmatch(r"\d{12}", value):
        return value
    m = re.fullmatch(r"arn:[^:]+:iam::(\d{12}):root", value)
    return m.group(1) if m else None


def principal_match(element: Any, principal: Principal) -> PrincipalMatch:
    if element == "*":
        return PrincipalMatch.DIRECT
    if not isinstance(element, Mapping):
        raise PolicyError(f"unexpected Principal element: {element!r}")
    best = PrincipalMatch.NONE
    for kind, values in element.items():
        for value in _listify(values):
            value = _text(value)
            if kind == "Service":
                if principal.service == value:
                    return PrincipalMatch.DIRECT
            elif kind == "AWS":
                if value == "*":
                    return PrincipalMatch.DIRECT
                account = _account_of_principal_value(value)
                if account is not None:
                    if not principal.is_service and principal.account == account:
                        best = max(best, PrincipalMatch.ACCOUNT, key=lambda m: m.value)
                elif not principal.is_service and value == principal.arn:
                    return PrincipalMatch.DIRECT
            else:
                raise PolicyError(f"principal type {kind!r} is not modelled")
    return best


def _statement_principal(statement: Mapping[str, Any], principal: Principal) -> PrincipalMatch:
    if "Principal" in statement:
        return principal_match(statement["Principal"], principal)
    if "NotPrincipal" in statement:
        # NotPrincipal: every principal except those listed (an account entry excludes the whole account).
        hit = principal_match(statement["NotPrincipal"], principal)
        return PrincipalMatch.NONE if hit is not PrincipalMatch.NONE else PrincipalMatch.DIRECT
    raise PolicyError(f"resource-policy statement without Principal: {statement.get('Sid')!r}")


def _matches_action(statement: Mapping[str, Any], action: str) -> bool:
    if "Action" in statement:
        return any(action_matches(_text(p), action) for p in _listify(statement["Action"]))
    if "NotAction" in statement:
        return not any(action_matches(_text(p), action) for p in _listify(statement["NotAction"]))
    raise PolicyError(f"statement without Action or NotAction: {statement.get('Sid')!r}")


def _matches_resource(statement: Mapping[str, Any], resource: str, *, required: bool) -> bool:
    if "Resource" in statement:
        return any(arn_like(_text(p), resource) for p in _listify(statement["Resource"]))
    if "NotResource" in statement:
        return not any(arn_like(_text(p), resource) for p in _listify(statement["NotResource"]))
    if required:
        raise PolicyError(f"statement without Resource or NotResource: {statement.get('Sid')!r}")
    return True  # a trust policy's statements name no resource: the role is the resource


def statement_applies(statement: Mapping[str, Any], request: Request, *,
                      resource_policy: bool = False) -> PrincipalMatch:
    """How the statement applies to the request (NONE: it does not)."""
    match = _statement_principal(statement, request.principal) if resource_policy else PrincipalMatch.DIRECT
    if match is PrincipalMatch.NONE:
        return match
    if not _matches_action(statement, request.action):
        return PrincipalMatch.NONE
    if not _matches_resource(statement, request.resource, required=not _is_trust(request)):
        return PrincipalMatch.NONE
    if not conditions_hold(statement.get("Condition"), request):
        return PrincipalMatch.NONE
    return match


def _is_trust(request: Request) -> bool:
    return request.action.lower() in {"sts:assumerole", "sts:assumerolewithwebidentity", "sts:tagsession"}


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy.get("Statement", [])
    return _listify(statements)


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reasons: tuple[str, ...]  # the Sids (or indexes) that decided, for readable failures

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    def __bool__(self) -> bool:
        # `assert world.check(...)` reads naturally, and a failing assert shows the deciding statements.
        return self.allowed

    def __str__(self) -> str:
        return f"{self.decision.value} ({', '.join(self.reasons) or 'no statement applies'})"


def evaluate(request: Request, identity: Sequence[Mapping[str, Any]] = (), *,
             resource_policy: Mapping[str, Any] | None = None, key_policy: bool = False,
             boundary: Mapping[str, Any] | None = None) -> Verdict:
    """The decision for one same-account request.

    ``identity``: the caller's identity policies. ``resource_policy``: the resource's policy (bucket,
    topic, trust policy; with ``key_policy=True`` a KMS key policy, which must allow on its own or
    by delegating to the account). ``boundary``: the caller's permissions boundary, if any.
    """
    def sid(policy_name: str, index: int, statement: Mapping[str, Any]) -> str:
        return f"{policy_name}:{statement.get('Sid', index)}"

    denies: list[str] = []
    identity_allows: list[str] = []
    for p_index, policy in enumerate(identity):
        for index, statement in enumerate(_statements(policy)):
            if statement_applies(statement, request) is PrincipalMatch.NONE:
                continue
            target = denies if statement["Effect"] == "Deny" else identity_allows
            target.append(sid(f"identity{p_index}", index, statement))
    direct_allows: list[str] = []
    account_allows: list[str] = []
    if resource_policy is not None:
        for index, statement in enumerate(_statements(resource_policy)):
            match = statement_applies(statement, request, resource_policy=True)
            if match is PrincipalMatch.NONE:
                continue
            name = sid("resource", index, statement)
            if statement["Effect"] == "Deny":
                denies.append(name)
            elif match is PrincipalMatch.DIRECT:
                direct_allows.append(name)
            else:
                account_allows.append(name)
    boundary_allows: list[str] = []
    if boundary is not None:
        for index, statement in enumerate(_statements(boundary)):
            if statement_applies(statement, request) is PrincipalMatch.NONE:
                continue
            target = denies if statement["Effect"] == "Deny" else boundary_allows
            target.append(sid("boundary", index, statement))
    if denies:
        return Verdict(Decision.EXPLICIT_DENY, tuple(denies))
    if boundary is not None and not boundary_allows:
        # A boundary sets the maximum: an action it does not allow is denied whoever else allows it.
        return Verdict(Decision.IMPLICIT_DENY, ("outside the permissions boundary",))
    if key_policy:
        if direct_allows:
            return Verdict(Decision.ALLOW, tuple(direct_allows))
        if account_allows and identity_allows:
            return Verdict(Decision.ALLOW, tuple(account_allows + identity_allows))
        return Verdict(Decision.IMPLICIT_DENY, ("the key policy does not allow",) if not account_allows
                       else ("the key policy delegates, but no IAM policy allows",))
    if identity_allows or direct_allows:
        return Verdict(Decision.ALLOW, tuple(identity_allows + direct_allows))
    if account_allows:
        return Verdict(Decision.IMPLICIT_DENY, ("the resource policy delegates, but no IAM policy allows",))
    return Verdict(Decision.IMPLICIT_DENY, ())


# ---------------------------------------------------------------- template intrinsics

def _physical_suffix(logical_id: str) -> str:
    return hashlib.sha256(logical_id.encode()).hexdigest()[:12]


@dataclass
class Resolver:
    """Resolves a template's intrinsics as CloudFormation would in ``account``/``region``."""

    template: Mapping[str, Any]
    account: str = ACCOUNT
    region: str = REGION
    partition: str = PARTITION
    stack_name: str = "acme-pipelines"
    parameters: Mapping[str, str] = field(default_factory=dict)

    def pseudo(self, name: str) -> Any:
        return {
            "AWS::AccountId": self.account, "AWS::Region": self.region, "AWS::Partition": self.partition,
            "AWS::StackName": self.stack_name, "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:{self.partition}:cloudformation:{self.region}:{self.account}:stack/"
                            f"{self.stack_name}/00000000-0000-0000-0000-000000000000",
        }[name]

    def _resource(self, logical_id: str) -> Mapping[str, Any]:
        try:
            return self.template["Resources"][logical_id]
        except KeyError:
            raise PolicyError(f"reference to unknown resource {logical_id!r}") from None

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.template.get("Parameters", {}):
            if name in self.parameters:
                return self.parameters[name]
            default = self.template["Parameters"][name].get("Default")
            if default is None:
                raise PolicyError(f"parameter {name!r} has no Default: pass it in parameters")
            return default
        return self.attribute(name, "Ref")

    def attribute(self, logical_id: str, attribute: str) -> Any:
        resource = self._resource(logical_id)
        kind = resource["Type"]
        props = self.value(resource.get("Properties", {}))
        p, r, a = self.partition, self.region, self.account
        generated = f"{self.stack_name}-{logical_id}-{_physical_suffix(logical_id)}"
        if kind == "AWS::S3::Bucket":
            name = props.get("BucketName", generated.lower())
            table = {"Ref": name, "Arn": f"arn:{p}:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"}
        elif kind == "AWS::IAM::Role":
            name = props.get("RoleName", generated)
            arn = f"arn:{p}:iam::{a}:role{props.get('Path', '/')}{name}"
            table = {"Ref": name, "Arn": arn, "RoleId": f"AROA{_physical_suffix(logical_id).upper()}"}
        elif kind == "AWS::IAM::ManagedPolicy":
            name = props.get("ManagedPolicyName", generated)
            arn = f"arn:{p}:iam::{a}:policy{props.get('Path', '/')}{name}"
            table = {"Ref": arn, "PolicyArn": arn}
        elif kind == "AWS::KMS::Key":
            key_id = "0000aaaa-" + _physical_suffix(logical_id)[:4] + "-4000-8000-" + _physical_suffix(
                logical_id)
            table = {"Ref": key_id, "KeyId": key_id, "Arn": f"arn:{p}:kms:{r}:{a}:key/{key_id}"}
        elif kind == "AWS::KMS::Alias":
            table = {"Ref": props["AliasName"]}
        elif kind == "AWS::SNS::Topic":
            name = props.get("TopicName", generated)
            arn = f"arn:{p}:sns:{r}:{a}:{name}"
            table = {"Ref": arn, "TopicArn": arn, "TopicName": name}
        elif kind in ("AWS::CodeConnections::Connection", "AWS::CodeStarConnections::Connection"):
            service_prefix = "codeconnections" if "CodeConnections" in kind else "codestar-connections"
            arn = f"arn:{p}:{service_prefix}:{r}:{a}:connection/{_physical_suffix(logical_id)}"
            table = {"Ref": arn, "ConnectionArn": arn}
        elif kind == "AWS::CodeBuild::Project":
            name = props.get("Name", generated)
            table = {"Ref": name, "Arn": f"arn:{p}:codebuild:{r}:{a}:project/{name}"}
        elif kind == "AWS::CodePipeline::Pipeline":
            table = {"Ref": props.get("Name", generated)}
        elif kind == "AWS::Logs::LogGroup":
            name = props.get("LogGroupName", generated)
            table = {"Ref": name, "Arn": f"arn:{p}:logs:{r}:{a}:log-group:{name}:*"}
        elif kind == "AWS::SSM::Document":
            table = {"Ref": props.get("Name", generated)}
        elif kind == "AWS::Lambda::Function":
            name = props.get("FunctionName", generated)
            table = {"Ref": name, "Arn": f"arn:{p}:lambda:{r}:{a}:function:{name}"}
        elif kind == "AWS::Events::Rule":
            name = props.get("Name", generated)
            table = {"Ref": name, "Arn": f"arn:{p}:events:{r}:{a}:rule/{name}"}
        else:
            raise PolicyError(f"{logical_id}: resource type {kind} is not modelled (add it to "
                              "tests/iam/policy_eval.py Resolver.attribute)")
        if attribute not in table:
            raise PolicyError(f"{logical_id} ({kind}): attribute {attribute!r} is not modelled")
        return table[attribute]

    def sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _text(self.value(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return _text(self.attribute(logical_id, attribute))
            return _text(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template["Conditions"][name]))

    def value(self, node: Any) -> Any:
        """``node`` with every intrinsic replaced by its value (AWS::NoValue entries dropped)."""
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, Mapping):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return _NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if fn == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.attribute(logical_id, attribute)
            if fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                return self.sub(text, variables)
            if fn == "Fn::Join":
                return _text(self.value(arg[0])).join(_text(v) for v in self.value(arg[1]))
            if fn == "Fn::FindInMap":
                name, top, second = (self.value(a) for a in arg)
                return self.template["Mappings"][name][top][second]
            if fn == "Fn::Select":
                return self.value(arg[1])[int(self.value(arg[0]))]
            if fn == "Fn::Split":
                return _text(self.value(arg[1])).split(arg[0])
            if fn == "Fn::If":
                return self.value(arg[1] if self.condition(arg[0]) else arg[2])
            if fn == "Fn::Equals":
                return self.value(arg[0]) == self.value(arg[1])
            if fn == "Fn::Not":
                return not self.value(arg[0])
            if fn == "Fn::And":
                return all(self.value(a) for a in arg)
            if fn == "Fn::Or":
                return any(self.value(a) for a in arg)
            if fn == "Condition":
                return self.condition(arg)
            if fn.startswith("Fn::"):
                raise PolicyError(f"intrinsic {fn} is not modelled")
        return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not _NO_VALUE}


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


_NO_VALUE = _NoValue()


def resolve_template(template: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
    """The template's Resources with every intrinsic resolved (``Resolver`` keyword arguments)."""
    resolver = Resolver(template, **kwargs)
    return {logical_id: {"Type": resource["Type"],
                         "Properties": resolver.value(resource.get("Properties", {})),
                         "Physical": {"Ref": _try_ref(resolver, logical_id)}}
            for logical_id, resource in template["Resources"].items()}


def _try_ref(resolver: Resolver, logical_id: str) -> Any:
    try:
        return resolver.attribute(logical_id, "Ref")
    except PolicyError:
        return None
