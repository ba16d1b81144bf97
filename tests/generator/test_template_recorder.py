"""The audit recorder in the bootstrap template (issue 11 item 7): one rule, one function, one role, one
log group, one permission, whatever the number of stacks; wired to review/record.py as it reads them.

The rule's pattern is matched against CodePipeline's documented event (user guide,
detect-state-changes-cloudwatch-events) with the same matcher the protection tests use, and the
function's settings against the names review/record.py reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_template_protection import _matches, _resolve

from generator import naming
from generator.bootstrap import recorder
from generator.bootstrap.cfnlint_rules import lint
from generator.bootstrap.template import build_template, render_template, template_json
from review import record

REPO = Path(__file__).resolve().parents[2]
RECORDER_TYPES = {"AWS::Lambda::Function", "AWS::IAM::Role", "AWS::Logs::LogGroup", "AWS::Events::Rule",
                  "AWS::Lambda::Permission"}


@pytest.fixture(scope="module")
def doc() -> dict:
    return json.loads(render_template(REPO))


def _event(pipeline: str, state: str = "SUCCEEDED") -> dict:
    return {"version": "0", "id": "01234567-0123-0123-0123-012345678912",
            "detail-type": "CodePipeline Pipeline Execution State Change", "source": "aws.codepipeline",
            "account": "111122223333", "time": "2026-11-30T12:45:00Z", "region": "eu-west-1",
            "resources": [f"arn:aws:codepipeline:eu-west-1:111122223333:{pipeline}"],
            "detail": {"pipeline": pipeline, "version": 3, "state": state,
                       "execution-id": "00000003-1111-4222-8333-444455556666",
                       "pipeline-execution-attempt": 1.0}}


def test_the_rule_sends_final_states_of_the_projects_pipelines_only(doc: dict) -> None:
    rule = doc["Resources"][recorder.AUDIT_RULE]["Properties"]
    assert rule["Name"] == naming.audit_rule_name("acme") == "acme-changegate-audit"
    pattern = _resolve(rule["EventPattern"])
    for state in ("SUCCEEDED", "FAILED", "STOPPED", "SUPERSEDED", "CANCELED"):
        assert _matches(pattern, _event("acme-network", state)), state
    for state in ("STARTED", "STOPPING", "RESUMED"):
        assert not _matches(pattern, _event("acme-network", state)), state
    assert not _matches(pattern, _event("other-network"))
    # the recorder's own filter agrees, and ignores the sync pipeline the prefix lets through
    assert tuple(pattern["detail"]["state"]) == record.FINAL_STATES
    assert _matches(pattern, _event("acme-sync")) and record.wanted(
        _event("acme-sync"), "acme-", (naming.sync_pipeline_name("acme"),)) is None
    assert rule["Targets"] == [{"Id": "Recorder", "Arn": {"Fn::GetAtt": [recorder.RECORDER_FUNCTION, "Arn"]}}]


def test_only_the_rule_invokes_the_recorder(doc: dict) -> None:
    permission = doc["Resources"][recorder.AUDIT_RULE_PERMISSION]["Properties"]
    assert permission == {"Action": "lambda:InvokeFunction",
                          "FunctionName": {"Ref": recorder.RECORDER_FUNCTION},
                          "Principal": "events.amazonaws.com",
                          "SourceArn": {"Fn::GetAtt": [recorder.AUDIT_RULE, "Arn"]},
                          "SourceAccount": {"Fn::Sub": "${AWS::AccountId}"}}


def test_the_function_runs_review_record_with_the_settings_it_reads(doc: dict) -> None:
    function = doc["Resources"][recorder.RECORDER_FUNCTION]["Properties"]
    steps = doc["Resources"]["StackPolicyFunction"]["Properties"]
    module, _, name = function["Handler"].rpartition(".")
    assert (module, name) == ("review.record", "handler") and callable(record.handler)
    assert function["Code"] == steps["Code"]  # the same zip: the review package
    assert function["Role"] == {"Fn::GetAtt": [recorder.RECORDER_ROLE, "Arn"]}
    assert function["FunctionName"] == naming.recorder_function_name("acme") == "acme-changegate-recorder"
    variables = function["Environment"]["Variables"]
    assert set(variables) == {record.ENV_BUCKET, record.ENV_PREFIX, record.ENV_SKIP, record.ENV_KEY,
                              record.ENV_STEPS_ROLE}
    assert variables[record.ENV_BUCKET] == {"Ref": "SourceBucket"}
    assert variables[record.ENV_PREFIX] == "acme-" and variables[record.ENV_SKIP] == "acme-sync"
    assert variables[record.ENV_KEY] == {"Fn::GetAtt": ["ArtifactKey", "Arn"]}
    assert variables[record.ENV_STEPS_ROLE] == naming.role_name("acme", naming.STEPS_PURPOSE)
    assert naming.AUDIT_PREFIX == record.AUDIT_PREFIX
    assert naming.audit_records_prefix("acme-network") == record.pipeline_prefix("acme-network")
    log_group = doc["Resources"][recorder.RECORDER_LOG_GROUP]["Properties"]
    assert log_group["LogGroupName"] == "/aws/lambda/acme-changegate-recorder"
    assert log_group["KmsKeyId"] == {"Fn::GetAtt": ["ArtifactKey", "Arn"]}


def test_the_recorder_role_reads_executions_and_writes_records_only(doc: dict) -> None:
    role = doc["Resources"][recorder.RECORDER_ROLE]["Properties"]
    assert role["RoleName"] == "acme-changegate-recorder"
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    statements = {s["Sid"]: s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]}
    assert statements["WriteAuditRecords"]["Action"] == ["s3:PutObject"]
    assert statements["WriteAuditRecords"]["Resource"] == [{"Fn::Sub": "${SourceBucket.Arn}/audit/*"}]
    encrypt = statements["EncryptAuditRecordsViaS3"]
    assert encrypt["Action"] == ["kms:GenerateDataKey"]
    assert encrypt["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:s3:arn": {"Fn::Sub": "${SourceBucket.Arn}/audit/*"}}
    allowed = {a for s in statements.values() if s["Effect"] == "Allow" for a in s["Action"]}
    assert allowed == {"codepipeline:GetPipelineExecution", "codepipeline:ListActionExecutions",
                       "codepipeline:ListPipelineExecutions", "s3:PutObject", "kms:GenerateDataKey",
                       "logs:CreateLogStream", "logs:PutLogEvents"}
    # the steps function's role writes nothing to S3
    steps = doc["Resources"]["StackPolicyRole"]["Properties"]
    assert not any(a.startswith("s3:Put") for p in steps["Policies"] for s in p["PolicyDocument"]["Statement"]
                   for a in s["Action"])


def test_the_key_policy_opens_audit_records_only(doc: dict) -> None:
    key_policy = doc["Resources"]["ArtifactKey"]["Properties"]["KeyPolicy"]
    statements = {s["Sid"]: s for s in key_policy["Statement"]}
    for sid, action in (("RecorderEncryptsAuditRecords", "kms:GenerateDataKey"),
                        ("AuditRecordsReadableAsIamAllows", "kms:Decrypt")):
        statement = statements[sid]
        assert statement["Action"] == [action]
        assert statement["Condition"]["StringEquals"] == {
            "kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}
        assert statement["Condition"]["StringLike"] == {
            "kms:EncryptionContext:aws:s3:arn": {"Fn::Sub": "arn:${AWS::Partition}:s3:::*/audit/*"}}


def test_five_resources_whatever_the_number_of_stacks(doc: dict) -> None:
    from test_template_limits import _stacks

    ours = {k for k in doc["Resources"] if k.startswith(("Recorder", "AuditRule"))}
    assert ours == {recorder.RECORDER_FUNCTION, recorder.RECORDER_ROLE, recorder.RECORDER_LOG_GROUP,
                    recorder.AUDIT_RULE, recorder.AUDIT_RULE_PERMISSION}
    assert {doc["Resources"][k]["Type"] for k in ours} == RECORDER_TYPES
    for count in (1, 40):
        config, stacks = _stacks(count)
        big = json.loads(template_json(build_template(config, stacks)))
        assert {k for k in big["Resources"] if k.startswith(("Recorder", "AuditRule"))} == ours, count


def test_the_template_lints_clean(doc: dict) -> None:
    assert [f"{m.rule.id} {m.message}" for m in lint(json.dumps(doc))] == []
