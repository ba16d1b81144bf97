"""changes/approve/reject show the pipeline's own review, and act on two approvals (issue 11, items 2
and 4, the approver's side).

CodePipeline's GetPipelineState, ListActionExecutions and PutApprovalResult are not in moto: Stubber
in botocore's real shapes (tests/changegate/cg_stubs.py), as are CloudFormation's DescribeChangeSet
(IncludePropertyValues, as review/changeset.py asks) and GetStackPolicy; the archive's metadata is
in moto's S3.
"""

from __future__ import annotations

import json

from cg_stubs import APPROVER_ARN, FUNCTION_ARN, NOW, OTHER_APPROVER_ARN, token_for, uuid_for

from changegate.reviewed import pipeline_review
from generator.naming import APPROVE_ACTION, CHANGE_STAGE, SECOND_APPROVAL_ACTION
from review.assess import assess
from review.changeset import read_change_set
from review.render import render_text
from review.validations import read_checks

PIPELINE = STACK = "acme-network"
CHANGE_SET = f"acme-{uuid_for(7)}"
BOTH = (APPROVE_ACTION, SECOND_APPROVAL_ACTION)
SECOND = (SECOND_APPROVAL_ACTION,)
BOB = "AWSReservedSSO_Approvers_0123456789abcdef/bob"
# A database replaced with its data deleted: high risk, two approvals.
DATABASE_REPLACED = [{"Type": "Resource", "ResourceChange": {
    "Action": "Modify", "LogicalResourceId": "Database", "PhysicalResourceId": "acme-db",
    "ResourceType": "AWS::RDS::DBInstance", "Replacement": "True", "PolicyAction": "ReplaceAndDelete",
    "Scope": ["Properties"],
    "Details": [{"Target": {"Attribute": "Properties", "Name": "Engine", "RequiresRecreation": "Always",
                            "Path": "/Properties/Engine", "AttributeChangeType": "Modify",
                            "BeforeValue": "postgres", "AfterValue": "mysql"},
                 "Evaluation": "Static", "ChangeSource": "DirectModification"}]}}]
# A stack policy that denies replacing the database: the review marks it "protected".
PROTECTING = {"Statement": [
    {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
    {"Effect": "Deny", "Action": "Update:Replace", "Principal": "*",
     "Resource": "LogicalResourceId/Database"}]}


def stub_pending(stubs, *, open_approvals=(APPROVE_ACTION,), approvals=None, review=None,
                 changes=None, policy=None):
    stubs.get_pipeline_state(PIPELINE, pending=7, open_approvals=open_approvals)
    stubs.list_action_executions(PIPELINE, 7, STACK, approvals=approvals, review=review)
    stubs.review_change_set(STACK, CHANGE_SET, changes=changes, policy=policy)
    stubs.get_pipeline_execution(PIPELINE, 7)


def stub_decision(stubs, action, *, open_approvals, status="Approved", summary="ok"):
    stubs.get_pipeline_state(PIPELINE, pending=7, open_approvals=open_approvals)
    stubs.cp.add_response("put_approval_result", {"approvedAt": NOW}, {
        "pipelineName": PIPELINE, "stageName": CHANGE_STAGE, "actionName": action,
        "result": {"summary": summary, "status": status}, "token": token_for(7, action)})


def judged_here(stubs, changes, policy=None):
    """The pipeline's code (review.changeset, review.assess) on this change set, called directly."""
    stubs.review_change_set(STACK, CHANGE_SET, changes=changes, policy=policy)
    view = read_change_set(stubs.cloudformation, STACK, CHANGE_SET)
    stubs.cloudformation.get_stack_policy(StackName=STACK)  # the stub's second response
    checks = read_checks(stubs.cloudformation, view.change_set_id)  # and its third
    return assess(view, policy=policy, account="123456789012", checks=checks)


def expected_review(stubs, changes, policy=None) -> str:
    """What the pipeline's code prints for this change set."""
    return render_text(judged_here(stubs, changes, policy))


# ---- item 2: the same review, produced by the same code ----

def test_changes_prints_the_review_the_pipelines_code_makes(stubs, repo, run):
    expected = expected_review(stubs, DATABASE_REPLACED, PROTECTING)
    stub_pending(stubs, open_approvals=BOTH, changes=DATABASE_REPLACED, policy=PROTECTING)
    result = run(["changes", "network", "--root", str(repo)], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    out = result.stdout
    # every line of render_text(assess(read_change_set(...))) is printed, in order
    block = [line.strip() for line in expected.splitlines()]
    printed = [line.strip() for line in out.splitlines()]
    start = printed.index(block[0])
    assert printed[start:start + len(block)] == block
    assert block[0].startswith("Risk HIGH")
    # the stack policy read with GetStackPolicy reached the judgement
    assert "protected" in expected and "protected" in out
    assert "the stack's current policy (GetStackPolicy)" in out
    # and what it printed before: origin, commit, console link
    assert "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 by Ada Lovelace" in out
    assert "started by the sync" in out
    assert out.splitlines()[-1].startswith("Console: https://console.aws.amazon.com/cloudformation/home")


def test_changes_json_carries_the_reviews_dict(stubs, repo, run):
    expected = judged_here(stubs, DATABASE_REPLACED)
    stub_pending(stubs, changes=DATABASE_REPLACED)
    result = run(["changes", "network", "--root", str(repo), "--format", "json"], aws=stubs.aws)
    assert result.exit_code == 0, result.error
    data = json.loads(result.stdout)
    assert data["review"] == json.loads(json.dumps(expected.to_dict()))
    assert data["review"]["risk"] == "high"
    assert data["stack_policy"] == "the stack has no stack policy"
    assert data["pipeline_review"] is None


def test_the_pipelines_own_review_is_shown_and_agreement_said(stubs, repo, run):
    ours = judged_here(stubs, DATABASE_REPLACED)
    stub_pending(stubs, changes=DATABASE_REPLACED,
                 review={"HasChanges": "true", "RiskTier": "high", "Summary": ours.summary_line(300)})
    result = run(["changes", "network", "--root", str(repo)], aws=stubs.aws)
    assert result.exit_code == 0, result.error
    assert f"The pipeline's Review action: risk high: {ours.summary_line(300)}" in result.stdout
    assert "(the same as this review)" in result.stdout
    assert "DIFFERS" not in result.stdout


def test_a_pipeline_review_that_differs_is_called_out(stubs, repo, run):
    stub_pending(stubs, changes=DATABASE_REPLACED,
                 review={"HasChanges": "true", "RiskTier": "medium", "Summary": "Risk MEDIUM: 1 modify"})
    result = run(["changes", "network", "--root", str(repo), "--format", "json"], aws=stubs.aws)
    assert result.exit_code == 0, result.error
    data = json.loads(result.stdout)
    assert data["pipeline_review"] == {"risk": "medium", "summary": "Risk MEDIUM: 1 modify"}
    assert data["differences"][0] == "risk: the pipeline said medium, this review says high"


def test_approve_shows_the_review_before_asking(stubs, repo, run):
    stub_pending(stubs, changes=DATABASE_REPLACED)
    result = run(["approve", "network", "--root", str(repo)], aws=stubs.aws, input="n\n")
    stubs.verify()  # nothing was sent
    assert result.exit_code == 1
    review_at = result.stdout.index("Risk HIGH: 1 modify")
    assert "DATA LOSS: Database replaced, data deleted (ReplaceAndDelete)" in result.stdout
    assert review_at >= 0 and "Approve change set" in result.stderr


def test_pipeline_review_reads_summary_budget_from_user_parameters():
    detail = {"stageName": CHANGE_STAGE, "actionName": "Review", "pipelineExecutionId": "e",
              "input": {"configuration": {"UserParameters": '{"Step": "review", "SummaryMax": "120"}'}},
              "output": {"outputVariables": {"RiskTier": "low", "Summary": "Risk LOW"}}}
    found = pipeline_review([detail], "e")
    assert (found.risk, found.summary, found.summary_max) == ("low", "Risk LOW", 120)
    assert pipeline_review([dict(detail, pipelineExecutionId="other")], "e") is None


# ---- item 4: two approvals, from the approver's side ----

def test_both_open_the_caller_decides_approve_first(stubs, repo, run):
    stub_pending(stubs, open_approvals=BOTH, changes=DATABASE_REPLACED)
    stub_decision(stubs, APPROVE_ACTION, open_approvals=BOTH)
    result = run(["approve", "network", "--root", str(repo), "--comment", "ok", "--yes"], aws=stubs.aws)
    stubs.verify()  # Stubber checked: action Approve, Approve's own token
    assert result.exit_code == 0, result.error
    assert "waiting for 2 approvals" in result.stdout
    assert "deciding Approve (1 of 2 approvals; SecondApproval stays open for another person)" \
        in result.stdout
    assert f"Approved: execution {uuid_for(7)} of acme-network (Approve, change set {CHANGE_SET})." \
        in result.stdout


def test_approve_taken_by_another_person_the_caller_decides_the_second(stubs, repo, run):
    decided = {APPROVE_ACTION: ("Succeeded", OTHER_APPROVER_ARN, "ok by bob")}
    stub_pending(stubs, open_approvals=SECOND, approvals=decided, changes=DATABASE_REPLACED)
    stub_decision(stubs, SECOND_APPROVAL_ACTION, open_approvals=(SECOND_APPROVAL_ACTION,))
    result = run(["approve", "network", "--root", str(repo), "--comment", "ok", "--yes"], aws=stubs.aws)
    stubs.verify()  # Stubber checked: action SecondApproval, its token
    assert result.exit_code == 0, result.error
    assert "1 of 2 approved (by AWSReservedSSO_Approvers_0123456789abcdef/bob)" in result.stdout
    assert f"deciding SecondApproval (Approve already approved by {BOB})" in result.stdout


def test_the_same_person_approving_twice_is_refused_before_anything_is_sent(stubs, repo, run):
    decided = {APPROVE_ACTION: ("Succeeded", APPROVER_ARN, "ok by alice")}
    stub_pending(stubs, open_approvals=SECOND, approvals=decided, changes=DATABASE_REPLACED)
    result = run(["approve", "network", "--root", str(repo), "--yes"], aws=stubs.aws)
    stubs.verify()  # no second GetPipelineState, no PutApprovalResult queued or called
    assert result.exit_code == 6
    assert result.error.startswith(f"you ({APPROVER_ARN}) already approved Approve of execution "
                                   f"{uuid_for(7)}; SecondApproval needs a different person. Nothing "
                                   "was done: the pipeline's CheckChangeSet refuses one person approving "
                                   "twice")


def test_the_same_person_may_still_reject_the_other(stubs, repo, run):
    decided = {APPROVE_ACTION: ("Succeeded", APPROVER_ARN, "ok by alice")}
    stub_pending(stubs, open_approvals=SECOND, approvals=decided, changes=DATABASE_REPLACED)
    stub_decision(stubs, SECOND_APPROVAL_ACTION, open_approvals=(SECOND_APPROVAL_ACTION,), status="Rejected",
                  summary="second thoughts")
    result = run(["reject", "network", "--root", str(repo), "--comment", "second thoughts", "--yes"],
                 aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error


def test_a_waived_second_approval_is_shown_and_approve_decides_the_first(stubs, repo, run):
    decided = {SECOND_APPROVAL_ACTION: ("Succeeded", FUNCTION_ARN,
                                        "Not required: risk low, one approval is enough (changegate)")}
    stub_pending(stubs, open_approvals=(APPROVE_ACTION,), approvals=decided,
                 review={"HasChanges": "true", "RiskTier": "low", "Summary": "Risk LOW: 1 modify"})
    stub_decision(stubs, APPROVE_ACTION, open_approvals=(APPROVE_ACTION,))
    result = run(["approve", "network", "--root", str(repo), "--comment", "ok", "--yes"], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    assert "second approval waived (risk low); waiting for 1 approval" in result.stdout
    assert "deciding Approve; the second approval was waived" in result.stdout


def test_the_second_approval_decided_meanwhile_is_a_race_not_a_wrong_decision(stubs, repo, run):
    decided = {APPROVE_ACTION: ("Succeeded", OTHER_APPROVER_ARN, "ok by bob")}
    stub_pending(stubs, open_approvals=SECOND, approvals=decided, changes=DATABASE_REPLACED)
    # meanwhile a third person approved SecondApproval: nothing of execution 7 is open any more
    stubs.get_pipeline_state(PIPELINE, running=7, running_action="CheckChangeSet")
    result = run(["approve", "network", "--root", str(repo), "--yes"], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 4
    assert result.error.startswith(f"the approval (SecondApproval) of execution {uuid_for(7)} on "
                                   "acme-network is no longer pending")



def run_status(stubs, repo, run, *, open_approvals, approvals=None, review=None):
    stubs.cp.add_response("list_pipelines", {"pipelines": [
        {"name": PIPELINE, "version": 1, "pipelineType": "V2", "executionMode": "QUEUED",
         "created": NOW, "updated": NOW}]}, {})
    stubs.get_pipeline_state(PIPELINE, pending=7, open_approvals=open_approvals)
    stubs.list_pipeline_executions(PIPELINE, 7, status="InProgress")
    stubs.get_pipeline_execution(PIPELINE, 7)
    stubs.list_action_executions(PIPELINE, 7, STACK, approvals=approvals, review=review)
    stubs.describe_change_set(STACK, CHANGE_SET)
    result = run(["status", "network", "--root", str(repo), "--format", "json"], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    return json.loads(result.stdout)["pipelines"][0]["pending_approval"]


def test_status_waiting_for_two(stubs, repo, run):
    row = run_status(stubs, repo, run, open_approvals=BOTH)
    assert row["approvals"] == "waiting for 2 approvals"
    assert row["open_approvals"] == ["Approve", "SecondApproval"]


def test_status_one_of_two(stubs, repo, run):
    row = run_status(stubs, repo, run, open_approvals=(SECOND_APPROVAL_ACTION,),
                     approvals={APPROVE_ACTION: ("Succeeded", OTHER_APPROVER_ARN, "ok")})
    assert row["approvals"] == "1 of 2 approved (by AWSReservedSSO_Approvers_0123456789abcdef/bob)"
    assert row["action"] == SECOND_APPROVAL_ACTION


def test_status_second_waived(stubs, repo, run):
    waiver = ("Succeeded", FUNCTION_ARN, "Not required: risk low, one approval is enough (changegate)")
    row = run_status(stubs, repo, run, open_approvals=(APPROVE_ACTION,),
                     approvals={SECOND_APPROVAL_ACTION: waiver}, review={"RiskTier": "low", "Summary": "x"})
    assert row["approvals"] == "second approval waived (risk low); waiting for 1 approval"


# ---- neither of two approvers is the commit's author (issue 11 item 4, the approver's side) ----

def stub_pending_by(stubs, author: str, **kwargs):
    stubs.get_pipeline_state(PIPELINE, pending=7, open_approvals=kwargs.pop("open_approvals", BOTH))
    stubs.list_action_executions(PIPELINE, 7, STACK, approvals=kwargs.pop("approvals", None),
                                 review=kwargs.pop("review", None))
    stubs.review_change_set(STACK, CHANGE_SET, **kwargs)
    stubs.get_pipeline_execution(PIPELINE, 7, author=author)


def test_the_commits_author_is_refused_before_anything_is_sent_when_two_are_needed(stubs, repo, run):
    # the caller's session name is "alice": the author's email's local part
    stub_pending_by(stubs, "Alice Liddell <alice@example.com>", changes=DATABASE_REPLACED)
    result = run(["approve", "network", "--root", str(repo), "--yes"], aws=stubs.aws)
    stubs.verify()  # no second GetPipelineState, no PutApprovalResult queued or called
    assert result.exit_code == 6
    assert result.error.startswith(f"you ({APPROVER_ARN}) wrote this change (Alice Liddell "
                                   "<alice@example.com>); risk high, and neither approval may come from "
                                   f"the commit's author. Nothing was done for execution {uuid_for(7)}")


def test_the_author_may_approve_alone_when_the_second_approval_was_waived(stubs, repo, run):
    decided = {SECOND_APPROVAL_ACTION: ("Succeeded", FUNCTION_ARN,
                                        "Not required: risk low, one approval is enough (changegate)")}
    stub_pending_by(stubs, "Alice Liddell <alice@example.com>", open_approvals=(APPROVE_ACTION,),
                    approvals=decided, review={"HasChanges": "true", "RiskTier": "low",
                                               "Summary": "Risk LOW: 1 modify"})
    stub_decision(stubs, APPROVE_ACTION, open_approvals=(APPROVE_ACTION,))
    result = run(["approve", "network", "--root", str(repo), "--comment", "ok", "--yes"], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error


def test_the_author_may_still_reject(stubs, repo, run):
    stub_pending_by(stubs, "Alice Liddell <alice@example.com>", changes=DATABASE_REPLACED)
    stub_decision(stubs, APPROVE_ACTION, open_approvals=BOTH, status="Rejected", summary="not yet")
    result = run(["reject", "network", "--root", str(repo), "--comment", "not yet", "--yes"], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
