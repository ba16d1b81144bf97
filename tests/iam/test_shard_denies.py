"""The bootstrap stack's nested stacks (shards, ``acme-pipelines-<LogicalId>-<random>``) are as far out
of the roles' reach as the bootstrap stack itself, and the guardrail keeps everyone else off them.

The example repository is sharded by force (``shard_template``), so the policies are exactly the ones a
large repository gets; ``policy_eval`` evaluates them as IAM does (see its docstring for the sources).
"""

from __future__ import annotations

import json

import pytest
from policy_eval import ACCOUNT, REGION, Decision, Request, Resolver, evaluate, role, user
from roles_setup import REPO

from generator.bootstrap.shards import shard_template
from generator.bootstrap.template import build_template, enabled_stacks
from generator.contract.validate import validate_repository

SHARD = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/acme-pipelines-Shard07-1A2B3C4D5E6F/0a1b2c3d"
BOOTSTRAP = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/acme-pipelines/0a1b2c3d"
MANAGED = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/acme-network/0a1b2c3d"
# a change set name the pipelines' CreateChangeSets statement accepts (naming.change_set_name)
CONTEXT = {"cloudformation:ChangeSetName": "acme-0f8fad5b-d9cb-469f-a165-70867728950e"}
WRITES = ("cloudformation:UpdateStack", "cloudformation:CreateChangeSet", "cloudformation:DeleteStack",
          "cloudformation:SetStackPolicy")


@pytest.fixture(scope="module")
def parent() -> dict:
    report = validate_repository(REPO, lint=False)
    doc = build_template(report.config, report.stacks).to_dict()
    templates = shard_template(doc, "acme", [s.name for s in enabled_stacks(report.stacks)])
    assert templates.shards
    return json.loads(templates.text)


def _identity(parent: dict, logical_id: str) -> list[dict]:
    properties = Resolver(parent).value(parent["Resources"][logical_id]["Properties"])
    if "PolicyDocument" in properties:
        return [properties["PolicyDocument"]]
    return [p["PolicyDocument"] for p in properties.get("Policies", [])]


@pytest.mark.parametrize("logical_id", ["PipelineRole", "CloudFormationExecutionRole", "StackPolicyRole",
                                        "TerminationProtectionRole"])
def test_changegate_roles_cannot_touch_a_shard(parent: dict, logical_id: str) -> None:
    identity = _identity(parent, logical_id)
    for action in WRITES:
        verdict = evaluate(Request(role(logical_id), action, SHARD, CONTEXT), identity)
        assert verdict.decision is Decision.EXPLICIT_DENY, (action, str(verdict))
        assert "NeverTouchTheBootstrapStack" in str(verdict)
        assert evaluate(Request(role(logical_id), action, BOOTSTRAP, CONTEXT), identity).decision \
            is Decision.EXPLICIT_DENY


def test_the_pipeline_role_still_deploys_the_managed_stacks(parent: dict) -> None:
    """The shard deny is what keeps the pipeline role off the shards: the same role may deploy acme-*."""
    identity = _identity(parent, "PipelineRole")
    for action in ("cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"):
        assert evaluate(Request(role("PipelineRole"), action, MANAGED, CONTEXT), identity).allowed


def test_a_stack_role_created_under_the_boundary_cannot_touch_a_shard(parent: dict) -> None:
    boundary = _identity(parent, "ExecutionBoundaryPolicy")[0]
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    verdict = evaluate(Request(role("acme-network-TaskRole"), "cloudformation:UpdateStack", SHARD), [admin],
                       boundary=boundary)
    assert verdict.decision is Decision.EXPLICIT_DENY


def test_the_guardrail_keeps_other_principals_off_a_shard(parent: dict) -> None:
    guardrail = _identity(parent, "GuardrailPolicy")[0]
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    verdict = evaluate(Request(user("alice"), "cloudformation:UpdateStack", SHARD), [admin, guardrail])
    assert verdict.decision is Decision.EXPLICIT_DENY
