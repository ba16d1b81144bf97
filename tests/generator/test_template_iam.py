"""What real AWS needs from the bootstrap stack's IAM and retention (issue 8: F3, F7, F12, F13, F18, F22)
and the stack-policy function's least privilege (F6)."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import pytest

from generator import naming
from generator.bootstrap.functions import function_archive, function_code_key
from generator.bootstrap.template import render_template

REPO = Path(__file__).resolve().parents[2]
MANAGED_STACKS = ["arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/acme-*/*"]


@pytest.fixture(scope="module")
def doc() -> dict:
    return json.loads(render_template(REPO))


def _statements(resource: dict) -> list[dict]:
    props = resource["Properties"]
    if "PolicyDocument" in props:
        return props["PolicyDocument"]["Statement"]
    return [s for p in props.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


def _allowed(doc: dict, name: str) -> dict[str, list]:
    """action -> resources (Fn::Sub text or literal) the resource ``name`` allows it on."""
    found: dict[str, list] = {}
    for statement in _statements(doc["Resources"][name]):
        if statement["Effect"] != "Allow":
            continue
        for action in statement["Action"]:
            found.setdefault(action, []).extend(_text(r) for r in statement["Resource"])
    return found


def _text(resource) -> str:
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        return resource["Fn::Sub"]
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return "${%s.%s}" % tuple(resource["Fn::GetAtt"])  # noqa: UP031
    return resource


def test_f3_pipeline_role_has_codepipelines_minimal_artifact_permissions(doc: dict) -> None:
    allowed = _allowed(doc, "PipelineRole")
    for action in ("s3:PutObject", "s3:PutObjectAcl", "s3:GetObject", "s3:GetObjectVersion"):
        assert "${ArtifactBucket.Arn}/*" in allowed[action], action
    for action in ("s3:GetBucketVersioning", "s3:GetBucketAcl", "s3:GetBucketLocation"):
        assert "${ArtifactBucket.Arn}" in allowed[action], action


def test_f13_pipeline_role_reads_stack_events_of_the_managed_stacks(doc: dict) -> None:
    assert _allowed(doc, "PipelineRole")["cloudformation:DescribeStackEvents"] == MANAGED_STACKS


def test_f22_no_dead_change_set_resource_nor_unused_action(doc: dict) -> None:
    # Change set actions authorize against the stack (cfn-lint's IAM data: describechangeset,
    # executechangeset, deletechangeset -> stack), except DescribeEvents (-> changeset, stack): a
    # changeSet/ resource is dead anywhere else.
    for name, resource in doc["Resources"].items():
        for statement in _statements(resource):
            if ":changeSet/" in json.dumps(statement.get("Resource", [])):
                assert statement["Action"] == ["cloudformation:DescribeEvents"], (name, statement)
    sync = _allowed(doc, "SyncRole")
    assert "codepipeline:GetPipeline" not in sync
    for action in ("s3:GetBucketAcl", "s3:GetBucketLocation"):
        assert sync[action] == ["${ArtifactBucket.Arn}"], action


def _calls(path: Path) -> set[str]:
    """``service:Action`` of every AWS call in a changegate module (client methods and paginators)."""
    text = path.read_text("utf-8")
    services = {"codepipeline": "codepipeline", "cfn": "cloudformation"}
    found = set()
    for client, method in re.findall(r"\b(codepipeline|cfn)\.(\w+)\(", text):
        if method != "get_paginator":
            found.add((services[client], method))
    for client, method in re.findall(r"paginate\((codepipeline|cfn), \"(\w+)\"", text):
        found.add((services[client], method))
    for method in re.findall(r"cfn\.get_paginator\(\"(\w+)\"\)", text):
        found.add(("cloudformation", method))
    return {f"{service}:{''.join(w.title() for w in method.split('_'))}" for service, method in found}


def test_f12_approvers_may_call_what_status_changes_and_approve_call(doc: dict) -> None:
    modules = ("pipeline_state.py", "approvals.py", "changesets.py")
    calls = set().union(*(_calls(REPO / "changegate" / m) for m in modules))
    assert {"codepipeline:ListPipelines", "codepipeline:GetPipelineState", "codepipeline:PutApprovalResult",
            "cloudformation:DescribeChangeSet"} <= calls  # the scan finds what it must
    allowed = _allowed(doc, "ApproversPolicy")
    assert sorted(calls - set(allowed)) == []
    # ListPipelines has no resource type: "*" is the only resource IAM accepts for it.
    assert allowed["codepipeline:ListPipelines"] == ["*"]
    assert allowed["cloudformation:DescribeStacks"] == MANAGED_STACKS
    assert allowed["codepipeline:PutApprovalResult"] == [
        "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:acme-*/"
        f"{naming.CHANGE_STAGE}/{action}"
        for action in (naming.APPROVE_ACTION, naming.SECOND_APPROVAL_ACTION)]


TRUST_CONDITION = {"StringEquals": {"aws:SourceAccount": {"Fn::Sub": "${AWS::AccountId}"}}}


def test_f18_source_account_only_where_aws_documents_it(doc: dict) -> None:
    trusts = {}
    for resource in doc["Resources"].values():
        if resource["Type"] == "AWS::IAM::Role":
            [statement] = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            trusts[statement["Principal"]["Service"]] = statement.get("Condition")
    assert trusts == {
        "codebuild.amazonaws.com": TRUST_CONDITION,
        "events.amazonaws.com": TRUST_CONDITION,
        "ssm.amazonaws.com": TRUST_CONDITION,
        "codepipeline.amazonaws.com": None,
        "cloudformation.amazonaws.com": None,
        "lambda.amazonaws.com": None,
    }


def test_f7_named_and_retained_resources_go_when_their_create_rolls_back(doc: dict) -> None:
    policies = {k: r.get("DeletionPolicy") for k, r in doc["Resources"].items() if "DeletionPolicy" in r}
    assert policies == {name: "RetainExceptOnCreate" for name in (
        "ArtifactBucket", "ArtifactKey", "RecorderLogGroup", "SourceBucket", "StackPolicyLogGroup",
        "SyncLogGroup")}
    # A named resource without a DeletionPolicy is deleted with the stack, so it blocks no retry.
    for resource in doc["Resources"].values():
        assert resource.get("UpdateReplacePolicy", "Retain") == "Retain"


# ---- F6: the stack-policy function ----

def test_function_code_is_the_review_package_in_the_staging_bucket(doc: dict) -> None:
    props = doc["Resources"]["StackPolicyFunction"]["Properties"]
    assert props["FunctionName"] == naming.stack_policy_function_name("acme")
    assert props["Code"] == {"S3Bucket": {"Fn::Sub": "changegate-staging-${AWS::AccountId}-${AWS::Region}"},
                             "S3Key": function_code_key(function_archive())}
    module, _, function = props["Handler"].rpartition(".")
    source = function_archive()
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(source.data)) as archive:
        code = archive.read(module.replace(".", "/") + ".py").decode()
    assert f"\ndef {function}(event" in code
    assert props["Runtime"].startswith("python3.")
    assert doc["Resources"]["StackPolicyFunction"]["DependsOn"] == ["StackPolicyLogGroup"]
    log_group = doc["Resources"]["StackPolicyLogGroup"]["Properties"]
    assert log_group["LogGroupName"] == f"/aws/lambda/{props['FunctionName']}"


def test_function_role_is_least_privilege(doc: dict) -> None:
    allowed = _allowed(doc, "StackPolicyRole")
    assert allowed == {
        "cloudformation:DeleteChangeSet": MANAGED_STACKS,  # empty change sets, after the review
        "cloudformation:DescribeChangeSet": MANAGED_STACKS,  # the review and the stale guard
        "cloudformation:DescribeStacks": MANAGED_STACKS,
        "cloudformation:GetStackPolicy": MANAGED_STACKS,
        "cloudformation:SetStackPolicy": MANAGED_STACKS,
        # drift of the resources a change touches, before the approval (review/drift.py)
        "cloudformation:DetectStackDrift": MANAGED_STACKS,
        "cloudformation:DetectStackResourceDrift": MANAGED_STACKS,
        "cloudformation:DescribeStackResourceDrifts": MANAGED_STACKS,
        # the status request names only a detection id: IAM gives it no resource type
        "cloudformation:DescribeStackDriftDetectionStatus": ["*"],
        # CloudFormation's own checks of a pipeline's change set (review/validations.py)
        "cloudformation:DescribeEvents": [
            *MANAGED_STACKS,
            "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:changeSet/acme-*/*"],
        # no resource-level permission for job results
        "codepipeline:PutJobFailureResult": ["*"],
        "codepipeline:PutJobSuccessResult": ["*"],
        # the review stops its own execution when the change set is empty; the waiver and the check
        # read the approvals: stack pipelines only
        "codepipeline:GetPipelineState": [
            "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:acme-*"],
        "codepipeline:ListActionExecutions": [
            "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:acme-*"],
        "codepipeline:StopPipelineExecution": [
            "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:acme-*"],
        # the waiver approves the second approval, never the first
        "codepipeline:PutApprovalResult": [
            "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:acme-*/Change/SecondApproval"],
        "logs:CreateLogStream": ["arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                                 "/aws/lambda/acme-changegate-steps:log-stream:*"],
        "logs:PutLogEvents": ["arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                              "/aws/lambda/acme-changegate-steps:log-stream:*"],
    }
    denies = [s for s in _statements(doc["Resources"]["StackPolicyRole"]) if s["Effect"] == "Deny"]
    assert [_text(r) for s in denies for r in s["Resource"]] == [
        "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/acme-pipelines/*",
        # acme-* also matches the sync pipeline: the function never stops it
        "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:acme-sync"]
    assert [s["Action"] for s in denies] == [["cloudformation:*"], ["codepipeline:*"]]


def test_only_the_pipeline_role_invokes_the_function_and_only_it(doc: dict) -> None:
    function_arn = ("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
                    "acme-changegate-steps")
    for name, resource in doc["Resources"].items():
        if resource["Type"] not in ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy"):
            continue
        invoke = _allowed(doc, name).get("lambda:InvokeFunction")
        assert invoke == ([function_arn] if name == "PipelineRole" else None), name
    # and the execution role (whatever its managed policies grant) may not change the function
    deny = next(s for s in _statements(doc["Resources"]["CloudFormationExecutionRole"])
                if s["Sid"] == "NeverChangeChangegatesFunctions")
    assert deny["Effect"] == "Deny" and deny["Action"] == ["lambda:*"]
    # ... nor the recorder, which writes the audit records
    assert [_text(r) for r in deny["Resource"]] == [function_arn, function_arn.replace("-steps", "-recorder")]
    iam_deny = next(s for s in _statements(doc["Resources"]["CloudFormationExecutionRole"])
                    if s["Sid"] == "NeverChangeChangegateIam")
    # every <project>-changegate-* role, the function's included (the guardrail exempts that name)
    assert any(fnmatch.fnmatchcase("arn:aws:iam::123456789012:role/acme-changegate-steps",
                                   _text(r).replace("${AWS::AccountId}", "123456789012")
                                   .replace("${AWS::Partition}", "aws"))
               for r in iam_deny["Resource"])


def test_policy_actions_read_the_stack_source_and_name_the_stack(doc: dict) -> None:
    for key, resource in doc["Resources"].items():
        if resource["Type"] != "AWS::CodePipeline::Pipeline" or key == "SyncPipeline":
            continue
        actions = {a["Name"]: a for a in resource["Properties"]["Stages"][1]["Actions"]}
        stack = actions[naming.PLAN_ACTION]["Configuration"]["StackName"]
        for name, phase in ((naming.APPLY_POLICY_ACTION, "before"), (naming.VERIFY_POLICY_ACTION, "after")):
            action = actions[name]
            assert action["Configuration"]["FunctionName"] == {"Ref": "StackPolicyFunction"}
            parameters = json.loads(action["Configuration"]["UserParameters"])
            assert parameters == {"Phase": phase, "StackName": stack}
            assert action["InputArtifacts"] == [{"Name": "SourceArtifact"}]
