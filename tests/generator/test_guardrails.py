"""The guardrail (issue 10, item 3): who it denies, what it covers, and that it fits IAM's and
Organizations' size limits.

Semantics are judged by tests/iam/policy_eval.py (AWS's documented evaluation logic, conditions
evaluated). The guardrail holds only Deny statements, so each request is evaluated with an Allow-all
identity policy beside it: the verdict is ALLOW exactly when no guardrail statement denies. The managed
policy is judged as CloudFormation would resolve it inside the example bootstrap template, the SCP as
printed; both must give the same answers.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from troposphere import GetAtt, Ref

from generator import logical_ids
from generator.bootstrap import guardrails
from generator.bootstrap.template import build_template, enabled_stacks
from generator.contract.config import load_config
from generator.contract.validate import validate_repository
from generator.errors import GenerateError

REPO = Path(__file__).resolve().parents[2]
BREAK_GLASS = "arn:aws:iam::111122223333:role/BreakGlass"
# The service authorization reference as cfn-lint ships it: action -> resource types.
POLICIES_JSON = Path(importlib.util.find_spec("cfnlint").origin).parent / "data/AdditionalSpecs/Policies.json"


def _policy_eval():
    if "policy_eval" in sys.modules:
        return sys.modules["policy_eval"]
    spec = importlib.util.spec_from_file_location("policy_eval", REPO / "tests" / "iam" / "policy_eval.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["policy_eval"] = module
    spec.loader.exec_module(module)
    return module


pe = _policy_eval()
ACCOUNT, REGION = pe.ACCOUNT, pe.REGION
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

HUMAN = pe.role("Developer")
ADMIN_USER = pe.user("alice")
APPROVER = pe.role("PlatformApprovers")  # the example's pipelines/config.yaml approver
SYNC = pe.role("acme-changegate-sync")
PIPELINE = pe.role("acme-changegate-pipeline")
EXECUTION = pe.role("acme-changegate-cloudformation")
PROTECTION = pe.role("acme-changegate-protection")
GLASS = pe.Principal(f"arn:aws:iam::{ACCOUNT}:role/BreakGlass")


def stack(name: str) -> str:
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/0a1b2c3d-0000-4000-8000-000000000000"


def pipeline(name: str) -> str:
    return f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:{name}"


SYNC_PROJECT = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/acme-sync"
APPROVE_ACTION = pipeline("acme-network") + "/Change/Approve"


def _actions(service: str) -> dict[str, dict]:
    return json.loads(POLICIES_JSON.read_text())[service]["Actions"]


# ---------------------------------------------------------------- the two documents

@pytest.fixture(scope="module")
def config():
    return load_config(REPO)


@pytest.fixture(scope="module")
def scp(config) -> dict:
    return guardrails.service_control_policy(config, break_glass_role_arn=BREAK_GLASS).document


@pytest.fixture(scope="module")
def bootstrap() -> dict:
    """The example bootstrap template, its guardrail rebuilt with a break-glass role to test that too.

    The template carries the guardrail without one (generator/bootstrap/template.py): the managed policy binds
    only the principals it is attached to, and the break-glass role is the one it is not attached to.
    """
    report = validate_repository(REPO, lint=False)
    template = build_template(report.config, report.stacks)
    assert guardrails.GUARDRAIL_POLICY in template.resources  # wired into every bootstrap template
    assert template.outputs["GuardrailPolicyArn"].Value.to_dict() == {"Ref": guardrails.GUARDRAIL_POLICY}
    del template.resources[guardrails.GUARDRAIL_POLICY]
    template.add_resource(guardrails.guardrail_policy(
        report.config, stack_names=[s.stack_name for s in enabled_stacks(report.stacks)],
        bucket_arns=[GetAtt(logical_ids.SOURCE_BUCKET, "Arn"), GetAtt(logical_ids.ARTIFACT_BUCKET, "Arn")],
        key_arn=GetAtt(logical_ids.ARTIFACT_KEY, "Arn"), topic_arn=Ref(logical_ids.TOPIC),
        break_glass_role_arn=BREAK_GLASS))
    return template.to_dict()


@pytest.fixture(scope="module")
def resolved(bootstrap) -> dict:
    return pe.resolve_template(bootstrap)


@pytest.fixture(scope="module")
def managed(resolved) -> dict:
    return resolved[guardrails.GUARDRAIL_POLICY]["Properties"]["PolicyDocument"]


@pytest.fixture(scope="module", params=["managed", "scp"])
def guard(request, managed, scp) -> dict:
    return managed if request.param == "managed" else scp


def verdict(guard: dict, principal, action: str, resource: str, **context) -> pe.Decision:
    request = pe.Request(principal, action, resource, context)
    return pe.evaluate(request, [ALLOW_ALL, guard]).decision


DENY, ALLOW = pe.Decision.EXPLICIT_DENY, pe.Decision.ALLOW


# ---------------------------------------------------------------- the brief's cases

def test_a_human_cannot_update_a_managed_stack_but_can_update_an_unrelated_one(guard):
    assert verdict(guard, HUMAN, "cloudformation:UpdateStack", stack("acme-network")) is DENY
    assert verdict(guard, HUMAN, "cloudformation:UpdateStack", stack("other-stack")) is ALLOW
    # reading stays open: status, changes and the console need it
    assert verdict(guard, HUMAN, "cloudformation:DescribeStacks", stack("acme-network")) is ALLOW


def test_the_sync_role_starts_stack_pipelines_and_nobody_else_does(guard):
    assert verdict(guard, SYNC, "codepipeline:StartPipelineExecution", pipeline("acme-network")) is ALLOW
    for who in (HUMAN, ADMIN_USER, PIPELINE, EXECUTION, APPROVER):
        assert verdict(guard, who, "codepipeline:StartPipelineExecution", pipeline("acme-network")) is DENY
    # the sync pipeline is started by the push to the branch: not even the sync role starts it
    assert verdict(guard, SYNC, "codepipeline:StartPipelineExecution", pipeline("acme-sync")) is DENY
    assert verdict(guard, HUMAN, "codepipeline:StartPipelineExecution", pipeline("other-app")) is ALLOW


def test_the_pipeline_role_plans_and_executes_change_sets(guard):
    for action in ("cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet",
                   "cloudformation:DeleteChangeSet", "cloudformation:SetStackPolicy"):
        assert verdict(guard, PIPELINE, action, stack("acme-network")) is ALLOW, action
        assert verdict(guard, HUMAN, action, stack("acme-network")) is DENY, action
    assert verdict(guard, PIPELINE, "codebuild:StartBuild", SYNC_PROJECT) is ALLOW
    assert verdict(guard, PIPELINE, "iam:PassRole", EXECUTION.arn) is ALLOW
    assert verdict(guard, PROTECTION, "cloudformation:UpdateTerminationProtection",
                   stack("acme-network")) is ALLOW


def test_only_approvers_approve(guard):
    assert verdict(guard, APPROVER, "codepipeline:PutApprovalResult", APPROVE_ACTION) is ALLOW
    for who in (HUMAN, ADMIN_USER, SYNC, PIPELINE):
        assert verdict(guard, who, "codepipeline:PutApprovalResult", APPROVE_ACTION) is DENY
    # another team's pipeline is none of the guardrail's business
    assert verdict(guard, HUMAN, "codepipeline:PutApprovalResult",
                   pipeline("other-app") + "/Approve/Approve") is ALLOW


BREAK_GLASS_REQUESTS = [
    ("cloudformation:UpdateStack", stack("acme-network"), {}),
    ("cloudformation:DeleteStack", stack("acme-pipelines"), {}),
    ("codepipeline:StartPipelineExecution", pipeline("acme-sync"), {}),
    ("codepipeline:PutApprovalResult", APPROVE_ACTION, {}),
    ("codepipeline:UpdatePipeline", pipeline("acme-network"), {}),
    ("codebuild:UpdateProject", SYNC_PROJECT, {}),
    ("iam:UpdateAssumeRolePolicy", SYNC.arn, {}),
    ("iam:PassRole", SYNC.arn, {}),
    ("iam:AttachRolePolicy", HUMAN.arn,
     {"iam:PolicyARN": f"arn:aws:iam::{ACCOUNT}:policy/acme-changegate-approvers"}),
    ("kms:CreateAlias", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/acme-changegate", {}),
    ("events:DisableRule", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/acme-changegate-audit", {}),
]


@pytest.mark.parametrize(("action", "resource", "context"), BREAK_GLASS_REQUESTS)
def test_the_break_glass_role_is_denied_nothing(guard, action, resource, context):
    assert verdict(guard, GLASS, action, resource, **context) is ALLOW
    assert verdict(guard, HUMAN, action, resource, **context) is DENY


# ---------------------------------------------------------------- coverage, action by action

def test_every_cloudformation_write_on_a_managed_stack_is_denied(guard):
    """From the service authorization reference (cfn-lint's copy): every action on a stack that is not a
    read is denied, including ones added lately (stack refactors, RollbackStack)."""
    actions = _actions("cloudformation")
    writes = [a for a, v in actions.items() if "stack" in v.get("Resources", [])
              and not a.startswith(("describe", "get", "list", "detect"))]
    assert {"updatestack", "createchangeset", "executechangeset", "deletechangeset", "deletestack",
            "setstackpolicy", "updateterminationprotection", "continueupdaterollback", "cancelupdatestack",
            "rollbackstack", "createstackrefactor", "signalresource"} <= set(writes)
    for action in writes:
        assert verdict(guard, HUMAN, f"cloudformation:{action}", stack("acme-network")) is DENY, action
        assert verdict(guard, EXECUTION, f"cloudformation:{action}", stack("acme-network-Child-1AB")) \
            is ALLOW, action  # nested stacks: CloudFormation acts as the execution role


def test_every_change_to_the_pipelines_and_the_sync_project_is_denied(guard):
    denied = ["UpdatePipeline", "DeletePipeline", "CreatePipeline", "RetryStageExecution",
              "RollbackStage", "OverrideStageCondition", "DisableStageTransition", "EnableStageTransition",
              "PutActionRevision", "TagResource"]
    for action in denied:
        assert action.lower() in _actions("codepipeline"), action
        for target in (pipeline("acme-network"), pipeline("acme-sync")):
            assert verdict(guard, HUMAN, f"codepipeline:{action}", target + "/Change") is DENY, action
    # stopping never lets a change through (changegate stop); reading stays open
    assert verdict(guard, HUMAN, "codepipeline:StopPipelineExecution", pipeline("acme-network")) is ALLOW
    assert verdict(guard, HUMAN, "codepipeline:GetPipelineState", pipeline("acme-network")) is ALLOW
    project_actions = [a for a, v in _actions("codebuild").items() if "project" in v.get("Resources", [])
                       and not a.startswith(("batchget", "list"))]
    assert {"startbuild", "startbuildbatch", "retrybuild", "updateproject", "batchdeletebuilds",
            "putresourcepolicy", "startsandbox", "createwebhook"} <= set(project_actions)
    for action in project_actions:
        assert verdict(guard, HUMAN, f"codebuild:{action}", SYNC_PROJECT) is DENY, action
    assert verdict(guard, HUMAN, "codebuild:BatchGetBuilds", SYNC_PROJECT) is ALLOW


def test_changegates_functions_are_invoked_and_changed_only_by_changegate(guard):
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:acme-changegate-steps"
    for action in ("lambda:InvokeFunction", "lambda:UpdateFunctionCode", "lambda:AddPermission",
                   "lambda:DeleteFunction", "lambda:UpdateFunctionConfiguration"):
        assert verdict(guard, HUMAN, action, function) is DENY, action
    assert verdict(guard, PIPELINE, "lambda:InvokeFunction", function) is ALLOW
    assert verdict(guard, HUMAN, "lambda:GetFunction", function) is ALLOW
    assert verdict(guard, HUMAN, "lambda:UpdateFunctionCode",
                   f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other-function") is ALLOW


def test_every_bucket_configuration_write_is_denied_and_no_object_action(guard, resolved):
    buckets = [resolved[b]["Physical"]["Ref"]
               for b in (logical_ids.SOURCE_BUCKET, logical_ids.ARTIFACT_BUCKET)]
    actions = _actions("s3")
    bucket_writes = [a for a, v in actions.items() if v.get("Resources") == ["bucket"]
                     and a.startswith(("put", "delete"))]
    assert "putbucketpolicy" in bucket_writes and "putreplicationconfiguration" in bucket_writes
    for name in buckets:
        for action in bucket_writes:
            assert verdict(guard, HUMAN, f"s3:{action}", f"arn:aws:s3:::{name}") is DENY, (name, action)
            assert verdict(guard, PIPELINE, f"s3:{action}", f"arn:aws:s3:::{name}") is DENY, (name, action)
    # objects are the bucket policies' business: no guardrail pattern names an object action
    object_actions = [a for a, v in actions.items() if "object" in v.get("Resources", [])]
    for action in object_actions:
        assert not any(pe.action_matches(p, f"s3:{action}") for p in guardrails.BUCKET_WRITES), action
    assert verdict(guard, HUMAN, "s3:PutBucketPolicy", "arn:aws:s3:::other-bucket") is ALLOW


def test_the_topic_and_key_are_left_to_the_break_glass_role(guard, resolved):
    topic = resolved[logical_ids.TOPIC]["Physical"]["Ref"]
    for action in ("sns:SetTopicAttributes", "sns:Subscribe", "sns:AddPermission", "sns:DeleteTopic"):
        assert verdict(guard, HUMAN, action, topic) is DENY, action
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{resolved[logical_ids.ARTIFACT_KEY]['Physical']['Ref']}"
    aliases = {"kms:ResourceAliases": ["alias/acme-changegate"]}
    for action in ("kms:PutKeyPolicy", "kms:CreateGrant", "kms:ScheduleKeyDeletion", "kms:DisableKey"):
        assert verdict(guard, HUMAN, action, key, **aliases) is DENY, action
        assert verdict(guard, SYNC, action, key, **aliases) is DENY, action
    assert verdict(guard, HUMAN, "kms:DeleteAlias",
                   f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/acme-changegate") is DENY
    assert verdict(guard, HUMAN, "kms:CancelKeyDeletion", key, **aliases) is ALLOW


def test_changegate_iam_and_the_approvers_cannot_be_taken_over(guard):
    for who in (HUMAN, EXECUTION, PIPELINE):
        # a role named like changegate's would be exempt: only the break-glass role creates one
        assert verdict(guard, who, "iam:CreateRole", pe.role("acme-changegate-evil").arn) is DENY
        assert verdict(guard, who, "iam:PutRolePolicy", SYNC.arn) is DENY
        assert verdict(guard, who, "iam:UpdateAssumeRolePolicy", APPROVER.arn) is DENY
        assert verdict(guard, who, "iam:CreatePolicyVersion",
                       f"arn:aws:iam::{ACCOUNT}:policy/acme-changegate-guardrail") is DENY
    # a new CodeBuild project running as the sync role would write the source bucket
    assert verdict(guard, HUMAN, "iam:PassRole", SYNC.arn) is DENY
    approvers_policy = {"iam:PolicyARN": f"arn:aws:iam::{ACCOUNT}:policy/acme-changegate-approvers"}
    assert verdict(guard, HUMAN, "iam:AttachRolePolicy", HUMAN.arn, **approvers_policy) is DENY
    assert verdict(guard, HUMAN, "iam:AttachRolePolicy", HUMAN.arn,
                   **{"iam:PolicyARN": "arn:aws:iam::aws:policy/ReadOnlyAccess"}) is ALLOW
    assert verdict(guard, HUMAN, "iam:UpdateAssumeRolePolicy", pe.role("SomethingElse").arn) is ALLOW


def test_nobody_detaches_the_managed_guardrail(managed):
    mine = {"iam:PolicyARN": f"arn:aws:iam::{ACCOUNT}:policy/acme-changegate-guardrail"}
    assert verdict(managed, HUMAN, "iam:DetachRolePolicy", HUMAN.arn, **mine) is DENY
    assert verdict(managed, GLASS, "iam:DetachRolePolicy", HUMAN.arn, **mine) is ALLOW


def test_the_scp_patterns_match_what_cloudformation_names(scp, resolved):
    """The SCP cannot know the generated names: its patterns must match them (stack acme-pipelines)."""
    statement = next(s for s in scp["Statement"] if s["Sid"] == "OnlyBreakGlassChangesChangegate")
    for logical_id in (logical_ids.SOURCE_BUCKET, logical_ids.ARTIFACT_BUCKET):
        arn = f"arn:aws:s3:::{resolved[logical_id]['Physical']['Ref']}"
        assert any(pe.arn_like(p, arn) for p in statement["Resource"]), arn
    assert any(pe.arn_like(p, resolved[logical_ids.TOPIC]["Physical"]["Ref"]) for p in statement["Resource"])


# ---------------------------------------------------------------- structure and options

def test_every_action_named_exists_in_the_service_authorization_reference(managed, scp):
    data = json.loads(POLICIES_JSON.read_text())
    for document in (managed, scp):
        for statement in document["Statement"]:
            for name in statement.get("Action", []) + statement.get("NotAction", []):
                service = name.split(":")[0]
                known = data[service]["Actions"]
                assert any(pe.action_matches(name, f"{service}:{a}") for a in known), name


def test_the_managed_policy_is_valid_cloudformation(bootstrap):
    from cfnlint.api import lint_all

    matches = lint_all(json.dumps(bootstrap))
    assert [m for m in matches if guardrails.GUARDRAIL_POLICY in str(m.path)] == []
    resource = bootstrap["Resources"][guardrails.GUARDRAIL_POLICY]
    assert resource["Properties"]["ManagedPolicyName"] == "acme-changegate-guardrail"
    assert not {"Roles", "Users", "Groups"} & set(resource["Properties"])  # operators attach it


def test_group_approvers_and_an_existing_topic_leave_notes_instead_of_denies(config):
    from dataclasses import replace

    from generator.contract.config import Notifications

    grouped = replace(config, approvers=("arn:aws:iam::111122223333:group/Approvers",),
                      notifications=Notifications(topic_arn="arn:aws:sns:eu-west-1:111122223333:theirs"))
    guard = guardrails.service_control_policy(grouped, break_glass_role_arn=BREAK_GLASS)
    sids = [s["Sid"] for s in guard.document["Statement"]]
    assert "OnlyApproversApprove" not in sids
    assert any("aws:PrincipalArn never names a group" in n for n in guard.notes)
    assert any("topic" in n for n in guard.notes)
    assert "theirs" not in guard.json()
    assert not any(a.startswith("sns:") for a in _all_actions(guard.document))


def test_without_a_break_glass_role_nobody_is_exempt_from_the_break_glass_statements(config):
    guard = guardrails.service_control_policy(config)
    statement = next(s for s in guard.document["Statement"] if s["Sid"] == "OnlyBreakGlassChangesChangegate")
    assert "Condition" not in statement
    assert verdict(guard.document, SYNC, "codepipeline:StartPipelineExecution",
                   pipeline("acme-network")) is ALLOW
    assert any("no break-glass role" in n for n in guard.notes)


@pytest.mark.parametrize("bad", ["arn:aws:iam::111122223333:user/alice", "BreakGlass",
                                 "arn:aws:iam::1111:role/BreakGlass", "arn:aws:sts::111122223333:role/x"])
def test_a_bad_break_glass_arn_is_refused(config, bad):
    with pytest.raises(GenerateError, match="not an IAM role ARN"):
        guardrails.service_control_policy(config, break_glass_role_arn=bad)
    with pytest.raises(GenerateError, match="not an IAM role ARN"):
        _managed_policy(config, [], bad)


def test_the_partition_is_used_throughout(config):
    from dataclasses import replace

    china = replace(config, approvers=("arn:aws-cn:iam::111122223333:role/Approvers",))
    text = guardrails.service_control_policy(china, partition="aws-cn").json()
    assert "arn:aws:" not in text and "arn:aws-cn:cloudformation:*:*:stack/acme-*/*" in text


# ---------------------------------------------------------------- size limits

def _managed_policy(config, names, break_glass=BREAK_GLASS):
    buckets = [GetAtt(logical_ids.SOURCE_BUCKET, "Arn"), GetAtt(logical_ids.ARTIFACT_BUCKET, "Arn")]
    return guardrails.guardrail_policy(
        config, stack_names=names, bucket_arns=buckets, key_arn=GetAtt(logical_ids.ARTIFACT_KEY, "Arn"),
        topic_arn=Ref(logical_ids.TOPIC), break_glass_role_arn=break_glass)


def _managed_size(policy) -> int:
    document = policy.to_dict()["Properties"]["PolicyDocument"]
    return len(guardrails.compact_json(guardrails._worst_case(document)))


def test_a_thousand_prefixed_stacks_cost_nothing(config):
    names = [f"acme-stack{i:04d}" for i in range(1000)]
    assert _managed_size(_managed_policy(config, names)) == _managed_size(_managed_policy(config, []))
    assert _managed_size(_managed_policy(config, names)) <= guardrails.MAX_MANAGED_POLICY_CHARS
    one = guardrails.service_control_policy(config, stack_names=[], break_glass_role_arn=BREAK_GLASS)
    many = guardrails.service_control_policy(config, stack_names=names, break_glass_role_arn=BREAK_GLASS)
    assert many.json() == one.json() and len(many.json()) <= guardrails.MAX_SCP_CHARS


def test_the_worst_case_size_bounds_the_resolved_policy(managed, bootstrap):
    """The limit is checked before CloudFormation resolves anything: the estimate must not undercount."""
    estimate = _managed_size_from(bootstrap)
    assert len(guardrails.compact_json(managed)) <= estimate <= guardrails.MAX_MANAGED_POLICY_CHARS


def _managed_size_from(bootstrap: dict) -> int:
    document = bootstrap["Resources"][guardrails.GUARDRAIL_POLICY]["Properties"]["PolicyDocument"]
    return len(guardrails.compact_json(guardrails._worst_case(document)))


def test_adopted_names_are_listed_once_and_fit_up_to_a_measured_count(config):
    names = [f"legacy{i:02d}" for i in range(37)]  # 8 characters each
    scp = guardrails.service_control_policy(config, stack_names=names, break_glass_role_arn=BREAK_GLASS)
    assert len(scp.json()) <= guardrails.MAX_SCP_CHARS
    assert scp.json().count("stack/legacy07/*") == 1
    assert _managed_size(_managed_policy(config, names)) <= guardrails.MAX_MANAGED_POLICY_CHARS


def test_fifty_adopted_names_fail_with_the_limit_named(config):
    names = [f"LegacyStack{i:02d}" for i in range(50)]
    with pytest.raises(GenerateError) as scp_error:
        guardrails.service_control_policy(config, stack_names=names, break_glass_role_arn=BREAK_GLASS)
    assert "5,120" in str(scp_error.value) and "50 adopted stack names" in str(scp_error.value)
    assert "stacks.<folder>.stack_name" in str(scp_error.value)
    with pytest.raises(GenerateError) as managed_error:
        _managed_policy(config, names)
    assert "6,144" in str(managed_error.value) and "managed policy" in str(managed_error.value)


def _all_actions(document: dict) -> list[str]:
    return [a for s in document["Statement"] for a in s.get("Action", []) + s.get("NotAction", [])]


def test_every_iam_write_on_changegate_roles_policies_and_approvers_is_denied(config):
    """Each IAM action on a role, user, group or policy that is not a read (service authorization
    reference) is denied on changegate's roles and policies and on every approver principal, whatever
    their kind. ChangePassword stays open: it is a user changing their own password."""
    from dataclasses import replace

    user, group = f"arn:aws:iam::{ACCOUNT}:user/alice", f"arn:aws:iam::{ACCOUNT}:group/Approvers"
    approvers = replace(config, approvers=(APPROVER.arn, user, group))
    guard = guardrails.service_control_policy(approvers, break_glass_role_arn=BREAK_GLASS).document
    targets = {"role": [SYNC.arn, APPROVER.arn, pe.role("acme-changegate-new").arn], "user": [user],
               "group": [group], "policy": [f"arn:aws:iam::{ACCOUNT}:policy/acme-changegate-approvers"]}
    checked = set()
    for action, spec in _actions("iam").items():
        if action.startswith(("get", "list", "generate", "simulate", "passrole", "changepassword")):
            continue
        for kind in set(spec.get("Resources", [])) & set(targets):
            for arn in targets[kind]:
                assert verdict(guard, HUMAN, f"iam:{action}", arn) is DENY, (action, arn)
                assert verdict(guard, GLASS, f"iam:{action}", arn) is ALLOW, (action, arn)
            checked.add(action)
    assert {"addusertogroup", "updateassumerolepolicy", "createaccesskey", "putrolepolicy",
            "createpolicyversion", "deleterolepermissionsboundary"} <= checked
    assert verdict(guard, HUMAN, "iam:ChangePassword", user) is ALLOW


def test_changegates_rules_stay_as_deployed(guard):
    """Disabling the audit rule, or pointing it elsewhere, would stop the audit records silently (none
    could be forged: only the recorder writes audit/); the same for the protection rules."""
    for name in ("acme-changegate-audit", "acme-changegate-protection-01"):
        rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"
        for action in ("DisableRule", "DeleteRule", "PutRule", "PutTargets", "RemoveTargets"):
            assert action.lower() in _actions("events"), action
            assert verdict(guard, HUMAN, f"events:{action}", rule) is DENY, (name, action)
            assert verdict(guard, ADMIN_USER, f"events:{action}", rule) is DENY, (name, action)
        assert verdict(guard, HUMAN, "events:DescribeRule", rule) is ALLOW  # reading stays open
    # another team's rules are none of the guardrail's business
    other = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/other-app-nightly"
    assert verdict(guard, HUMAN, "events:DisableRule", other) is ALLOW
