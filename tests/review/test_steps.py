"""review/steps.py: the Review step, empty change sets, and the stale guard (issue 11, items 2, 3, 6).

moto 5.2 has none of CodePipeline's job APIs nor StopPipelineExecution, and its change sets carry no
Replacement or Details: CodePipeline, CloudFormation and the artifact's S3 are botocore Stubbers,
which check each request against botocore's model of the call and each response against its output
shape. One Stubber per client also checks the ORDER of the calls on it (StopPipelineExecution
before PutJobSuccessResult).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from changesets import (
    CHANGE_SET,
    CHANGE_SET_ID,
    REGION,
    STACK,
    STACK_ID,
    change,
    detail,
    empty_response,
    response,
)

from review import steps

JOB_ID = "22222222-abcd-2222-abcd-222222abcdef"
PIPELINE = "acme-database"
EXECUTION = "6f1c2a34-1d2e-4f5a-9b8c-7d6e5f4a3b2c"
BUCKET, KEY = "acme-artifacts", "acme-database/SourceArti/AbCdEf1"
CREATED = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc)
UPDATED = dt.datetime(2026, 12, 1, 17, 30, tzinfo=dt.timezone.utc)
POLICY = {"Statement": [
    {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
    {"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*",
     "Resource": "LogicalResourceId/Database"}]}


def _client(service: str):
    return boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")


def event(parameters: dict) -> dict:
    """A Lambda invoke action's event, as CodePipeline sends it (action-reference-Lambda)."""
    return {"CodePipeline.job": {"id": JOB_ID, "accountId": "123456789012", "data": {
        "actionConfiguration": {"configuration": {"FunctionName": "acme-changegate-steps",
                                                  "UserParameters": json.dumps(parameters)}},
        "inputArtifacts": [{"name": "SourceArtifact", "location": {
            "type": "S3", "s3Location": {"bucketName": BUCKET, "objectKey": KEY}}}],
        "outputArtifacts": [],
        "artifactCredentials": {"accessKeyId": "ASIAEXAMPLE", "secretAccessKey": "never-logged",
                                "sessionToken": "never-logged"}}}}


# Drift detection off: tests/review/test_drift.py covers it.
REVIEW = {"Step": "review", "StackName": STACK, "ChangeSetName": CHANGE_SET, "PipelineName": PIPELINE,
          "ExecutionId": EXECUTION, "SummaryMax": 200, "DriftDetect": False}


def stack(status: str = "UPDATE_COMPLETE", updated: dt.datetime | None = UPDATED) -> dict:
    found = {"StackName": STACK, "StackId": STACK_ID, "CreationTime": CREATED, "StackStatus": status}
    if updated is not None:
        found["LastUpdatedTime"] = updated
    return {"Stacks": [found]}


def archive(policy: dict | None) -> bytes:
    config = {"Parameters": {}, "Tags": {}} | ({"StackPolicy": policy} if policy else {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("template.yaml", "Resources: {}\n")
        zipped.writestr("config.json", json.dumps(config))
    return buffer.getvalue()


class Clients:
    def __init__(self) -> None:
        self.cfn, self.cp, self.s3 = _client("cloudformation"), _client("codepipeline"), _client("s3")
        self.cfn_stub, self.cp_stub, self.s3_stub = Stubber(self.cfn), Stubber(self.cp), Stubber(self.s3)

    def describe(self, resp: dict) -> None:
        self.cfn_stub.add_response("describe_change_set", resp, {
            "IncludePropertyValues": True, "StackName": STACK, "ChangeSetName": CHANGE_SET})

    def stacks(self, resp: dict) -> None:
        self.cfn_stub.add_response("describe_stacks", resp, {"StackName": STACK})

    def artifact(self, policy: dict | None) -> None:
        data = archive(policy)
        self.s3_stub.add_response("get_object", {"Body": StreamingBody(io.BytesIO(data), len(data))},
                                  {"Bucket": BUCKET, "Key": KEY})

    def success(self, outputs: dict | None = None) -> None:
        request: dict = {"jobId": JOB_ID}
        if outputs is not None:
            request["outputVariables"] = outputs
        self.cp_stub.add_response("put_job_success_result", {}, request)

    def failure(self) -> None:
        self.cp_stub.add_response("put_job_failure_result", {},
                                  {"jobId": JOB_ID, "failureDetails": {"type": "JobFailed", "message": ANY}})

    def run(self, parameters: dict, *, now: dt.datetime | None = None, continuation: str | None = None):
        sent = event(parameters)
        if continuation is not None:
            sent["CodePipeline.job"]["data"]["continuationToken"] = continuation
        with self.cfn_stub, self.cp_stub, self.s3_stub:
            result = steps.run(sent, codepipeline=self.cp, cloudformation=self.cfn,
                               artifact_s3=lambda credentials: self.s3, now=now)
        for stub in (self.cfn_stub, self.cp_stub, self.s3_stub):
            stub.assert_no_pending_responses()
        return result

    def failure_message(self, parameters: dict, **run) -> str:
        """The message the step sends in PutJobFailureResult (what the console shows)."""
        sent = []
        self.cp.meta.events.register("provide-client-params.codepipeline.PutJobFailureResult",
                                     lambda params, **_: sent.append(params["failureDetails"]["message"]))
        self.failure()
        assert self.run(parameters, **run) is None
        [message] = sent
        return message


# ---- Review ----

def test_review_outputs_the_summary_link_tier_and_the_state_it_saw() -> None:
    c = Clients()
    c.describe(response([change("Database", "AWS::RDS::DBInstance", "Modify", replacement="True",
                                policy_action="ReplaceAndSnapshot",
                                details=[detail("Engine", recreation="Always")])]))
    c.stacks(stack())
    c.artifact(POLICY)
    c.success(ANY)
    result = c.run(REVIEW)
    outputs = result.outputs
    assert set(outputs) == set(steps.OUTPUTS)
    assert outputs["HasChanges"] == "true" and outputs["RiskTier"] == "high"
    assert outputs["Summary"].startswith("Risk HIGH: 1 modify. replaces: Database replaced (Engine)")
    assert "protected: Database stack policy denies Update:Replace" in outputs["Summary"]
    assert len(outputs["Summary"]) <= 200
    assert outputs["ChangeSetId"] == CHANGE_SET_ID
    assert outputs["ReviewLink"].startswith("https://console.aws.amazon.com/cloudformation/home?region=eu-west-1")
    assert (outputs["StackStatus"], outputs["StackUpdated"]) == ("UPDATE_COMPLETE", UPDATED.isoformat())
    assert not result.stopped


def test_a_stack_never_updated_is_stamped_with_its_creation_time() -> None:
    c = Clients()
    c.describe(response([change("Topic", "AWS::SNS::Topic", "Add")]))
    c.stacks(stack("CREATE_COMPLETE", updated=None))
    c.artifact(None)
    c.success(ANY)
    assert c.run(REVIEW).outputs["StackUpdated"] == CREATED.isoformat()


def test_an_empty_change_set_is_deleted_and_the_execution_stopped_before_success() -> None:
    c = Clients()
    c.describe(empty_response())
    c.stacks(stack())
    c.cfn_stub.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "StackName": STACK})
    c.cp_stub.add_response("stop_pipeline_execution", {"pipelineExecutionId": EXECUTION},
                           {"pipelineName": PIPELINE, "pipelineExecutionId": EXECUTION, "abandon": False,
                            "reason": ANY})
    c.success(ANY)
    result = c.run(REVIEW)
    assert result.stopped
    assert result.outputs["HasChanges"] == "false" and result.outputs["ReviewLink"] == "-"
    assert result.outputs["Summary"].startswith("No changes:")


def test_the_stop_reason_says_no_changes_and_fits_the_api_limit() -> None:
    c = Clients()
    long_stack = "a" * 120
    c.cfn_stub.add_response("describe_change_set", empty_response(), {
        "IncludePropertyValues": True, "StackName": long_stack, "ChangeSetName": CHANGE_SET})
    c.cfn_stub.add_response("describe_stacks", stack(), {"StackName": long_stack})
    c.cfn_stub.add_response("delete_change_set", {},
                            {"ChangeSetName": CHANGE_SET_ID, "StackName": long_stack})
    reasons = []
    c.cp.meta.events.register("provide-client-params.codepipeline.StopPipelineExecution",
                              lambda params, **_: reasons.append(params["reason"]))
    c.cp_stub.add_response("stop_pipeline_execution", {"pipelineExecutionId": EXECUTION}, {
        "pipelineName": PIPELINE, "pipelineExecutionId": EXECUTION, "abandon": False, "reason": ANY})
    c.success(ANY)
    c.run(REVIEW | {"StackName": long_stack})
    [reason] = reasons
    assert reason.startswith(f"No changes: stack {long_stack}") and len(reason) <= steps.MAX_STOP_REASON


def test_when_the_stop_is_refused_the_step_fails_rather_than_ask_for_an_approval() -> None:
    c = Clients()
    c.describe(empty_response("No updates are to be performed."))
    c.stacks(stack())
    c.cfn_stub.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "StackName": STACK})
    c.cp_stub.add_client_error("stop_pipeline_execution", "PipelineExecutionNotStoppableException",
                               "already stopping")
    message = c.failure_message(REVIEW)
    assert "StopPipelineExecution failed: PipelineExecutionNotStoppableException" in message


def test_a_change_set_that_failed_for_another_reason_fails_the_review() -> None:
    c = Clients()
    c.describe(response([], status="FAILED", execution="UNAVAILABLE",
                        reason="Requires capabilities : [CAPABILITY_IAM]"))
    message = c.failure_message(REVIEW)
    assert "failed: Requires capabilities" in message


def test_unknown_steps_and_missing_parameters_fail_the_job() -> None:
    c = Clients()
    assert "Step must be one of review, waive, window, check" in c.failure_message({"Step": "deploy"})
    c = Clients()
    assert "lack PipelineName, ExecutionId" in c.failure_message(
        {"Step": "review", "StackName": STACK, "ChangeSetName": CHANGE_SET})


def test_stack_policy_phases_still_run_the_stack_policy_step() -> None:
    c = Clients()
    c.artifact(None)
    c.cfn_stub.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS", updated=None),
                            {"StackName": STACK})
    c.success()
    outcome = c.run({"Phase": "before", "StackName": STACK})
    assert "being created" in outcome.message


# ---- the stale guard ----

CHECK = {"Step": "check", "StackName": STACK, "ChangeSetName": CHANGE_SET, "ChangeSetId": CHANGE_SET_ID,
         "StackStatus": "UPDATE_COMPLETE", "StackUpdated": UPDATED.isoformat()}


def _check_describe(c: Clients, resp: dict) -> None:
    c.cfn_stub.add_response("describe_change_set", resp, {"StackName": STACK, "ChangeSetName": CHANGE_SET})


def test_the_reviewed_change_set_on_an_unchanged_stack_passes() -> None:
    c = Clients()
    _check_describe(c, response([change("Topic", "AWS::SNS::Topic", "Add")]))
    c.stacks(stack())
    c.success()
    assert "is the reviewed one" in c.run(CHECK).message


@pytest.mark.parametrize(("describe", "found", "says"), [
    (response([], change_set_id=CHANGE_SET_ID.replace("0c4b", "ffff")), stack(),
     "change set id is arn:aws:cloudformation:eu-west-1:123456789012:changeSet/acme-6f1c2a34-1d2e-4f5a-9b8c-"
     "7d6e5f4a3b2c/ffff0d1e"),
    (response([], execution="OBSOLETE"), stack(), "execution status is OBSOLETE, not AVAILABLE"),
    (response([]), stack(updated=UPDATED + dt.timedelta(minutes=5)),
     f"stack last changed {(UPDATED + dt.timedelta(minutes=5)).isoformat()}, "
     f"at the review {UPDATED.isoformat()}"),
    (response([]), stack("UPDATE_ROLLBACK_COMPLETE"),
     "stack status is UPDATE_ROLLBACK_COMPLETE, at the review it was UPDATE_COMPLETE"),
])
def test_a_stale_change_set_fails_saying_what_changed(describe, found, says) -> None:
    c = Clients()
    _check_describe(c, describe)
    c.stacks(found)
    message = c.failure_message(CHECK)
    assert message.startswith(f"stale: {STACK} change set {CHANGE_SET} is not what was reviewed")
    assert says in message


def test_a_deleted_change_set_is_stale() -> None:
    c = Clients()
    c.cfn_stub.add_client_error("describe_change_set", "ChangeSetNotFound", "ChangeSet [x] does not exist",
                                expected_params={"StackName": STACK, "ChangeSetName": CHANGE_SET})
    assert "no longer exists" in c.failure_message(CHECK)


# ---- the deployment window ----

WINDOW = {"Step": "window", "Cron": "* * 9-17 ? * MON-FRI *", "TimeZone": "UTC"}


def test_inside_the_window_the_wait_succeeds() -> None:
    result = steps.window_step(WINDOW, now=dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.timezone.utc))
    assert result.continuation is None and result.message.startswith("inside the deployment window")


SATURDAY = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.timezone.utc)


def test_outside_the_window_the_step_asks_to_be_called_again_carrying_when_it_began() -> None:
    c = Clients()
    token = f"waiting-since:{int(SATURDAY.timestamp())}"
    c.cp_stub.add_response("put_job_success_result", {}, {"jobId": JOB_ID, "continuationToken": token})
    result = c.run(WINDOW, now=SATURDAY)
    assert result.continuation == token and not result.outputs
    # The next call keeps the first wait's time, not its own.
    later = steps.window_step(WINDOW, now=SATURDAY + dt.timedelta(hours=5), continuation=token)
    assert later.continuation == token


def test_the_wait_fails_by_itself_before_codepipeline_times_it_out_saying_when_the_window_opens() -> None:
    # Approved Saturday 10:00 UTC; the weekday window opens Monday 09:00, 47 hours later. 23 h 29 min
    # into the wait the step still waits; at 23 h 30 min it fails, naming the opening and the way on.
    token = f"waiting-since:{int(SATURDAY.timestamp())}"
    almost = steps.window_step(WINDOW, now=SATURDAY + dt.timedelta(hours=23, minutes=29), continuation=token)
    assert almost.continuation == token
    c = Clients()
    message = c.failure_message(WINDOW, now=SATURDAY + dt.timedelta(hours=23, minutes=30), continuation=token)
    assert message.startswith("deployment window (* * 9-17 ? * MON-FRI *, UTC) did not open within "
                              "23 h 30 min of the approvals (waiting since 2026-12-05 10:00 UTC); "
                              "it next opens Mon 2026-12-07 09:00 UTC. Nothing was executed.")
    assert "retry the Change stage's failed actions at or after that time" in message
    assert "CheckChangeSet still refuses" in message


def test_the_opening_is_given_in_the_window_zone_and_in_utc() -> None:
    window = WINDOW | {"TimeZone": "Europe/Dublin", "Cron": "* * 9-16 ? * MON-FRI"}
    # Friday 2027-10-29 17:00 Irish summer time: the window reopens Monday 09:00 GMT (clocks went back).
    closed = dt.datetime(2027, 10, 29, 16, 0, tzinfo=dt.timezone.utc)
    with pytest.raises(steps.StepError, match=r"it next opens Mon 2027-11-01 09:00 Europe/Dublin\."):
        steps.window_step(window, now=closed + steps.MAX_WINDOW_WAIT,
                          continuation=f"waiting-since:{int(closed.timestamp())}")
    summer = dt.datetime(2027, 7, 2, 16, 0, tzinfo=dt.timezone.utc)  # Friday 17:00 IST
    with pytest.raises(steps.StepError, match=r"it next opens Mon 2027-07-05 09:00 Europe/Dublin "
                                              r"\(2027-07-05 08:00 UTC\)"):
        steps.window_step(window, now=summer + steps.MAX_WINDOW_WAIT,
                          continuation=f"waiting-since:{int(summer.timestamp())}")


def test_a_token_from_before_the_wait_carried_its_time_starts_the_clock_now() -> None:
    result = steps.window_step(WINDOW, now=SATURDAY, continuation="waiting")
    assert result.continuation == f"waiting-since:{int(SATURDAY.timestamp())}"


def test_a_bad_window_fails_the_action_saying_why() -> None:
    c = Clients()
    message = c.failure_message(WINDOW | {"TimeZone": "PST"})
    assert message.startswith("deployment window: time zone 'PST': abbreviations are ambiguous")


# ---- the commit's author and the approvals ----

ADA = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Approver_0123/ada@example.com"
BOB = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Approver_0123/bob@example.com"
HIGH_CHECK = CHECK | {"PipelineName": PIPELINE, "ExecutionId": EXECUTION, "RiskTier": "high",
                      "Approvals": "risk", "FunctionRole": "acme-changegate-steps"}


def _approved_by(c: Clients, first: str, second: str) -> None:
    _check_describe(c, response([change("Database", "AWS::RDS::DBInstance", "Modify", replacement="True")]))
    c.stacks(stack())
    details = [{"pipelineExecutionId": EXECUTION, "actionExecutionId": f"a{i}", "stageName": "Change",
                "actionName": name, "status": "Succeeded", "updatedBy": by, "lastUpdateTime": UPDATED}
               for i, (name, by) in enumerate((("SecondApproval", second), ("Approve", first)))]
    c.cp_stub.add_response("list_action_executions", {"actionExecutionDetails": details},
                           {"pipelineName": PIPELINE, "filter": {"pipelineExecutionId": EXECUTION}})


def _user_parameters(parameters: dict, author: str) -> str:
    """CheckChangeSet's UserParameters as CodePipeline resolves them: the author raw, last."""
    text = json.dumps(parameters, sort_keys=True, separators=(",", ":"))
    return text[:-1] + steps.AUTHOR_MARKER + author + '"}'


def test_the_commit_author_does_not_count_as_an_approver() -> None:
    c = Clients()
    _approved_by(c, BOB, ADA)
    message = c.failure_message(HIGH_CHECK | {"CommitAuthor": "Ada Lovelace <ada@example.com>"})
    assert message.startswith("refused: risk high: two approvals by different people are needed")
    assert (f"SecondApproval was approved by {ADA}, the commit's author (Ada Lovelace <ada@example.com>)"
            in message)


@pytest.mark.parametrize("author", ["unknown", "-", ""])
def test_an_unknown_author_leaves_two_different_people_enough(author: str) -> None:
    c = Clients()
    _approved_by(c, BOB, ADA)
    c.success()
    assert c.run(HIGH_CHECK | {"CommitAuthor": author}).message.endswith(f"approved by {BOB} and {ADA}")
    assert steps.commit_author({"CommitAuthor": author}) is None


def test_an_author_with_quotes_and_backslashes_is_read_as_plain_text() -> None:
    author = 'Ada "the first" Lovelace \\o/ <ada@example.com>'
    text = _user_parameters(HIGH_CHECK, author)
    with pytest.raises(ValueError):
        json.loads(text)  # what a plain JSON reader would make of it
    sent = event({})
    sent["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] = text
    parameters = steps._parameters(sent)
    assert parameters["CommitAuthor"] == author and parameters["StackName"] == STACK
    assert steps.commit_author(parameters) == author


@pytest.mark.parametrize("author", ['x","RiskTier":"low', 'x","RiskTier":"low","CommitAuthor":"x',
                                    'x","Approvals":"risk"} ,"CommitAuthor":"y'])
def test_an_author_cannot_inject_parameters(author: str) -> None:
    # git lets a committer write any author; with the whole text read as JSON the author's
    # "RiskTier":"low" would be the last duplicate key and win, so one approval would pass
    text = _user_parameters(HIGH_CHECK, author)
    sent = event({})
    sent["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] = text
    parameters = steps._parameters(sent)
    assert parameters["RiskTier"] == "high" and parameters["Approvals"] == HIGH_CHECK["Approvals"]
    assert parameters["CommitAuthor"] == author


def test_a_wait_that_is_not_the_last_hands_on_to_the_next_instead_of_failing() -> None:
    token = f"waiting-since:{int(SATURDAY.timestamp())}"
    later = SATURDAY + steps.MAX_WINDOW_WAIT
    handed = steps.window_step(WINDOW | {"Wait": "1/3"}, now=later, continuation=token)
    assert handed.continuation is None and handed.outputs == {}
    assert handed.message.endswith("still closed after 23 h 30 min: wait 1 of 3 hands on to the next")
    # the next one starts its own clock (no token) and waits; the last one fails, naming the total
    assert steps.window_step(WINDOW | {"Wait": "2/3"}, now=later).continuation is not None
    with pytest.raises(steps.StepError, match=r"did not open within 70 h 30 min of the approvals \(the "
                                              r"last of 3 waits since 2026-12-05 10:00 UTC\)"):
        steps.window_step(WINDOW | {"Wait": "3/3"}, now=later, continuation=token)


@pytest.mark.parametrize("wait", ["0/3", "4/3", "x", "1/"])
def test_a_wait_place_that_cannot_be_read_fails_the_action(wait: str) -> None:
    with pytest.raises(steps.StepError, match="Wait must be k/n"):
        steps.window_step(WINDOW | {"Wait": wait}, now=SATURDAY)
