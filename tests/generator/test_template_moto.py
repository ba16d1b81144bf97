"""Create the bootstrap stack in moto's CloudFormation and check what moto does create.

moto ignores AWS::CodePipeline::Pipeline and AWS::CodeBuild::Project (and some other types);
the buckets, key, roles, policy and topic are real moto resources we can inspect. moto 5.2 cannot
create AWS::CodeConnections::Connection and fails on an output reading its ARN, so this test
configures an existing connection.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from generator.bootstrap.functions import function_archive, function_code_key
from generator.bootstrap.template import render_template
from generator.naming import staging_bucket_name

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
# The account the example config's ARNs name (pipelines/config.yaml): moto runs as that account.
ACCOUNT = "111122223333"
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")


@pytest.fixture
def aws(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION,
                       "MOTO_ACCOUNT_ID": ACCOUNT}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


CONNECTION = f"arn:aws:codeconnections:eu-west-1:{ACCOUNT}:connection/00000000-0000-0000-0000-000000000000"


def test_bootstrap_stack_creates_in_moto(aws, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "stacks", root / "stacks")
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    config = root / "pipelines" / "config.yaml"
    config.write_text(config.read_text("utf-8").replace("connection_arn: create",
                                                        f"connection_arn: {CONNECTION}"), "utf-8")
    body = render_template(root)
    # The approvers are existing principals the bootstrap stack attaches its policy to.
    aws.client("iam").create_role(RoleName="PlatformApprovers", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": []}))
    # `changegate deploy` uploads the stack-policy function's code before it creates the stack.
    archive = function_archive()
    s3 = aws.client("s3")
    staging = staging_bucket_name(ACCOUNT, REGION)
    s3.create_bucket(Bucket=staging, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=staging, Key=function_code_key(archive), Body=archive.data)
    cfn = aws.client("cloudformation")
    cfn.create_stack(StackName="acme-pipelines", TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    stack = cfn.describe_stacks(StackName="acme-pipelines")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    created = {r["LogicalResourceId"]: r["PhysicalResourceId"]
               for r in cfn.list_stack_resources(StackName="acme-pipelines")["StackResourceSummaries"]}
    assert {"SourceBucket", "ArtifactBucket", "ArtifactKey", "PipelineRole", "SyncRole",
            "CloudFormationExecutionRole", "ApproversPolicy", "ApprovalTopic"} <= set(created)

    iam = aws.client("iam")
    roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert {"acme-changegate-pipeline", "acme-changegate-sync", "acme-changegate-cloudformation"} <= roles
    trust = iam.get_role(RoleName="acme-changegate-cloudformation")["Role"]["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "cloudformation.amazonaws.com"}]
    attached = iam.list_entities_for_policy(PolicyArn=_policy_arn(iam, "acme-changegate-approvers"))
    assert [r["RoleName"] for r in attached["PolicyRoles"]] == ["PlatformApprovers"]

    # The stack-policy function, its role and its code from the staging bucket.
    function = aws.client("lambda").get_function(FunctionName="acme-changegate-steps")
    assert function["Configuration"]["Handler"] == "review.steps.handler"
    assert function["Configuration"]["Role"].endswith(":role/acme-changegate-steps")
    assert function["Configuration"]["CodeSha256"]
    assert {"StackPolicyFunction", "StackPolicyRole", "StackPolicyLogGroup"} <= set(created)

    # moto 5.2 creates the buckets but applies neither their versioning nor AWS::S3::BucketPolicy;
    # test_template.py checks those properties in the template itself.
    source = created["SourceBucket"]
    assert source in {b["Name"] for b in s3.list_buckets()["Buckets"]}

    kms = aws.client("kms")
    assert kms.get_key_rotation_status(KeyId=created["ArtifactKey"])["KeyRotationEnabled"] is True

    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["ConnectionArn"] == CONNECTION
    assert outputs["SourceBucketName"] == source
    assert outputs["StackPipelineNames"] == "acme-alarms,acme-database,acme-network,acme-service"


def _policy_arn(iam, name: str) -> str:
    policies = iam.list_policies(Scope="Local")["Policies"]
    return next(p["Arn"] for p in policies if p["PolicyName"] == name)
