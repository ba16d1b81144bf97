"""review/stack_policy.py: the owner's stack policy around ExecuteChangeSet (issue 8, item 4; F6).

CloudFormation (DescribeStacks, GetStackPolicy, SetStackPolicy, change sets) and S3 (the artifact)
run on moto. moto 5.2 has none of CodePipeline's job APIs, so PutJobSuccessResult and
PutJobFailureResult go to botocore's Stubber: the stub checks each request against botocore's own
model of the call, and a test fails if the function reports anything but exactly one result.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from moto import mock_aws

from review import stack_policy
from review.stack_policy import ALLOW_ALL, run

REGION = "eu-west-1"
JOB_ID = "11111111-abcd-1111-abcd-111111abcdef"
ARTIFACT_BUCKET = "acme-artifacts"
ARTIFACT_KEY = "acme-database/SourceArti/AbCdEf1"
CREDENTIALS = {"accessKeyId": "ASIAEXAMPLEEXAMPLE01", "secretAccessKey": "s3cr3t-artifact-key-never-logged",
               "sessionToken": "session-token-never-logged"}
POLICY = {"Statement": [
    {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
    {"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*",
     "Resource": "LogicalResourceId/Database"}]}
TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})


def event(phase: str, stack: str = "acme-database", *, user_parameters: str | None = None) -> dict:
    """A Lambda invoke action's event, as CodePipeline sends it (action-reference-Lambda)."""
    parameters = user_parameters if user_parameters is not None else json.dumps(
        {"Phase": phase, "StackName": stack})
    return {"CodePipeline.job": {
        "id": JOB_ID, "accountId": "123456789012",
        "data": {
            "actionConfiguration": {"configuration": {"FunctionName": "acme-changegate-stack-policy",
                                                      "UserParameters": parameters}},
            "inputArtifacts": [{"name": "SourceArtifact", "revision": None, "location": {
                "type": "S3", "s3Location": {"bucketName": ARTIFACT_BUCKET, "objectKey": ARTIFACT_KEY}}}],
            "outputArtifacts": [],
            "artifactCredentials": CREDENTIALS,
            "encryptionKey": {"id": "arn:aws:kms:eu-west-1:123456789012:alias/acme-changegate",
                              "type": "KMS"},
        }}}


def archive(policy: dict | None) -> bytes:
    config = {"Parameters": {}, "Tags": {}}
    if policy is not None:
        config["StackPolicy"] = policy
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("template.yaml", TEMPLATE)
        zipped.writestr("config.json", json.dumps(config))
    return buffer.getvalue()


@pytest.fixture
def aws(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket=ARTIFACT_BUCKET,
                                           CreateBucketConfiguration={"LocationConstraint": REGION})
        yield session


class Harness:
    """The function's clients: moto CloudFormation and S3, stubbed CodePipeline job results."""

    def __init__(self, session: boto3.Session) -> None:
        self.cfn = session.client("cloudformation")
        self.s3 = session.client("s3")
        self.codepipeline = session.client("codepipeline")
        self.stubber = Stubber(self.codepipeline)
        self.credentials: list[dict] = []

    def artifact(self, policy: dict | None) -> None:
        self.s3.put_object(Bucket=ARTIFACT_BUCKET, Key=ARTIFACT_KEY, Body=archive(policy))

    def artifact_s3(self, credentials: dict):
        self.credentials.append(credentials)
        return self.s3

    def expect_success(self) -> None:
        self.stubber.add_response("put_job_success_result", {}, {"jobId": JOB_ID})

    def expect_failure(self) -> None:
        self.stubber.add_response("put_job_failure_result", {},
                                  {"jobId": JOB_ID, "failureDetails": {"type": "JobFailed", "message": ANY}})

    def run(self, evt: dict):
        with self.stubber:
            outcome = run(evt, codepipeline=self.codepipeline, cloudformation=self.cfn,
                          artifact_s3=self.artifact_s3)
        self.stubber.assert_no_pending_responses()  # exactly the one result expected
        return outcome

    def policy(self, stack: str = "acme-database") -> dict | None:
        body = self.cfn.get_stack_policy(StackName=stack).get("StackPolicyBody")
        return json.loads(body) if body else None

    def create_stack(self, stack: str = "acme-database") -> None:
        self.cfn.create_stack(StackName=stack, TemplateBody=TEMPLATE)

    def create_change_set_for_a_new_stack(self, stack: str = "acme-database") -> None:
        self.cfn.create_change_set(StackName=stack, ChangeSetName="acme-0f1e2d3c", TemplateBody=TEMPLATE,
                                   ChangeSetType="CREATE")


@pytest.fixture
def harness(aws) -> Harness:
    return Harness(aws)


def test_before_execute_sets_the_owners_policy_on_an_existing_stack(harness: Harness) -> None:
    harness.create_stack()
    harness.artifact(POLICY)
    harness.expect_success()
    outcome = harness.run(event("before"))
    assert outcome.changed is True
    assert harness.policy() == POLICY
    assert harness.credentials == [CREDENTIALS]  # the artifact is read with the job's credentials


def test_a_stack_being_created_is_left_for_after_execute(harness: Harness) -> None:
    harness.create_change_set_for_a_new_stack()
    status = harness.cfn.describe_stacks(StackName="acme-database")["Stacks"][0]["StackStatus"]
    assert status == "REVIEW_IN_PROGRESS"
    harness.artifact(POLICY)
    harness.expect_success()
    outcome = harness.run(event("before"))
    assert outcome.changed is False and "being created" in outcome.message
    assert harness.policy() is None
    # ExecuteChangeSet creates it; VerifyStackPolicy then sets the policy and checks it.
    harness.cfn.execute_change_set(StackName="acme-database", ChangeSetName="acme-0f1e2d3c")
    harness.expect_success()
    assert harness.run(event("after")).changed is True
    assert harness.policy() == POLICY


def test_after_execute_with_the_policy_in_place_changes_nothing(harness: Harness) -> None:
    harness.create_stack()
    harness.cfn.set_stack_policy(StackName="acme-database", StackPolicyBody=json.dumps(POLICY))
    harness.artifact(POLICY)
    harness.expect_success()
    outcome = harness.run(event("after"))
    assert outcome.changed is False and "already had the configured" in outcome.message


def test_no_policy_configured_leaves_a_stack_without_one_alone(harness: Harness) -> None:
    harness.create_stack()
    harness.artifact(None)
    harness.expect_success()
    assert harness.run(event("after")).changed is False
    assert harness.policy() is None


def test_a_removed_policy_is_overwritten_with_allow_all(harness: Harness) -> None:
    """A stack policy cannot be removed, only overwritten: the owners' removal becomes allow-all."""
    harness.create_stack()
    harness.cfn.set_stack_policy(StackName="acme-database", StackPolicyBody=json.dumps(POLICY))
    harness.artifact(None)
    harness.expect_success()
    assert harness.run(event("before")).changed is True
    assert harness.policy() == ALLOW_ALL


def test_a_changed_policy_replaces_the_old_one(harness: Harness) -> None:
    harness.create_stack()
    harness.cfn.set_stack_policy(StackName="acme-database", StackPolicyBody=json.dumps(ALLOW_ALL))
    harness.artifact(POLICY)
    harness.expect_success()
    assert harness.run(event("after")).changed is True
    assert harness.policy() == POLICY


def test_a_missing_stack_fails_the_action(harness: Harness) -> None:
    harness.artifact(POLICY)
    harness.expect_failure()
    assert harness.run(event("after")) is None


def test_a_policy_that_does_not_stick_fails_the_action(aws) -> None:
    """GetStackPolicy must return exactly the policy after SetStackPolicy (Stubber: moto always keeps it)."""
    harness = Harness(aws)
    harness.artifact(POLICY)
    cfn = aws.client("cloudformation")
    stub = Stubber(cfn)
    stack = {"StackName": "acme-database", "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/"
             "acme-database/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "CreationTime": "2026-12-01T00:00:00Z",
             "StackStatus": "UPDATE_COMPLETE"}
    stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "acme-database"})
    stub.add_response("get_stack_policy", {}, {"StackName": "acme-database"})
    stub.add_response("set_stack_policy", {}, {"StackName": "acme-database",
                                               "StackPolicyBody": json.dumps(POLICY, sort_keys=True)})
    stub.add_response("get_stack_policy", {"StackPolicyBody": json.dumps(ALLOW_ALL)},
                      {"StackName": "acme-database"})
    harness.cfn = cfn
    harness.expect_failure()
    with stub:
        assert harness.run(event("after")) is None
    stub.assert_no_pending_responses()


@pytest.mark.parametrize("parameters", ["not json", json.dumps({"Phase": "during", "StackName": "x"}),
                                        json.dumps({"Phase": "after"}), ""])
def test_bad_user_parameters_fail_the_action(harness: Harness, parameters: str) -> None:
    harness.expect_failure()
    assert harness.run(event("after", user_parameters=parameters)) is None


def test_an_unreadable_artifact_fails_the_action(harness: Harness) -> None:
    harness.create_stack()
    harness.s3.put_object(Bucket=ARTIFACT_BUCKET, Key=ARTIFACT_KEY, Body=b"not a zip")
    harness.expect_failure()
    assert harness.run(event("before")) is None


def test_an_unexpected_error_still_reports_a_failure(harness: Harness) -> None:
    """Without a result the action would hang until it times out (20 minutes without a reply)."""
    def broken(credentials):
        raise RuntimeError("no network")

    harness.artifact_s3 = broken
    harness.expect_failure()
    assert harness.run(event("before")) is None


def test_a_refused_set_stack_policy_is_reported_with_its_reason(aws) -> None:
    harness = Harness(aws)
    harness.artifact(POLICY)
    cfn = aws.client("cloudformation")
    stub = Stubber(cfn)
    stack = {"StackName": "acme-database", "CreationTime": "2026-12-01T00:00:00Z",
             "StackStatus": "UPDATE_COMPLETE"}
    stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "acme-database"})
    stub.add_response("get_stack_policy", {}, {"StackName": "acme-database"})
    stub.add_client_error("set_stack_policy", "AccessDenied", "not authorized to perform: SetStackPolicy")
    harness.cfn = cfn
    reported = []
    harness.codepipeline.put_job_failure_result = lambda **kwargs: reported.append(kwargs)
    with stub:
        run(event("before"), codepipeline=harness.codepipeline, cloudformation=cfn,
            artifact_s3=harness.artifact_s3)
    [result] = reported
    assert result["failureDetails"]["message"] == ("SetStackPolicy failed: AccessDenied: not authorized to "
                                                   "perform: SetStackPolicy")


def test_the_event_and_its_credentials_are_never_logged(harness: Harness, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="review")
    harness.create_stack()
    harness.artifact(POLICY)
    harness.expect_success()
    harness.run(event("before"))
    harness.expect_failure()
    harness.run(event("after", stack="acme-missing"))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "acme-database" in text and "acme-missing" in text  # it does log what it did
    for secret in CREDENTIALS.values():
        assert secret not in text


def test_the_artifact_client_signs_with_the_jobs_credentials() -> None:
    client = stack_policy._artifact_client(CREDENTIALS)
    credentials = client._request_signer._credentials
    assert (credentials.access_key, credentials.secret_key, credentials.token) == (
        CREDENTIALS["accessKeyId"], CREDENTIALS["secretAccessKey"], CREDENTIALS["sessionToken"])
    assert client.meta.config.signature_version == "s3v4"


def test_stack_status_raises_other_errors(aws) -> None:
    cfn = aws.client("cloudformation")
    stub = Stubber(cfn)
    stub.add_client_error("describe_stacks", "Throttling", "Rate exceeded")
    with stub, pytest.raises(ClientError):
        stack_policy.stack_status(cfn, "acme-database")
