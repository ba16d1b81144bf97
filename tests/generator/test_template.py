"""The bootstrap template: golden file, determinism, invariants, cfn-lint and the project's own rules."""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path

import pytest
from troposphere import Template

from generator import naming
from generator.bootstrap.cfnlint_rules import lint
from generator.bootstrap.template import MAX_RESOURCES, build_template, render_template, template_json
from generator.contract.validate import validate_repository
from generator.errors import GenerateError, StackError

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "pipelines.json"
STAGES = [naming.SOURCE_STAGE, naming.CHANGE_STAGE]


@pytest.fixture(scope="module")
def text() -> str:
    return render_template(REPO)


@pytest.fixture(scope="module")
def doc(text: str) -> dict:
    return json.loads(text)


def _copy_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "stacks", root / "stacks")
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    return root


def _resources(doc: dict, type_: str) -> dict:
    return {k: v for k, v in doc["Resources"].items() if v["Type"] == type_}


def _stack_pipelines(doc: dict) -> dict:
    return {k: v for k, v in _resources(doc, "AWS::CodePipeline::Pipeline").items() if k != "SyncPipeline"}


def _statements(resource: dict) -> list[dict]:
    props = resource["Properties"]
    if "PolicyDocument" in props:
        return props["PolicyDocument"]["Statement"]
    return [s for p in props.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


def _flat(value) -> str:
    return json.dumps(value, sort_keys=True)


def test_golden_file(text: str) -> None:
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, "utf-8")
    assert GOLDEN.read_text("utf-8") == text, "template changed: review, then UPDATE_GOLDEN=1 pytest"


def test_committed_template_is_current(text: str) -> None:
    assert (REPO / "pipelines" / "pipelines.json").read_text("utf-8") == text, "run changegate generate"


def test_same_input_same_bytes(text: str) -> None:
    assert render_template(REPO) == text
    assert text.endswith("}\n") and not text.endswith("\n\n")


def test_cfn_lint_reports_nothing(text: str) -> None:
    findings = lint(text)
    assert [f"{m.rule.id} {m.message}" for m in findings] == []


def test_one_pipeline_per_enabled_stack_in_sorted_order(doc: dict) -> None:
    report = validate_repository(REPO, lint=False)
    expected = sorted(s.pipeline_name for s in report.stacks.values() if not s.settings.disabled)
    names = [p["Properties"]["Name"] for p in _stack_pipelines(doc).values()]
    assert sorted(names) == expected and len(names) == len(set(names)) == 4
    assert doc["Outputs"]["StackPipelineNames"]["Value"] == ",".join(expected)


def test_stage_order_and_v2_queued(doc: dict) -> None:
    for pipeline in _stack_pipelines(doc).values():
        props = pipeline["Properties"]
        assert [s["Name"] for s in props["Stages"]] == STAGES
        assert props["PipelineType"] == "V2" and props["ExecutionMode"] == "QUEUED"
        assert [v["Name"] for v in props["Variables"]] == list(naming.PIPELINE_VARIABLES)


def _change_actions(pipeline: dict) -> dict:
    change = pipeline["Properties"]["Stages"][1]
    assert change["Name"] == naming.CHANGE_STAGE
    return {a["Name"]: a for a in change["Actions"]}


def test_change_stage_runs_plan_review_approve_check_policy_execute_verify_in_order(doc: dict) -> None:
    for pipeline in _stack_pipelines(doc).values():
        # the example's database has a deployment window and approvals: always
        # (tests/generator/test_settings_pipeline.py checks those)
        if pipeline["Properties"]["Name"] == "acme-database":
            continue
        stage_actions = pipeline["Properties"]["Stages"][1]["Actions"]
        assert [a["Name"] for a in stage_actions] == list(naming.CHANGE_ACTIONS) == [
            "CreateChangeSet", "Review", "Approve", "SecondApproval", "WaiveSecondApproval", "CheckChangeSet",
            "ApplyStackPolicy", "ExecuteChangeSet", "VerifyStackPolicy"]
        # one at a time, but the two approvals and the waiver side by side
        assert [a["RunOrder"] for a in stage_actions] == [1, 2, 3, 3, 3, 4, 5, 6, 7]
        types = [(a["ActionTypeId"]["Category"], a["ActionTypeId"]["Provider"]) for a in stage_actions]
        assert types == [("Deploy", "CloudFormation"), ("Invoke", "Lambda"), ("Approval", "Manual"),
                         ("Approval", "Manual"), ("Invoke", "Lambda"), ("Invoke", "Lambda"),
                         ("Invoke", "Lambda"), ("Deploy", "CloudFormation"), ("Invoke", "Lambda")]
        second = _change_actions(pipeline)[naming.SECOND_APPROVAL_ACTION]["Configuration"]
        assert "NotificationArn" not in second and second["CustomData"].endswith("#{Review.Summary}")
    assert "acme-database" in {p["Properties"]["Name"] for p in _stack_pipelines(doc).values()}


def test_change_set_is_the_same_in_plan_and_execute_and_unique_per_execution(doc: dict) -> None:
    for pipeline in _stack_pipelines(doc).values():
        actions = _change_actions(pipeline)
        plan = actions[naming.PLAN_ACTION]["Configuration"]
        execute = actions[naming.EXECUTE_ACTION]["Configuration"]
        assert plan["ActionMode"] == "CHANGE_SET_REPLACE" and execute["ActionMode"] == "CHANGE_SET_EXECUTE"
        assert plan["ChangeSetName"] == execute["ChangeSetName"]
        assert plan["StackName"] == execute["StackName"]
        assert "#{codepipeline.PipelineExecutionId}" in plan["ChangeSetName"]
        # The review and the stale guard read exactly that change set of that stack.
        for step in (naming.REVIEW_ACTION, naming.CHECK_ACTION):
            parameters = json.loads(actions[step]["Configuration"]["UserParameters"])
            assert (parameters["ChangeSetName"], parameters["StackName"]) == (plan["ChangeSetName"],
                                                                              plan["StackName"])
        approval = actions[naming.APPROVE_ACTION]["Configuration"]
        assert approval["CustomData"].startswith("#{Review.Summary} | Stack " + plan["StackName"] + ", ")
        assert approval["ExternalEntityLink"] == "#{Review.ReviewLink}"
        assert len(approval["CustomData"]) <= 500


def test_source_action_reads_the_stack_object_without_polling(doc: dict) -> None:
    for pipeline in _stack_pipelines(doc).values():
        source = pipeline["Properties"]["Stages"][0]["Actions"][0]
        folder = pipeline["Properties"]["Name"].removeprefix("acme-")
        assert source["ActionTypeId"]["Provider"] == "S3"
        assert source["Configuration"]["S3ObjectKey"] == naming.source_object_key(folder)
        assert source["Configuration"]["PollForSourceChanges"] == "false"
        plan = _change_actions(pipeline)[naming.PLAN_ACTION]["Configuration"]
        assert plan["TemplatePath"].endswith("::" + naming.ARCHIVE_TEMPLATE)
        assert plan["TemplateConfiguration"].endswith("::" + naming.ARCHIVE_CONFIG)


@pytest.mark.parametrize("project", ["ab", "a" * 20, "x1-y2"])
def test_change_set_name_is_valid_after_substitution(project: str) -> None:
    name = naming.change_set_name(project).replace(naming.EXECUTION_ID_VARIABLE, str(uuid.uuid4()))
    assert len(name) <= 128 and naming.CHANGE_SET_NAME_RE.match(name)


def test_capabilities_and_timeouts_come_from_config(doc: dict) -> None:
    pipelines = {p["Properties"]["Name"]: _change_actions(p) for p in _stack_pipelines(doc).values()}
    plan, approve = naming.PLAN_ACTION, naming.APPROVE_ACTION
    assert pipelines["acme-service"][plan]["Configuration"]["Capabilities"] == "CAPABILITY_IAM"
    assert "Capabilities" not in pipelines["acme-network"][plan]["Configuration"]
    assert pipelines["acme-alarms"][approve]["TimeoutInMinutes"] == 1440
    assert pipelines["acme-network"][approve]["TimeoutInMinutes"] == 4320


def test_every_allow_is_scoped_to_the_project(doc: dict) -> None:
    """No Allow on "*" except actions IAM gives no resource for; names carry the prefix."""
    # Actions IAM authorizes only on "*" (no resource type in the service authorization reference).
    unscoped_ok = {"cloudformation:ValidateTemplate", "codepipeline:ListPipelines",
                   "codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult",
                   "cloudformation:DescribeStackDriftDetectionStatus"}
    for name in ("PipelineRole", "SyncRole", "CloudFormationExecutionRole", "ApproversPolicy",
                 "StackPolicyRole", "RecorderRole"):
        for statement in _statements(doc["Resources"][name]):
            resources = statement.get("Resource", [])
            if statement["Effect"] == "Allow" and "*" in resources:
                assert set(statement["Action"]) <= unscoped_ok, (name, statement)
            # A Deny only takes away, so it may name anything (the approvers' own principals, say).
            for resource in resources if statement["Effect"] == "Allow" else ():
                text = _flat(resource)
                if any(k in text for k in (":codepipeline:", ":cloudformation:", ":iam::", ":codebuild:",
                                           ":lambda:", ":logs:")):
                    assert re.search(r"[:/]acme-", text), (name, text)
            if statement["Effect"] == "Allow":
                assert "iam:PassRole" not in statement["Action"] or "*" not in resources
    for role in _resources(doc, "AWS::IAM::Role").values():
        assert role["Properties"]["RoleName"].startswith("acme-")


def test_deny_statements_protect_the_bootstrap_stack_and_the_sync(doc: dict) -> None:
    pipeline_denies = [s for s in _statements(doc["Resources"]["PipelineRole"]) if s["Effect"] == "Deny"]
    assert any("stack/acme-pipelines/*" in _flat(s["Resource"]) for s in pipeline_denies)
    sync_denies = [s for s in _statements(doc["Resources"]["SyncRole"]) if s["Effect"] == "Deny"]
    assert any("codepipeline:StartPipelineExecution" in s["Action"] and ":acme-sync\"" in _flat(s["Resource"])
               for s in sync_denies)


def test_only_cloudformation_assumes_the_execution_role(doc: dict) -> None:
    role = doc["Resources"]["CloudFormationExecutionRole"]["Properties"]
    principals = [s["Principal"] for s in role["AssumeRolePolicyDocument"]["Statement"]]
    assert principals == [{"Service": "cloudformation.amazonaws.com"}]
    # no IAMFullAccess: the example lets the role manage only the stacks' own roles (manage_stack_roles)
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/PowerUserAccess"]


def test_source_bucket_policy_denies_writes_by_anyone_but_the_sync_and_the_recorder(doc: dict) -> None:
    statements = doc["Resources"]["SourceBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    deny = next(s for s in statements if s["Sid"] == "OnlyTheSyncAndTheRecorderWriteObjects")
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"} <= set(deny["Action"])
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [
        {"Fn::GetAtt": ["SyncRole", "Arn"]}, {"Fn::GetAtt": ["RecorderRole", "Arn"]}]}}
    # each in its own part (tests/iam/test_audit_records.py evaluates them): only the recorder writes
    # audit/, the recorder nothing else, and nobody deletes a record
    sids = {s["Sid"] for s in statements}
    assert {"OnlyTheRecorderWritesAuditRecords", "TheRecorderWritesOnlyAuditRecords",
            "AuditRecordsAreKept", "AuditRecordsAreWrittenOnce"} <= sids
    tls = next(s for s in statements if s["Sid"] == "DenyInsecureTransport")
    # the string form Control Tower's CT.S3.PR.8 recognises (generator/bootstrap/buckets.py)
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    bucket = doc["Resources"]["SourceBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_approvers_get_approval_and_reads_only(doc: dict) -> None:
    policy = doc["Resources"]["ApproversPolicy"]["Properties"]
    actions = {a for s in policy["PolicyDocument"]["Statement"] for a in s["Action"]}
    assert "codepipeline:PutApprovalResult" in actions
    reads = ("Get", "List", "Describe")
    # and kms:Decrypt, only via S3 and only for audit records (changegate audit reads them)
    assert all(a in ("codepipeline:PutApprovalResult", "kms:Decrypt") or a.split(":")[1].startswith(reads)
               for a in actions)
    decrypt = next(s for s in policy["PolicyDocument"]["Statement"] if "kms:Decrypt" in s["Action"])
    assert decrypt["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:s3:arn": {"Fn::Sub": "${SourceBucket.Arn}/audit/*"}}
    assert decrypt["Condition"]["StringEquals"] == {
        "kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}
    assert policy["Roles"] == ["PlatformApprovers"]


def test_key_rotates_and_is_used_only_by_changegate_roles(doc: dict) -> None:
    key = doc["Resources"]["ArtifactKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    use = next(s for s in key["KeyPolicy"]["Statement"] if s["Sid"] == "KeyUseByChangegateRoles")
    assert "acme-changegate-pipeline" in _flat(use["Condition"]) and "acme-changegate-sync" in _flat(use)


def test_sync_job(doc: dict) -> None:
    project = doc["Resources"]["SyncProject"]["Properties"]
    assert project["Environment"]["Type"] == "LINUX_LAMBDA_CONTAINER"
    assert "TimeoutInMinutes" not in project  # Lambda compute allows no custom timeout
    env = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
    assert env == {naming.ENV_SOURCE_BUCKET: {"Ref": "SourceBucket"},
                   naming.ENV_SOURCE_PREFIX: naming.DEFAULT_SOURCE_PREFIX}
    assert project["Source"]["BuildSpec"] == "buildspecs/sync.yml"
    assert (REPO / project["Source"]["BuildSpec"]).is_file()
    sync = doc["Resources"]["SyncPipeline"]["Properties"]
    source = sync["Stages"][0]["Actions"][0]["Configuration"]
    assert source["OutputArtifactFormat"] == "CODEBUILD_CLONE_REF"
    assert source["BranchName"] == "main" and source["FullRepositoryId"] == "acme-corp/infrastructure"
    assert sync["Triggers"][0]["GitConfiguration"]["Push"][0]["Branches"]["Includes"] == ["main"]


def test_outputs(doc: dict) -> None:
    assert {"SourceBucketName", "ArtifactBucketName", "ApprovalTopicArn", "ConnectionArn", "SyncPipelineName",
            "StackPipelineNames"} <= set(doc["Outputs"])


def _edit_config(root: Path, old: str, new: str) -> None:
    path = root / "pipelines" / "config.yaml"
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")


def test_disabled_stack_gets_no_pipeline(tmp_path: Path) -> None:
    root = _copy_repo(tmp_path)
    _edit_config(root, "  alarms:\n", "  alarms:\n    disabled: true\n")
    doc = json.loads(render_template(root))
    names = {p["Properties"]["Name"] for p in _stack_pipelines(doc).values()}
    assert names == {"acme-database", "acme-network", "acme-service"}
    assert doc["Metadata"]["Changegate"]["Stacks"]["alarms"]["Disabled"] is True


def test_existing_topic_and_connection_create_neither(tmp_path: Path) -> None:
    root = _copy_repo(tmp_path)
    arn = ("arn:aws:codestar-connections:eu-west-1:111122223333:connection/"
           "00000000-0000-0000-0000-000000000000")
    _edit_config(root, "connection_arn: create", f"connection_arn: {arn}")
    _edit_config(root, "  # topic_arn:", "  topic_arn:")
    text = render_template(root)
    doc = json.loads(text)
    types = {r["Type"] for r in doc["Resources"].values()}
    assert "AWS::SNS::Topic" not in types and "AWS::CodeConnections::Connection" not in types
    assert "codestar-connections:UseConnection" in text and doc["Outputs"]["ConnectionArn"]["Value"] == arn
    assert lint(text) == []


def test_adopted_stack_is_named_explicitly(tmp_path: Path) -> None:
    root = _copy_repo(tmp_path)
    _edit_config(root, "  alarms:\n", "  alarms:\n    stack_name: LegacyAlarms\n")
    text = render_template(root)
    assert "stack/LegacyAlarms/*" in text
    assert lint(text) == []


def test_adopting_the_bootstrap_name_is_refused(tmp_path: Path) -> None:
    root = _copy_repo(tmp_path)
    _edit_config(root, "  alarms:\n", "  alarms:\n    stack_name: acme-pipelines\n")
    # Refused when the config is validated (StackError) or, at the latest, when the template is built.
    with pytest.raises((GenerateError, StackError), match="bootstrap stack"):
        render_template(root)


def test_invalid_stack_stops_generation(tmp_path: Path) -> None:
    root = _copy_repo(tmp_path)
    (root / "stacks" / "network" / "template.yaml").write_text("[]\n", "utf-8")
    with pytest.raises(StackError, match="changegate validate"):
        render_template(root)


def test_too_many_stacks_is_a_clear_error(tmp_path: Path) -> None:
    report = validate_repository(REPO, lint=False)
    one = report.stacks["network"]
    many = {f"s{i:03d}": _renamed(one, f"s{i:03d}") for i in range(MAX_RESOURCES)}
    with pytest.raises(GenerateError, match=r"limit of 500 .*\(500 stacks, 500 with a pipeline\)"):
        build_template(report.config, many)


def _renamed(stack, folder: str):
    from dataclasses import replace

    source = replace(stack.source, name=folder)
    return replace(stack, source=source, stack_name=f"acme-{folder}", pipeline_name=f"acme-{folder}")


def test_build_template_returns_a_troposphere_template() -> None:
    report = validate_repository(REPO, lint=False)
    template = build_template(report.config, report.stacks)
    assert isinstance(template, Template)
    assert template_json(template) == render_template(REPO)


def test_metadata_carries_the_accepted_scanner_findings_with_their_reasons(doc: dict) -> None:
    from generator.bootstrap.scanner_suppressions import scanner_suppressions
    from generator.contract.config import load_config

    accepted = doc["Metadata"]["Changegate"]["ScannerSuppressions"]
    assert accepted == scanner_suppressions(load_config(REPO))
    assert accepted["checkov"]["CKV_AWS_116"]["resources"] == ["StackPolicyFunction", "RecorderFunction"]
    # the recorder is invoked asynchronously: its reason is its own, not the pipeline function's
    assert "The recorder: EventBridge retries delivery" in accepted["checkov"]["CKV_AWS_116"]["reason"]
    assert all(rule["reason"] for tool in accepted.values() for rule in tool.values())
