"""The operator commands on the one-stage pipeline (Source, then Change: CreateChangeSet, Approve, the
stack-policy function, ExecuteChangeSet), with Stubber and botocore's own shapes for GetPipelineState,
ListPipelineExecutions, GetPipelineExecution, ListActionExecutions and PutApprovalResult (moto has
none of GetPipelineState, ListActionExecutions, PutApprovalResult, StopPipelineExecution).

Two executions of one stack in QUEUED mode: execution 7 holds the Change stage and waits at
Change/Approve, execution 8 waits to enter the stage. status shows both; changes and approve act on
7 and its own change set, never on 8 (which has not planned yet: the stage lock, F4).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from cg_stubs import NOW, foreign_state, token_for, uuid_for
from conftest import write_repo

from generator.naming import APPROVE_ACTION, CHANGE_STAGE

PIPELINE = STACK = "acme-network"
COMMIT_7 = "7777777aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
COMMIT_8 = "8888888bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"


def stub_listing(stubs, names):
    stubs.cp.add_response("list_pipelines", {"pipelines": [
        {"name": n, "version": 1, "pipelineType": "V2", "executionMode": "QUEUED",
         "created": NOW - timedelta(days=9), "updated": NOW - timedelta(days=9)} for n in names]}, {})


def stub_two_queued_status(stubs):
    stub_listing(stubs, [PIPELINE])
    stubs.get_pipeline_state(PIPELINE, pending=7, queued=(8,))
    # the newest execution is 8, queued; the approval belongs to 7: its commit is read too
    stubs.list_pipeline_executions(PIPELINE, 8, status="InProgress")
    stubs.get_pipeline_execution(PIPELINE, 8, commit=COMMIT_8)
    stubs.get_pipeline_execution(PIPELINE, 7, commit=COMMIT_7)
    stubs.list_action_executions(PIPELINE, 7, STACK)
    stubs.describe_change_set(STACK, f"acme-{uuid_for(7)}")


def test_status_shows_the_execution_at_approve_and_the_one_queued_behind_it(stubs, repo, run):
    stub_two_queued_status(stubs)
    result = run(["status", "network", "--root", str(repo)], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    lines = result.stdout.splitlines()
    assert lines[0].startswith("acme: 1 stacks; 1 pending approval, 0 failed, 1 in progress")
    row = lines[2]
    assert "Change/Approve (+1 queued)" in row
    # the pending approval names its own commit (7), the last-start columns the newest run (8)
    assert "2h03m: +1 ~2 -0 replaces 2 (commit 7777777a)" in row
    assert row.split()[-2:] != ["-", "-"] and "8888888b" in row


def test_status_json_lists_the_queued_execution_and_the_approvals_own_change_set(stubs, repo, run):
    stub_two_queued_status(stubs)
    result = run(["status", "network", "--root", str(repo), "--format", "json"], aws=stubs.aws)
    stubs.verify()
    network = json.loads(result.stdout)["pipelines"][0]
    assert (network["current_stage"], network["current_action"]) == ("Change", "Approve")
    assert network["queued"] == [{"execution_id": uuid_for(8), "before_stage": "Change"}]
    pending = network["pending_approval"]
    assert (pending["execution_id"], pending["stage"], pending["action"]) == (
        uuid_for(7), "Change", "Approve")
    assert pending["change_set"] == f"acme-{uuid_for(7)}" and pending["commit"] == COMMIT_7
    assert network["last_execution"]["execution_id"] == uuid_for(8)


def test_changes_and_approve_act_on_the_execution_waiting_at_change_approve(stubs, repo, run):
    stubs.get_pipeline_state(PIPELINE, pending=7, queued=(8,))
    # filtered to execution 7: its CreateChangeSet, and the version of commit 7 the sync wrote
    stubs.list_action_executions(PIPELINE, 7, STACK, commit=COMMIT_7)
    stubs.review_change_set(STACK, f"acme-{uuid_for(7)}")
    stubs.get_pipeline_execution(PIPELINE, 7, commit=COMMIT_7)
    stubs.get_pipeline_state(PIPELINE, pending=7, queued=(8,))  # re-read before deciding: unchanged
    stubs.cp.add_response("put_approval_result", {"approvedAt": NOW}, {
        "pipelineName": PIPELINE, "stageName": CHANGE_STAGE, "actionName": APPROVE_ACTION,
        "result": {"summary": "ok", "status": "Approved"}, "token": token_for(7)})
    result = run(["approve", "network", "--root", str(repo), "--comment", "ok", "--yes"], aws=stubs.aws)
    stubs.verify()  # Stubber checked every request: execution 7's filter, stage Change, action Approve
    assert result.exit_code == 0, result.error
    assert "waiting for approval at Change/Approve" in result.stdout
    assert f"commit {COMMIT_7}" in result.stdout and COMMIT_8 not in result.stdout
    assert f"Change set acme-{uuid_for(7)} on stack acme-network" in result.stdout
    assert f"Approved: execution {uuid_for(7)} of acme-network" in result.stdout


def test_the_change_set_comes_from_the_change_stages_create_change_set_action(stubs):
    """Another CloudFormation action of the execution (not Change/CreateChangeSet) is not taken for it."""
    from changegate.pipeline_state import planned_change_set

    decoy = {"pipelineExecutionId": uuid_for(7), "actionExecutionId": "decoy", "stageName": "Preview",
             "actionName": "Preview", "status": "Succeeded",
             "input": {"actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CloudFormation",
                                        "version": "1"},
                       "resolvedConfiguration": {"ActionMode": "CHANGE_SET_REPLACE", "StackName": "other",
                                                 "ChangeSetName": "decoy"}}}
    real = {"pipelineExecutionId": uuid_for(7), "actionExecutionId": "real", "stageName": "Change",
            "actionName": "CreateChangeSet", "status": "Succeeded",
            "input": {"actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CloudFormation",
                                       "version": "1"},
                      "resolvedConfiguration": {"ActionMode": "CHANGE_SET_REPLACE", "StackName": STACK,
                                                "ChangeSetName": f"acme-{uuid_for(7)}"}}}
    stubs.cp.add_response("list_action_executions", {"actionExecutionDetails": [decoy, real]},
                          {"pipelineName": PIPELINE, "filter": {"pipelineExecutionId": uuid_for(7)}})
    assert planned_change_set(stubs.codepipeline, "acme", PIPELINE, uuid_for(7), STACK) == (
        STACK, f"acme-{uuid_for(7)}")


def test_stop_says_where_each_execution_is(stubs, repo, run):
    stubs.get_pipeline_state(PIPELINE, pending=7, queued=(8,))
    result = run(["stop", "network", "--root", str(repo), "--yes"], aws=stubs.aws)
    assert result.exit_code == 2
    assert (f"2 executions are in progress on acme-network ({uuid_for(7)} at Change/Approve, "
            f"{uuid_for(8)} queued before Change): pick one with --execution ID") == result.error


def test_a_skipped_run_is_shown_as_skipped_not_as_succeeded(stubs, repo, run):
    """A run the sync did not start (CommitId "unknown") ends with the Change stage Skipped; the
    execution itself reads Succeeded in ListPipelineExecutions."""
    stub_listing(stubs, [PIPELINE])
    stubs.get_pipeline_state(PIPELINE, skipped=9)
    stubs.list_pipeline_executions(PIPELINE, 9, status="Succeeded")
    stubs.get_pipeline_execution(PIPELINE, 9, commit="unknown")
    result = run(["status", "network", "--root", str(repo)], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    row = result.stdout.splitlines()[2].split()
    assert row[:3] == ["acme-network", "Skipped", "-"]
    assert result.stdout.splitlines()[2].endswith("skipped: not started by the sync")
    stubs.get_pipeline_state(PIPELINE, skipped=9)
    result = run(["changes", "network", "--root", str(repo)], aws=stubs.aws)
    assert result.exit_code == 3
    assert result.error == (f"no approval is pending on pipeline acme-network (its last run, {uuid_for(9)}, "
                            "was skipped: not started by the sync)")


def test_a_failed_action_is_named(stubs, repo, run):
    stub_listing(stubs, [PIPELINE])
    stubs.get_pipeline_state(PIPELINE, failed=4, failed_action="ExecuteChangeSet")
    stubs.list_pipeline_executions(PIPELINE, 4, status="Failed")
    stubs.get_pipeline_execution(PIPELINE, 4)
    result = run(["status", "network", "--root", str(repo)], aws=stubs.aws)
    assert result.stdout.splitlines()[2].split()[:3] == ["acme-network", "Failed", "Change/ExecuteChangeSet"]


# ---- two projects in one account: acme and acmeprod ----

ACCOUNT_PIPELINES = ["acme-database", "acme-handmade", "acme-network", "acme-removed", "acme-sync",
                     "acmeprod-database", "acmeprod-network", "acmeprod-sync", "acmeprod-web"]


def test_status_lists_only_this_projects_pipelines(stubs, repo, run):
    """acme's status lists acme-<folder> for its folders, and acme-removed (a changegate stack
    pipeline whose folder is gone); never acmeprod's, nor acme-handmade (a hand-made pipeline)."""
    stub_listing(stubs, ACCOUNT_PIPELINES)
    for name in ("acme-database", "acme-handmade", "acme-network", "acme-removed"):  # folder order
        if name == "acme-handmade":  # read once: its stages say it is not a stack pipeline
            stubs.cp.add_response("get_pipeline_state", foreign_state(name), {"name": name})
            continue
        stubs.get_pipeline_state(name)
        stubs.list_pipeline_executions(name, 1)
        stubs.get_pipeline_execution(name, 1)
    result = run(["status", "--root", str(repo), "--format", "json"], aws=stubs.aws)
    stubs.verify()  # no call at all for acmeprod's pipelines
    assert result.exit_code == 0, result.error
    rows = {p["folder"]: p for p in json.loads(result.stdout)["pipelines"]}
    assert sorted(rows) == ["database", "legacy", "network", "removed"]
    assert rows["removed"]["note"] == "stack removed from stacks/"
    assert rows["legacy"]["note"] == "no pipeline yet"


def test_the_other_project_sees_only_its_own(stubs, tmp_path: Path, run):
    root = write_repo(tmp_path / "prod", folders=("network", "web"))
    config = root / "pipelines" / "config.yaml"
    config.write_text(config.read_text().replace("project: acme\n", "project: acmeprod\n"))
    stub_listing(stubs, ACCOUNT_PIPELINES)
    for name in ("acmeprod-database", "acmeprod-network", "acmeprod-web"):
        stubs.get_pipeline_state(name)
        stubs.list_pipeline_executions(name, 1)
        stubs.get_pipeline_execution(name, 1)
    result = run(["status", "--root", str(root), "--format", "json"], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    data = json.loads(result.stdout)
    assert data["project"] == "acmeprod"
    assert [(p["folder"], p["pipeline"], p["note"]) for p in data["pipelines"]] == [
        ("database", "acmeprod-database", "stack removed from stacks/"),
        ("network", "acmeprod-network", None), ("web", "acmeprod-web", None)]
