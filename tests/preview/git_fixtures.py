"""A small Git repository of stacks for preview tests: write files, commit, return the id."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
       "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_SYSTEM": "/dev/null", "HOME": "/nonexistent",
       "PATH": "/usr/bin:/bin:/usr/local/bin"}

CONFIG = """\
project: acme
repository:
  name: acme/infrastructure
stacks:
  app:
    capabilities: [CAPABILITY_IAM]
"""


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True, env=ENV)
    return done.stdout.strip()


def write(root: Path, files: dict) -> None:
    for relpath, content in files.items():
        path = root / relpath
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else json.dumps(content, indent=2)
        path.write_text(text, encoding="utf-8")


def commit(root: Path, files: dict, message: str = "change") -> str:
    write(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


def init(root: Path, files: dict) -> str:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    return commit(root, {"pipelines/config.yaml": CONFIG, **files}, "base")


def export(name: str, value: dict) -> dict:
    return {"Value": value, "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-" + name}}}


def data_template(**overrides) -> dict:
    """The 'data' stack: a bucket, a queue and a log group; it exports the bucket's name."""
    resources = {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "acme-data"}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}},
    }
    outputs = {"BucketName": export("BucketName", {"Ref": "Bucket"})}
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources,
                "Outputs": outputs}
    for key, value in overrides.items():
        template[key] = value
    return template


def app_template(imports: tuple[str, ...] = ("acme-data-BucketName",)) -> dict:
    """The 'app' stack: a role whose policy names what it imports."""
    statements = [{"Effect": "Allow", "Action": "s3:GetObject",
                   "Resource": {"Fn::ImportValue": name}} for name in imports]
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Role": {
        "Type": "AWS::IAM::Role", "Properties": {
            # changegate's boundary (generator/contract/boundaries.py): validate refuses a role without it
            "PermissionsBoundary": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/"
                                               "acme-changegate-boundary"},
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                 "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "read", "PolicyDocument": {
                "Version": "2012-10-17", "Statement": statements or [
                    {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}}]}}}}
