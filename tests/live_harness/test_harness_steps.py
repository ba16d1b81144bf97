"""Each step of the live timeline, on moto_server where moto has the calls (S3, KMS, SNS) and on
botocore's Stubber in the real shapes where it lacks them (ListActionExecutions, GetPipelineState,
PutApprovalResult, GetPipelineExecution, CodeBuild builds and their logs, GetStackPolicy).

The recorded answer is what each test checks: a step that misreads AWS would report a wrong pass.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import boto3
import pytest
from botocore.stub import ANY, Stubber
from cglive import project
from cglive import run as live
from cglive.facts import MARKER
from cglive.ledger import Ledger
from cglive.report import ERROR, FAIL, PASS

from generator import naming

NOW = datetime(2026, 12, 2, 5, 0, tzinfo=timezone.utc)
ACCOUNT = "123456789012"
PROJECT = "cgliveabc"
APP = naming.pipeline_name(PROJECT, project.APP)
BIG = naming.pipeline_name(PROJECT, project.BIG)
STACK_ID = f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/{PROJECT}-app/6a7b"


def _client(service: str):
    return boto3.client(service, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


def _run(tmp_path, services: dict, **extra) -> live.LiveRun:
    settings = live.LiveSettings(profile="", region="eu-west-1", project=PROJECT, output=tmp_path / "out")
    run = live.LiveRun(
        settings,
        lambda service: services[service],
        Ledger(tmp_path / "ledger.jsonl"),
        timing=live.Timing(interval=0, sleep=lambda s: None),
        account=ACCOUNT,
        **extra,
    )
    run.deployed = project.Deployed(naming.bootstrap_stack_name(PROJECT), "src-bucket", "artifact-bucket")
    return run


def action(execution, name, status, **extra):
    stage = naming.SOURCE_STAGE if name == naming.SOURCE_ACTION_NAME else naming.CHANGE_STAGE
    return {
        "pipelineExecutionId": execution,
        "actionExecutionId": f"{execution}-{name}",
        "pipelineVersion": 1,
        "stageName": stage,
        "actionName": name,
        "startTime": NOW,
        "lastUpdateTime": NOW,
        "status": status,
        **extra,
    }


def failed_with(message):
    return {
        "output": {
            "executionResult": {
                "externalExecutionId": "x",
                "errorDetails": {"code": "JobFailed", "message": message},
            }
        }
    }


def listing(stub, pipeline, execution, details):
    stub.add_response(
        "list_action_executions",
        {"actionExecutionDetails": details},
        {"pipelineName": pipeline, "filter": {"pipelineExecutionId": execution}},
    )


def status(stub, pipeline, execution, value):
    stub.add_response(
        "get_pipeline_execution",
        {
            "pipelineExecution": {
                "pipelineName": pipeline,
                "pipelineVersion": 1,
                "pipelineExecutionId": execution,
                "status": value,
            }
        },
        {"pipelineName": pipeline, "pipelineExecutionId": execution},
    )


def started_by_sync(stub, pipeline, execution):
    stub.add_response(
        "list_pipeline_executions",
        {
            "pipelineExecutionSummaries": [
                {
                    "pipelineExecutionId": execution,
                    "status": "InProgress",
                    "startTime": NOW,
                    "lastUpdateTime": NOW,
                    "trigger": {"triggerType": "StartPipelineExecution", "triggerDetail": "sync"},
                },
                {
                    "pipelineExecutionId": "creation-run",
                    "status": "Failed",
                    "startTime": NOW,
                    "lastUpdateTime": NOW,
                    "trigger": {"triggerType": "CreatePipeline", "triggerDetail": "x"},
                },
            ]
        },
        {"pipelineName": pipeline, "maxResults": 5},
    )


def approved(stub, pipeline, token="tok"):
    """The suite approves the waiting Approve action (PutApprovalResult with its token)."""
    stub.add_response(
        "put_approval_result",
        {"approvedAt": NOW},
        {
            "pipelineName": pipeline,
            "stageName": naming.CHANGE_STAGE,
            "actionName": naming.APPROVE_ACTION,
            "result": {"summary": ANY, "status": "Approved"},
            "token": token,
        },
    )


def approval_waiting(stub, pipeline, execution, token="tok"):
    stub.add_response(
        "get_pipeline_state",
        {
            "pipelineName": pipeline,
            "pipelineVersion": 1,
            "created": NOW,
            "updated": NOW,
            "stageStates": [
                {
                    "stageName": naming.CHANGE_STAGE,
                    "latestExecution": {"pipelineExecutionId": execution, "status": "InProgress"},
                    "actionStates": [
                        {
                            "actionName": naming.APPROVE_ACTION,
                            "latestExecution": {"status": "InProgress", "token": token},
                        }
                    ],
                }
            ],
        },
        {"name": pipeline},
    )


# ---- Q7, Q8 (and Q3's first evidence): execution A waits for approval ----


def _approve_with(custom_data, link):
    return action(
        "a1",
        naming.APPROVE_ACTION,
        "InProgress",
        input={
            "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
            "configuration": {"CustomData": "x #{variables.CommitSubject}", "ExternalEntityLink": "#{...}"},
            "resolvedConfiguration": {"CustomData": custom_data, "ExternalEntityLink": link},
        },
    )


@pytest.mark.parametrize(
    ("custom_data", "q7"), [("Stack cgliveabc-app: review. " + "s" * 300, PASS), ("x" * 600, FAIL)]
)
def test_first_execution_reads_the_resolved_approval_text_and_link(tmp_path, custom_data, q7):
    cp, cfn = _client("codepipeline"), _client("cloudformation")
    change_set = naming.change_set_name_for(PROJECT, "a1")
    cs_id = f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:changeSet/{change_set}/9f"
    link = (
        "https://console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/changesets/changes?"
        f"stackId={STACK_ID}&changeSetId={cs_id}"
    )
    done = [
        action("a1", naming.SOURCE_ACTION_NAME, "Succeeded"),
        action("a1", naming.PLAN_ACTION, "Succeeded"),
    ]
    with Stubber(cp) as stub, Stubber(cfn) as cfn_stub:
        started_by_sync(stub, APP, "a1")
        listing(stub, APP, "a1", [*done, _approve_with(custom_data, link)])
        status(stub, APP, "a1", "InProgress")
        cfn_stub.add_response(
            "describe_change_set",
            {
                "ChangeSetName": change_set,
                "ChangeSetId": cs_id,
                "StackId": STACK_ID,
                "StackName": f"{PROJECT}-app",
                "Status": "CREATE_COMPLETE",
                "Changes": [],
            },
            {"StackName": f"{PROJECT}-app", "ChangeSetName": change_set},
        )
        listing(stub, APP, "a1", done)
        listing(stub, APP, "a1", done)
        run = _run(tmp_path, {"codepipeline": cp, "cloudformation": cfn})
        assert live.first_execution(run) == "a1"
        stub.assert_no_pending_responses()
    assert run.results["Q7"].outcome == q7, run.results["Q7"]
    assert run.results["Q8"].outcome == PASS, run.results["Q8"]
    assert run.q3["codepipeline"][0] is True and run.q3["cloudformation"][0] is True


def test_an_approval_that_fails_on_its_text_fails_q7_with_codepipelines_reason(tmp_path):
    cp, cfn = _client("codepipeline"), _client("cloudformation")
    failed = action(
        "a1",
        naming.APPROVE_ACTION,
        "Failed",
        **failed_with("Action configuration value is longer than 1000 characters"),
    )
    with Stubber(cp) as stub, Stubber(cfn) as cfn_stub:
        started_by_sync(stub, APP, "a1")
        listing(stub, APP, "a1", [failed])
        status(stub, APP, "a1", "Failed")
        cfn_stub.add_client_error("describe_change_set", "ChangeSetNotFound", "ChangeSet does not exist")
        listing(stub, APP, "a1", [failed])
        listing(stub, APP, "a1", [failed])
        run = _run(tmp_path, {"codepipeline": cp, "cloudformation": cfn})
        live.first_execution(run)
    assert run.results["Q7"].outcome == FAIL
    assert "longer than 1000 characters" in run.results["Q7"].observed
    assert run.results["Q8"].outcome == ERROR  # no link to judge


# ---- Q2, Q3: approving A ----


@pytest.mark.parametrize(
    ("policy_body", "protected", "q2", "q3"),
    [
        (json.dumps(project.APP_STACK_POLICY), True, PASS, PASS),
        (None, True, FAIL, PASS),
        (json.dumps(project.APP_STACK_POLICY), False, PASS, FAIL),
    ],
)
def test_approving_the_first_execution_then_reading_the_policy_and_the_protection(
    tmp_path, policy_body, protected, q2, q3
):
    cp, cfn = _client("codepipeline"), _client("cloudformation")
    stack = {
        "StackName": f"{PROJECT}-app",
        "StackId": STACK_ID,
        "CreationTime": NOW,
        "StackStatus": "CREATE_COMPLETE",
        "EnableTerminationProtection": protected,
    }
    clock = iter(range(0, 10_000, 100)).__next__
    with Stubber(cp) as stub, Stubber(cfn) as cfn_stub:
        approval_waiting(stub, APP, "a1")
        approved(stub, APP)
        status(stub, APP, "a1", "Succeeded")
        listing(stub, APP, "a1", [action("a1", naming.EXECUTE_ACTION, "Succeeded")])
        cfn_stub.add_response(
            "get_stack_policy",
            {"StackPolicyBody": policy_body} if policy_body else {},
            {"StackName": f"{PROJECT}-app"},
        )
        for _ in range(1 if protected else 8):
            cfn_stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": f"{PROJECT}-app"})
        run = _run(tmp_path, {"codepipeline": cp, "cloudformation": cfn})
        run.timing.protection, run.timing.clock = 600, clock
        run.q3.update({"codebuild": (True, "build"), "codepipeline": (True, "source")})
        live.step_approve_first(run, "a1")
    assert run.results["Q2"].outcome == q2, run.results["Q2"]
    assert run.results["Q3"].outcome == q3, run.results["Q3"]


# ---- Q10 ----


def test_the_big_template_question_reads_createchangesets_own_failure(tmp_path):
    cp = _client("codepipeline")
    with Stubber(cp) as stub:
        started_by_sync(stub, BIG, "g1")
        listing(
            stub,
            BIG,
            "g1",
            [
                action(
                    "g1",
                    naming.PLAN_ACTION,
                    "Failed",
                    **failed_with("Access Denied reading s3://artifact-bucket/... (kms:Decrypt)"),
                )
            ],
        )
        status(stub, BIG, "g1", "Failed")
        run = _run(tmp_path, {"codepipeline": cp})
        live.step_big_template(run)
    result = run.results["Q10"]
    assert result.outcome == FAIL and "kms:Decrypt" in result.observed
    assert f"template {len(project.big_template().encode())} bytes" in result.observed


# ---- Q4, Q5: the builds (S3 on moto_server, CodeBuild and Logs on stubs) ----


def _build(build_id, build_status, *, phases, stream):
    return {
        "id": build_id,
        "buildStatus": build_status,
        "phases": phases,
        "logs": {"groupName": f"/aws/codebuild/{PROJECT}-sync", "streamName": stream},
    }


def test_the_builds_report_the_image_and_a_sync_that_failed_falls_back(tmp_path, clients, settings):
    cb, logs = _client("codebuild"), _client("logs")
    repo = tmp_path / "repository"
    project.write_repository(repo, PROJECT)
    facts = {
        "etc_pip_conf": "[global]\ntarget = /tmp/opt/python/site-packages\n",
        "dev_shm": False,
        "nproc": "2",
        "multiprocessing_lock": "OSError(38): Function not implemented",
        "uid": 0,
        "src_dir_uid": 0,
        "git_inside_work_tree": {"rc": 0, "out": "true", "err": ""},
        "git_shallow": {"rc": 0, "out": "false", "err": ""},
    }
    bucket = f"{settings.project}-probe-{ACCOUNT}"
    source = {
        "projectName": naming.sync_project_name(settings.project),
        "sourceTypeOverride": "S3",
        "sourceLocationOverride": f"{bucket}/source.zip",
        "artifactsOverride": {"type": "NO_ARTIFACTS"},
    }
    install_failed = [
        {"phaseType": "PROVISIONING", "phaseStatus": "SUCCEEDED"},
        {
            "phaseType": "INSTALL",
            "phaseStatus": "FAILED",
            "contexts": [{"message": "Cannot set --home and --prefix together"}],
        },
    ]
    stream = {"logGroupName": f"/aws/codebuild/{PROJECT}-sync", "logStreamName": "f1", "startFromHead": True}
    with Stubber(cb) as stub, Stubber(logs) as log_stub:
        stub.add_response("start_build", {"build": {"id": "f:1"}}, {**source, "buildspecOverride": ANY})
        stub.add_response(
            "batch_get_builds",
            {"builds": [_build("f:1", "SUCCEEDED", phases=[], stream="f1")]},
            {"ids": ["f:1"]},
        )
        log_stub.add_response(
            "get_log_events",
            {
                "events": [{"timestamp": 1, "message": f"{MARKER}{json.dumps(facts)}\n", "ingestionTime": 1}],
                "nextForwardToken": "f/1",
                "nextBackwardToken": "b/1",
            },
            stream,
        )
        log_stub.add_response(
            "get_log_events",
            {"events": [], "nextForwardToken": "f/1", "nextBackwardToken": "b/1"},
            {**stream, "nextToken": "f/1"},
        )
        stub.add_response("start_build", {"build": {"id": "s:1"}}, source)
        stub.add_response(
            "batch_get_builds",
            {"builds": [_build("s:1", "FAILED", phases=install_failed, stream="s1")]},
            {"ids": ["s:1"]},
        )
        services = {"codebuild": cb, "logs": logs, "s3": clients("s3")}
        run = _run(tmp_path, services, repo=repo)
        run.settings = settings  # the probe bucket's name carries the test's own project
        live.step_builds(run, tmp_path)
        stub.assert_no_pending_responses()
    assert run.results["Q5"].outcome == PASS
    q4 = run.results["Q4"]
    assert q4.outcome == FAIL
    assert "target = /tmp/opt/python/site-packages" in q4.observed and "/dev/shm absent" in q4.observed
    assert "Cannot set --home and --prefix together" in q4.observed
    assert run.synced is False  # the timeline then syncs from the harness as the sync role
    assert run.q3["codebuild"][0] is True
    assert ("bucket", bucket) in {e.key for e in run.ledger.pending()}
    policy = json.loads(clients("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    assert policy["Statement"][0]["Principal"]["AWS"].endswith(
        f":role/{naming.role_name(settings.project, 'sync')}"
    )


# ---- Q12: KMS and SNS on moto_server, the pipeline's run on stubs ----


def test_the_encrypted_topic_question_builds_topic_and_key_and_reads_the_approval(
    tmp_path, clients, settings
):
    kms, sns, cp = clients("kms"), clients("sns"), _client("codepipeline")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName=naming.artifact_key_alias(settings.project), TargetKeyId=key["KeyId"])
    pipeline = f"{settings.project}-q12topic"
    failed = action("t1", naming.APPROVE_ACTION, "Failed", **failed_with("KMS.AccessDeniedException"))
    with Stubber(cp) as stub:
        stub.add_response(
            "create_pipeline",
            {"pipeline": {"name": pipeline, "roleArn": "arn:aws:iam::1:role/r", "stages": []}},
            {"pipeline": ANY},
        )
        stub.add_response(
            "list_pipeline_executions",
            {"pipelineExecutionSummaries": [{"pipelineExecutionId": "t1", "status": "InProgress"}]},
            {"pipelineName": pipeline},
        )
        listing(stub, pipeline, "t1", [failed])
        status(stub, pipeline, "t1", "Failed")
        run = _run(tmp_path, {"kms": kms, "sns": sns, "codepipeline": cp})
        run.settings = settings
        live.step_encrypted_topic(run)
        stub.assert_no_pending_responses()
    result = run.results["Q12"]
    assert result.outcome == FAIL and "KMS.AccessDeniedException" in result.observed
    kinds = {e.kind: e.name for e in run.ledger.pending()}
    assert kinds["pipeline"] == pipeline
    topic = kinds["sns_topic"]
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["KmsMasterKeyId"] == kinds["kms_key"]  # encrypted with a key the pipeline role lacks
    assert json.loads(attributes["Policy"])["Statement"][0]["Principal"]["AWS"].endswith(
        f":role/{naming.role_name(settings.project, 'pipeline')}"
    )
    # leave nothing on the shared moto_server: the pipeline only existed on the stub
    run.ledger.deleted(next(e for e in run.ledger.pending() if e.kind == "pipeline"))
    assert live.cleanup(run.ledger, clients, sleep=lambda s: None, interval=0).ok


# ---- Q11: the second execution queues, then plans, then executes ----


@pytest.mark.parametrize(("planned_early", "outcome"), [(False, PASS), (True, FAIL)])
def test_the_second_execution_is_watched_while_the_first_waits_then_approved(
    tmp_path, monkeypatch, planned_early, outcome
):
    from sync.git import CommitInfo
    from sync.run import SyncReport

    repo = tmp_path / "repository"
    project.write_repository(repo, PROJECT)

    def synced(root, s3, codepipeline, bucket):  # the sync itself is tested on moto_server
        report = SyncReport(commit=CommitInfo(id="c2"), bucket=bucket, prefix="stacks/", dry_run=False)
        report.started, report.uploaded = {project.APP: "b1"}, {project.APP: "v-b"}
        return report

    monkeypatch.setattr(project, "local_sync", synced)
    cp, cfn = _client("codepipeline"), _client("cloudformation")
    plan = action("b1", naming.PLAN_ACTION, "Succeeded")
    change_set = naming.change_set_name_for(PROJECT, "b1")
    clock = iter(range(0, 1000, 10)).__next__
    with Stubber(cp) as stub, Stubber(cfn) as cfn_stub:
        if planned_early:
            listing(stub, APP, "b1", [plan])
        else:
            for _ in range(6):  # watched for queue_check=60 seconds, every 10
                listing(stub, APP, "b1", [action("b1", naming.SOURCE_ACTION_NAME, "Succeeded")])
        run = _run(tmp_path, {"codepipeline": cp, "cloudformation": cfn, "s3": _client("s3")}, repo=repo)
        run.sync_clients = run.clients
        run.timing.clock, run.timing.interval = clock, 10
        assert live.step_queue_second(run, "a1") == "b1"
        assert run.app_versions == {"b": "v-b"}
        listing(stub, APP, "b1", [plan, action("b1", naming.APPROVE_ACTION, "InProgress")])
        status(stub, APP, "b1", "InProgress")
        cfn_stub.add_response(
            "describe_change_set",
            {"ChangeSetName": change_set, "StackName": f"{PROJECT}-app", "Status": "CREATE_COMPLETE"},
            {"StackName": f"{PROJECT}-app", "ChangeSetName": change_set},
        )
        approval_waiting(stub, APP, "b1")
        approved(stub, APP)
        status(stub, APP, "b1", "Succeeded")
        live.step_second_executes(run, "b1")
        stub.assert_no_pending_responses()
    result = run.results["Q11"]
    assert result.outcome == outcome, result
    assert "existed at its approval: True" in result.observed
