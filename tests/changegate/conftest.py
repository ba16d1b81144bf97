"""Fixtures for the operator commands: a fake AWS environment, a small repository, stubbed clients."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from cg_stubs import NOW, REGION, SOURCE_BUCKET, Stubs
from click.testing import CliRunner
from moto import mock_aws

from changegate.aws import Aws
from changegate.cli import cli
from generator.errors import ChangegateError

CONFIG_YAML = """\
project: acme
repository:
  name: acme-corp/infrastructure
stacks:
  legacy:
    stack_name: LegacyNetwork
"""


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and one region, never the developer's real ones."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN",
                 "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/changegate-test-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/changegate-test-credentials")


def write_repo(root: Path, folders: tuple[str, ...] = ("database", "legacy", "network")) -> Path:
    (root / "pipelines").mkdir(parents=True, exist_ok=True)
    (root / "pipelines" / "config.yaml").write_text(CONFIG_YAML)
    for folder in folders:
        (root / "stacks" / folder).mkdir(parents=True, exist_ok=True)
        (root / "stacks" / folder / "template.yaml").write_text(
            "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "repo")


def bootstrap_template(resources: dict | None = None, pad_to: int = 60_000) -> str:
    """A template moto's CloudFormation really creates, padded past the 51,200-byte inline limit."""
    body = {"AWSTemplateFormatVersion": "2010-09-09",
            "Description": "test bootstrap stack",
            "Resources": resources or {"ApprovalTopic": {"Type": "AWS::SNS::Topic"}},
            "Metadata": {"Padding": ""}}
    text = json.dumps(body, indent=2, sort_keys=True)
    body["Metadata"]["Padding"] = "x" * max(0, pad_to - len(text))
    return json.dumps(body, indent=2, sort_keys=True)


@pytest.fixture
def make_template() -> Callable[..., str]:
    return bootstrap_template


@pytest.fixture
def stubs() -> Stubs:
    """Stubber for CodePipeline and CloudFormation (moto lacks GetPipelineState, ListActionExecutions,
    PutApprovalResult...), moto for S3: the versioned source bucket whose object metadata the
    operator commands read (moto keeps versions and user metadata as S3 does)."""
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        s3 = session.client("s3")
        s3.create_bucket(Bucket=SOURCE_BUCKET)
        s3.put_bucket_versioning(Bucket=SOURCE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        made = Stubs(session.client("codepipeline"), session.client("cloudformation"), s3)
        yield made
        made.cp.deactivate()
        made.cfn.deactivate()


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    error: str | None


@pytest.fixture
def run() -> Callable[..., Run]:
    """Invoke the CLI like ``changegate.cli.main`` does (exit code and message from ChangegateError),
    with an injected ``Aws`` and clock."""
    def invoke(args: list[str], aws: Aws | None = None, input: str | None = None, **obj: Any) -> Run:
        runner = CliRunner()
        context = {"aws": aws, "now": lambda: NOW, "workers": 1, **obj}
        result = runner.invoke(cli, args, obj=context, input=input, standalone_mode=False)
        error = None
        code = result.return_value if isinstance(result.return_value, int) else 0
        if isinstance(result.exception, ChangegateError):
            error, code = str(result.exception), result.exception.exit_code
        elif result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Run(code, result.stdout, result.stderr, error)
    return invoke
