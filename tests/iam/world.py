"""The account a generated bootstrap template creates, as policies the evaluator can judge.

``World.from_template`` reads the template's roles (trust, inline policies, managed policies and
permissions boundary), its managed policies and whom they are attached to, and its bucket, key and
topic policies, with every intrinsic resolved for the test account. ``World.check`` then answers one
request the way AWS would: the caller's identity policies, the resource's policy when the resource
is one of the template's buckets (objects included), its key or its topic, and for the key the
key-policy rule of KMS.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policy_eval import (
    ACCOUNT,
    PARTITION,
    REGION,
    Principal,
    Request,
    Resolver,
    Verdict,
    action_matches,
    evaluate,
    service,
)

# AWS managed policies the example configurations attach, as AWS publishes them.
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/PowerUserAccess.html (v12)
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/IAMFullAccess.html
AWS_MANAGED_POLICIES: dict[str, dict[str, Any]] = {
    "arn:aws:iam::aws:policy/PowerUserAccess": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
        {"Effect": "Allow", "Action": [
            "account:GetAccountInformation", "account:GetGovCloudAccountInformation",
            "account:GetPrimaryEmail", "account:ListRegions", "iam:CreateServiceLinkedRole",
            "iam:DeleteServiceLinkedRole", "iam:ListRoles", "organizations:DescribeEffectivePolicy",
            "organizations:DescribeOrganization"], "Resource": "*"}]},
    "arn:aws:iam::aws:policy/IAMFullAccess": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [
            "iam:*", "organizations:DescribeAccount", "organizations:DescribeOrganization",
            "organizations:DescribeOrganizationalUnit", "organizations:DescribePolicy",
            "organizations:ListChildren", "organizations:ListParents", "organizations:ListPoliciesForTarget",
            "organizations:ListRoots", "organizations:ListPolicies", "organizations:ListTargetsForPolicy"],
         "Resource": "*"}]},
}


@dataclass
class RoleInfo:
    logical_id: str
    name: str
    arn: str
    trust: dict[str, Any]
    inline: list[dict[str, Any]]
    managed_arns: list[str]
    boundary_arn: str | None

    @property
    def principal(self) -> Principal:
        return Principal(self.arn)

    @property
    def services(self) -> list[str]:
        """The service principals the trust policy names."""
        found = []
        for statement in self.trust["Statement"]:
            services = statement.get("Principal", {}).get("Service", [])
            found += services if isinstance(services, list) else [services]
        return sorted(found)


@dataclass
class World:
    """Identities and resource policies of one resolved template, plus principals the test adds."""

    roles: dict[str, RoleInfo]                       # by role name
    managed: dict[str, dict[str, Any]]               # policy ARN -> {"document", "roles", "users", "groups"}
    bucket_policies: dict[str, dict[str, Any]]       # bucket name -> policy
    topic_policies: dict[str, dict[str, Any]]        # topic ARN -> policy
    key_policies: dict[str, dict[str, Any]]          # key ARN -> policy
    physical: dict[str, Any]                         # logical id -> {"Ref": ..., "Arn": ...}
    resolver: Resolver | None = None
    extra_identity: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # principal ARN -> policies

    # ------------------------------------------------------------ building

    @classmethod
    def from_template(cls, template: Mapping[str, Any], *, stack_name: str) -> World:
        template = copy.deepcopy(dict(template))
        resolver = Resolver(template, stack_name=stack_name)
        roles: dict[str, RoleInfo] = {}
        managed: dict[str, dict[str, Any]] = {}
        buckets: dict[str, dict[str, Any]] = {}
        topics: dict[str, dict[str, Any]] = {}
        keys: dict[str, dict[str, Any]] = {}
        physical: dict[str, Any] = {}
        for logical_id, resource in template["Resources"].items():
            kind = resource["Type"]
            raw = resource.get("Properties", {})
            if kind == "AWS::IAM::Role":
                props = resolver.value(raw)
                name = resolver.attribute(logical_id, "Ref")
                roles[name] = RoleInfo(
                    logical_id, name, resolver.attribute(logical_id, "Arn"),
                    props["AssumeRolePolicyDocument"],
                    [p["PolicyDocument"] for p in props.get("Policies", [])],
                    list(props.get("ManagedPolicyArns", [])), props.get("PermissionsBoundary"))
            elif kind == "AWS::IAM::ManagedPolicy":
                props = resolver.value(raw)
                managed[resolver.attribute(logical_id, "Ref")] = {
                    "document": props["PolicyDocument"], "roles": props.get("Roles", []),
                    "users": props.get("Users", []), "groups": props.get("Groups", [])}
            elif kind == "AWS::S3::BucketPolicy":
                props = resolver.value(raw)
                buckets[props["Bucket"]] = props["PolicyDocument"]
            elif kind == "AWS::SNS::TopicPolicy":
                props = resolver.value(raw)
                for topic in props["Topics"]:
                    topics[topic] = props["PolicyDocument"]
            elif kind == "AWS::KMS::Key":
                props = resolver.value(raw)
                keys[resolver.attribute(logical_id, "Arn")] = props["KeyPolicy"]
            if kind in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::IAM::Role", "AWS::SNS::Topic",
                        "AWS::CodeBuild::Project", "AWS::Logs::LogGroup", "AWS::Lambda::Function"):
                physical[logical_id] = {"Ref": resolver.attribute(logical_id, "Ref")}
                if kind != "AWS::SNS::Topic":
                    physical[logical_id]["Arn"] = resolver.attribute(logical_id, "Arn")
        return cls(roles, managed, buckets, topics, keys, physical, resolver)

    def copy(self) -> World:
        resolver, self.resolver = self.resolver, None
        try:
            duplicate = copy.deepcopy(self)
        finally:
            self.resolver = resolver
        duplicate.resolver = resolver
        return duplicate

    def role_by_arn(self, arn: str) -> RoleInfo:
        for info in self.roles.values():
            if info.arn == arn:
                return info
        raise AssertionError(f"no role of the template has the ARN {arn}")

    # ------------------------------------------------------------ names

    def bucket(self, logical_id: str) -> str:
        return self.physical[logical_id]["Ref"]

    def arn(self, logical_id: str) -> str:
        return self.physical[logical_id]["Arn"]

    def role(self, name: str) -> RoleInfo:
        try:
            return self.roles[name]
        except KeyError:
            raise AssertionError(f"the template has no role {name!r}; roles: {sorted(self.roles)}") from None

    # ------------------------------------------------------------ identities

    def identity_policies(self, principal: Principal) -> list[dict[str, Any]]:
        policies: list[dict[str, Any]] = list(self.extra_identity.get(principal.arn, []))
        kind, _, path = principal.arn.split(":", 5)[5].partition("/")
        name = path.rsplit("/", 1)[-1]
        info = self.roles.get(name) if kind == "role" else None
        if info is not None and info.arn == principal.arn:
            policies += info.inline
            for arn in info.managed_arns:
                policies.append(self._managed_document(arn))
        attached_as = {"role": "roles", "user": "users"}.get(kind)
        for policy in self.managed.values():
            if attached_as and name in policy[attached_as]:
                policies.append(policy["document"])
        return policies

    def _managed_document(self, arn: str) -> dict[str, Any]:
        if arn in self.managed:
            return self.managed[arn]["document"]
        if arn in AWS_MANAGED_POLICIES:
            return AWS_MANAGED_POLICIES[arn]
        raise AssertionError(f"managed policy {arn} is not known to the tests: add its document to "
                             "tests/iam/world.py AWS_MANAGED_POLICIES or define it in the template")

    def boundary(self, principal: Principal) -> dict[str, Any] | None:
        for info in self.roles.values():
            if info.arn == principal.arn and info.boundary_arn:
                return self._managed_document(info.boundary_arn)
        return None

    def grant(self, principal: Principal, *statements: dict[str, Any]) -> None:
        """Give a principal outside the template (an intruder, a PowerUser) identity policies."""
        self.extra_identity.setdefault(principal.arn, []).append(
            {"Version": "2012-10-17", "Statement": list(statements)})

    # ------------------------------------------------------------ decisions

    def resource_policy(self, resource: str) -> tuple[dict[str, Any] | None, bool]:
        """(policy, is_key_policy) of the resource when it is one of the template's."""
        if resource.startswith(f"arn:{PARTITION}:s3:::"):
            bucket = resource[len(f"arn:{PARTITION}:s3:::"):].split("/", 1)[0]
            return self.bucket_policies.get(bucket), False
        if resource in self.key_policies:
            return self.key_policies[resource], True
        if resource in self.topic_policies:
            return self.topic_policies[resource], False
        return None, False

    def check(self, principal: Principal, action: str, resource: str,
              context: Mapping[str, str | Sequence[str]] | None = None) -> Verdict:
        request = Request(principal, action, resource, dict(context or {}))
        policy, is_key = self.resource_policy(resource)
        return evaluate(request, self.identity_policies(principal), resource_policy=policy,
                        key_policy=is_key, boundary=self.boundary(principal))

    def can_assume(self, role_name: str, service_name: str, source_account: str = ACCOUNT) -> Verdict:
        """Whether ``service_name`` may assume the role on behalf of ``source_account`` (trust policy)."""
        info = self.role(role_name)
        request = Request(service(service_name), "sts:AssumeRole", info.arn,
                          {"aws:SourceAccount": source_account})
        return evaluate(request, (), resource_policy=info.trust)

    def statements_of(self, role_name: str) -> list[dict[str, Any]]:
        """The inline statements of one of the template's roles."""
        return [s for policy in self.role(role_name).inline for s in policy["Statement"]]

    # ------------------------------------------------------------ mutation, for teeth

    def documents_of(self, principal: Principal) -> list[dict[str, Any]]:
        """The template's own (mutable) documents that are this principal's identity policies."""
        kind, _, path = principal.arn.split(":", 5)[5].partition("/")
        name = path.rsplit("/", 1)[-1]
        docs: list[dict[str, Any]] = []
        info = self.roles.get(name) if kind == "role" else None
        if info is not None and info.arn == principal.arn:
            docs += info.inline
        attached_as = {"role": "roles", "user": "users"}.get(kind)
        docs += [p["document"] for p in self.managed.values() if attached_as and name in p[attached_as]]
        return docs

    def _edited(self, documents, effect: str, action: str, edit) -> World:
        found = 0
        for document in documents:
            kept = []
            for statement in document["Statement"]:
                patterns = statement.get("Action", [])
                patterns = patterns if isinstance(patterns, list) else [patterns]
                if statement["Effect"] == effect and any(action_matches(p, action) for p in patterns):
                    found += 1
                    statement = edit(statement)
                if statement is not None:
                    kept.append(statement)
            document["Statement"] = kept
        assert found, f"no {effect} statement names {action}"
        return self

    def without(self, principal: Principal, effect: str, action: str) -> World:
        """A copy whose identity policies lack every ``effect`` statement naming ``action``."""
        world = self.copy()
        return world._edited(world.documents_of(principal), effect, action, lambda s: None)

    def widened(self, principal: Principal, action: str) -> World:
        """A copy where every Allow naming ``action`` covers all resources, without conditions."""
        def widen(statement):
            statement = {k: v for k, v in statement.items()
                         if k not in ("Resource", "NotResource", "Condition")}
            statement["Resource"] = "*"
            return statement

        world = self.copy()
        return world._edited(world.documents_of(principal), "Allow", action, widen)

    def without_resource_statement(self, resource: str, effect: str, action: str) -> World:
        """A copy whose bucket, key or topic policy lacks its ``effect`` statements on ``action``."""
        world = self.copy()
        policy, _ = world.resource_policy(resource)
        assert policy is not None, f"{resource} has no resource policy in the template"
        return world._edited([policy], effect, action, lambda s: None)

    def widened_resource_statement(self, resource: str, action: str) -> World:
        """A copy whose policy on ``resource`` allows ``action`` to any principal of the account."""
        def widen(statement):
            return {k: v for k, v in statement.items() if k != "Condition"}

        world = self.copy()
        policy, _ = world.resource_policy(resource)
        assert policy is not None
        return world._edited([policy], "Allow", action, widen)


__all__ = ["ACCOUNT", "AWS_MANAGED_POLICIES", "REGION", "RoleInfo", "World"]
