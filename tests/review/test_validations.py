"""CloudFormation's own checks of a change set in the review (issue 11 item 1: "CloudFormation's own
pre-deployment validation and hook results where the API offers them").

DescribeEvents is not in moto 5.2: botocore's Stubber serves it, checking each request against
botocore's model and each response against its output shape (OperationEvents with EventType
VALIDATION_ERROR / HOOK_INVOCATION_ERROR and their fields).
"""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.stub import ANY, Stubber
from changesets import CHANGE_SET_ID, STACK, change, detail, response
from test_steps import POLICY, REVIEW, Clients, stack

from review.assess import assess
from review.changeset import read_change_set
from review.render import render_text
from review.validations import CheckResult, Checks, read_checks

AT = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.timezone.utc)
REQUEST = {"ChangeSetName": CHANGE_SET_ID, "Filters": {"FailedEvents": True}}
BUCKET_EXISTS = {
    "EventId": "e1", "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/acme-database/x",
    "OperationId": "op-1", "OperationType": "CREATE_CHANGESET", "EventType": "VALIDATION_ERROR",
    "LogicalResourceId": "Logs", "ResourceType": "AWS::S3::Bucket", "Timestamp": AT,
    "ValidationFailureMode": "WARN", "ValidationName": "NAME_CONFLICT_VALIDATION",
    "ValidationStatus": "FAILED", "ValidationStatusReason": "Resource with name acme-logs already exists",
    "ValidationPath": "/Resources/Logs/Properties/BucketName"}
HOOK_WARNS = {
    "EventId": "e2", "OperationId": "op-1", "EventType": "HOOK_INVOCATION_ERROR",
    "LogicalResourceId": "Database", "ResourceType": "AWS::RDS::DBInstance", "Timestamp": AT,
    "HookType": "Acme::Security::EncryptionHook", "HookStatus": "HOOK_COMPLETE_FAILED",
    "HookStatusReason": "StorageEncrypted is false", "HookFailureMode": "WARN",
    "HookInvocationPoint": "PRE_PROVISION"}
TAG_ONLY = [change("Topic", "AWS::SNS::Topic", "Modify", replacement="False",
                   details=[detail("Tags", attribute="Tags")])]


def _cfn() -> tuple:
    client = boto3.client("cloudformation", region_name="eu-west-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    return client, Stubber(client)


def test_failed_validations_and_hooks_are_findings_and_make_a_low_change_medium() -> None:
    cfn, stub = _cfn()
    stub.add_response("describe_events", {"OperationEvents": [BUCKET_EXISTS], "NextToken": "t"}, REQUEST)
    stub.add_response("describe_events", {"OperationEvents": [HOOK_WARNS]}, REQUEST | {"NextToken": "t"})
    with stub:
        checks = read_checks(cfn, CHANGE_SET_ID)
    stub.assert_no_pending_responses()  # both pages read
    assert [(r.kind, r.name, r.mode, r.logical_id) for r in checks.results] == [
        ("validation", "NAME_CONFLICT_VALIDATION", "WARN", "Logs"),
        ("hook", "Acme::Security::EncryptionHook", "WARN", "Database")]
    cfn2, stub2 = _cfn()
    stub2.add_response("describe_change_set", response(TAG_ONLY))
    with stub2:
        view = read_change_set(cfn2, STACK, "acme-change")
    assert assess(view).risk == "low"  # tags only, without the checks
    review = assess(view, checks=checks)
    assert review.risk == "medium" and review.reasons == ("CloudFormation's checks report problems",)
    assert ("CloudFormation warns: Logs validation NAME_CONFLICT_VALIDATION failed, WARN at "
            "/Resources/Logs/Properties/BucketName: Resource with name acme-logs already exists") \
        in review.summary_line()
    text = render_text(review)
    assert "CloudFormation's checks: 2 reported a problem" in text
    assert "hook Acme::Security::EncryptionHook hook_complete_failed, WARN: StorageEncrypted is false" in text


def test_a_high_risk_change_stays_high_with_checks() -> None:
    cfn, stub = _cfn()
    stub.add_response("describe_change_set", response([change(
        "Database", "AWS::RDS::DBInstance", "Remove", policy_action="Delete")]))
    with stub:
        view = read_change_set(cfn, STACK, "acme-change")
    hook = CheckResult("hook", "Acme::Security::EncryptionHook", "HOOK_COMPLETE_FAILED", "WARN",
                       "Database", "AWS::RDS::DBInstance", "StorageEncrypted is false")
    review = assess(view, checks=Checks((hook,)))
    assert review.risk == "high" and "data-loss" in review.reasons
    assert review.of_kind("cloudformation-check")[0].logical_id == "Database"


@pytest.mark.parametrize(("code", "says"), [
    ("AccessDenied", "AccessDenied: not authorized to perform: cloudformation:DescribeEvents"),
    ("ValidationError", "ValidationError: Change set not found"),
])
def test_checks_that_cannot_be_read_are_a_note_not_a_failure(code: str, says: str) -> None:
    cfn, stub = _cfn()
    stub.add_client_error("describe_events", service_error_code=code, service_message=says.split(": ", 1)[1],
                          expected_params=REQUEST)
    with stub:
        checks = read_checks(cfn, CHANGE_SET_ID)
    assert checks.results == () and checks.note == f"CloudFormation's checks could not be read: {says}"


def test_an_sdk_without_describe_events_is_a_note() -> None:
    class OldClient:  # the Lambda runtime's boto3 may predate DescribeEvents
        pass

    assert read_checks(OldClient(), CHANGE_SET_ID).unavailable == "this SDK has no DescribeEvents"


def test_the_review_step_reads_the_checks_and_the_approval_text_carries_them() -> None:
    c = Clients()
    c.describe(response(TAG_ONLY))
    c.stacks(stack())
    c.artifact(POLICY)
    c.cfn_stub.add_response("describe_events", {"OperationEvents": [BUCKET_EXISTS]}, REQUEST)
    c.success(ANY)
    result = c.run(REVIEW)
    c.cfn_stub.assert_no_pending_responses()
    assert result.outputs["RiskTier"] == "medium"
    summary = result.outputs["Summary"]
    assert "CloudFormation warns: Logs validation NAME_CONFLICT_VALIDATION failed" in summary
