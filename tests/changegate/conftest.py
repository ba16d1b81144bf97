"""Fixtures for the operator commands: a fake AWS environment, a small repository, moto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CONFIG_YAML = """\
project: acme
repository:
  name: acme-corp/infrastructure
"""


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and one region, never the developer's real ones."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN",
                 "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/changegate-test-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/changegate-test-credentials")


def write_repo(root: Path, folders: tuple[str, ...] = ("network", "database")) -> Path:
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
