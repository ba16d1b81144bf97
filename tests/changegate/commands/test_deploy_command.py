"""``changegate deploy`` end to end: moto in process, then the installed CLI against moto_server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from changegate.aws import Aws

REGION = "us-east-1"


@pytest.fixture
def moto_aws():
    """An ``Aws`` on moto; S3 over plain http (moto cannot evaluate the TLS-only policy's condition)."""
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        cfn = session.client("cloudformation")
        # moto has no UpdateTerminationProtection: answer like AWS and record it
        from botocore.awsrequest import AWSResponse
        protected = []

        def answer(params, **kwargs):
            protected.append(params["body"]["StackName"])
            return AWSResponse(None, 200, {}, None), {"StackId": "arn:aws:cloudformation:x"}

        cfn.meta.events.register("before-call.cloudformation.UpdateTerminationProtection", answer)
        aws = Aws(session, clients={"cloudformation": cfn,
                                    "s3": session.client("s3", endpoint_url="http://s3.amazonaws.com")})
        aws.protected = protected
        yield aws


def test_first_deploy_update_and_nothing_to_deploy(repo, run, moto_aws, make_template, tmp_path):
    template = tmp_path / "pipelines.json"
    template.write_text(make_template())
    args = ["deploy", "--root", str(repo), "--template", str(template)]
    first = run([*args, "--yes"], aws=moto_aws)
    assert first.exit_code == 0, first.error
    assert "to create stack acme-pipelines: 1 to add, 0 to modify, 0 to remove" in first.stdout
    assert "Created staging bucket changegate-staging-123456789012-us-east-1" in first.stderr
    assert "CREATE_COMPLETE" in first.stderr  # the followed events
    assert first.stdout.strip().endswith("Deployed: stack acme-pipelines is CREATE_COMPLETE; "
                                         "termination protection is on.")
    assert moto_aws.protected == ["acme-pipelines"]

    template.write_text(make_template({"ApprovalTopic": {"Type": "AWS::SNS::Topic"},
                                       "Pipelinenetwork": {"Type": "AWS::CodePipeline::Pipeline",
                                                           "Properties": {"Name": "acme-network"}}}))
    declined = run(args, aws=moto_aws, input="n\n")
    assert declined.exit_code == 1 and "Not confirmed" in declined.stdout
    assert "Pipelines added: Pipelinenetwork" in declined.stdout
    cfn = moto_aws.client("cloudformation")
    # deleted (moto, unlike AWS, keeps executed change sets listed: look for unexecuted ones)
    assert not unexecuted(cfn)

    dry = run([*args, "--dry-run"], aws=moto_aws)
    assert dry.exit_code == 0 and "Dry run: change set" in dry.stdout
    update = run([*args, "--format", "json"], aws=moto_aws, input="y\n")
    assert update.exit_code == 0, update.error
    data = json.loads(update.stdout)
    assert data["result"] == "deployed" and data["status"] == "UPDATE_COMPLETE"
    assert any(c["logical_id"] == "Pipelinenetwork" and c["action"] == "Add"
               for c in data["change_set"]["changes"])

    again = run(args, aws=moto_aws)
    assert again.exit_code == 0, again.error
    assert again.stdout.strip() == "Nothing to deploy: stack acme-pipelines is up to date."
    assert not unexecuted(cfn)


def unexecuted(cfn) -> list[str]:
    return [s["ChangeSetName"] for s in cfn.list_change_sets(StackName="acme-pipelines")["Summaries"]
            if s["ExecutionStatus"] == "AVAILABLE" or s["Status"] == "FAILED"]


def test_the_function_code_is_staged_once(repo, run, moto_aws, make_template, tmp_path):
    """The template's function reads its code from the staging bucket, as generator/bootstrap/function.py's
    does: moto's CloudFormation creates the function only if the zip is there when it executes."""
    import base64
    import hashlib

    from generator.bootstrap.functions import function_archive, function_code_key

    archive = function_archive()
    key = function_code_key(archive)
    role = moto_aws.session.client("iam").create_role(RoleName="acme-changegate-stack-policy",
                                                      AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    template = tmp_path / "pipelines.json"
    code = {"S3Bucket": {"Fn::Sub": "changegate-staging-${AWS::AccountId}-${AWS::Region}"}, "S3Key": key}
    template.write_text(make_template({"StackPolicyFunction": {
        "Type": "AWS::Lambda::Function", "Properties": {
            "Code": code, "Role": role, "Runtime": "python3.12", "Handler": "review.stack_policy.handler"}}}))
    args = ["deploy", "--root", str(repo), "--template", str(template), "--yes"]
    first = run(args, aws=moto_aws)
    assert first.exit_code == 0, first.error
    function = moto_aws.session.client("lambda").list_functions()["Functions"][0]
    assert function["CodeSha256"] == base64.b64encode(hashlib.sha256(archive.data).digest()).decode()
    bucket = "changegate-staging-123456789012-us-east-1"
    assert f"Uploaded function code to s3://{bucket}/{key} ({len(archive.data):,} bytes)" in first.stderr
    s3 = moto_aws.client("s3")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == archive.data
    again = run(args, aws=moto_aws)
    assert again.exit_code == 0, again.error
    assert "Uploaded function code" not in again.stderr  # the same content is already there
    versions = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    assert len(versions) == 1


def test_a_template_naming_other_function_code_is_refused(repo, run, moto_aws, make_template, tmp_path):
    stale = "changegate/functions/" + "0" * 64 + ".zip"
    template = tmp_path / "pipelines.json"
    template.write_text(make_template({"Function": {"Type": "AWS::Lambda::Function", "Properties": {
        "Code": {"S3Bucket": "b", "S3Key": stale}, "Role": "r", "Runtime": "python3.12",
        "Handler": "review.stack_policy.handler"}}}))
    result = run(["deploy", "--root", str(repo), "--template", str(template), "--yes"], aws=moto_aws)
    assert result.exit_code == 2
    assert result.error.startswith(f"{template} names function code {stale}, but this changegate builds "
                                   "changegate/functions/")
    assert "changegate generate" in result.error
    assert moto_aws.client("s3").list_buckets()["Buckets"] == []  # refused before anything was made


def test_a_region_without_a_type_the_template_uses_is_refused_before_anything(repo, run, make_template,
                                                                             tmp_path):
    template = tmp_path / "pipelines.json"
    template.write_text(make_template({"Connection": {"Type": "AWS::CodeConnections::Connection",
                                                      "Properties": {"ConnectionName": "acme-github",
                                                                     "ProviderType": "GitHub"}}}))
    with mock_aws():
        session = boto3.Session(region_name="ap-east-1")
        aws = Aws(session, clients={"cloudformation": session.client("cloudformation"),
                                    "s3": session.client("s3")})
        result = run(["deploy", "--root", str(repo), "--template", str(template), "--yes"], aws=aws)
        assert result.exit_code == 2
        assert result.error.splitlines()[:2] == [
            "the bootstrap stack cannot be deployed to region ap-east-1:",
            "  - resource type AWS::CodeConnections::Connection does not exist in ap-east-1; fix: set "
            "repository.connection_arn in pipelines/config.yaml to a connection created in another region "
            "(connections are global), or deploy to a region that has it (--region)"]
        assert session.client("s3").list_buckets()["Buckets"] == []
        assert session.client("cloudformation").list_stacks()["StackSummaries"] == []


def test_a_failing_deploy_exits_1_naming_the_call(repo, run, moto_aws, make_template, tmp_path):
    moto_aws.client("s3").create_bucket(Bucket="taken-by-someone")
    template = tmp_path / "pipelines.json"
    template.write_text(make_template({"Bucket": {"Type": "AWS::S3::Bucket",
                                                  "Properties": {"BucketName": "taken-by-someone"}}}))
    result = run(["deploy", "--root", str(repo), "--template", str(template), "--yes"], aws=moto_aws)
    assert result.exit_code == 1
    assert result.error.startswith("BucketAlreadyExists: cloudformation:ExecuteChangeSet on "
                                   "stack/acme-pipelines")


def test_no_credentials_is_a_clear_message(repo, run, tmp_path, monkeypatch, make_template):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    template = tmp_path / "pipelines.json"
    template.write_text(make_template())
    result = run(["deploy", "--root", str(repo), "--template", str(template), "--yes"], aws=None)
    assert result.exit_code == 1
    assert result.error.startswith("no usable AWS credentials for sts:GetCallerIdentity")
    assert "--profile" in result.error


def test_unknown_profile_is_a_usage_error(repo, run, tmp_path, make_template):
    template = tmp_path / "pipelines.json"
    template.write_text(make_template())
    result = run(["deploy", "--root", str(repo), "--template", str(template), "--profile", "nope"], aws=None)
    assert result.exit_code == 2 and "AWS profile 'nope' not found" in result.error


# ---- the installed command against a moto_server process ----

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# This environment's own scripts, whatever comes first on PATH: an older moto_server or changegate
# elsewhere must not be the one tested (issue 8, item 6). The test command installs both.
BIN = Path(sys.executable).parent


def _script(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not in {BIN}: install the project with its test extras "
                    "(pip install -e '.[test]') in this environment")
    return str(path)


@pytest.fixture
def moto_server():
    executable = _script("moto_server")
    port = _free_port()
    process = subprocess.Popen([executable, "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("moto_server did not start")
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_installed_cli_against_moto_server(moto_server, repo, make_template, tmp_path):
    changegate = _script("changegate")
    template = tmp_path / "pipelines.json"
    template.write_text(make_template())
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_server, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION, "PYTHONWARNINGS": "ignore"}
    command = [changegate, "deploy", "--root", str(repo), "--template", str(template), "--yes"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "Deployed: stack acme-pipelines is CREATE_COMPLETE" in first.stdout
    cfn = boto3.client("cloudformation", endpoint_url=moto_server, region_name=REGION)
    assert cfn.describe_stacks(StackName="acme-pipelines")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "Nothing to deploy: stack acme-pipelines is up to date."
    assert sys.executable  # the same interpreter's environment ran both


def test_credentials_of_another_account_deploy_nothing(repo, run, moto_aws, make_template, tmp_path):
    # The approvers policy attaches to principals by name: in another account it would give that
    # account's same-named role approval rights (issue 9, item 4).
    config = repo / "pipelines" / "config.yaml"
    config.write_text(config.read_text() + "account_id: \"111122223333\"\n")
    template = tmp_path / "pipelines.json"
    template.write_text(make_template())
    result = run(["deploy", "--root", str(repo), "--template", str(template), "--yes"], aws=moto_aws)
    assert result.exit_code == 2
    assert "account 123456789012" in result.error and "deploys to account 111122223333" in result.error
    s3 = moto_aws.client("s3")
    assert s3.list_buckets()["Buckets"] == []  # refused before the staging bucket
    config.write_text(config.read_text().replace("111122223333", "123456789012"))
    again = run(["deploy", "--root", str(repo), "--template", str(template), "--yes"], aws=moto_aws)
    assert again.exit_code == 0
