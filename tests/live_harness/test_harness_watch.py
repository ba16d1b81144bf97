"""Following executions and deciding approvals: calls moto lacks (ListActionExecutions,
GetPipelineState, PutApprovalResult, GetPipelineExecution), so botocore's Stubber, in the real
request and response shapes, validated against the service model."""

from __future__ import annotations

from datetime import datetime, timezone

import boto3
import pytest
from botocore.stub import ANY, Stubber
from cglive import run as live
from cglive import watch
from cglive.ledger import Ledger
from cglive.report import FAIL, PASS
from cglive.settings import LiveSettings
from test_harness_steps import action  # ListActionExecutions' detail, as the steps' tests build it

from generator import naming

NOW = datetime(2026, 12, 2, 5, 0, tzinfo=timezone.utc)
PIPELINE = "cgliveabc-app"


def codepipeline():
    return boto3.client(
        "codepipeline", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def listing(stub, execution: str, details: list[dict], token: str | None = None, after: str | None = None):
    response = {"actionExecutionDetails": details, **({"nextToken": token} if token else {})}
    params = {
        "pipelineName": PIPELINE,
        "filter": {"pipelineExecutionId": execution},
        **({"nextToken": after} if after else {}),
    }
    stub.add_response("list_action_executions", response, params)


def execution_status(stub, execution: str, status: str):
    stub.add_response(
        "get_pipeline_execution",
        {
            "pipelineExecution": {
                "pipelineName": PIPELINE,
                "pipelineVersion": 1,
                "pipelineExecutionId": execution,
                "status": status,
            }
        },
        {"pipelineName": PIPELINE, "pipelineExecutionId": execution},
    )


def state_with_approval(stub, execution: str, token: str = "tok-1"):
    stub.add_response(
        "get_pipeline_state",
        {
            "pipelineName": PIPELINE,
            "pipelineVersion": 1,
            "created": NOW,
            "updated": NOW,
            "stageStates": [
                {
                    "stageName": naming.SOURCE_STAGE,
                    "actionStates": [{"actionName": naming.SOURCE_ACTION_NAME}],
                },
                {
                    "stageName": naming.CHANGE_STAGE,
                    "latestExecution": {"pipelineExecutionId": execution, "status": "InProgress"},
                    "actionStates": [
                        {"actionName": naming.PLAN_ACTION, "latestExecution": {"status": "Succeeded"}},
                        {
                            "actionName": naming.APPROVE_ACTION,
                            "latestExecution": {
                                "status": "InProgress",
                                "token": token,
                                "lastStatusChange": NOW,
                            },
                        },
                    ],
                },
            ],
        },
        {"name": PIPELINE},
    )


def test_action_executions_follow_every_page_and_latest_action_picks_by_name():
    cp = codepipeline()
    with Stubber(cp) as stub:
        listing(stub, "e1", [action("e1", naming.SOURCE_ACTION_NAME, "Succeeded")], token="t2")
        listing(
            stub,
            "e1",
            [
                action("e1", naming.PLAN_ACTION, "Succeeded"),
                action("e1", naming.APPROVE_ACTION, "InProgress"),
            ],
            after="t2",
        )
        listing(stub, "e1", [action("e1", naming.PLAN_ACTION, "Succeeded")])
        runs = watch.action_executions(cp, PIPELINE, "e1")
        assert [r["actionName"] for r in runs] == [
            naming.SOURCE_ACTION_NAME,
            naming.PLAN_ACTION,
            naming.APPROVE_ACTION,
        ]
        assert watch.latest_action(cp, PIPELINE, "e1", naming.APPROVE_ACTION) is None


def test_waiting_stops_when_the_action_arrives_and_times_out_otherwise():
    cp = codepipeline()
    clock = iter([0, 0, 5, 10, 20, 30, 40, 50]).__next__
    with Stubber(cp) as stub:
        listing(stub, "e1", [action("e1", naming.PLAN_ACTION, "InProgress")])
        execution_status(stub, "e1", "InProgress")
        listing(
            stub,
            "e1",
            [
                action("e1", naming.PLAN_ACTION, "Succeeded"),
                action("e1", naming.APPROVE_ACTION, "InProgress"),
            ],
        )
        execution_status(stub, "e1", "InProgress")
        run_, status = watch.wait_for_action_or_end(
            cp,
            PIPELINE,
            "e1",
            naming.APPROVE_ACTION,
            {"InProgress"},
            timeout=100,
            interval=5,
            sleep=lambda s: None,
            clock=clock,
        )
    assert run_["status"] == "InProgress" and status == "InProgress"
    clock = iter([0, 50, 101]).__next__
    with Stubber(cp) as stub, pytest.raises(watch.WaitTimeout, match="not after 100s"):
        for _ in range(2):
            listing(stub, "e1", [])
            execution_status(stub, "e1", "InProgress")
        watch.wait_for_action_or_end(
            cp,
            PIPELINE,
            "e1",
            naming.APPROVE_ACTION,
            {"InProgress"},
            timeout=100,
            interval=5,
            sleep=lambda s: None,
            clock=clock,
        )


def test_an_ended_execution_ends_the_wait_without_the_action():
    cp = codepipeline()
    with Stubber(cp) as stub:
        listing(stub, "e1", [action("e1", naming.PLAN_ACTION, "Succeeded")])
        execution_status(stub, "e1", "Succeeded")
        run_, status = watch.wait_for_action_or_end(
            cp,
            PIPELINE,
            "e1",
            naming.APPROVE_ACTION,
            {"InProgress"},
            timeout=100,
            interval=5,
            sleep=lambda s: None,
        )
    assert run_ is None and status == "Succeeded"


def test_decide_uses_the_token_of_this_executions_approval():
    cp = codepipeline()
    with Stubber(cp) as stub:
        state_with_approval(stub, "e1", token="tok-e1")
        stub.add_response(
            "put_approval_result",
            {"approvedAt": NOW},
            {
                "pipelineName": PIPELINE,
                "stageName": naming.CHANGE_STAGE,
                "actionName": naming.APPROVE_ACTION,
                "result": {"summary": "ok", "status": "Rejected"},
                "token": "tok-e1",
            },
        )
        watch.decide(cp, PIPELINE, "e1", approve=False, summary="ok")
        stub.assert_no_pending_responses()
    with Stubber(cp) as stub, pytest.raises(watch.WaitTimeout, match="no approval waiting"):
        state_with_approval(stub, "another-execution")
        watch.decide(cp, PIPELINE, "e1", approve=True, summary="ok")


def test_resolved_configuration_prefers_what_codepipeline_resolved():
    details = action(
        "e1",
        naming.APPROVE_ACTION,
        "InProgress",
        input={
            "configuration": {"CustomData": "commit #{variables.CommitId}"},
            "resolvedConfiguration": {"CustomData": "commit 0123abc"},
        },
    )
    assert watch.resolved_configuration(details) == {"CustomData": "commit 0123abc"}
    assert watch.resolved_configuration(None) == {}


# ---- one step of the timeline, end to end on stubs: Q1 ----


def _live_run(tmp_path, cp, sync_cp):
    settings = LiveSettings(profile="", region="eu-west-1", project="cgliveabc", output=tmp_path)
    run = live.LiveRun(
        settings,
        lambda service: cp,
        Ledger(tmp_path / "ledger.jsonl"),
        timing=live.Timing(interval=0, sleep=lambda s: None),
    )
    run.sync_clients = lambda service: sync_cp
    run.app_versions = {"b": "v-b"}
    return run


def _start(stub, execution: str):
    stub.add_response(
        "start_pipeline_execution",
        {"pipelineExecutionId": execution},
        {"name": PIPELINE, "sourceRevisions": ANY, "variables": ANY},
    )


@pytest.mark.parametrize(("approval_waits", "outcome"), [(True, FAIL), (False, PASS)])
def test_q1_an_approval_for_an_empty_change_set_fails_the_question_and_is_rejected(
    tmp_path, approval_waits, outcome
):
    cp, sync_cp = codepipeline(), codepipeline()
    with Stubber(cp) as stub, Stubber(sync_cp) as sync_stub:
        _start(sync_stub, "c1")
        plan = action("c1", naming.PLAN_ACTION, "Succeeded")
        if approval_waits:
            listing(stub, "c1", [plan, action("c1", naming.APPROVE_ACTION, "InProgress")])
            execution_status(stub, "c1", "InProgress")
            state_with_approval(stub, "c1")
            stub.add_response(
                "put_approval_result",
                {"approvedAt": NOW},
                {
                    "pipelineName": PIPELINE,
                    "stageName": naming.CHANGE_STAGE,
                    "actionName": naming.APPROVE_ACTION,
                    "result": {"summary": ANY, "status": "Rejected"},
                    "token": "tok-1",
                },
            )
            listing(stub, "c1", [plan, action("c1", naming.APPROVE_ACTION, "Failed")])
            execution_status(stub, "c1", "Failed")
        else:
            listing(stub, "c1", [plan])
            execution_status(stub, "c1", "Succeeded")
            listing(stub, "c1", [plan])
        run = _live_run(tmp_path, cp, sync_cp)
        live.step_empty_change_set(run, "b1")
        stub.assert_no_pending_responses()
    result = run.results["Q1"]
    assert result.outcome == outcome, result
    assert ("WAITED" in result.observed) == approval_waits
