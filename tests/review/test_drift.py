"""Drift of the resources a change touches, detected by the Review step before the approval (issue 11).

moto 5.2 has no CloudFormation drift APIs (DetectStackDrift, DescribeStackDriftDetectionStatus,
DescribeStackResourceDrifts) and no CodePipeline job APIs: both are botocore Stubbers, which check
every request against botocore's model of the call (LogicalResourceIds: 1 to 200 members) and every
response against its output shape (a misspelt field or a wrong type fails the test). One Stubber per
client also checks the order of the calls on it.
"""

from __future__ import annotations

import datetime as dt
import json

from botocore.stub import ANY
from changesets import CHANGE_SET, STACK, STACK_ID, change, detail, response
from test_steps import JOB_ID, REVIEW, UPDATED, Clients, stack

from review import drift, steps
from review.assess import HIGH, MEDIUM, assess
from review.changeset import ChangeSetView
from review.render import render_text

DETECTION = "624af370-311a-11e8-b6b7-500cexample"
STARTED = dt.datetime(2026, 12, 2, 8, 0, 0, tzinfo=dt.timezone.utc)
DETECT = {k: v for k, v in REVIEW.items() if k != "DriftDetect"}  # the defaults: detect, 300 s
PENDING = drift.Pending(DETECTION, int(STARTED.timestamp()), "UPDATE_COMPLETE", UPDATED.isoformat())

QUEUE_MODIFIED = [change("Queue", "AWS::SQS::Queue", "Modify", replacement="False",
                         details=[detail("VisibilityTimeout")])]
TWO = [*QUEUE_MODIFIED, change("Alarm", "AWS::CloudWatch::Alarm", "Remove", policy_action="Delete")]


def describe(c: Clients, changes: list) -> None:
    c.describe(response(changes))


def detection_status(c: Clients, status: str, *, reason: str | None = None,
                     initiated: dt.datetime = STARTED) -> None:
    resp = {"StackId": STACK_ID, "StackDriftDetectionId": DETECTION, "DetectionStatus": status,
            "Timestamp": initiated}
    if status != "DETECTION_IN_PROGRESS":
        resp["StackDriftStatus"] = "DRIFTED"
    if reason is not None:
        resp["DetectionStatusReason"] = reason
    c.cfn_stub.add_response("describe_stack_drift_detection_status", resp,
                            {"StackDriftDetectionId": DETECTION})


def resource_drift(logical_id: str, status: str, *, at: dt.datetime, reason: str | None = None,
                   resource_type: str = "AWS::SQS::Queue") -> dict:
    found = {"StackId": STACK_ID, "LogicalResourceId": logical_id, "PhysicalResourceId": f"{logical_id}-phys",
             "ResourceType": resource_type, "StackResourceDriftStatus": status, "Timestamp": at}
    if status == "MODIFIED":
        found["PropertyDifferences"] = [{"PropertyPath": "/VisibilityTimeout", "ExpectedValue": "30",
                                         "ActualValue": "120", "DifferenceType": "NOT_EQUAL"}]
    if reason is not None:
        found["DriftStatusReason"] = reason
    return found


def resource_drifts(c: Clients, pages: list[list[dict]]) -> None:
    for index, drifts in enumerate(pages):
        resp: dict = {"StackResourceDrifts": drifts}
        request: dict = {"StackName": STACK}
        if index + 1 < len(pages):
            resp["NextToken"] = f"page{index + 2}"
        if index:
            request["NextToken"] = f"page{index + 1}"
        c.cfn_stub.add_response("describe_stack_resource_drifts", resp, request)


def success_with_outputs(c: Clients) -> None:
    c.success(ANY)


def continuing(c: Clients, token: str) -> None:
    # No outputVariables beside a continuation token (API reference, PutJobSuccessResult).
    c.cp_stub.add_response("put_job_success_result", {}, {"jobId": JOB_ID, "continuationToken": token})


# ---- the first call: start, and continue ----

def test_a_change_to_an_existing_stack_starts_detection_of_the_touched_resources_and_continues() -> None:
    c = Clients()
    describe(c, TWO)
    c.stacks(stack())
    c.cfn_stub.add_response("detect_stack_drift", {"StackDriftDetectionId": DETECTION},
                            {"StackName": STACK, "LogicalResourceIds": ["Alarm", "Queue"]})
    continuing(c, ANY)
    result = c.run(DETECT, now=STARTED)
    assert result.outputs == {} and result.continuation
    assert len(result.continuation) <= 2048
    carried = drift.Pending.parse(result.continuation)
    assert carried == PENDING


def test_more_than_200_touched_resources_detect_the_whole_stack() -> None:
    c = Clients()
    many = [change(f"Topic{i:03d}", "AWS::SNS::Topic", "Modify", replacement="False",
                   details=[detail("DisplayName")]) for i in range(201)]
    describe(c, many)
    c.stacks(stack())
    c.cfn_stub.add_response("detect_stack_drift", {"StackDriftDetectionId": DETECTION}, {"StackName": STACK})
    continuing(c, ANY)
    assert c.run(DETECT, now=STARTED).continuation


def test_exactly_200_are_still_named() -> None:
    c = Clients()
    describe(c, [change(f"Topic{i:03d}", "AWS::SNS::Topic", "Remove") for i in range(200)])
    c.stacks(stack())
    c.cfn_stub.add_response("detect_stack_drift", {"StackDriftDetectionId": DETECTION},
                            {"StackName": STACK, "LogicalResourceIds": [f"Topic{i:03d}" for i in range(200)]})
    continuing(c, ANY)
    assert c.run(DETECT, now=STARTED).continuation


def test_a_new_stack_or_an_add_only_change_detects_nothing() -> None:
    # No drift stubs: any drift call would fail the Stubber.
    c = Clients()
    describe(c, [change("Topic", "AWS::SNS::Topic", "Add")])
    c.cfn_stub.add_client_error("describe_stacks", "ValidationError", f"Stack with id {STACK} does not exist",
                                expected_params={"StackName": STACK})
    c.artifact(None)
    success_with_outputs(c)
    result = c.run(DETECT, now=STARTED)
    assert result.continuation is None and result.outputs["RiskTier"] == "medium"
    c = Clients()
    describe(c, [change("Topic", "AWS::SNS::Topic", "Add")])
    c.stacks(stack())
    c.artifact(None)
    success_with_outputs(c)
    assert c.run(DETECT, now=STARTED).continuation is None


def test_detection_turned_off_asks_nothing() -> None:
    c = Clients()
    describe(c, QUEUE_MODIFIED)
    c.stacks(stack())
    c.artifact(None)
    success_with_outputs(c)
    result = c.run(DETECT | {"DriftDetect": False}, now=STARTED)
    assert result.continuation is None and result.outputs["RiskTier"] == MEDIUM


def test_a_detection_that_cannot_start_leaves_drift_unknown_and_the_review_goes_on() -> None:
    c = Clients()
    describe(c, QUEUE_MODIFIED)
    c.stacks(stack())
    c.cfn_stub.add_client_error("detect_stack_drift", "ValidationError",
                                "Drift detection is already in progress for stack", http_status_code=400)
    c.artifact(None)
    success_with_outputs(c)
    result = c.run(DETECT, now=STARTED)
    assert result.outputs["RiskTier"] == MEDIUM
    assert ("drift unknown (detection could not start: ValidationError: Drift detection is already in "
            "progress for stack): Queue") in result.outputs["Summary"]


# ---- later calls: the result ----

def later(c: Clients, changes: list, *, seconds: int = 40) -> steps.StepResult:
    return c.run(DETECT, now=STARTED + dt.timedelta(seconds=seconds), continuation=PENDING.token())


def test_a_modified_touched_resource_makes_the_change_high_risk_overwrites_drift() -> None:
    c = Clients()
    describe(c, QUEUE_MODIFIED)
    detection_status(c, "DETECTION_COMPLETE")
    resource_drifts(c, [[resource_drift("Queue", "MODIFIED", at=STARTED + dt.timedelta(seconds=3))]])
    c.artifact(None)
    success_with_outputs(c)
    result = later(c, QUEUE_MODIFIED)
    assert result.continuation is None
    outputs = result.outputs
    assert outputs["RiskTier"] == HIGH
    assert "overwrites drift: Queue drifted (MODIFIED): the change overwrites it" in outputs["Summary"]
    # The stack state is the one read before the wait (carried in the token), for CheckChangeSet.
    assert (outputs["StackStatus"], outputs["StackUpdated"]) == ("UPDATE_COMPLETE", UPDATED.isoformat())


def test_every_page_is_read_and_results_older_than_this_detection_are_ignored() -> None:
    c = Clients()
    describe(c, TWO)
    detection_status(c, "DETECTION_COMPLETE")
    before = STARTED - dt.timedelta(days=3)
    resource_drifts(c, [
        [resource_drift("Queue", "MODIFIED", at=before)],  # an old detection's answer: not this one's
        [resource_drift("Queue", "IN_SYNC", at=STARTED + dt.timedelta(seconds=2)),
         resource_drift("Alarm", "DELETED", at=before, resource_type="AWS::CloudWatch::Alarm")],
    ])
    c.artifact(None)
    success_with_outputs(c)
    result = later(c, TWO)
    # Queue: IN_SYNC now. Alarm: only an old result, so unknown (not DELETED, not high).
    assert result.outputs["RiskTier"] == MEDIUM
    assert "drift unknown (no result from this detection): Alarm" in result.outputs["Summary"]
    assert "overwrites drift" not in result.outputs["Summary"]


def test_a_failed_detection_with_not_checked_resources_is_unknown_not_high() -> None:
    c = Clients()
    describe(c, QUEUE_MODIFIED)
    denied = ("User: arn:aws:sts::123456789012:assumed-role/acme-changegate-steps/x is not authorized to "
              "perform: sqs:GetQueueAttributes")
    detection_status(c, "DETECTION_FAILED", reason="Failed to detect drift on resource [Queue]")
    resource_drifts(c, [[resource_drift("Queue", "NOT_CHECKED", at=STARTED + dt.timedelta(seconds=1),
                                        reason=denied)]])
    c.artifact(None)
    success_with_outputs(c)
    result = later(c, QUEUE_MODIFIED)
    assert result.outputs["RiskTier"] == MEDIUM
    assert "drift unknown (not permitted to read: User: arn:aws:sts::" in result.outputs["Summary"]


def test_still_running_within_the_deadline_continues_with_the_same_token_and_no_outputs() -> None:
    c = Clients()
    describe(c, QUEUE_MODIFIED)
    detection_status(c, "DETECTION_IN_PROGRESS")
    continuing(c, PENDING.token())
    result = later(c, QUEUE_MODIFIED, seconds=299)
    assert result.continuation == PENDING.token() and result.outputs == {}


def test_past_the_deadline_drift_is_unknown_and_the_review_finishes() -> None:
    c = Clients()
    describe(c, TWO)
    detection_status(c, "DETECTION_IN_PROGRESS")
    c.artifact(None)
    success_with_outputs(c)
    result = later(c, TWO, seconds=300)
    assert result.continuation is None
    assert result.outputs["RiskTier"] == MEDIUM
    assert "drift unknown (detection did not finish in 300 s): Queue; Alarm" in result.outputs["Summary"]


def test_a_token_the_step_did_not_write_fails_the_action() -> None:
    c = Clients()
    describe(c, QUEUE_MODIFIED)
    message = c.failure_message(DETECT, now=STARTED, continuation="waiting")
    assert "is not a drift detection's" in message


def test_bad_drift_settings_fail_the_action_saying_which() -> None:
    c = Clients()
    message = c.failure_message(DETECT | {"DriftTimeout": "five minutes"}, now=STARTED)
    assert "DriftTimeout a number of seconds" in message


# ---- what the full review shows ----

def _view(changes: list) -> ChangeSetView:
    from review.changeset import _resource_change

    raw = response(changes)
    return ChangeSetView(stack_name=STACK, stack_id=STACK_ID, change_set_name=CHANGE_SET,
                         change_set_id=raw["ChangeSetId"], status="CREATE_COMPLETE",
                         execution_status="AVAILABLE",
                         changes=tuple(_resource_change(STACK, c) for c in raw["Changes"]))


def test_the_full_review_shows_each_touched_resource_drift_and_what_the_detection_did() -> None:
    found = drift.DriftResult(note=f"drift detection {DETECTION} complete after 12 s", resources=(
        drift.ResourceDrift("Queue", "MODIFIED"),
        drift.ResourceDrift("Alarm", "NOT_CHECKED", "CloudFormation does not check this resource type")))
    review = assess(_view(TWO), drift=found)
    text = render_text(review)
    assert f"Drift: drift detection {DETECTION} complete after 12 s" in text
    assert "Modify   Queue (AWS::SQS::Queue) [drift MODIFIED]" in text
    assert "Remove   Alarm (AWS::CloudWatch::Alarm) [Delete, drift NOT_CHECKED]" in text
    assert "drift-unknown" in text and "CloudFormation does not check this resource type" in text
    assert review.risk == HIGH and review.reasons == ("drift",)
    assert json.loads(json.dumps(review.to_dict()))["drift_note"].startswith("drift detection")


def test_without_detection_the_review_is_what_it_was() -> None:
    review = assess(_view(QUEUE_MODIFIED))
    assert review.drift_note == "" and not review.of_kind("drift-unknown")
    assert "Drift:" not in render_text(review)
