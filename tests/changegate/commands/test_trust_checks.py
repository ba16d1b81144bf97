"""changes, approve and reject show what the sync wrote and refuse to approve what it did not start
(issue 10, item 5; decision 12). CodePipeline through Stubber in botocore's shapes (moto has no
GetPipelineState, ListActionExecutions or PutApprovalResult), the source bucket through moto S3."""

from __future__ import annotations

import json

from cg_stubs import ACCOUNT, COMMIT, NOW, token_for, uuid_for

from changegate.commands.approve import FORCED_MARK
from generator.naming import APPROVE_ACTION, CHANGE_STAGE

PIPELINE = STACK = "acme-network"
FORGED = "1111111111111111111111111111111111111111"
MALLORY = f"arn:aws:sts::{ACCOUNT}:assumed-role/PowerUser/mallory"


def stub_pending(stubs, *, commit=COMMIT, metadata=None, trigger=None, n=7):
    """Execution n waits for approval; its variables claim ``commit``; its object version holds
    ``metadata`` (default: what the sync writes, commit COMMIT)."""
    stubs.get_pipeline_state(PIPELINE, pending=n)
    stubs.list_action_executions(PIPELINE, n, STACK, metadata=metadata)
    stubs.review_change_set(STACK, f"acme-{uuid_for(n)}")
    stubs.get_pipeline_execution(PIPELINE, n, commit=commit, trigger=trigger)


def stub_decision(stubs, summary, status="Approved", n=7):
    stubs.get_pipeline_state(PIPELINE, pending=n)
    stubs.cp.add_response("put_approval_result", {"approvedAt": NOW}, {
        "pipelineName": PIPELINE, "stageName": CHANGE_STAGE, "actionName": APPROVE_ACTION,
        "result": {"summary": summary, "status": status}, "token": token_for(n)})


def test_changes_shows_the_commit_the_sync_wrote_and_where_it_was_read(stubs, repo, run):
    stub_pending(stubs)
    result = run(["changes", "network", "--root", str(repo)], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    assert "WARNING" not in result.stdout
    assert f"commit {COMMIT} by Ada Lovelace: Widen the VPC CIDR" in result.stdout
    assert "; commit from object metadata; author, subject from pipeline variables set by the sync; " \
           "started by the sync" in result.stdout


def test_changes_warns_about_forged_variables_and_shows_the_objects_commit(stubs, repo, run):
    stub_pending(stubs, commit=FORGED)
    result = run(["changes", "network", "--root", str(repo)], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    lines = result.stdout.splitlines()
    assert lines[0] == "WARNING: the origin of this change cannot be trusted:"
    assert lines[1] == (f"  - pipeline variable CommitId says '{FORGED}' but the object version says "
                        f"'{COMMIT}': the variables were not set by the sync")
    assert lines[2] == "  approve refuses it without --force; reject is always possible."
    assert f"commit {COMMIT} by Ada Lovelace" in result.stdout and f"commit {FORGED}" not in result.stdout
    assert "author, subject from pipeline variables, UNTRUSTED" in result.stdout


def test_changes_json_carries_the_verdict_and_warns_on_stderr(stubs, repo, run):
    stub_pending(stubs, trigger={"triggerType": "StartPipelineExecution", "triggerDetail": MALLORY})
    result = run(["changes", "network", "--root", str(repo), "--format", "json"], aws=stubs.aws)
    data = json.loads(result.stdout)
    assert data["trusted"] is False and data["commit"] == COMMIT
    assert data["origin"]["started_by_sync"] is False
    assert data["origin"]["trigger"] == {"type": "StartPipelineExecution", "detail": MALLORY}
    assert data["origin"]["provenance"]["commit"] == "object metadata"
    assert data["object_version"] == data["origin"]["object_version"] is not None
    assert "not started by the sync" in result.stderr


def test_approve_refuses_a_run_someone_else_started(stubs, repo, run):
    stub_pending(stubs, trigger={"triggerType": "StartPipelineExecution", "triggerDetail": MALLORY})
    result = run(["approve", "network", "--root", str(repo), "--yes"], aws=stubs.aws)
    stubs.verify()  # no second state read and no PutApprovalResult was queued: Stubber fails on any call
    assert result.exit_code == 5
    assert result.error.startswith(f"refusing to approve execution {uuid_for(7)} of acme-network: not "
                                   f"started by the sync: trigger StartPipelineExecution by {MALLORY}")
    assert result.error.endswith("Nothing was done. Reject it (always allowed), or approve with --force "
                                 "if you know where this change comes from")
    assert "WARNING: the origin of this change cannot be trusted:" in result.stdout


def test_approve_refuses_an_object_the_sync_did_not_write(stubs, repo, run):
    stub_pending(stubs, metadata={"uploaded-by": "console"})
    result = run(["approve", "network", "--root", str(repo), "--yes"], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 5
    assert "carries no changegate-commit metadata: the sync did not write it" in result.error


def test_approve_refuses_forged_variables_before_asking(stubs, repo, run):
    stub_pending(stubs, commit=FORGED)
    result = run(["approve", "network", "--root", str(repo)], aws=stubs.aws, input="y\n")
    stubs.verify()
    assert result.exit_code == 5 and "[y/N]" not in result.stderr


def test_approve_with_force_records_that_it_was_forced(stubs, repo, run):
    stub_pending(stubs, commit=FORGED)
    stub_decision(stubs, f"{FORCED_MARK} CHG-42: I checked the commit by hand")
    result = run(["approve", "network", "--root", str(repo), "--yes", "--force", "--format", "json",
                  "--comment", "CHG-42: I checked the commit by hand"], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    data = json.loads(result.stdout)
    assert data["result"] == "approved" and data["forced"] is True and data["trusted"] is False
    assert "WARNING" in result.stderr


def test_force_changes_nothing_for_a_trusted_run(stubs, repo, run):
    stub_pending(stubs)
    stub_decision(stubs, "ok")
    result = run(["approve", "network", "--root", str(repo), "--yes", "--force", "--comment", "ok"],
                 aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    assert result.stdout.splitlines()[-1].endswith(f"(Approve, change set acme-{uuid_for(7)}).")


def test_reject_stays_possible_for_a_suspicious_run(stubs, repo, run):
    stub_pending(stubs, trigger={"triggerType": "StartPipelineExecution", "triggerDetail": MALLORY})
    stub_decision(stubs, "not from the sync", status="Rejected")
    result = run(["reject", "network", "--root", str(repo), "--yes", "--comment", "not from the sync"],
                 aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    assert "WARNING: the origin of this change cannot be trusted:" in result.stdout
    assert f"Rejected: execution {uuid_for(7)} of acme-network" in result.stdout


def test_reject_has_no_force_option(stubs, repo, run):
    result = run(["reject", "--help"])
    assert "--force" not in result.stdout
    assert "--force" in run(["approve", "--help"]).stdout
