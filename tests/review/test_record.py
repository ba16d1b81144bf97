"""review/record.py: the recorder writes one JSON audit record per finished execution, once.

CodePipeline through botocore's Stubber (moto 5.2 has no ListActionExecutions, and its
GetPipelineExecution carries no trigger or variables): every request is checked against botocore's
model and every response against the output shape. S3 through moto, which implements PutObject's
``IfNoneMatch`` (412 PreconditionFailed when the key exists, as S3 documents) and SSE-KMS headers.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from test_history import (
    ALICE,
    BOB,
    CHANGE_SET_ID,
    FUNCTION,
    KEY,
    PIPELINE,
    SOURCE_BUCKET,
    STACK,
    STEPS_ROLE,
    SYNC_ARN,
    VERSION,
    approval,
    executed_high_risk,
    plan,
    review,
    source,
    started,
    summary,
    uuid_for,
)

from generator import naming
from review import record
from review.record import RecordError, build_record, parse_key, record_key, write_record

REGION = "us-east-1"
RECORDED = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)
COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"
ENV = {record.ENV_BUCKET: SOURCE_BUCKET, record.ENV_PREFIX: "acme-", record.ENV_SKIP: "acme-sync",
       record.ENV_STEPS_ROLE: STEPS_ROLE}


def _client(service: str):
    return boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")


def execution(n: int, status: str, *, commit: str = COMMIT, trigger: dict | None = None) -> dict:
    """GetPipelineExecution's response (its ``pipelineExecution`` has no start time and no stop reason)."""
    return {"pipelineExecution": {
        "pipelineName": PIPELINE, "pipelineVersion": 3, "pipelineExecutionId": uuid_for(n), "status": status,
        "artifactRevisions": [{"name": "SourceArtifact", "revisionId": VERSION, "revisionSummary": KEY}],
        "variables": [{"name": "CommitId", "resolvedValue": commit},
                      {"name": "CommitAuthor", "resolvedValue": "Ada Lovelace"},
                      {"name": "CommitSubject", "resolvedValue": "Widen the VPC CIDR"}],
        "trigger": trigger or {"triggerType": "StartPipelineExecution", "triggerDetail": SYNC_ARN},
        "executionMode": "QUEUED", "executionType": "STANDARD"}}


def event(n: int, state: str = "SUCCEEDED", *, pipeline: str = PIPELINE, attempt: float = 1.0,
          start: str | None = None) -> dict:
    """The EventBridge event (CodePipeline user guide, detect-state-changes-cloudwatch-events)."""
    detail = {"pipeline": pipeline, "version": 3, "state": state, "execution-id": uuid_for(n),
              "pipeline-execution-attempt": attempt,
              "execution-trigger": {"trigger-type": "StartPipelineExecution", "trigger-detail": SYNC_ARN}}
    if start:
        detail["start-time"] = start
    return {"version": "0", "id": "01234567-0123-0123-0123-012345678912",
            "detail-type": "CodePipeline Pipeline Execution State Change", "source": "aws.codepipeline",
            "account": "123456789012", "time": "2026-11-30T12:45:00Z", "region": REGION,
            "resources": [f"arn:aws:codepipeline:{REGION}:123456789012:{pipeline}"], "detail": detail}


def stub_execution(stubber: Stubber, n: int, status: str, details: list[dict], *, summaries=None,
                   pages_of_details: int = 2) -> None:
    ident = uuid_for(n)
    stubber.add_response("get_pipeline_execution", execution(n, status),
                         {"pipelineName": PIPELINE, "pipelineExecutionId": ident})
    listed = summaries if summaries is not None else [summary(n + 1, "InProgress"), summary(n, status)]
    stubber.add_response("list_pipeline_executions", {"pipelineExecutionSummaries": listed},
                         {"pipelineName": PIPELINE, "maxResults": 100})
    cut = len(details) // 2 if pages_of_details == 2 else 0
    request = {"pipelineName": PIPELINE, "filter": {"pipelineExecutionId": ident}}
    if cut:
        stubber.add_response("list_action_executions",
                             {"actionExecutionDetails": details[:cut], "nextToken": "p2"}, request)
        request = {**request, "nextToken": "p2"}
    stubber.add_response("list_action_executions", {"actionExecutionDetails": details[cut:]}, request)


@pytest.fixture
def codepipeline():
    client = _client("codepipeline")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=SOURCE_BUCKET)
        client.put_bucket_versioning(Bucket=SOURCE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


# ---- the record ----

def test_the_record_says_which_commit_object_version_change_set_and_who_approved_when(codepipeline) -> None:
    client, stubber = codepipeline
    stub_execution(stubber, 17, "Succeeded", executed_high_risk(17))
    found = build_record(client, pipeline=PIPELINE, execution_id=uuid_for(17), steps_role=STEPS_ROLE,
                         now=RECORDED)
    assert found == {
        "schema": 1, "pipeline": PIPELINE, "execution_id": uuid_for(17), "attempt": 1, "status": "Succeeded",
        "started": started(17).isoformat(), "ended": (started(17) + timedelta(minutes=45)).isoformat(),
        "trigger": {"type": "StartPipelineExecution", "detail": SYNC_ARN},
        "commit": {"id": COMMIT, "author": "Ada Lovelace", "subject": "Widen the VPC CIDR"},
        "variables": {"CommitId": COMMIT, "CommitAuthor": "Ada Lovelace",
                      "CommitSubject": "Widen the VPC CIDR"},
        "source": {"bucket": SOURCE_BUCKET, "key": KEY, "version": VERSION},
        "change_set": {"stack": STACK, "name": f"acme-{uuid_for(17)}", "id": CHANGE_SET_ID},
        "review": {"summary": "+1 ~2 -0; REPLACES Vpc; high", "risk": "high"},
        "approvals": [
            {"action": "Approve", "verdict": "approved", "by": ALICE,
             "at": (started(17) + timedelta(minutes=4)).isoformat(),
             "comment": "CIDR change agreed in CHG-42"},
            {"action": "SecondApproval", "verdict": "approved", "by": BOB,
             "at": (started(17) + timedelta(minutes=6)).isoformat(), "comment": "second pair of eyes"}],
        "outcome": "executed", "outcome_detail": None, "recorded_at": RECORDED.isoformat(),
    }
    # JSON as written: sorted keys, so two deliveries write the same bytes but for recorded_at
    body = record.record_body(found).decode()
    assert json.loads(body) == found and body.index('"approvals"') < body.index('"schema"')


def test_the_waiver_and_an_empty_change_set_are_recorded_as_such(codepipeline) -> None:
    client, stubber = codepipeline
    waived = [source(20), plan(20), review(20, "+0 ~1 -0; tags only; low", "low"),
              approval(20, "Succeeded", ALICE, "tags"),
              approval(20, "Succeeded", FUNCTION,
                       "Not required: risk low, one approval is enough (changegate)",
                       naming.SECOND_APPROVAL_ACTION, minutes=3)]
    stub_execution(stubber, 20, "Succeeded", waived)
    found = build_record(client, pipeline=PIPELINE, execution_id=uuid_for(20), steps_role=STEPS_ROLE,
                         now=RECORDED)
    assert [(a["action"], a["verdict"], a["by"]) for a in found["approvals"]] == [
        ("Approve", "approved", ALICE), ("SecondApproval", "waived", FUNCTION)]
    assert found["outcome"] == "succeeded"  # no ExecuteChangeSet in this listing

    reason = ("No changes: stack acme-network already matches this source; the empty change set was deleted "
              "and no approval requested")
    stub_execution(stubber, 21, "Stopped", [source(21), plan(21), review(21, "no changes", "none")],
                   summaries=[summary(21, "Stopped", stop_reason=reason)], pages_of_details=1)
    empty = build_record(client, pipeline=PIPELINE, execution_id=uuid_for(21), now=RECORDED)
    assert (empty["outcome"], empty["outcome_detail"], empty["approvals"]) == ("no changes", reason, [])


def test_without_the_summary_the_start_comes_from_the_event_then_the_actions(codepipeline) -> None:
    client, stubber = codepipeline
    stub_execution(stubber, 22, "Failed", [source(22), plan(22, "Failed")], summaries=[], pages_of_details=1)
    from_event = build_record(client, pipeline=PIPELINE, execution_id=uuid_for(22),
                              started=datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc), now=RECORDED)
    assert from_event["started"] == "2026-11-30T09:00:00+00:00"
    assert from_event["ended"] == (started(22) + timedelta(minutes=2)).isoformat()  # the last action's update
    assert (from_event["outcome"], from_event["outcome_detail"]) == ("failed", "at Change/CreateChangeSet")
    stub_execution(stubber, 22, "Failed", [plan(22, "Failed"), source(22)], summaries=[], pages_of_details=1)
    from_actions = build_record(client, pipeline=PIPELINE, execution_id=uuid_for(22), now=RECORDED)
    assert from_actions["started"] == started(22).isoformat()


# ---- the key ----

def test_the_key_sorts_by_start_in_utc_and_names_retried_attempts() -> None:
    paris = timezone(timedelta(hours=1))
    key = record_key(PIPELINE, datetime(2026, 11, 30, 10, 5, 9, tzinfo=paris), uuid_for(3))
    assert key == f"audit/{PIPELINE}/20261130T090509Z-{uuid_for(3)}.json"
    retried = record_key(PIPELINE, datetime(2026, 11, 30, 9, 5, 9, tzinfo=timezone.utc), uuid_for(3),
                         attempt=2)
    assert retried == f"audit/{PIPELINE}/20261130T090509Z-{uuid_for(3)}.attempt2.json"
    assert retried.startswith(key.removesuffix(".json"))  # listed beside the first attempt
    assert parse_key(key) == ("20261130T090509Z", uuid_for(3), 1)
    assert parse_key(retried) == ("20261130T090509Z", uuid_for(3), 2)
    assert parse_key(f"audit/{PIPELINE}/notes.txt") is None
    # --since is StartAfter: a record started in that very second sorts after the bare stamp
    assert f"audit/{PIPELINE}/20261130T090509Z" < key
    with pytest.raises(RecordError, match="has no start time"):
        record_key(PIPELINE, None, uuid_for(3))  # type: ignore[arg-type]


# ---- written once ----

def _record(n: int = 17, recorded: datetime = RECORDED) -> dict:
    return {"schema": 1, "pipeline": PIPELINE, "execution_id": uuid_for(n), "attempt": 1,
            "started": started(n).isoformat(), "outcome": "executed", "recorded_at": recorded.isoformat()}


def test_a_second_delivery_leaves_the_first_record_as_it_is(s3) -> None:
    first = write_record(s3, bucket=SOURCE_BUCKET, record=_record())
    again = write_record(s3, bucket=SOURCE_BUCKET, record=_record(recorded=RECORDED + timedelta(minutes=1)))
    assert first == again == f"audit/{PIPELINE}/{started(17):%Y%m%dT%H%M%SZ}-{uuid_for(17)}.json"
    versions = s3.list_object_versions(Bucket=SOURCE_BUCKET, Prefix="audit/")["Versions"]
    assert len(versions) == 1  # no second version: the bucket is versioned, so an overwrite would show
    body = json.loads(s3.get_object(Bucket=SOURCE_BUCKET, Key=first)["Body"].read())
    assert body["recorded_at"] == RECORDED.isoformat()
    assert s3.head_object(Bucket=SOURCE_BUCKET, Key=first)["ContentType"] == "application/json"


def test_an_older_botocore_sends_the_header_itself(s3, monkeypatch) -> None:
    monkeypatch.setattr(record, "_knows_if_none_match", lambda client: False)
    key = write_record(s3, bucket=SOURCE_BUCKET, record=_record(30))
    assert write_record(s3, bucket=SOURCE_BUCKET, record=_record(30, RECORDED + timedelta(hours=1))) == key
    assert len(s3.list_object_versions(Bucket=SOURCE_BUCKET, Prefix="audit/")["Versions"]) == 1


def test_the_record_is_encrypted_with_the_key_object_by_object(s3) -> None:
    key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    key = write_record(s3, bucket=SOURCE_BUCKET, record=_record(31), kms_key_arn=key_arn)
    head = s3.head_object(Bucket=SOURCE_BUCKET, Key=key)
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key_arn)
    assert not head.get("BucketKeyEnabled")


def test_a_conflicting_write_is_retried_and_other_errors_are_not() -> None:
    def error(code: str, status: int) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": code},
                            "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")

    class Racing:
        def __init__(self, *answers):
            self.answers, self.calls = list(answers), []

        def put_object(self, **request):
            self.calls.append(request)
            answer = self.answers.pop(0)
            if answer is not None:
                raise answer

    racing = Racing(error("ConditionalRequestConflict", 409), error("PreconditionFailed", 412))
    assert write_record(racing, bucket=SOURCE_BUCKET, record=_record()).endswith(".json")
    assert len(racing.calls) == 2 and racing.calls[0]["IfNoneMatch"] == "*"
    denied = Racing(error("AccessDenied", 403))
    with pytest.raises(ClientError, match="AccessDenied"):
        write_record(denied, bucket=SOURCE_BUCKET, record=_record())


# ---- the handler: which events ----

def test_only_final_states_of_the_projects_stack_pipelines_are_recorded() -> None:
    prefix, skip = "acme-", ("acme-sync",)
    assert record.wanted(event(1), prefix, skip) == (PIPELINE, uuid_for(1), 1)
    assert record.wanted(event(1, attempt=2.0), prefix, skip) == (PIPELINE, uuid_for(1), 2)
    for state in ("CANCELED", "FAILED", "STOPPED", "SUPERSEDED"):
        assert record.wanted(event(1, state), prefix, skip) is not None, state
    for state in ("STARTED", "STOPPING", "RESUMED"):
        assert record.wanted(event(1, state), prefix, skip) is None, state
    assert record.wanted(event(1, pipeline="acme-sync"), prefix, skip) is None  # never the sync pipeline
    assert record.wanted(event(1, pipeline="other-network"), prefix, skip) is None
    assert record.wanted(event(1, pipeline="acme-"), prefix, skip) is None
    stage_event = {**event(1), "detail-type": "CodePipeline Stage Execution State Change"}
    assert record.wanted(stage_event, prefix, skip) is None
    assert record.wanted({**event(1), "source": "custom.forged"}, prefix, skip) is None


def test_a_final_event_is_recorded_and_an_ignored_one_calls_nothing(codepipeline, s3) -> None:
    client, stubber = codepipeline
    stub_execution(stubber, 17, "Succeeded", executed_high_risk(17))
    key = record.record_event(event(17), codepipeline=client, s3=s3, environ=ENV, now=RECORDED)
    assert key == f"audit/{PIPELINE}/{started(17):%Y%m%dT%H%M%SZ}-{uuid_for(17)}.json"
    written = json.loads(s3.get_object(Bucket=SOURCE_BUCKET, Key=key)["Body"].read())
    assert written["outcome"] == "executed" and written["schema"] == 1
    # the Stubber has no responses left: any call for these would fail the test
    assert record.record_event(event(18, "STARTED"), codepipeline=client, s3=s3, environ=ENV) is None
    sync = event(18, pipeline="acme-sync")
    assert record.record_event(sync, codepipeline=client, s3=s3, environ=ENV) is None


def test_the_recorder_says_what_its_environment_lacks() -> None:
    with pytest.raises(RecordError, match="RECORDS_BUCKET and PIPELINE_PREFIX"):
        record.record_event(event(1), codepipeline=None, s3=None, environ={})


def test_an_execution_still_running_is_not_recorded_whatever_the_event_says(codepipeline, s3) -> None:
    """Written once: a record of a running execution would keep its real end out for good."""
    client, stubber = codepipeline
    stub_execution(stubber, 23, "InProgress", [source(23), plan(23), approval(23, "InProgress")],
                   summaries=[summary(23, "InProgress")], pages_of_details=1)
    with pytest.raises(RecordError, match="is still InProgress although the event said SUCCEEDED"):
        record.record_event(event(23), codepipeline=client, s3=s3, environ=ENV, now=RECORDED)
    assert "Contents" not in s3.list_objects_v2(Bucket=SOURCE_BUCKET, Prefix="audit/")
