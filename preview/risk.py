"""Data at risk and permission broadening in one stack's predicted change.

Data: a stateful resource that is replaced or removed loses its data unless its policy keeps
it. "If a resource has no DeletionPolicy attribute, AWS CloudFormation deletes the resource by
default. Exception: The default policy is Snapshot for AWS::RDS::DBCluster resources and for
AWS::RDS::DBInstance resources that don't specify the DBClusterIdentifier property."
(CloudFormation User Guide, DeletionPolicy attribute.) "By default, if you don't specify an
UpdateReplacePolicy, CloudFormation deletes your resources" (UpdateReplacePolicy attribute).

Permissions: the same judgement as CDK's ConfirmPermissionsBroadening: new IAM statements
that allow, trust policies that admit new principals, managed policies attached, and
security-group rules added.
"""

from __future__ import annotations

from typing import Any

from preview.compare import canonical
from preview.model import ResourceChange
from preview.resolve import ResolvedResource

STATEFUL_TYPES = frozenset({
    "AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable", "AWS::S3::Bucket", "AWS::EFS::FileSystem",
    "AWS::Logs::LogGroup", "AWS::SQS::Queue", "AWS::Kinesis::Stream", "AWS::KMS::Key",
    "AWS::ECR::Repository", "AWS::SecretsManager::Secret", "AWS::EC2::Volume",
    "AWS::ElastiCache::ReplicationGroup", "AWS::ElastiCache::CacheCluster",
    "AWS::OpenSearchService::Domain", "AWS::Elasticsearch::Domain", "AWS::Neptune::DBCluster",
    "AWS::DocDB::DBCluster", "AWS::Redshift::Cluster", "AWS::FSx::FileSystem",
    "AWS::Backup::BackupVault", "AWS::Cognito::UserPool", "AWS::Timestream::Table",
    "AWS::MSK::Cluster", "AWS::SSM::Parameter",
})
KEEPING = {"Retain", "RetainExceptOnCreate", "Snapshot"}

IAM_POLICY_HOLDERS = {
    "AWS::IAM::Role": ("Policies", "AssumeRolePolicyDocument"),
    "AWS::IAM::User": ("Policies",),
    "AWS::IAM::Group": ("Policies",),
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::IAM::RolePolicy": ("PolicyDocument",),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
    "AWS::SecretsManager::ResourcePolicy": ("ResourcePolicy",),
}
SECURITY_GROUP_RULES = {"AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"}
OPEN_CIDRS = {"0.0.0.0/0", "::/0"}


def data_at_risk(changes: dict[str, ResourceChange], old: dict[str, ResolvedResource],
                 new: dict[str, ResolvedResource]) -> list[str]:
    found = []
    for logical_id, change in changes.items():
        if change.resource_type not in STATEFUL_TYPES and change.action != "Modify":
            continue
        if change.action == "Remove" and change.resource_type in STATEFUL_TYPES:
            resource = old[logical_id]
            policy = resource.deletion_policy or _default_deletion_policy(resource)
            kept = policy in KEEPING
            found.append(f"{logical_id} ({change.resource_type}) is removed; "
                         f"DeletionPolicy {policy}: "
                         + ("its data is kept" if kept else "its data is deleted"))
        elif change.action == "Modify" and change.replacement in ("True", "Conditional",
                                                                   "Unknown") \
                and change.resource_type in STATEFUL_TYPES:
            policy = new[logical_id].update_replace_policy or "Delete"
            kept = policy in KEEPING
            verb = "is replaced" if change.replacement == "True" else "may be replaced"
            found.append(f"{logical_id} ({change.resource_type}) {verb}; "
                         f"UpdateReplacePolicy {policy}: "
                         + ("the old resource's data is kept" if kept else
                            "the old resource and its data are deleted"))
    return found


def _default_deletion_policy(resource: ResolvedResource) -> str:
    if resource.type == "AWS::RDS::DBCluster" or (
            resource.type == "AWS::RDS::DBInstance"
            and "DBClusterIdentifier" not in resource.properties):
        return "Snapshot"
    return "Delete"


def permission_broadening(changes: dict[str, ResourceChange], old: dict[str, ResolvedResource],
                          new: dict[str, ResolvedResource]) -> list[str]:
    found = []
    for logical_id, change in changes.items():
        if change.action == "Remove":
            continue
        after = new[logical_id]
        before = old.get(logical_id) if change.action == "Modify" else None
        if before is not None and before.type != after.type:
            before = None
        found.extend(_policy_broadening(logical_id, before, after))
        found.extend(_security_group_broadening(logical_id, before, after))
    return found


def _policy_broadening(logical_id: str, before: ResolvedResource | None,
                       after: ResolvedResource) -> list[str]:
    found = []
    for key in IAM_POLICY_HOLDERS.get(after.type, ()):
        old_statements = _statements(before.properties.get(key)) if before else set()
        new_statements = _statements(after.properties.get(key))
        for statement in sorted(new_statements - old_statements):
            what = "trust policy admits" if key == "AssumeRolePolicyDocument" else "allows"
            if '"Effect": "Allow"' in statement:
                found.append(f"{logical_id} ({after.type}) {what}: {statement}")
        for statement in sorted(old_statements - new_statements):
            if '"Effect": "Deny"' in statement:
                found.append(f"{logical_id} ({after.type}) no longer denies: {statement}")
    if after.type in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
        old_arns = set(_strings(before.properties.get("ManagedPolicyArns"))) if before else set()
        for arn in sorted(set(_strings(after.properties.get("ManagedPolicyArns"))) - old_arns):
            found.append(f"{logical_id} ({after.type}) attaches managed policy {arn}")
        if before is not None and "PermissionsBoundary" in before.properties \
                and "PermissionsBoundary" not in after.properties:
            found.append(f"{logical_id} ({after.type}) loses its permissions boundary")
    if after.type == "AWS::Lambda::Permission" and before is None:
        found.append(f"{logical_id} (AWS::Lambda::Permission) lets "
                     f"{_show(after.properties.get('Principal'))} invoke "
                     f"{_show(after.properties.get('FunctionName'))}")
    return found


def _security_group_broadening(logical_id: str, before: ResolvedResource | None,
                               after: ResolvedResource) -> list[str]:
    found = []
    if after.type == "AWS::EC2::SecurityGroup":
        for key in ("SecurityGroupIngress", "SecurityGroupEgress"):
            old_rules = {canonical(r) for r in _list(before.properties.get(key))} \
                if before else set()
            for rule in _list(after.properties.get(key)):
                if canonical(rule) not in old_rules:
                    found.append(f"{logical_id} adds {_rule_text(key, rule)}")
    elif after.type in SECURITY_GROUP_RULES and (
            before is None or canonical(before.properties) != canonical(after.properties)):
            kind = "SecurityGroupIngress" if after.type.endswith("Ingress") else \
                "SecurityGroupEgress"
            found.append(f"{logical_id} ({after.type}) adds {_rule_text(kind, after.properties)}")
    return found


def _rule_text(kind: str, rule: Any) -> str:
    rule = rule if isinstance(rule, dict) else {}
    source = next((_show(rule[k]) for k in ("CidrIp", "CidrIpv6", "SourceSecurityGroupId",
                                            "SourcePrefixListId", "DestinationSecurityGroupId",
                                            "DestinationPrefixListId") if k in rule), "?")
    ports = f"{_show(rule.get('FromPort', 'all'))}-{_show(rule.get('ToPort', 'all'))}"
    direction = "ingress from" if kind.endswith("Ingress") else "egress to"
    warning = " (open to the internet)" if source in OPEN_CIDRS else ""
    return f"{direction} {source} on {_show(rule.get('IpProtocol', '?'))} {ports}{warning}"


def _statements(document: Any) -> set[str]:
    if isinstance(document, list):  # a Policies list of {PolicyName, PolicyDocument}
        found: set[str] = set()
        for policy in document:
            if isinstance(policy, dict):
                found |= _statements(policy.get("PolicyDocument"))
        return found
    if not isinstance(document, dict):
        return set()
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    return {canonical(_normal(s)) for s in statements}


def _normal(statement: Any) -> Any:
    if not isinstance(statement, dict):
        return statement
    normal = dict(statement)
    normal.pop("Sid", None)
    for key in ("Action", "NotAction", "Resource", "NotResource"):
        value = normal.get(key)
        if isinstance(value, str):
            normal[key] = [value]
        if isinstance(normal.get(key), list) and all(isinstance(v, str) for v in normal[key]):
            normal[key] = sorted(normal[key])
    return normal


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [canonical(v).strip('"') if not isinstance(v, str) else v for v in _list(value)]


def _show(value: Any) -> str:
    return value if isinstance(value, str) else canonical(value)
