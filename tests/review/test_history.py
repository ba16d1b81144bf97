"""review/history.py: one reading of CodePipeline's records for the recorder and ``changegate audit``.

The inputs are ListActionExecutions' ``actionExecutionDetails`` and ListPipelineExecutions' summaries
in botocore's shapes (the builders below are used by tests/review/test_record.py through Stubber,
which validates them against botocore's output model).
"""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta, timezone

from pipeline_records import Records, uuid_for

from generator import naming
from review import approvals, history, steps

ACCOUNT = "123456789012"
PIPELINE = STACK = "acme-network"
SOURCE_BUCKET = "acme-pipelines-sourcebucket-1a2b3c4d5e6f"
ARTIFACT_BUCKET = "acme-pipelines-artifactbucket-9f8e7d6c5b4a"
KEY = "stacks/network.zip"
VERSION = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nrjfkd"
CHANGE_SET_ID = (f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:changeSet/acme-00000011-1111-4222-8333-"
                 "444455556666/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d")
ALICE = f"arn:aws:sts::{ACCOUNT}:assumed-role/Approvers/alice@example.com"
BOB = f"arn:aws:sts::{ACCOUNT}:assumed-role/Approvers/bob@example.com"
STEPS_ROLE = "acme-changegate-steps"
FUNCTION = f"arn:aws:sts::{ACCOUNT}:assumed-role/{STEPS_ROLE}/{STEPS_ROLE}"
SYNC_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/acme-changegate-sync/AWSCodeBuild-0f1e2d3c"
T0 = datetime(2026, 11, 13, 12, 0, tzinfo=timezone.utc)


def started(n: int) -> datetime:
    return T0 + timedelta(days=n)


RECORDS = Records(pipeline=PIPELINE, stack=STACK, key=KEY, source_bucket=SOURCE_BUCKET,
                  artifact_bucket=ARTIFACT_BUCKET, sync_arn=SYNC_ARN, started=started)
detail, plan, approval, execute = RECORDS.detail, RECORDS.plan, RECORDS.approval, RECORDS.execute


def source(n, version=VERSION):
    return RECORDS.source(n, version)


def review(n, summary, risk="high", change_set_id=CHANGE_SET_ID):
    return RECORDS.review(n, summary, risk, change_set_id)


def summary(n, status, version=VERSION, *, trigger=None, stop_reason=None):
    return RECORDS.summary(n, status, version, trigger=trigger, stop_reason=stop_reason)


def executed_high_risk(n=17):
    """Two people approved a high-risk change; it executed. Listed newest first: no order is documented."""
    return [execute(n),
            approval(n, "Succeeded", BOB, "second pair of eyes", naming.SECOND_APPROVAL_ACTION, 5),
            approval(n, "Succeeded", ALICE, "CIDR change agreed in CHG-42"),
            review(n, "+1 ~2 -0; REPLACES Vpc; high"), plan(n), source(n)]


# ---- the names the generator and the steps function use ----

def test_names_agree_with_the_generator_and_the_steps_function() -> None:
    from changegate import pipeline_state
    from generator.bootstrap import pipeline

    assert (history.SOURCE_STAGE, history.SOURCE_ACTION, history.CHANGE_STAGE) == (
        naming.SOURCE_STAGE, naming.SOURCE_ACTION_NAME, naming.CHANGE_STAGE)
    assert (history.PLAN_ACTION, history.REVIEW_ACTION, history.EXECUTE_ACTION,
            history.SECOND_APPROVAL_ACTION) == (naming.PLAN_ACTION, naming.REVIEW_ACTION,
                                                naming.EXECUTE_ACTION, naming.SECOND_APPROVAL_ACTION)
    assert history.PLAN_MODE == pipeline_state.PLAN_MODE == plan(1)["input"]["configuration"]["ActionMode"]
    assert f'"ActionMode": "{history.PLAN_MODE}"' in inspect.getsource(pipeline)  # what the template sets
    assert (history.REVIEW_SUMMARY, history.REVIEW_RISK, history.REVIEW_CHANGE_SET_ID) == (
        steps.OUT_SUMMARY, steps.OUT_RISK, steps.OUT_CHANGE_SET_ID)
    assert history.WAIVER_PREFIX == approvals.WAIVER_PREFIX
    # the reason review_step stops an empty execution with is the one outcome_of calls "no changes"
    assert f'f"{history.NO_CHANGES_REASON}: stack' in inspect.getsource(steps)


# ---- each question an auditor asks ----

def test_who_approved_and_when_in_the_order_they_decided() -> None:
    decisions = history.decisions_of(executed_high_risk())
    assert [d.to_json() for d in decisions] == [
        {"action": "Approve", "verdict": "approved", "by": ALICE,
         "at": (started(17) + timedelta(minutes=4)).isoformat(), "comment": "CIDR change agreed in CHG-42"},
        {"action": "SecondApproval", "verdict": "approved", "by": BOB,
         "at": (started(17) + timedelta(minutes=6)).isoformat(), "comment": "second pair of eyes"}]


def test_the_waiver_is_the_steps_functions_and_no_person_can_pass_for_it() -> None:
    waived = approval(3, "Succeeded", FUNCTION, "Not required: risk low, one approval is enough (changegate)",
                      naming.SECOND_APPROVAL_ACTION)
    person = approval(4, "Succeeded", BOB, "Not required: I think", naming.SECOND_APPROVAL_ACTION)
    assert history.decisions_of([waived], steps_role=STEPS_ROLE)[0].verdict == "waived"
    assert history.decisions_of([person], steps_role=STEPS_ROLE)[0].verdict == "approved"
    # the waiver's summary on Approve is no waiver: the function may approve only SecondApproval
    on_approve = approval(5, "Succeeded", FUNCTION, "Not required: x")
    assert history.decisions_of([on_approve], steps_role=STEPS_ROLE)[0].verdict == "approved"


def test_rejected_pending_and_expired_approvals() -> None:
    rejected, pending = approval(1, "Failed", BOB, "not today"), approval(2, "InProgress")
    expired = approval(3, "Failed", None, None)
    expired["output"] = {"executionResult": {"errorDetails": {"code": "JobFailed",
                                                              "message": "Approval expired"}}}
    found = [d.to_json() for d in history.decisions_of([rejected, pending, expired])]
    assert [(d["verdict"], d["by"], d["comment"]) for d in found] == [
        ("rejected", BOB, "not today"), ("pending", None, None), ("failed", None, "Approval expired")]
    assert found[1]["at"] is None


def test_the_change_set_of_this_execution_with_the_id_the_review_saw() -> None:
    neighbour = plan(18)  # a queued execution's CreateChangeSet in the same listing
    found = history.change_set_of([neighbour, *executed_high_risk()], uuid_for(17))
    assert found == {"stack": STACK, "name": f"acme-{uuid_for(17)}", "id": CHANGE_SET_ID}
    assert history.change_set_of([source(17)], uuid_for(17)) is None
    unresolved = plan(17)
    unresolved["input"]["resolvedConfiguration"] = {}
    assert history.change_set_of([unresolved], uuid_for(17)) is None  # never a "#{...}" name


def test_the_object_version_the_source_action_read() -> None:
    assert history.source_of(executed_high_risk()) == (SOURCE_BUCKET, KEY, VERSION)
    assert history.source_of([], "fallback-version") == (None, None, "fallback-version")
    assert history.summary_version(summary(1, "Succeeded")) == VERSION


def test_the_review_summary_and_risk() -> None:
    assert history.review_of(executed_high_risk()) == {"Summary": "+1 ~2 -0; REPLACES Vpc; high",
                                                       "RiskTier": "high"}
    assert history.review_of([source(1), plan(1)]) == {}


def test_how_each_execution_ended() -> None:
    no_changes = ("No changes: stack acme-network already matches this source; the empty change set was "
                  "deleted and no approval requested")
    cases = [
        (summary(1, "Succeeded"), executed_high_risk(1), ("executed", None)),
        (summary(2, "Failed"), [source(2), plan(2), approval(2, "Failed", BOB, "no")],
         ("rejected", f"by {BOB}")),
        (summary(3, "Stopped", stop_reason=no_changes), [source(3), plan(3)], ("no changes", no_changes)),
        (summary(4, "Stopped", stop_reason="wrong commit"), [source(4)], ("stopped", "wrong commit")),
        (summary(5, "Failed"), [source(5), plan(5), execute(5, "Failed", "CIDR invalid")],
         ("failed", "at Change/ExecuteChangeSet: CIDR invalid")),
        (summary(6, "Succeeded"), [source(6)],
         ("skipped", "the Change stage was skipped: the run was not started by the sync")),
        (summary(7, "InProgress"), [source(7), plan(7), approval(7, "InProgress")],
         ("in progress", "at Change/Approve")),
        ({**summary(8, "Superseded"), "statusSummary": "superseded by a newer execution"}, [source(8)],
         ("superseded", "superseded by a newer execution")),
        (summary(9, "Cancelled"), [source(9)], ("cancelled", None)),
    ]
    for execution, details, expected in cases:
        assert history.outcome_of(execution, details) == expected, execution["status"]


def test_every_page_of_list_action_executions() -> None:
    calls = []

    class Pages:
        def list_action_executions(self, **request):
            calls.append(request)
            if "nextToken" not in request:
                return {"actionExecutionDetails": [source(1)], "nextToken": "t2"}
            return {"actionExecutionDetails": [plan(1)]}

    found = history.action_executions(Pages(), PIPELINE, uuid_for(1))
    assert [d["actionName"] for d in found] == ["Source", "CreateChangeSet"]
    only = {"pipelineName": PIPELINE, "filter": {"pipelineExecutionId": uuid_for(1)}}
    assert calls == [only, {**only, "nextToken": "t2"}]


def test_times_are_utc_iso() -> None:
    naive = datetime(2026, 11, 13, 12, 4)
    assert history.iso(naive) == "2026-11-13T12:04:00+00:00"
    assert history.iso(datetime(2026, 11, 13, 13, 4, tzinfo=timezone(timedelta(hours=1)))) == \
        "2026-11-13T12:04:00+00:00"
    assert history.iso(None) is None
