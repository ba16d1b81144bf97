"""Judge a change set: counts, replacements, data loss, permission broadening, protected resources, risk.

``assess(view, policy=..., account=...)`` returns a :class:`Review`; the review step, the approval's
text and ``changegate changes`` all use it, so the approver and the operator read the same judgement.

Risk tiers (issue 11):

- ``low``: only tags or metadata change (every resource change is an in-place Modify whose details
  touch only the ``Tags`` or ``Metadata`` attributes), or no resource changes at all (outputs or
  stack-level settings only);
- ``high``: a stateful resource (STATEFUL_TYPES) is removed or replaced (also ``Conditional``), a
  data-loss policy action, permission broadening, a change to a resource the stack policy protects,
  permission-bearing properties whose values the change set does not show, or drift overwritten
  (a Modify or Remove of a resource the change set or the drift detection before the review,
  review/drift.py, reports MODIFIED or DELETED);
- ``medium``: everything else.

Drift the detection could not establish (not checked, not permitted, not finished in time) is a
``drift-unknown`` finding: shown in the summary and the full review, not high risk by itself.

Standard library only: this runs inside the Lambda function.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from review.changeset import ChangeSetView, ResourceChangeView
from review.drift import DriftResult
from review.validations import Checks

LOW, MEDIUM, HIGH = "low", "medium", "high"
TIERS = (LOW, MEDIUM, HIGH)
ACTIONS = ("Add", "Modify", "Remove", "Import")
# Resource types that hold data a removal or replacement destroys (unless a Retain or Snapshot
# policy keeps it). Keep sorted; add types here, with the data they hold in mind.
STATEFUL_TYPES = frozenset({
    "AWS::Backup::BackupVault",          # recovery points
    "AWS::CodeCommit::Repository",       # commits
    "AWS::Cognito::UserPool",            # users
    "AWS::DocDB::DBCluster", "AWS::DocDB::DBInstance",
    "AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table",
    "AWS::EC2::Volume",                  # EBS
    "AWS::ECR::Repository",              # images
    "AWS::EFS::FileSystem",
    "AWS::ElastiCache::CacheCluster", "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::ServerlessCache",
    "AWS::Elasticsearch::Domain", "AWS::OpenSearchService::Domain", "AWS::OpenSearchServerless::Collection",
    "AWS::FSx::FileSystem",
    "AWS::Kinesis::Stream",              # records within retention
    "AWS::KMS::Key",                     # everything encrypted under it
    "AWS::Logs::LogGroup",
    "AWS::MemoryDB::Cluster",
    "AWS::MSK::Cluster",
    "AWS::Neptune::DBCluster", "AWS::Neptune::DBInstance",
    "AWS::RDS::DBCluster", "AWS::RDS::DBInstance",
    "AWS::Redshift::Cluster",
    "AWS::S3::Bucket", "AWS::S3Express::DirectoryBucket",
    "AWS::SecretsManager::Secret",
    "AWS::SQS::Queue",                   # messages in flight
    "AWS::Timestream::Table",
})
# PolicyAction values that delete the old resource's data ("and friends": API reference, ResourceChange).
DELETING_POLICY_ACTIONS = frozenset({"Delete", "ReplaceAndDelete"})
KEEPING_POLICY_ACTIONS = frozenset({"Retain", "Snapshot", "ReplaceAndRetain", "ReplaceAndSnapshot"})
# Attributes whose change alone is "low": no property, no policy, no behaviour changes.
LOW_ATTRIBUTES = frozenset({"Tags", "Metadata"})
# Properties that carry permissions, per resource type: policy documents and security-group rules.
POLICY_PROPERTIES = {
    "AWS::IAM::Role": ("AssumeRolePolicyDocument", "Policies", "ManagedPolicyArns"),
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::IAM::User": ("Policies", "ManagedPolicyArns"),
    "AWS::IAM::Group": ("Policies", "ManagedPolicyArns"),
    "AWS::IAM::RolePolicy": ("PolicyDocument",),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
    "AWS::SecretsManager::ResourcePolicy": ("ResourcePolicy",),
    "AWS::ECR::Repository": ("RepositoryPolicyText",),
    "AWS::Lambda::Permission": ("Principal", "SourceArn", "SourceAccount", "PrincipalOrgID", "Action"),
    "AWS::Logs::ResourcePolicy": ("PolicyDocument",),
    "AWS::EC2::SecurityGroup": ("SecurityGroupIngress",),
    "AWS::EC2::SecurityGroupIngress": ("CidrIp", "CidrIpv6"),
}
ANYWHERE = frozenset({"0.0.0.0/0", "::/0"})
# CloudFormation shows values it cannot know before execution with a placeholder: never an account.
_ACCOUNT_IN_ARN = re.compile(r"\Aarn:[^:]+:[^:]*:[^:]*:(\d{12}):")
_ACCOUNT_ID = re.compile(r"\A\d{12}\Z")
_STACK_ACCOUNT = re.compile(r"\Aarn:[^:]+:cloudformation:[^:]+:(\d{12}):")


@dataclass(frozen=True)
class Finding:
    # replacement, data-loss, stateful, broadening, protected, unreadable-permissions, drift,
    # drift-unknown, cloudformation-check
    kind: str
    stack: str
    logical_id: str
    resource_type: str
    message: str


@dataclass(frozen=True)
class Review:
    stack_name: str
    change_set_name: str
    change_set_id: str
    stack_id: str
    has_changes: bool
    risk: str
    counts: dict[str, int]
    findings: tuple[Finding, ...] = ()
    reasons: tuple[str, ...] = ()  # why the tier is what it is
    nested_change_sets: int = 0
    hook_invocations: int = 0
    changes: tuple[dict, ...] = field(default=())  # one line per resource change, for the full view
    drift_note: str = ""  # what the drift detection before the review did, or why it did not run
    checks_note: str = ""  # what CloudFormation's own checks said, or why they could not be read

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def summary_line(self, limit: int | None = None) -> str:
        """One line: risk, counts, then each kind of finding with the resources; shortened to ``limit``.

        The approval's comments carry it (CodePipeline documents 1,000 characters per configuration
        value); the longest lists are cut first, each cut saying how many it left out.
        """
        return summarise(self, limit)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["findings"] = [asdict(f) for f in self.findings]
        data["summary"] = self.summary_line()
        return data


# ---- permission broadening ----

def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _documents(value: Any) -> list[dict]:
    """Every policy document inside a property value (a document, a JSON string, a list of policies)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if isinstance(value, dict):
        if "Statement" in value:
            return [value]
        if "PolicyDocument" in value:
            return _documents(value["PolicyDocument"])
        return []
    if isinstance(value, list):
        return [d for item in value for d in _documents(item)]
    return []


def _principals(statement: dict) -> set[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return {"*"}
    out = set()
    if isinstance(principal, dict):
        for kind, values in principal.items():
            out.update(f"{kind}:{v}" if kind != "AWS" else str(v) for v in _as_list(values))
    return out


def _grants(resource_type: str, properties: dict) -> set[str]:
    """The widening facts of a resource's permissions, as comparable strings.

    ``principal:<p>`` (allowed principals), ``anyone`` (an unconditioned ``*`` principal),
    ``action:*``/``action:<svc>:*`` (wildcard actions), ``resource:*`` (an allowed action on every
    resource), ``not-action``/``not-principal`` in an Allow, ``ingress:<cidr>`` (open ingress).
    """
    facts: set[str] = set()
    for prop in POLICY_PROPERTIES.get(resource_type, ()):
        value = properties.get(prop)
        for document in _documents(value):
            for statement in _as_list(document.get("Statement")):
                if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                    continue
                principals = _principals(statement)
                facts.update(f"principal:{p}" for p in principals)
                if "*" in principals and not statement.get("Condition"):
                    facts.add("anyone")
                for action in _as_list(statement.get("Action")):
                    if isinstance(action, str) and (action == "*" or action.endswith(":*")):
                        facts.add(f"action:{action}")
                if "*" in _as_list(statement.get("Resource")) and prop != "AssumeRolePolicyDocument":
                    facts.add("resource:*")
                if "NotAction" in statement:
                    facts.add("not-action")
                if "NotPrincipal" in statement:
                    facts.add("not-principal")
    if resource_type == "AWS::Lambda::Permission" and properties.get("Principal"):
        principal = str(properties["Principal"])
        facts.add(f"principal:{principal}")
        if principal == "*" and not (properties.get("SourceArn") or properties.get("SourceAccount")
                                     or properties.get("PrincipalOrgID")):
            facts.add("anyone")
    rules = []
    if resource_type == "AWS::EC2::SecurityGroup":
        rules = [r for r in _as_list(properties.get("SecurityGroupIngress")) if isinstance(r, dict)]
    elif resource_type == "AWS::EC2::SecurityGroupIngress":
        rules = [properties]
    for rule in rules:
        for cidr in (rule.get("CidrIp"), rule.get("CidrIpv6")):
            if cidr in ANYWHERE:
                facts.add(f"ingress:{cidr} ports {rule.get('FromPort', '*')}-{rule.get('ToPort', '*')}")
    return facts


def _account_of(principal: str) -> str | None:
    match = _ACCOUNT_IN_ARN.match(principal)
    if match:
        return match.group(1)
    return principal if _ACCOUNT_ID.match(principal) else None


def _properties(context: dict | None) -> dict | None:
    """The resource's properties from a Before/AfterContext (``{"Properties": {...}}`` or the properties)."""
    if context is None:
        return None
    inner = context.get("Properties", context)
    return inner if isinstance(inner, dict) else None


def broadening(change: ResourceChangeView, account: str) -> list[str]:
    """How ``change`` widens permissions, one phrase each; [] when it does not (or cannot tell: see below).

    Compares the permission facts after the change with those before. On a Modify, any new
    principal widens an existing grant. On an Add, a new role trusting its service is ordinary:
    only wildcards, anyone, other accounts and open ingress count.
    """
    if change.resource_type not in POLICY_PROPERTIES or change.action not in ("Add", "Modify", "Import"):
        return []
    after = _properties(change.after)
    if after is None:
        return []
    before = _properties(change.before) or {}
    new = _grants(change.resource_type, after) - _grants(change.resource_type, before)
    phrases = []
    for fact in sorted(new):
        kind, _, value = fact.partition(":")
        if kind == "principal":
            other = _account_of(value)
            if other and account and other != account:
                phrases.append(f"trusts account {other}")
            elif change.action == "Modify" and value != "*":
                phrases.append(f"new principal {value}")
        elif kind == "anyone":
            phrases.append("allows anyone (Principal *)")
        elif kind == "action":
            phrases.append(f"allows {value}")
        elif kind == "resource":
            phrases.append("on every resource (*)")
        elif kind == "not-action":
            phrases.append("Allow with NotAction")
        elif kind == "not-principal":
            phrases.append("Allow with NotPrincipal")
        elif kind == "ingress":
            phrases.append(f"ingress from {value}")
    return phrases


def _touches_permissions_unreadably(change: ResourceChangeView) -> bool:
    """A permission-bearing property changes, but the change set shows no values to judge it by."""
    if change.resource_type not in POLICY_PROPERTIES or change.action not in ("Add", "Modify", "Import"):
        return False
    if _properties(change.after) is not None:
        return False
    names = set(POLICY_PROPERTIES[change.resource_type])
    return change.action == "Add" or any(d.name.split(".")[0] in names for d in change.details)


# ---- the stack policy ----

def _update_action(change: ResourceChangeView) -> str | None:
    """The stack-policy action a change performs: Update:Modify, Update:Replace, Update:Delete (None: Add)."""
    if change.action == "Remove":
        return "Update:Delete"
    if change.action == "Modify":
        return "Update:Replace" if change.replacement in ("True", "Conditional") else "Update:Modify"
    return None


def _statement_matches(statement: dict, action: str, change: ResourceChangeView) -> bool:
    resource = f"LogicalResourceId/{change.logical_id}"
    if "Action" in statement:
        if not any(fnmatch.fnmatchcase(action, a) for a in _as_list(statement["Action"])):
            return False
    elif any(fnmatch.fnmatchcase(action, a) for a in _as_list(statement.get("NotAction"))):
        return False
    if "Resource" in statement:
        if not any(fnmatch.fnmatchcase(resource, r) for r in _as_list(statement["Resource"])):
            return False
    elif any(fnmatch.fnmatchcase(resource, r) for r in _as_list(statement.get("NotResource"))):
        return False
    for operator, values in (statement.get("Condition") or {}).items():
        wanted = _as_list((values or {}).get("ResourceType"))
        if not wanted:
            continue
        if operator == "StringEquals" and change.resource_type not in wanted:
            return False
        if operator == "StringLike" and not any(fnmatch.fnmatchcase(change.resource_type, w) for w in wanted):
            return False
    return True


def protection(change: ResourceChangeView, policy: dict | None) -> str | None:
    """Why the owner's stack policy refuses ``change`` (an explicit Deny, or no Allow), or None.

    "When you set a stack policy, all resources in the stack are protected by default" and an
    explicit Deny overrides any Allow (CloudFormation user guide, protect-stack-resources). Only
    changes to the top-level stack's resources are judged: a nested stack carries its own policy.
    """
    if policy is None:
        return None
    action = _update_action(change)
    if action is None:
        return None
    statements = [s for s in _as_list(policy.get("Statement")) if isinstance(s, dict)]
    if any(s.get("Effect") == "Deny" and _statement_matches(s, action, change) for s in statements):
        return f"stack policy denies {action}"
    if not any(s.get("Effect") == "Allow" and _statement_matches(s, action, change) for s in statements):
        return f"stack policy allows no {action}"
    return None


# ---- the judgement ----

def _is_low(change: ResourceChangeView) -> bool:
    return (change.action == "Modify" and change.replacement in ("", "False") and bool(change.details)
            and all(d.attribute in LOW_ATTRIBUTES for d in change.details))


def _replacement_causes(change: ResourceChangeView) -> list[str]:
    names = [d.name or d.attribute for d in change.details
             if d.requires_recreation in ("Always", "Conditionally")]
    return sorted(set(names))


def _stack_account(view: ChangeSetView) -> str:
    match = _STACK_ACCOUNT.match(view.stack_id or view.change_set_id)
    return match.group(1) if match else ""


def assess(view: ChangeSetView, *, policy: dict | None = None, account: str | None = None,
           drift: DriftResult | None = None, checks: Checks | None = None,
           stateful_types: frozenset[str] = frozenset()) -> Review:
    """The review of ``view``; ``policy`` is the owner's stack policy (None: none configured).

    ``account`` is the stack's account (read from the stack id when not given): principals of
    other accounts are trust in other accounts. ``drift`` is what the drift detection before the
    review found for the resources the change touches (review/drift.py; None: not detected).
    ``checks`` are CloudFormation's own validations and hooks that failed or were skipped
    (review/validations.py): each is a finding, and they make the change at least medium risk.
    ``stateful_types`` are the owners' own additions to STATEFUL_TYPES (``review.stateful_types``).
    """
    account = account or _stack_account(view)
    changes = view.all_changes()
    counts = Counter(c.action for c in changes)
    findings: list[Finding] = []

    def add(kind: str, change: ResourceChangeView, message: str) -> None:
        findings.append(Finding(kind, change.stack, change.logical_id, change.resource_type, message))

    for change in changes:
        replaced = change.action == "Modify" and change.replacement in ("True", "Conditional")
        if replaced:
            causes = _replacement_causes(change)
            maybe = "may be replaced" if change.replacement == "Conditional" else "replaced"
            add("replacement", change, f"{maybe} ({', '.join(causes)})" if causes else maybe)
        stateful = change.resource_type in STATEFUL_TYPES or change.resource_type in stateful_types
        if stateful and (replaced or change.action == "Remove"):
            what = "removed" if change.action == "Remove" else "replaced"
            if change.policy_action in KEEPING_POLICY_ACTIONS:
                add("stateful", change, f"{what}, data kept ({change.policy_action})")
            else:
                policy_action = change.policy_action or "no policy action"
                add("data-loss", change, f"{what}, data deleted ({policy_action})")
        elif change.policy_action in DELETING_POLICY_ACTIONS and stateful:
            add("data-loss", change, f"data deleted ({change.policy_action})")
        for phrase in broadening(change, account):
            add("broadening", change, phrase)
        if _touches_permissions_unreadably(change):
            add("unreadable-permissions", change, "permissions change, values not shown by the change set")
        if change.stack == view.stack_name:
            reason = protection(change, policy)
            if reason:
                add("protected", change, reason)
        drifted = change.drift_status in ("MODIFIED", "DELETED") or any(
            d.drift in ("MODIFIED", "DELETED") for d in change.details)
        detected = _detected(drift, change, view)
        if change.action in ("Modify", "Remove", "SyncWithActual"):
            if drifted:
                status = change.drift_status or "properties"
                add("drift", change, f"drifted ({status}): the change overwrites it")
            elif detected is not None and detected.drifted:
                add("drift", change, f"drifted ({detected.status}): the change overwrites it")
            elif detected is not None and detected.unknown:
                add("drift-unknown", change, detected.reason or detected.status)

    for result in checks.results if checks is not None else ():
        findings.append(Finding("cloudformation-check", view.stack_name, result.logical_id or "-",
                                result.resource_type, result.describe()))

    high_kinds = ("data-loss", "stateful", "broadening", "protected", "unreadable-permissions", "drift")
    reasons = tuple(sorted({f.kind for f in findings if f.kind in high_kinds}))
    if reasons:
        risk = HIGH
    elif any(f.kind == "cloudformation-check" for f in findings):
        risk, reasons = MEDIUM, ("CloudFormation's checks report problems",)
    elif all(_is_low(c) for c in changes):
        risk = LOW
        reasons = ("tags or metadata only",) if changes else ("no resource changes",)
    else:
        risk = MEDIUM
    def drift_of(change: ResourceChangeView) -> str:
        detected = _detected(drift, change, view)
        return detected.status if detected is not None else change.drift_status

    lines = tuple({"stack": c.stack, "logical_id": c.logical_id, "type": c.resource_type, "action": c.action,
                   "replacement": c.replacement, "policy_action": c.policy_action, "drift": drift_of(c)}
                  for c in changes)
    return Review(stack_name=view.stack_name, change_set_name=view.change_set_name,
                  change_set_id=view.change_set_id, stack_id=view.stack_id,
                  has_changes=not view.is_empty, risk=risk if not view.is_empty else LOW,
                  counts={a: counts.get(a, 0) for a in ACTIONS} | {
                      k: v for k, v in sorted(counts.items()) if k not in ACTIONS},
                  findings=tuple(findings), reasons=reasons if not view.is_empty else ("no changes",),
                  nested_change_sets=_count_nested(view),
                  hook_invocations=sum(c.hook_invocations for c in changes), changes=lines,
                  drift_note=drift.note if drift is not None else "",
                  checks_note=checks.note if checks is not None else "")


def _detected(drift: DriftResult | None, change: ResourceChangeView, view: ChangeSetView):
    """What the drift detection found for ``change`` (only the stack's own resources are detected)."""
    if drift is None or change.stack != view.stack_name:
        return None
    return drift.of(change.logical_id)


def _count_nested(view: ChangeSetView) -> int:
    return sum(1 + _count_nested(n) for n in view.nested)


# ---- the one line ----

_LABELS = (("replacement", "replaces"), ("data-loss", "DATA LOSS"), ("stateful", "stateful"),
           ("broadening", "broadens"), ("protected", "protected"),
           ("unreadable-permissions", "unreadable permissions"), ("drift", "overwrites drift"),
           ("drift-unknown", "drift unknown"), ("cloudformation-check", "CloudFormation warns"))


def _name(finding: Finding, top: str) -> str:
    where = finding.logical_id if finding.stack == top else f"{finding.stack}/{finding.logical_id}"
    return f"{where} {finding.message}"


def summarise(review: Review, limit: int | None = None) -> str:
    if not review.has_changes:
        return _cut(f"No changes: change set {review.change_set_name} of {review.stack_name} is empty", limit)
    counts = ", ".join(f"{review.counts.get(a, 0)} {a.lower()}" for a in ACTIONS if review.counts.get(a))
    head = f"Risk {review.risk.upper()}: {counts or 'no resource changes'}"
    groups = []
    for kind, label in _LABELS:
        found = review.of_kind(kind)
        reasons = {f.message for f in found}
        if kind == "drift-unknown" and len(reasons) == 1:
            # One reason for all (the deadline, no permission): say it once, then the resources.
            label = f"{label} ({reasons.pop()})"
            items = [_name(f, review.stack_name).removesuffix(f" {f.message}") for f in found]
        else:
            items = [_name(f, review.stack_name) for f in found]
        if items:
            groups.append((label, items))
    # Shorten: keep every group's label; drop items from the longest groups first.
    keep = {label: len(items) for label, items in groups}

    def text() -> str:
        parts = [head]
        for label, items in groups:
            shown = items[:keep[label]]
            rest = len(items) - len(shown)
            parts.append(f"{label}: {'; '.join(shown)}" + (f" (+{rest} more)" if rest and shown else "")
                         + (f" {rest}" if rest and not shown else ""))
        return ". ".join(parts)

    line = text()
    while limit is not None and len(line) > limit and any(keep.values()):
        longest = max(keep, key=lambda k: keep[k])
        keep[longest] -= 1
        line = text()
    return _cut(line, limit)


def _cut(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: max(limit - 3, 0)] + "..."
