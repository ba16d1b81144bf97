"""The session factory and the translation of botocore failures into messages naming action and resource."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from changegate.aws import AccessDeniedError, CredentialsError, aws_call, make_session
from generator.errors import AwsError, UsageError


def client_error(code: str, message: str = "details") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "CreateChangeSet")


def test_aws_region_wins_over_aws_default_region(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert make_session().region_name == "eu-west-1"
    assert make_session(region="ap-south-1").region_name == "ap-south-1"
    monkeypatch.delenv("AWS_REGION")
    assert make_session().region_name == "us-east-1"


def test_endpoint_url_from_the_environment_is_honoured(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    assert make_session().client("cloudformation").meta.endpoint_url == "http://127.0.0.1:5000"


def test_unknown_profile():
    with pytest.raises(UsageError, match="AWS profile 'ghost' not found"):
        make_session(profile="ghost")


@pytest.mark.parametrize(("raised", "kind", "expected"), [
    (client_error("AccessDenied", "User x is not authorized"), AccessDeniedError,
     "AccessDenied: cloudformation:CreateChangeSet on stack/acme-pipelines is not allowed for these "
     "credentials (User x is not authorized); ask for cloudformation:CreateChangeSet on "
     "stack/acme-pipelines, or use --profile with a role that has it"),
    (client_error("ExpiredToken"), CredentialsError, "ExpiredToken: the AWS credentials have expired"),
    (client_error("InvalidClientTokenId"), CredentialsError, "InvalidClientTokenId: AWS rejected"),
    (client_error("ValidationError", "Template format error"), AwsError,
     "ValidationError: cloudformation:CreateChangeSet on stack/acme-pipelines failed: Template format error"),
    (NoCredentialsError(), CredentialsError,
     "no usable AWS credentials for cloudformation:CreateChangeSet on stack/acme-pipelines: use --profile"),
])
def test_translation(raised, kind, expected):
    with pytest.raises(kind) as caught, aws_call("cloudformation:CreateChangeSet", "stack/acme-pipelines"):
        raise raised
    assert str(caught.value).startswith(expected)
