"""Two approvals for high-risk changes (issue 11, item 4): the waiver and the check of who approved.

moto 5.2 has neither GetPipelineState, ListActionExecutions nor PutApprovalResult: botocore's Stubber
serves them, checking every request against botocore's model and every response against the output
shape (updatedBy, externalExecutionSummary, the approval token where GetPipelineState puts it).
"""

from __future__ import annotations

import datetime as dt

import pytest
from changesets import CHANGE_SET, STACK, response
from test_steps import CHECK, EXECUTION, PIPELINE, Clients, stack

from review import approvals, steps
from review.approvals import Approval, ApprovalError, check_approvals

ROLE = "acme-changegate-steps"
ADA = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Approver_0123/ada@example.com"
BOB = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Approver_0123/bob@example.com"
FUNCTION = f"arn:aws:sts::123456789012:assumed-role/{ROLE}/{ROLE}"
T0 = dt.datetime(2026, 12, 2, 6, 0, tzinfo=dt.timezone.utc)
WAIVE = {"Step": "waive", "PipelineName": PIPELINE, "ExecutionId": EXECUTION, "Approvals": "risk"}


def both(first: str, second: str, *, second_status: str = "Succeeded") -> dict[str, Approval]:
    return {"Approve": Approval("Approve", "Succeeded", first, "looks right"),
            "SecondApproval": Approval("SecondApproval", second_status, second, "ok")}


# ---- the rule ----

def test_low_and_medium_risk_need_one_approval() -> None:
    for risk in ("low", "medium"):
        assert "one approval is enough" in check_approvals(
            both(ADA, FUNCTION), first="Approve", second="SecondApproval", risk=risk, requirement="risk",
            function_role=ROLE)


def test_high_risk_needs_two_different_people() -> None:
    checked = check_approvals(both(ADA, BOB), first="Approve", second="SecondApproval", risk="high",
                              requirement="risk", function_role=ROLE)
    assert checked == f"risk high: approved by {ADA} and {BOB}"


@pytest.mark.parametrize(("approved", "says"), [
    (both(ADA, ADA), f"both approvals come from the same identity {ADA}"),
    (both(ADA, FUNCTION), "SecondApproval was waived by changegate, not approved by a person"),
    (both(ADA, BOB, second_status="Failed"), "SecondApproval is not approved (Failed)"),
    ({"Approve": Approval("Approve", "Succeeded", ADA, "")}, "SecondApproval is not approved (no record)"),
])
def test_high_risk_refuses_one_person_or_the_function(approved: dict, says: str) -> None:
    with pytest.raises(ApprovalError, match="risk high: two approvals by different people are needed") as err:
        check_approvals(approved, first="Approve", second="SecondApproval", risk="high", requirement="risk",
                        function_role=ROLE)
    assert says in str(err.value)


def test_a_stack_may_require_two_approvals_always() -> None:
    with pytest.raises(ApprovalError, match="the stack requires two approvals"):
        check_approvals(both(ADA, FUNCTION), first="Approve", second="SecondApproval", risk="low",
                        requirement="always", function_role=ROLE)


# ---- neither approver is the commit's author, where the author is known ----

ADA_USER = "arn:aws:iam::123456789012:user/engineers/ada"


@pytest.mark.parametrize("author", ["Ada Lovelace <ada@example.com>", "ADA@Example.com",
                                    "Ada <Ada@example.com>"])
@pytest.mark.parametrize("approver", [ADA, ADA_USER])
def test_the_commits_author_cannot_be_one_of_two_approvers(author: str, approver: str) -> None:
    with pytest.raises(ApprovalError) as err:
        check_approvals(both(approver, BOB), first="Approve", second="SecondApproval", risk="high",
                        requirement="risk", function_role=ROLE, author=author)
    assert f"Approve was approved by {approver}, the commit's author ({author})" in str(err.value)
    assert "ask someone else to approve" in str(err.value)


@pytest.mark.parametrize("author", [None, "", "unknown", "-", "Ada Lovelace", "Carol <carol@example.com>",
                                    "Adam <adam@example.com>"])
def test_two_people_pass_when_neither_is_the_known_author(author: str | None) -> None:
    # no email (unknown author), or an author who is neither approver: "ada" is not "adam"
    checked = check_approvals(both(ADA, BOB), first="Approve", second="SecondApproval", risk="high",
                              requirement="risk", function_role=ROLE, author=author)
    assert checked == f"risk high: approved by {ADA} and {BOB}"


def test_one_approval_may_come_from_the_author_when_one_is_enough() -> None:
    # the issue asks it of changes that need two approvals; a low-risk change needs one
    assert "one approval is enough" in check_approvals(
        both(ADA, FUNCTION), first="Approve", second="SecondApproval", risk="low", requirement="risk",
        function_role=ROLE, author="Ada <ada@example.com>")


def test_author_email_and_identity_names() -> None:
    assert approvals.author_email("Ada Lovelace <Ada@Example.com>") == "ada@example.com"
    assert approvals.author_email("Ada Lovelace") is None
    assert approvals.is_author(ADA, "x <ada@example.com>")
    assert not approvals.is_author("arn:aws:iam::123456789012:root", "root <root@example.com>")


# ---- the check step reads the approvals of its own execution ----

def _detail(action: str, status: str, by: str, when: dt.datetime, summary: str = "ok") -> dict:
    return {"pipelineExecutionId": EXECUTION, "actionExecutionId": f"{action}-{when.minute}",
            "stageName": "Change", "actionName": action, "startTime": T0, "lastUpdateTime": when,
            "updatedBy": by, "status": status,
            "output": {"executionResult": {"externalExecutionSummary": summary}}}


CHECK_HIGH = CHECK | {"PipelineName": PIPELINE, "ExecutionId": EXECUTION, "RiskTier": "high",
                      "Approvals": "risk", "FunctionRole": ROLE}


def _fresh(c: Clients) -> None:
    c.cfn_stub.add_response("describe_change_set", response([]),
                            {"StackName": STACK, "ChangeSetName": CHANGE_SET})
    c.stacks(stack())


def _listing(c: Clients, details: list[dict]) -> None:
    c.cp_stub.add_response("list_action_executions", {"actionExecutionDetails": details},
                           {"pipelineName": PIPELINE, "filter": {"pipelineExecutionId": EXECUTION}})


def test_the_check_passes_a_high_risk_change_two_people_approved() -> None:
    c = Clients()
    _fresh(c)
    _listing(c, [_detail("SecondApproval", "Succeeded", BOB, T0 + dt.timedelta(minutes=9)),
                 _detail("Approve", "Succeeded", ADA, T0 + dt.timedelta(minutes=5)),
                 _detail("Review", "Succeeded", FUNCTION, T0)])
    c.success()
    assert c.run(CHECK_HIGH).message.endswith(f"risk high: approved by {ADA} and {BOB}")


def test_the_check_refuses_the_same_person_twice() -> None:
    c = Clients()
    _fresh(c)
    _listing(c, [_detail("SecondApproval", "Succeeded", ADA, T0 + dt.timedelta(minutes=9)),
                 _detail("Approve", "Succeeded", ADA, T0 + dt.timedelta(minutes=5))])
    message = c.failure_message(CHECK_HIGH)
    assert message.startswith("refused: risk high") and "same identity" in message


def test_the_check_reads_every_page_and_keeps_the_newest_record_of_an_action() -> None:
    c = Clients()
    _fresh(c)
    c.cp_stub.add_response("list_action_executions", {
        "actionExecutionDetails": [_detail("SecondApproval", "Succeeded", BOB,
                                           T0 + dt.timedelta(minutes=9))],
        "nextToken": "p2"}, {"pipelineName": PIPELINE, "filter": {"pipelineExecutionId": EXECUTION}})
    c.cp_stub.add_response("list_action_executions", {"actionExecutionDetails": [
        _detail("SecondApproval", "Failed", ADA, T0 + dt.timedelta(minutes=2)),
        _detail("Approve", "Succeeded", ADA, T0 + dt.timedelta(minutes=5))]},
        {"pipelineName": PIPELINE, "filter": {"pipelineExecutionId": EXECUTION}, "nextToken": "p2"})
    c.success()
    assert "approved by" in c.run(CHECK_HIGH).message


# ---- the waiver ----

def _state(execution: str = EXECUTION, status: str = "InProgress", token: str | None = "tok-123") -> dict:
    latest: dict = {"status": status}
    if token:
        latest["token"] = token
    return {"pipelineName": PIPELINE, "pipelineVersion": 3, "stageStates": [
        {"stageName": "Source", "latestExecution": {"pipelineExecutionId": execution, "status": "Succeeded"},
         "actionStates": [{"actionName": "Source", "latestExecution": {"status": "Succeeded"}}]},
        {"stageName": "Change", "latestExecution": {"pipelineExecutionId": execution, "status": "InProgress"},
         "actionStates": [{"actionName": "Approve",
                           "latestExecution": {"status": "InProgress", "token": "t1"}},
                          {"actionName": "SecondApproval", "latestExecution": latest}]}]}


def test_a_low_risk_change_has_its_second_approval_waived() -> None:
    c = Clients()
    c.cp_stub.add_response("get_pipeline_state", _state(), {"name": PIPELINE})
    c.cp_stub.add_response("put_approval_result", {"approvedAt": T0}, {
        "pipelineName": PIPELINE, "stageName": "Change", "actionName": "SecondApproval", "token": "tok-123",
        "result": {"status": "Approved",
                   "summary": "Not required: risk low, one approval is enough (changegate)"}})
    c.success()
    assert c.run(WAIVE | {"RiskTier": "low"}).message == "risk low: SecondApproval waived"


def test_a_high_risk_change_leaves_the_second_approval_to_a_person() -> None:
    c = Clients()
    c.success()  # no GetPipelineState, no PutApprovalResult: the Stubber fails on any other call
    assert "needs a second person" in c.run(WAIVE | {"RiskTier": "high"}).message
    c = Clients()
    c.success()
    result = c.run(WAIVE | {"RiskTier": "low", "Approvals": "always"})
    assert "the stack requires two approvals" in result.message


def test_the_waiver_waits_with_a_continuation_token_until_its_own_approval_opens() -> None:
    c = Clients()
    c.cp_stub.add_response("get_pipeline_state", _state(execution="00000000-0000-4000-8000-000000000000"),
                           {"name": PIPELINE})
    c.cp_stub.add_response("put_job_success_result", {}, {"jobId": "22222222-abcd-2222-abcd-222222abcdef",
                                                          "continuationToken": "1"})
    result = c.run(WAIVE | {"RiskTier": "medium"})
    assert result.continuation == "1"


def test_an_approval_someone_already_decided_is_left_alone() -> None:
    c = Clients()
    c.cp_stub.add_response("get_pipeline_state", _state(), {"name": PIPELINE})
    c.cp_stub.add_client_error("put_approval_result", "ApprovalAlreadyCompletedException", "already approved")
    c.success()
    assert "already decided" in c.run(WAIVE | {"RiskTier": "low"}).message


def test_names_agree_with_the_generator() -> None:
    from generator import naming

    assert (steps.CHANGE_STAGE, steps.APPROVE_ACTION, steps.SECOND_APPROVAL_ACTION) == (
        naming.CHANGE_STAGE, naming.APPROVE_ACTION, naming.SECOND_APPROVAL_ACTION)
    assert approvals.REQUIREMENTS == ("risk", "always")


def test_a_second_approval_a_person_already_gave_is_not_waited_for() -> None:
    c = Clients()
    c.cp_stub.add_response("get_pipeline_state", _state(status="Succeeded", token=None), {"name": PIPELINE})
    c.success()
    assert c.run(WAIVE | {"RiskTier": "low"}).message == "SecondApproval was already decided (Succeeded)"
