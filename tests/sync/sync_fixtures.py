"""Fixtures for the sync tests: a small repository on disk and a moto-backed AWS (S3 + CodePipeline)."""

from __future__ import annotations

import io
import json
import textwrap
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sync.archive import content_hash
from sync.run import SyncOptions, SyncReport, run_sync
from sync.state import manifest_key, read_manifest

BUCKET = "acme-source"
PROJECT = "acme"
# full commit ids: without a git repository the sync accepts --commit only as a full id
C1 = "c1" * 20
C2 = "c2" * 20

TEMPLATE = textwrap.dedent("""\
    AWSTemplateFormatVersion: "2010-09-09"
    Parameters:
      TopicName:
        Type: String
    Resources:
      Topic:
        Type: AWS::SNS::Topic
        Properties:
          TopicName: !Ref TopicName
""")


class Repo:
    """A changegate repository in a temporary folder; stacks differ by their TopicName value."""

    def __init__(self, root: Path, stacks_config: str = "") -> None:
        self.root = root
        (root / "pipelines").mkdir(parents=True, exist_ok=True)
        (root / "stacks").mkdir(exist_ok=True)
        self.write_config(stacks_config)

    def write_config(self, stacks_config: str = "") -> None:
        (self.root / "pipelines" / "config.yaml").write_text(
            f"project: {PROJECT}\nrepository:\n  name: acme/infrastructure\n" + stacks_config)

    def put(self, name: str, topic: str | int | None = None, template: str = TEMPLATE) -> None:
        folder = self.root / "stacks" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "template.yaml").write_text(template)
        (folder / "config.json").write_text(json.dumps({"Parameters": {"TopicName": topic or f"t-{name}"}}))

    def remove(self, name: str) -> None:
        for path in (self.root / "stacks" / name).iterdir():
            path.unlink()
        (self.root / "stacks" / name).rmdir()


@dataclass
class Aws:
    s3: Any
    codepipeline: Any
    role_arn: str
    calls: list[str] = field(default_factory=list)  # S3 operations, in order
    starts: list[dict] = field(default_factory=list)  # StartPipelineExecution parameters

    def create_pipeline(self, folder: str) -> None:
        self.codepipeline.create_pipeline(pipeline={
            "name": f"{PROJECT}-{folder}", "roleArn": self.role_arn,
            "artifactStore": {"type": "S3", "location": "acme-artifacts"},
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Source",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": BUCKET, "S3ObjectKey": f"stacks/{folder}.zip"},
                    "outputArtifacts": [{"name": "src"}]}]},
                {"name": "Approve", "actions": [{
                    "name": "Approve",
                    "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual",
                                     "version": "1"}}]}]})

    def sync(self, repo: Repo, **options: Any) -> SyncReport:
        self.calls.clear()
        return run_sync(repo.root, self.s3, self.codepipeline,
                        SyncOptions(bucket=BUCKET, workers=4, jobs=1, **options))

    def writes(self) -> list[str]:
        return [c for c in self.calls if c in ("PutObject", "DeleteObject")]

    def manifest(self) -> dict:
        records, _ = read_manifest(self.s3, BUCKET, "stacks/")
        return records

    def current_entries(self, folder: str, version_id: str | None = None) -> dict[str, bytes]:
        extra = {"VersionId": version_id} if version_id else {}
        body = self.s3.get_object(Bucket=BUCKET, Key=f"stacks/{folder}.zip", **extra)["Body"].read()
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}

    def current_keys(self) -> set[str]:
        listing = self.s3.list_objects_v2(Bucket=BUCKET, Prefix="stacks/")
        return {o["Key"] for o in listing.get("Contents", [])} - {manifest_key("stacks/")}

    def assert_manifest_truthful(self) -> None:
        """No record claims content that is not in the bucket: each recorded version holds its hash."""
        for folder, record in self.manifest().items():
            assert record.version_id, folder
            assert content_hash(self.current_entries(folder, record.version_id)) == record.sha256, folder


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "CODEBUILD_RESOLVED_SOURCE_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="pipelines", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        result = Aws(s3=s3, codepipeline=boto3.client("codepipeline", region_name="us-east-1"),
                     role_arn=role)

        def record_s3(model: Any, **_: Any) -> None:
            result.calls.append(model.name)

        def record_start(params: dict, **_: Any) -> None:
            result.starts.append(json.loads(json.dumps(params)))

        s3.meta.events.register("before-call.s3", record_s3)
        result.codepipeline.meta.events.register(
            "provide-client-params.codepipeline.StartPipelineExecution", record_start)
        yield result


def fail_on(client: Any, operation: str, nth: int | tuple[int, ...] = 1, *, service: str = "s3",
            error: Callable[[], BaseException] | None = None,
            when: Callable[[dict], bool] = lambda params: True) -> None:
    """Make the ``nth`` call(s) of ``operation`` (matching ``when``) raise; the others succeed."""
    seen = {"n": 0}
    failing = {nth} if isinstance(nth, int) else set(nth)

    def hook(params: dict, **_: Any) -> None:
        if not when(params):
            return
        seen["n"] += 1
        if seen["n"] in failing:
            raise (error() if error else ClientError(
                {"Error": {"Code": "InternalError", "Message": "injected failure"}}, operation))

    client.meta.events.register(f"provide-client-params.{service}.{operation}", hook)


def is_manifest(params: dict) -> bool:
    return params.get("Key", "").endswith("state.json")


GIT_ENV = {"GIT_AUTHOR_NAME": "Ada Lovelace", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_NAME": "Ada Lovelace", "GIT_COMMITTER_EMAIL": "ada@example.com",
           "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_SYSTEM": "/dev/null",
           "PATH": "/usr/bin:/bin:/usr/local/bin"}


def git(root: Path, *args: str) -> str:
    import subprocess
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env=GIT_ENV).stdout.strip()


def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")
