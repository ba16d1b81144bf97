"""The deploy library against moto's CloudFormation and S3, and Stubber for what moto cannot fail."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from moto import mock_aws

from changegate import deploy as deploying
from generator.errors import AwsError, UsageError

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "acme-pipelines"


def no_sleep(seconds: float) -> None:
    raise AssertionError("moto settles at once: nothing should wait")


@pytest.fixture
def clients():
    # moto ignores the aws:SecureTransport condition of the TLS-only policy and so denies every
    # object request under it; over plain http changegate leaves that policy out (as for moto_server)
    with mock_aws():
        yield (boto3.client("cloudformation", region_name=REGION),
               boto3.client("s3", region_name=REGION, endpoint_url="http://s3.amazonaws.com"))


def protect_hook(cfn) -> list[dict]:
    """moto lacks UpdateTerminationProtection: answer it like AWS does and record the request."""
    calls: list[dict] = []

    def answer(params, model, **kwargs):
        calls.append({k: v for k, v in params["body"].items() if k not in ("Action", "Version")})
        return (AWSResponse(None, 200, {}, None),
                {"StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/x"})

    cfn.meta.events.register("before-call.cloudformation.UpdateTerminationProtection", answer)
    return calls


@mock_aws
def test_staging_bucket_is_created_private_encrypted_versioned_tls_only():
    s3 = boto3.client("s3", region_name=REGION)
    bucket = deploying.ensure_staging_bucket(s3, ACCOUNT, REGION)
    assert bucket == deploying.StagingBucket(f"changegate-staging-{ACCOUNT}-{REGION}", created=True,
                                             tls_only=True)
    assert len(bucket.name) <= 63
    assert s3.get_bucket_versioning(Bucket=bucket.name)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=bucket.name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket.name)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket.name)["Policy"])
    statement = policy["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # a second call finds it and changes nothing
    assert deploying.ensure_staging_bucket(s3, ACCOUNT, REGION).created is False


@mock_aws
def test_staging_bucket_over_plain_http_gets_no_tls_only_policy():
    s3 = boto3.client("s3", region_name=REGION, endpoint_url="http://s3.amazonaws.com")
    bucket = deploying.ensure_staging_bucket(s3, ACCOUNT, REGION)
    assert bucket.tls_only is False
    assert s3.get_bucket_versioning(Bucket=bucket.name)["Status"] == "Enabled"
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=bucket.name)


def test_first_deploy_creates_the_stack_through_the_staging_bucket(clients, make_template):
    cfn, s3 = clients
    calls = protect_hook(cfn)
    body = make_template()
    assert len(body.encode()) > 51_200  # the reason for the staging bucket
    plan = deploying.prepare(cfn, s3, stack=STACK, body=body, account=ACCOUNT, region=REGION,
                             sleep=no_sleep)
    assert plan.change_set_type == "CREATE"
    assert plan.template_url.startswith(f"https://changegate-staging-{ACCOUNT}-{REGION}.s3.{REGION}.")
    key = plan.template_url.split(".amazonaws.com/", 1)[1]
    assert s3.get_object(Bucket=plan.bucket.name, Key=key)["Body"].read().decode() == body
    assert [(c.action, c.logical_id) for c in plan.change_set.changes] == [("Add", "ApprovalTopic")]
    events = []
    outcome = deploying.execute(cfn, plan, on_event=events.append, sleep=no_sleep)
    assert outcome.succeeded and outcome.status == "CREATE_COMPLETE"
    assert events[-1].status == "CREATE_COMPLETE" and events[-1].logical_id == STACK
    assert all(e.status != "REVIEW_IN_PROGRESS" for e in events)  # only events of this execution
    assert calls == [{"StackName": STACK, "EnableTerminationProtection": "true"}]
    assert outcome.protection_warning is None


def test_update_then_nothing_to_deploy(clients, make_template):
    cfn, s3 = clients
    protect_hook(cfn)
    first = deploying.prepare(cfn, s3, stack=STACK, body=make_template(), account=ACCOUNT,
                              region=REGION, sleep=no_sleep)
    deploying.execute(cfn, first, sleep=no_sleep)
    two = make_template({"ApprovalTopic": {"Type": "AWS::SNS::Topic"},
                              "Artifacts": {"Type": "AWS::S3::Bucket"}})
    update = deploying.prepare(cfn, s3, stack=STACK, body=two, account=ACCOUNT, region=REGION,
                               sleep=no_sleep)
    assert update.change_set_type == "UPDATE"
    assert ("Add", "Artifacts") in [(c.action, c.logical_id) for c in update.change_set.changes]
    assert deploying.execute(cfn, update, sleep=no_sleep).status == "UPDATE_COMPLETE"
    again = deploying.prepare(cfn, s3, stack=STACK, body=two, account=ACCOUNT, region=REGION,
                              sleep=no_sleep)
    assert again.change_set.is_empty
    deploying.discard(cfn, STACK, again.change_set.name, again.change_set_type)
    names = [s["ChangeSetName"] for s in cfn.list_change_sets(StackName=STACK)["Summaries"]]
    assert again.change_set.name not in names


def test_discarding_a_first_change_set_removes_the_empty_stack(clients, make_template):
    cfn, s3 = clients
    plan = deploying.prepare(cfn, s3, stack=STACK, body=make_template(), account=ACCOUNT,
                             region=REGION, sleep=no_sleep)
    assert cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    deploying.discard(cfn, STACK, plan.change_set.name, plan.change_set_type)
    assert deploying.stack_status(cfn, STACK) is None


def test_a_failing_execution_names_the_action_and_the_stack(clients, make_template):
    cfn, s3 = clients
    s3.create_bucket(Bucket="taken-by-someone")
    body = make_template({"Bucket": {"Type": "AWS::S3::Bucket",
                                          "Properties": {"BucketName": "taken-by-someone"}}})
    plan = deploying.prepare(cfn, s3, stack=STACK, body=body, account=ACCOUNT, region=REGION,
                             sleep=no_sleep)
    with pytest.raises(AwsError, match=r"BucketAlreadyExists: cloudformation:ExecuteChangeSet on "
                                       r"stack/acme-pipelines"):
        deploying.execute(cfn, plan, sleep=no_sleep)


def test_a_dead_stack_must_be_deleted_first():
    cfn = boto3.client("cloudformation", region_name=REGION)
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", {"Stacks": [{
            "StackName": STACK, "StackStatus": "ROLLBACK_COMPLETE",
            "CreationTime": datetime(2026, 1, 1, tzinfo=timezone.utc)}]}, {"StackName": STACK})
        with pytest.raises(UsageError, match="delete-stack --stack-name acme-pipelines"):
            deploying.prepare(cfn, None, stack=STACK, body="{}", account=ACCOUNT, region=REGION)


def _event(n: int, logical: str, rtype: str, status: str, reason: str = "") -> dict:
    event = {"StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/x",
             "EventId": f"e{n}", "StackName": STACK, "LogicalResourceId": logical,
             "ResourceType": rtype, "ResourceStatus": status,
             "Timestamp": datetime(2026, 1, 1, 12, 0, n, tzinfo=timezone.utc)}
    if reason:
        event["ResourceStatusReason"] = reason
    return event


def test_follow_reports_the_failing_resources_of_a_rollback():
    """A real update that fails rolls back over minutes: moto cannot do that, so AWS's shapes are stubbed."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    stack_type = "AWS::CloudFormation::Stack"
    poll1 = [_event(3, "Pipelinedatabase", "AWS::CodePipeline::Pipeline", "UPDATE_IN_PROGRESS"),
             _event(2, STACK, stack_type, "UPDATE_IN_PROGRESS", "User Initiated"),
             _event(1, STACK, stack_type, "UPDATE_COMPLETE")]
    poll2 = [_event(6, STACK, stack_type, "UPDATE_ROLLBACK_COMPLETE"),
             _event(5, STACK, stack_type, "UPDATE_ROLLBACK_IN_PROGRESS",
                    "The following resource(s) failed to update: [Pipelinedatabase]."),
             _event(4, "Pipelinedatabase", "AWS::CodePipeline::Pipeline", "UPDATE_FAILED",
                    "Resource handler returned message: \"Access Denied\""), *poll1]
    slept: list[float] = []
    with Stubber(cfn) as stub:
        stub.add_response("describe_stack_events", {"StackEvents": poll1}, {"StackName": STACK})
        stub.add_response("describe_stack_events", {"StackEvents": poll2}, {"StackName": STACK})
        seen = []
        outcome = deploying.follow(cfn, STACK, "e1", on_event=seen.append, sleep=slept.append,
                                   clock=lambda: 0.0, timeout=60, interval=5)
    assert [e.event_id for e in seen] == ["e2", "e3", "e4", "e5", "e6"]  # each once, oldest first
    assert slept == [5]
    assert outcome.status == "UPDATE_ROLLBACK_COMPLETE" and not outcome.succeeded
    assert [(e.logical_id, e.status) for e in outcome.failures] == [("Pipelinedatabase", "UPDATE_FAILED")]
    assert "Access Denied" in outcome.failures[0].reason


def test_follow_gives_up_after_the_timeout():
    cfn = boto3.client("cloudformation", region_name=REGION)
    now = iter([0.0, 30.0, 61.0])
    with Stubber(cfn) as stub:
        for _ in range(2):
            stub.add_response("describe_stack_events", {"StackEvents": [
                _event(2, STACK, "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS")]}, {"StackName": STACK})
        with pytest.raises(AwsError, match="has not settled after 60s"):
            deploying.follow(cfn, STACK, "e1", on_event=lambda e: None, sleep=lambda s: None,
                             clock=lambda: next(now), timeout=60, interval=5)


def test_refused_termination_protection_is_a_warning_not_a_failure():
    cfn = boto3.client("cloudformation", region_name=REGION)
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", {"Stacks": [{
            "StackName": STACK, "StackStatus": "CREATE_COMPLETE", "EnableTerminationProtection": False,
            "CreationTime": datetime(2026, 1, 1, tzinfo=timezone.utc)}]}, {"StackName": STACK})
        stub.add_client_error("update_termination_protection", "AccessDenied",
                              "User: arn:aws:sts::123456789012:assumed-role/Ops/x is not authorized",
                              http_status_code=403,
                              expected_params={"StackName": STACK, "EnableTerminationProtection": True})
        warning = deploying.ensure_termination_protection(cfn, STACK)
    assert "AccessDenied: cloudformation:UpdateTerminationProtection on stack/acme-pipelines" in warning
    assert "update-termination-protection" in warning


# ---- the stack-policy function's code, staged before the change set ----

CODE = deploying.FunctionCode("changegate/functions/" + "ab" * 32 + ".zip", b"PK\x05\x06" + b"\x00" * 18,
                              "ab" * 32)


def record_puts(s3) -> list[str]:
    keys: list[str] = []

    def put(params, **kwargs):
        keys.append(params["Key"])

    s3.meta.events.register("provide-client-params.s3.PutObject", put)
    return keys


def test_function_code_is_in_the_staging_bucket_before_the_change_set_and_uploaded_once(
        clients, make_template):
    cfn, s3 = clients
    puts = record_puts(s3)
    bucket = f"changegate-staging-{ACCOUNT}-{REGION}"
    seen_at_create: list[bytes] = []

    def at_create(params, **kwargs):  # what CloudFormation would find when it reads the code
        seen_at_create.append(s3.get_object(Bucket=bucket, Key=CODE.key)["Body"].read())

    cfn.meta.events.register("provide-client-params.cloudformation.CreateChangeSet", at_create)
    first = deploying.prepare(cfn, s3, stack=STACK, body=make_template(), account=ACCOUNT, region=REGION,
                              function=CODE, sleep=no_sleep)
    assert seen_at_create == [CODE.data] and first.function_uploaded is True
    head = s3.head_object(Bucket=bucket, Key=CODE.key)
    assert head["ContentType"] == "application/zip" and head["Metadata"] == {"sha256": CODE.sha256}
    deploying.discard(cfn, STACK, first.change_set.name, first.change_set_type)
    again = deploying.prepare(cfn, s3, stack=STACK, body=make_template(), account=ACCOUNT, region=REGION,
                              function=CODE, sleep=no_sleep)
    assert again.function_uploaded is False
    assert puts.count(CODE.key) == 1  # the second deploy found the same content and did not upload


def test_other_content_under_the_functions_key_is_replaced(clients):
    _cfn, s3 = clients
    bucket = deploying.ensure_staging_bucket(s3, ACCOUNT, REGION).name
    s3.put_object(Bucket=bucket, Key=CODE.key, Body=b"not the code")
    assert deploying.upload_function_code(s3, bucket, ACCOUNT, CODE) is True
    assert s3.get_object(Bucket=bucket, Key=CODE.key)["Body"].read() == CODE.data


def test_a_stack_whose_rollback_failed_gets_the_command_that_finishes_it():
    """UPDATE_ROLLBACK_FAILED takes no change set (F20): say how to finish the rollback, and call
    nothing else (Stubber fails on any call not queued)."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", {"Stacks": [{
            "StackName": STACK, "StackStatus": "UPDATE_ROLLBACK_FAILED",
            "CreationTime": datetime(2026, 1, 1, tzinfo=timezone.utc)}]}, {"StackName": STACK})
        with pytest.raises(UsageError) as caught:
            deploying.prepare(cfn, None, stack=STACK, body="{}", account=ACCOUNT, region=REGION,
                              function=CODE)
        stub.assert_no_pending_responses()
    message = str(caught.value)
    assert message.startswith("stack acme-pipelines is UPDATE_ROLLBACK_FAILED: an update failed and so did "
                              "its rollback")
    assert "aws cloudformation continue-update-rollback --stack-name acme-pipelines" in message
    assert "--resources-to-skip" in message and "delete-stack" not in message


def test_deploy_does_not_claim_the_example_exceeds_the_inline_limit():
    """F21: the example's compact body is about 30 KB; CloudFormation's inline limit is 51,200 bytes."""
    from changegate.commands import deploy as command

    for text in (deploying.__doc__, command.__doc__, command.deploy.help):
        assert "exceeds CloudFormation's 51,200" not in text
        assert "larger than CloudFormation's 51,200" not in text
    assert "51,200 bytes inline" in deploying.__doc__ and "about 30 KB" in deploying.__doc__
