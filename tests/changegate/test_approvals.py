"""Approve/reject against Stubber: AWS's shapes for GetPipelineState, ListActionExecutions,
GetPipelineExecution, DescribeChangeSet and PutApprovalResult (moto has no approvals)."""

from __future__ import annotations

import pytest
from cg_stubs import ACCOUNT, NOW, token_for, uuid_for

from changegate.approvals import ApprovalRaceError, NothingPendingError, decide, read_request
from changegate.origin import sync_identity
from generator.errors import AwsError
from generator.naming import APPROVE_ACTION, CHANGE_STAGE, EXECUTE_ACTION, PLAN_ACTION

PIPELINE, STACK = "acme-network", "acme-network"
SYNC = sync_identity("acme", ACCOUNT)


def pending_request(stubs, n: int = 7):
    stubs.get_pipeline_state(PIPELINE, pending=n)
    stubs.list_action_executions(PIPELINE, n, STACK)
    stubs.review_change_set(STACK, f"acme-{uuid_for(n)}")
    stubs.get_pipeline_execution(PIPELINE, n)
    return read_request(stubs.codepipeline, stubs.cloudformation, stubs.s3, project="acme",
                        pipeline=PIPELINE, stack=STACK, sync=SYNC)


def test_read_request_binds_the_execution_its_change_set_and_commit(stubs):
    request = pending_request(stubs)
    stubs.verify()
    assert request.pending.execution_id == uuid_for(7)
    assert request.pending.token == token_for(7)
    assert (request.pending.stage, request.pending.action) == (CHANGE_STAGE, APPROVE_ACTION)
    assert request.pending.since == NOW.replace(hour=9, minute=57)
    assert request.change_set.name == f"acme-{uuid_for(7)}"
    assert request.commit == "9fceb02d0ae598e95dc970b74767f19372d61af8"
    assert request.author == "Ada Lovelace"
    summary = request.change_set.summary
    assert (summary.adds, summary.modifies, summary.removes) == (1, 2, 0)
    assert (summary.replacements, summary.conditional_replacements) == (1, 1)
    subnet = next(c for c in request.change_set.changes if c.logical_id == "Subnet")
    assert subnet.properties == ("Properties.VpcId", "Tags")


def test_nothing_pending_is_refused(stubs):
    stubs.get_pipeline_state(PIPELINE, running=3, running_action=PLAN_ACTION)
    with pytest.raises(NothingPendingError, match="no approval is pending on pipeline acme-network "
                                                  r"\(it is at Change/CreateChangeSet: InProgress\)"):
        read_request(stubs.codepipeline, stubs.cloudformation, stubs.s3, project="acme", pipeline=PIPELINE,
                     stack=STACK, sync=SYNC)


def test_approve_sends_exactly_the_token_of_the_execution_shown(stubs):
    request = pending_request(stubs)
    stubs.get_pipeline_state(PIPELINE, pending=7)  # re-read right before deciding: unchanged
    stubs.cp.add_response("put_approval_result", {"approvedAt": NOW}, {
        "pipelineName": PIPELINE, "stageName": CHANGE_STAGE, "actionName": APPROVE_ACTION,
        "result": {"summary": "looks right", "status": "Approved"}, "token": token_for(7)})
    assert decide(stubs.codepipeline, request, approve=True, summary="looks right") == NOW
    stubs.verify()


def test_reject_sends_rejected(stubs):
    request = pending_request(stubs)
    stubs.get_pipeline_state(PIPELINE, pending=7)
    stubs.cp.add_response("put_approval_result", {"approvedAt": NOW}, {
        "pipelineName": PIPELINE, "stageName": CHANGE_STAGE, "actionName": APPROVE_ACTION,
        "result": {"summary": "replaces the VPC", "status": "Rejected"}, "token": token_for(7)})
    decide(stubs.codepipeline, request, approve=False, summary="replaces the VPC")
    stubs.verify()


def test_a_newer_execution_racing_in_is_refused_and_nothing_is_sent(stubs):
    request = pending_request(stubs, n=7)
    # meanwhile someone approved 7 in the console and execution 8 reached the approval
    stubs.get_pipeline_state(PIPELINE, pending=8)
    with pytest.raises(ApprovalRaceError, match=f"execution {uuid_for(8)} now waits, not {uuid_for(7)}"):
        decide(stubs.codepipeline, request, approve=True, summary="ok")
    stubs.verify()  # no PutApprovalResult was queued, and none was called (Stubber would fail)


def test_an_approval_decided_meanwhile_is_refused(stubs):
    request = pending_request(stubs)
    stubs.get_pipeline_state(PIPELINE, running=7, running_action=EXECUTE_ACTION)
    with pytest.raises(ApprovalRaceError, match="no longer pending"):
        decide(stubs.codepipeline, request, approve=False, summary="no")


def test_a_token_already_used_is_reported_as_a_race(stubs):
    request = pending_request(stubs)
    stubs.get_pipeline_state(PIPELINE, pending=7)
    stubs.cp.add_client_error("put_approval_result", "ApprovalAlreadyCompletedException",
                              "The approval action has already been completed", http_status_code=400)
    with pytest.raises(ApprovalRaceError, match="ApprovalAlreadyCompletedException"):
        decide(stubs.codepipeline, request, approve=True, summary="ok")


def test_a_denied_approval_names_the_action_and_the_pipeline(stubs):
    request = pending_request(stubs)
    stubs.get_pipeline_state(PIPELINE, pending=7)
    stubs.cp.add_client_error(
        "put_approval_result", "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/Dev/x is not authorized to perform: "
        "codepipeline:PutApprovalResult", http_status_code=400)
    with pytest.raises(AwsError, match=r"^AccessDenied: codepipeline:PutApprovalResult on pipeline "
                                       r"acme-network action Change/Approve is not allowed"):
        decide(stubs.codepipeline, request, approve=True, summary="ok")


def test_the_change_set_name_falls_back_to_the_convention(stubs):
    stubs.get_pipeline_state(PIPELINE, pending=7)
    stubs.cp.add_response("list_action_executions", {"actionExecutionDetails": []},
                          {"pipelineName": PIPELINE, "filter": {"pipelineExecutionId": uuid_for(7)}})
    stubs.review_change_set(STACK, f"acme-{uuid_for(7)}")
    stubs.get_pipeline_execution(PIPELINE, 7)
    request = read_request(stubs.codepipeline, stubs.cloudformation, stubs.s3, project="acme",
                           pipeline=PIPELINE, stack=STACK, sync=SYNC)
    assert request.change_set.name == f"acme-{uuid_for(7)}"


def test_the_console_link_uses_the_partitions_host_and_the_arns(stubs):
    """F16: ARNs (not names) in the link, and the console host of the change set's partition."""
    from changegate.changesets import ChangeSet

    request = pending_request(stubs)
    assert request.change_set.console_url == (
        "https://console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/changesets/changes"
        "?stackId=arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack%2Facme-network%2Fdef"
        f"&changeSetId=arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3AchangeSet%2Facme-{uuid_for(7)}"
        "%2Fabc")

    def link(partition: str, region: str) -> str | None:
        arn = f"arn:{partition}:cloudformation:{region}:123456789012"
        return ChangeSet("s", "c", f"{arn}:changeSet/c/1", "CREATE_COMPLETE", "AVAILABLE",
                         stack_id=f"{arn}:stack/s/2").console_url

    assert link("aws-cn", "cn-north-1").startswith("https://console.amazonaws.cn/cloudformation/home"
                                                   "?region=cn-north-1#")
    assert link("aws-us-gov", "us-gov-west-1").startswith("https://console.amazonaws-us-gov.com/")
    assert link("aws-iso", "us-iso-east-1") is None  # no public console host known: no link
