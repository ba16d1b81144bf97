"""Termination protection of the managed stacks (generator/bootstrap/protection.py) and the sync
role's deletes.

The EventBridge rule is checked by resolving its ``Fn::Sub`` prefixes for one account and region
and matching sample stack status events with the two operators it uses (exact values, prefix).
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import random
import re
import shutil
import string
from pathlib import Path

import pytest

from generator import naming
from generator.bootstrap import protection
from generator.bootstrap.cfnlint_rules import lint
from generator.bootstrap.recorder import AUDIT_RULE
from generator.bootstrap.template import render_template
from generator.errors import GenerateError

REPO = Path(__file__).resolve().parents[2]
PARTITION, REGION, ACCOUNT = "aws", "eu-west-1", "111122223333"
UUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
PROTECTION_TYPES = {"AWS::SSM::Document", "AWS::Events::Rule"}


def _copy_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "stacks", root / "stacks")
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    return root


def _edit_config(root: Path, old: str, new: str) -> None:
    path = root / "pipelines" / "config.yaml"
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")


def _resolve(value):
    """Fn::Sub of this template's pseudo parameters, for one account and region."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return (value["Fn::Sub"].replace("${AWS::Partition}", PARTITION).replace("${AWS::Region}", REGION)
                .replace("${AWS::AccountId}", ACCOUNT))
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


def _matches(pattern, event) -> bool:
    """EventBridge matching for what the rule uses: nested fields, lists of values or prefixes."""
    for key, wanted in pattern.items():
        if key not in event:
            return False
        if isinstance(wanted, dict):
            if not _matches(wanted, event[key]):
                return False
            continue
        value = event[key]
        if not any(value == w if isinstance(w, str) else value.startswith(w["prefix"]) for w in wanted):
            return False
    return True


def _event(stack_name: str, status: str = "CREATE_COMPLETE") -> dict:
    stack_id = f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/{stack_name}/{UUID}"
    return {"version": "0", "source": "aws.cloudformation",
            "detail-type": "CloudFormation Stack Status Change", "account": ACCOUNT, "region": REGION,
            "resources": [stack_id],
            "detail": {"stack-id": stack_id, "status-details": {"status": status, "status-reason": ""}}}


def _rules(doc: dict) -> list[dict]:
    """The protection rules (not the audit rule, generator/bootstrap/recorder.py)."""
    return [r for k, r in doc["Resources"].items() if r["Type"] == "AWS::Events::Rule" and k != AUDIT_RULE]


def _protected_by(doc: dict, stack_name: str, status: str = "CREATE_COMPLETE") -> bool:
    return any(_matches(_resolve(r["Properties"]["EventPattern"]), _event(stack_name, status))
               for r in _rules(doc))


def _statements(resource: dict) -> list[dict]:
    return [s for p in resource["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> tuple[dict, str]:
    """network opted out, alarms adopted as LegacyAlarms, database and service protected."""
    root = _copy_repo(tmp_path_factory.mktemp("mixed"))
    _edit_config(root, "  alarms:\n", "  alarms:\n    stack_name: LegacyAlarms\n")
    _edit_config(root, "stacks:\n  database:\n", "stacks:\n  network:\n    termination_protection: false\n"
                 "  database:\n")
    text = render_template(root)
    return json.loads(text), text


def test_rule_matches_exactly_the_protected_stacks(mixed) -> None:
    doc, _ = mixed
    assert len(_rules(doc)) == 1
    for name in ("acme-database", "acme-service", "LegacyAlarms"):
        assert _protected_by(doc, name) and _protected_by(doc, name, "UPDATE_COMPLETE"), name
    for name in ("acme-network", "acme-pipelines", "LegacyAlarms2", "Legacy", "other-stack"):
        assert not _protected_by(doc, name), name
    for status in ("CREATE_IN_PROGRESS", "ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "DELETE_COMPLETE"):
        assert not _protected_by(doc, "acme-database", status), status
    other_account = _event("acme-database")
    other_account["detail"]["stack-id"] = other_account["detail"]["stack-id"].replace(ACCOUNT, "999999999999")
    assert not _matches(_resolve(_rules(doc)[0]["Properties"]["EventPattern"]), other_account)


def test_nested_stacks_of_managed_stacks_do_not_start_the_runbook(mixed) -> None:
    """F17: "You can't enable or disable termination protection directly on a nested stack"; a nested
    stack is named ``<parent>-<LogicalId>-<random>``, so a shortened prefix (``stack/acme-d``) would
    start a runbook that fails on every nested stack's CREATE_COMPLETE and UPDATE_COMPLETE."""
    doc, _ = mixed
    for parent in ("acme-database", "acme-service", "LegacyAlarms"):
        assert _protected_by(doc, parent)
        for status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            assert not _protected_by(doc, f"{parent}-Vpc-1A2B3C4D5E6F", status), parent
    # a stack added later under a name that shares a start with a protected one: not covered either
    assert not _protected_by(doc, "acme-data")
    assert not _protected_by(doc, "acme-s3")


def test_rule_passes_the_stack_id_to_the_runbook(mixed) -> None:
    doc, _ = mixed
    target = _rules(doc)[0]["Properties"]["Targets"][0]
    assert ":automation-definition/${TerminationProtectionDocument}" in target["Arn"]["Fn::Sub"]
    assert target["RoleArn"] == {"Fn::GetAtt": ["TerminationProtectionEventsRole", "Arn"]}
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {"stackId": "$.detail.stack-id"}
    assert json.loads(transformer["InputTemplate"]) == {"StackId": ["<stackId>"]}
    document = doc["Resources"]["TerminationProtectionDocument"]["Properties"]
    assert document["DocumentType"] == "Automation" and document["UpdateMethod"] == "NewVersion"
    content = document["Content"]
    assert content["schemaVersion"] == "0.3"
    assert content["assumeRole"]["Fn::Sub"].endswith(":role/acme-changegate-protection")
    assert list(content["parameters"]) == ["StackId"]
    stack_id = _event("acme-database")["detail"]["stack-id"]
    assert re.match(content["parameters"]["StackId"]["allowedPattern"], stack_id)
    [step] = content["mainSteps"]
    assert step["action"] == "aws:executeAwsApi"
    assert step["inputs"] == {"Service": "cloudformation", "Api": "UpdateTerminationProtection",
                              "EnableTerminationProtection": True, "StackName": "{{ StackId }}"}


def test_automation_role_is_scoped_to_the_managed_stacks(mixed) -> None:
    doc, _ = mixed
    role = doc["Resources"]["TerminationProtectionRole"]["Properties"]
    assert [s["Principal"] for s in role["AssumeRolePolicyDocument"]["Statement"]] == [
        {"Service": "ssm.amazonaws.com"}]
    statements = _statements(doc["Resources"]["TerminationProtectionRole"])
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert {a for s in allows for a in s["Action"]} == {"cloudformation:UpdateTerminationProtection",
                                                        "cloudformation:DescribeStacks"}
    resources = [_resolve(r) for s in allows for r in s["Resource"]]
    assert "*" not in resources
    prefix = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/"
    assert sorted(resources) == [f"{prefix}LegacyAlarms/*", f"{prefix}acme-*/*"]
    deny = next(s for s in statements if s["Effect"] == "Deny")
    assert [_resolve(r) for r in deny["Resource"]] == [f"{prefix}acme-pipelines/*"]


def test_events_role_starts_only_the_runbook_and_passes_only_the_automation_role(mixed) -> None:
    doc, _ = mixed
    role = doc["Resources"]["TerminationProtectionEventsRole"]["Properties"]
    assert [s["Principal"] for s in role["AssumeRolePolicyDocument"]["Statement"]] == [
        {"Service": "events.amazonaws.com"}]
    statements = _statements(doc["Resources"]["TerminationProtectionEventsRole"])
    assert all(s["Effect"] == "Allow" for s in statements)
    start = next(s for s in statements if s["Action"] == ["ssm:StartAutomationExecution"])
    assert [r["Fn::Sub"] for r in start["Resource"]] == [
        "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:automation-definition/"
        "${TerminationProtectionDocument}:*"]
    passrole = next(s for s in statements if s["Action"] == ["iam:PassRole"])
    assert [_resolve(r) for r in passrole["Resource"]] == [
        f"arn:aws:iam::{ACCOUNT}:role/acme-changegate-protection"]
    assert passrole["Condition"] == {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}}
    assert len(statements) == 2


def test_execution_role_may_not_change_the_protection_roles(mixed) -> None:
    doc, _ = mixed
    deny = next(s for s in _statements(doc["Resources"]["CloudFormationExecutionRole"])
                if s["Sid"] == "NeverChangeChangegateIam")
    patterns = [r["Fn::Sub"].rsplit("/", 1)[1] for r in deny["Resource"] if ":role/" in r["Fn::Sub"]]
    for role in ("acme-changegate-protection", "acme-changegate-protection-events"):
        assert any(fnmatch.fnmatchcase(role, pattern) for pattern in patterns), role


def test_mixed_template_lints_clean(mixed) -> None:
    _, text = mixed
    assert [f"{m.rule.id} {m.message}" for m in lint(text)] == []


def test_no_resources_when_no_stack_wants_protection(tmp_path: Path) -> None:
    root = _copy_repo(tmp_path)
    _edit_config(root, "  termination_protection: true ", "  termination_protection: false ")
    doc = json.loads(render_template(root))
    assert not {r["Type"] for k, r in doc["Resources"].items() if k != AUDIT_RULE} & PROTECTION_TYPES
    assert not [k for k in doc["Resources"] if k.startswith("TerminationProtection")]
    assert all(s["TerminationProtection"] is False for s in doc["Metadata"]["Changegate"]["Stacks"].values())


def test_disabled_stacks_are_not_protected(tmp_path: Path) -> None:
    root = _copy_repo(tmp_path)
    _edit_config(root, "  alarms:\n", "  alarms:\n    disabled: true\n")
    doc = json.loads(render_template(root))
    assert not _protected_by(doc, "acme-alarms")
    assert _protected_by(doc, "acme-network")


def test_sync_role_may_delete_only_under_the_prefix() -> None:
    doc = json.loads(render_template(REPO))
    prefix = naming.DEFAULT_SOURCE_PREFIX
    writes = {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject"}
    sync = _statements(doc["Resources"]["SyncRole"])
    deleting = [s for s in sync if s["Effect"] == "Allow" and "s3:DeleteObject" in s["Action"]]
    assert [r["Fn::Sub"] for s in deleting for r in s["Resource"]] == [f"${{SourceBucket.Arn}}/{prefix}*"]
    # A delete marker only: the history of what was deployed cannot be destroyed by the sync either.
    assert not any("s3:DeleteObjectVersion" in s["Action"] for s in sync if s["Effect"] == "Allow")
    # What the sync reads back (HeadObject is GetObject; ListObjectsV2 Prefix=stacks/ is ListBucket).
    actions = {a for s in sync if s["Effect"] == "Allow" for a in s["Action"]}
    assert {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:PutObject"} <= actions
    listing = next(s for s in sync if "s3:ListBucket" in s["Action"])
    assert listing["Condition"] == {"StringLike": {"s3:prefix": f"{prefix}*"}}
    # Nobody else is allowed to write or delete in the source bucket (the recorder only puts audit
    # records, under audit/); its policy denies everyone else.
    for name, resource in doc["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role" or name == "SyncRole":
            continue
        for statement in _statements(resource):
            if statement["Effect"] == "Allow" and writes & set(statement["Action"]):
                if name == "RecorderRole":
                    assert statement["Action"] == ["s3:PutObject"]
                    records = f"${{SourceBucket.Arn}}/{naming.AUDIT_PREFIX}*"
                    assert statement["Resource"] == [{"Fn::Sub": records}]
                    continue
                assert "SourceBucket" not in json.dumps(statement["Resource"]), (name, statement)
    policy = doc["Resources"]["SourceBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    deny = next(s for s in policy if s["Sid"] == "OnlyTheSyncAndTheRecorderWriteObjects")
    assert writes <= set(deny["Action"])
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [
        {"Fn::GetAtt": ["SyncRole", "Arn"]}, {"Fn::GetAtt": ["RecorderRole", "Arn"]}]}}


def _random_names(rng: random.Random, count: int) -> list[str]:
    alphabet = string.ascii_lowercase + string.digits + "-"
    names: set[str] = set()
    while len(names) < count:
        names.add(rng.choice(string.ascii_lowercase) + "".join(rng.choices(alphabet, k=rng.randint(2, 24))))
    return sorted(names)


@pytest.mark.parametrize("opt_out_every", [1000, 10, 2])
def test_prefixes_are_exact_and_the_pattern_is_bounded_for_1000_stacks(opt_out_every: int) -> None:
    rng = random.Random(opt_out_every)
    folders = _random_names(rng, 1000)
    stacks = [f"acme-{f}" for f in folders]
    others = [s for i, s in enumerate(stacks) if i % opt_out_every == opt_out_every - 1] + ["acme-pipelines"]
    protected = [s for s in stacks if s not in others] + ["LegacyOne", "LegacyTwo"]
    prefixes = protection.name_prefixes(protected)
    assert prefixes == sorted(f"{name}/" for name in protected)  # exact, one each, never shortened
    for name in others + [f"{n}-Nested-1A2B3C" for n in protected]:
        assert not any(f"{name}/".startswith(p) for p in prefixes), name
    groups = protection.split_prefixes(prefixes)
    assert [p for g in groups for p in g] == prefixes
    sizes = [protection.pattern_size(g) for g in groups]
    assert all(size <= protection.MAX_EVENT_PATTERN for size in sizes)
    # Packed: every rule but the last is full (the next prefix would not have fitted), so the
    # count is the fewest; with names up to 30 characters that is at least 35 stacks a rule.
    assert all(protection.pattern_size([*g, n[0]]) > protection.MAX_EVENT_PATTERN
               for g, n in itertools.pairwise(groups))
    assert len(groups) <= -(-len(protected) // 35)


def test_a_name_at_the_longest_fits_a_rule_of_its_own() -> None:
    """The 4,096-character split holds even for 128-character stack names in the longest partition."""
    names = [f"{i:03d}" + "x" * (naming.MAX_STACK_NAME - 3) for i in range(100)]
    groups = protection.split_prefixes(protection.name_prefixes(names))
    assert all(protection.pattern_size(g) <= protection.MAX_EVENT_PATTERN for g in groups)
    assert 1 < len(groups) < len(names)


def test_many_rules_when_one_pattern_cannot_hold_them() -> None:
    groups = protection.split_prefixes([f"acme-s{i:04d}/" for i in range(200)])
    assert len(groups) > 1
    rules = protection.protection_rules("acme", groups, "arn:aws:iam::111122223333:role/x")
    numbers = range(1, len(groups) + 1)
    assert [r.title for r in rules] == [f"TerminationProtectionRule{i:02d}" for i in numbers]
    assert all(len(naming.protection_rule_name("a" * 20, i)) <= naming.MAX_EVENT_RULE_NAME
               for i in numbers)


def test_project_names_ssm_reserves_are_refused() -> None:
    with pytest.raises(GenerateError, match="reserves"):
        protection.automation_document("aws-infra")
