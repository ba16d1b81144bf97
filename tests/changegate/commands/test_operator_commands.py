"""status, changes, approve, reject and stop through the CLI, with Stubber's CodePipeline and
CloudFormation (moto has no GetPipelineState, PutApprovalResult, StopPipelineExecution,
ListActionExecutions)."""

from __future__ import annotations

import json
from datetime import timedelta

from cg_stubs import NOW, token_for, uuid_for

from generator.naming import APPROVE_ACTION, CHANGE_STAGE, EXECUTE_ACTION

PIPELINE = "acme-network"
CHANGE_SET = f"acme-{uuid_for(7)}"


def stub_listing(stubs, names):
    stubs.cp.add_response("list_pipelines", {"pipelines": [
        {"name": n, "version": 1, "pipelineType": "V2", "executionMode": "QUEUED",
         "created": NOW - timedelta(days=9), "updated": NOW - timedelta(days=9)} for n in names]}, {})


def stub_pending(stubs, n=7, pipeline=PIPELINE, stack="acme-network"):
    stubs.get_pipeline_state(pipeline, pending=n)
    stubs.list_action_executions(pipeline, n, stack)
    stubs.review_change_set(stack, f"acme-{uuid_for(n)}")
    stubs.get_pipeline_execution(pipeline, n)


def stub_status(stubs):
    # database: idle; legacy (adopted stack LegacyNetwork): failed; network: approval pending;
    # removed: pipeline without a stack folder; there is no pipeline for "legacy"... yet it exists here
    stub_listing(stubs, ["acme-database", "acme-network", "acme-removed", "acme-sync", "other-app"])
    stubs.get_pipeline_state("acme-database")
    stubs.list_pipeline_executions("acme-database", 1)
    stubs.get_pipeline_execution("acme-database", 1)
    stubs.get_pipeline_state(PIPELINE, pending=7)
    stubs.list_pipeline_executions(PIPELINE, 7, status="InProgress")
    stubs.get_pipeline_execution(PIPELINE, 7)
    stubs.list_action_executions(PIPELINE, 7, "acme-network")
    stubs.describe_change_set("acme-network", CHANGE_SET)
    stubs.get_pipeline_state("acme-removed", failed=4)
    stubs.list_pipeline_executions("acme-removed", 4, status="Failed")
    stubs.get_pipeline_execution("acme-removed", 4)


def test_status_table(stubs, repo, run):
    stub_status(stubs)
    result = run(["status", "--root", str(repo)], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    lines = result.stdout.splitlines()
    assert lines[0].startswith("acme: 4 stacks; 1 pending approval, 1 failed, 1 in progress")
    assert lines[1].split() == ["STACK", "STATE", "WHERE", "PENDING", "APPROVAL", "LAST", "START", "LAST",
                                "END", "COMMIT", "OBJECT", "VERSION", "NOTE"]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert set(rows) == {"acme-database", "LegacyNetwork", "acme-network", "acme-removed"}
    assert "2h03m: +1 ~2 -0 replaces 2" in rows["acme-network"]
    assert "Change/Approve" in rows["acme-network"] and "9fceb02d" in rows["acme-network"]
    assert "no pipeline yet" in rows["LegacyNetwork"]
    assert "Failed" in rows["acme-removed"] and "stack removed from stacks/" in rows["acme-removed"]
    # the table is aligned: every column starts at the same offset on every row
    column = lines[1].index("WHERE")
    assert all(line[column - 2:column] == "  " for line in lines[2:])


def test_status_json(stubs, repo, run):
    stub_status(stubs)
    result = run(["status", "--root", str(repo), "--format", "json"], aws=stubs.aws)
    data = json.loads(result.stdout)
    assert data["totals"] == {"stacks": 4, "pending_approvals": 1, "failed": 1, "in_progress": 1}
    network = next(p for p in data["pipelines"] if p["folder"] == "network")
    assert network["pending_approval"]["execution_id"] == uuid_for(7)
    assert network["pending_approval"]["change_set"] == CHANGE_SET
    assert network["pending_approval"]["summary"]["replacements"] == 1
    assert network["last_execution"]["object_version"] == "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"


def test_status_watch_refreshes_until_interrupted(stubs, repo, run):
    stub_status(stubs)
    stub_status(stubs)
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        if len(slept) == 2:
            raise KeyboardInterrupt

    result = run(["status", "--root", str(repo), "--watch", "--interval", "10"], aws=stubs.aws, sleep=sleep)
    stubs.verify()
    assert result.exit_code == 0 and slept == [10, 10]
    assert result.stdout.count("acme: 4 stacks") == 2


def test_changes_shows_each_resource_change(stubs, repo, run):
    stub_pending(stubs)
    result = run(["changes", "network", "--root", str(repo)], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    out = result.stdout
    assert f"execution {uuid_for(7)}" in out
    assert "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 by Ada Lovelace: Widen the VPC CIDR" in out
    assert "1 to add, 2 to modify, 0 to remove; REPLACES 1 (+1 conditionally)" in out
    assert out.splitlines()[-1].startswith("Console: https://console.aws.amazon.com/cloudformation/home"
                                           "?region=us-east-1#/stacks/changesets/changes?stackId=arn%3Aaws")
    table = out.split("\nReview (")[0]  # the change set's table, before the review's own lines
    row = {line.split()[1]: line.split() for line in table.splitlines() if line.startswith("  ") and
           line.split()[0] in ("Add", "Modify")}
    assert row["Vpc"][:5] == ["Modify", "Vpc", "AWS::EC2::VPC", "True", "Properties.CidrBlock"]
    assert row["Subnet"][3:] == ["Conditional", "Properties.VpcId,", "Tags"]
    assert row["FlowLogs"][:4] == ["Add", "FlowLogs", "AWS::EC2::FlowLog", "-"]


def test_changes_accepts_the_stack_name_and_says_when_nothing_is_pending(stubs, repo, run):
    stubs.get_pipeline_state(PIPELINE)
    result = run(["changes", "acme-network", "--root", str(repo)], aws=stubs.aws)
    assert result.exit_code == 3
    assert result.error == "no approval is pending on pipeline acme-network"


def test_approve_after_confirmation(stubs, repo, run):
    stub_pending(stubs)
    stubs.get_pipeline_state(PIPELINE, pending=7)
    stubs.cp.add_response("put_approval_result", {"approvedAt": NOW}, {
        "pipelineName": PIPELINE, "stageName": CHANGE_STAGE, "actionName": APPROVE_ACTION,
        "result": {"summary": "CIDR change agreed in CHG-42", "status": "Approved"}, "token": token_for(7)})
    result = run(["approve", "network", "--root", str(repo), "--comment", "CIDR change agreed in CHG-42"],
                 aws=stubs.aws, input="y\n")
    stubs.verify()
    assert result.exit_code == 0, result.error
    assert "REPLACES 1" in result.stdout  # the change set was shown before the question
    assert f"Approve change set {CHANGE_SET} on acme-network? [y/N]" in result.stderr
    assert f"Approved: execution {uuid_for(7)} of acme-network" in result.stdout


def test_approve_declined_sends_nothing(stubs, repo, run):
    stub_pending(stubs)
    result = run(["approve", "network", "--root", str(repo)], aws=stubs.aws, input="n\n")
    stubs.verify()  # no second state read, no PutApprovalResult
    assert result.exit_code == 1 and "Nothing was done." in result.stderr


def test_approve_refuses_a_race(stubs, repo, run):
    stub_pending(stubs, n=7)
    stubs.get_pipeline_state(PIPELINE, pending=8)
    result = run(["approve", "network", "--root", str(repo), "--yes"], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 4
    assert f"execution {uuid_for(8)} now waits, not {uuid_for(7)}" in result.error


def test_reject_with_yes_and_json(stubs, repo, run):
    stub_pending(stubs)
    stubs.get_pipeline_state(PIPELINE, pending=7)
    stubs.cp.add_response("put_approval_result", {"approvedAt": NOW}, {
        "pipelineName": PIPELINE, "stageName": CHANGE_STAGE, "actionName": APPROVE_ACTION,
        "result": {"summary": f"Rejected with changegate after reviewing change set {CHANGE_SET}",
                   "status": "Rejected"}, "token": token_for(7)})
    result = run(["reject", "network", "--root", str(repo), "--yes", "--format", "json"], aws=stubs.aws)
    stubs.verify()
    data = json.loads(result.stdout)  # the change set went to stderr: stdout is one JSON document
    assert data["result"] == "rejected" and data["execution_id"] == uuid_for(7)
    assert "REPLACES 1" in result.stderr


def test_approve_of_an_adopted_stack_reads_its_own_stack(stubs, repo, run):
    stub_pending(stubs, pipeline="acme-legacy", stack="LegacyNetwork")
    result = run(["changes", "LegacyNetwork", "--root", str(repo)], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    assert "on stack LegacyNetwork" in result.stdout


def test_stop_the_running_execution(stubs, repo, run):
    stubs.get_pipeline_state(PIPELINE, running=5, running_action=EXECUTE_ACTION)
    stubs.cp.add_response("stop_pipeline_execution", {"pipelineExecutionId": uuid_for(5)}, {
        "pipelineName": PIPELINE, "pipelineExecutionId": uuid_for(5), "abandon": True,
        "reason": "wrong commit"})
    result = run(["stop", "network", "--root", str(repo), "--abandon", "--reason", "wrong commit", "--yes"],
                 aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    assert result.stdout.strip() == f"Abandoning execution {uuid_for(5)} of acme-network."


def test_stop_asks_which_when_several_run(stubs, repo, run):
    stubs.get_pipeline_state(PIPELINE, pending=7, queued=(8,))
    result = run(["stop", "network", "--root", str(repo), "--yes"], aws=stubs.aws)
    assert result.exit_code == 2
    assert "2 executions are in progress" in result.error and "--execution ID" in result.error
    stubs.get_pipeline_state(PIPELINE, pending=7, queued=(8,))
    stubs.cp.add_response("stop_pipeline_execution", {"pipelineExecutionId": uuid_for(8)}, {
        "pipelineName": PIPELINE, "pipelineExecutionId": uuid_for(8), "abandon": False,
        "reason": "Stopped with changegate stop"})
    result = run(["stop", "network", "--root", str(repo), "--yes", "--execution", uuid_for(8)],
                 aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error


def test_stop_with_nothing_running(stubs, repo, run):
    stubs.get_pipeline_state(PIPELINE)
    result = run(["stop", "network", "--root", str(repo), "--yes"], aws=stubs.aws)
    assert result.exit_code == 2 and "nothing is running on pipeline acme-network" in result.error


def test_stop_denied_names_action_and_execution(stubs, repo, run):
    stubs.get_pipeline_state(PIPELINE, running=5)
    stubs.cp.add_client_error("stop_pipeline_execution", "AccessDeniedException", "not authorized",
                              http_status_code=400)
    result = run(["stop", "network", "--root", str(repo), "--yes"], aws=stubs.aws)
    assert result.exit_code == 1
    assert result.error.startswith(f"AccessDenied: codepipeline:StopPipelineExecution on pipeline "
                                   f"acme-network execution {uuid_for(5)}")


def test_stop_not_stoppable(stubs, repo, run):
    stubs.get_pipeline_state(PIPELINE, running=5)
    stubs.cp.add_client_error("stop_pipeline_execution", "PipelineExecutionNotStoppableException",
                              "Unable to stop pipeline execution", http_status_code=400)
    result = run(["stop", "network", "--root", str(repo), "--yes"], aws=stubs.aws)
    assert result.exit_code == 1 and "cannot be stopped now" in result.error
