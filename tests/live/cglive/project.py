"""The throwaway project: its repository, its deployment, its syncs.

The repository is tiny and cheap: stack ``app`` (one SSM parameter, an owner-controlled stack
policy) and stack ``big`` (one SSM parameter and a template padded past CloudFormation's
51,200-byte inline limit). Deploying goes through the installed ``changegate deploy`` (the
operator's command, whatever it uploads besides the template), syncing through
``sync.run.run_sync`` with the harness's clients.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from cglive.ledger import Ledger
from cglive.settings import LiveSettings
from generator import logical_ids, naming
from sync.run import SyncOptions, SyncReport, run_sync

APP, BIG = "app", "big"
# Over CloudFormation's "Template body size in a request ... 51,200 bytes" (cloudformation-limits),
# so CodePipeline must pass it by S3 URL, read from the KMS-encrypted artifact bucket (Q10).
BIG_TEMPLATE_BYTES = 60_000
INLINE_LIMIT = 51_200
# The stack policy the owners keep in pipelines/ (Q2): the parameter is never replaced or deleted.
APP_STACK_POLICY = {"Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"},
    {"Effect": "Deny", "Principal": "*", "Action": ["Update:Replace", "Update:Delete"],
     "Resource": "LogicalResourceId/Setting"},
]}
# Long enough that the sync shortens them to naming.PIPELINE_VARIABLE_MAX_LENGTHS (Q7).
LONG_AUTHOR = "Live Acceptance " + "Author" * 40
LONG_SUBJECT = "Live acceptance: the longest approval text " + "x" * 400
DEPLOY_TIMEOUT = 3600


@dataclass(frozen=True)
class Deployed:
    stack: str
    source_bucket: str
    artifact_bucket: str


def session(settings: LiveSettings) -> boto3.Session:
    return boto3.Session(profile_name=settings.profile or None, region_name=settings.region)


def client_factory(settings: LiveSettings, boto_session: boto3.Session | None = None):
    boto_session = boto_session or session(settings)
    cache: dict[str, Any] = {}

    def clients(service: str) -> Any:
        if service not in cache:
            cache[service] = boto_session.client(service, endpoint_url=settings.endpoint_url)
        return cache[service]

    return clients


# ---- the repository ----

def config_yaml(project: str, connection_arn: str = "create") -> str:
    # "create": the bootstrap stack creates the connection, PENDING until a person finishes it (Q9)
    return textwrap.dedent(f"""\
        project: {project}
        repository:
          name: example/{project}
          branch: main
          connection_arn: {connection_arn}
        sync:
          compute: lambda
        stacks:
          {APP}:
            stack_policy: policies/{APP}.json
        """)


def app_template(value: str) -> str:
    return textwrap.dedent(f"""\
        AWSTemplateFormatVersion: "2010-09-09"
        Description: changegate live acceptance, stack {APP}
        Resources:
          Setting:
            Type: AWS::SSM::Parameter
            Properties:
              Type: String
              Value: "{value}"
        """)


def big_template(size: int = BIG_TEMPLATE_BYTES) -> str:
    """A valid template of at least ``size`` bytes: padding in Metadata, which deploys nothing."""
    head = app_template("big").replace(f"stack {APP}", f"stack {BIG}")
    lines, used = [], len(head) + 40
    index = 0
    while used < size:
        line = f"    - padding-{index:05d}-" + "p" * 80 + "\n"
        lines.append(line)
        used += len(line)
        index += 1
    return head + "Metadata:\n  Padding:\n" + "".join(lines)


def _git(root: Path, *args: str, author: str = "Live Acceptance") -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": "live@example.com",
           "GIT_COMMITTER_NAME": "Live Acceptance", "GIT_COMMITTER_EMAIL": "live@example.com"}
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def write_repository(root: Path, project: str, connection_arn: str = "create") -> str:
    """Write the repository, commit it (long author and subject, for Q7), return the commit id."""
    files = {
        "pipelines/config.yaml": config_yaml(project, connection_arn),
        f"pipelines/policies/{APP}.json": json.dumps(APP_STACK_POLICY, indent=2) + "\n",
        f"stacks/{APP}/template.yaml": app_template("one"),
        f"stacks/{BIG}/template.yaml": big_template(),
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", LONG_SUBJECT, author=LONG_AUTHOR)
    return _git(root, "rev-parse", "HEAD")


def change_app(root: Path, value: str, subject: str) -> str:
    """A second commit that modifies (never replaces) the app parameter: a non-empty change set."""
    (root / f"stacks/{APP}/template.yaml").write_text(app_template(value), "utf-8")
    _git(root, "commit", "-q", "-am", subject)
    return _git(root, "rev-parse", "HEAD")


# ---- deploy and sync ----

def changegate_command() -> Path:
    # The console script installed beside this interpreter, never the first one on PATH.
    return Path(sys.executable).parent / "changegate"


def deploy(settings: LiveSettings, root: Path, ledger: Ledger, clients) -> Deployed:
    """``changegate deploy --yes`` the bootstrap stack, recording it (and the staging bucket) first."""
    stack = naming.bootstrap_stack_name(settings.project)
    account = clients("sts").get_caller_identity()["Account"]
    staging = naming.staging_bucket_name(account, settings.region)
    if _bucket_exists(clients("s3"), staging):
        # shared by every changegate project of the account: remove only this run's objects
        ledger.will_create("bucket", staging, keys_containing=settings.project)
    else:
        ledger.will_create("bucket", staging)
    ledger.will_create("bootstrap_stack", stack, project=settings.project)
    command = [str(changegate_command()), "deploy", "--root", str(root), "--yes", "--format", "json",
               "--region", settings.region]
    if settings.profile:
        command += ["--profile", settings.profile]
    env = dict(os.environ)
    if settings.endpoint_url:
        env["AWS_ENDPOINT_URL"] = settings.endpoint_url
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=DEPLOY_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"changegate deploy exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return describe_deployed(clients("cloudformation"), stack)


def describe_deployed(cfn: Any, stack: str) -> Deployed:
    """The buckets by the generator's logical ids (generator.logical_ids), not by output names."""
    physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
                for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack)
                for r in page["StackResourceSummaries"]}
    return Deployed(stack, physical[logical_ids.SOURCE_BUCKET], physical[logical_ids.ARTIFACT_BUCKET])


def _bucket_exists(s3: Any, name: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=name)
        return True
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise


def record_managed_stacks(ledger: Ledger, project: str) -> None:
    """The stacks the pipelines will create: recorded before any pipeline can create them."""
    for folder in (APP, BIG):
        ledger.will_create("managed_stack", naming.stack_name(project, folder))


def local_sync(root: Path, s3: Any, codepipeline: Any, bucket: str) -> SyncReport:
    """``changegate sync``'s library call, with clients acting as the sync role."""
    report = run_sync(root, s3, codepipeline, SyncOptions(bucket=bucket))
    if not report.ok:
        raise RuntimeError(f"the sync failed at {report.stage}: {report.failures or report.validation}")
    return report


# ---- acting as the sync role ----

# Only the sync role may write the source bucket (its bucket policy denies everyone else), and
# only CodeBuild may assume it. To sync from here, the harness adds ONE statement to the role's
# trust policy (its own account may assume it); CodeBuild's statement stays as generated (Q3).
HARNESS_TRUST_SID = "CgLiveHarnessMayAssume"


def let_harness_assume(iam: Any, role_name: str, account: str, partition: str = "aws") -> None:
    role = iam.get_role(RoleName=role_name)["Role"]
    document = role["AssumeRolePolicyDocument"]
    if isinstance(document, str):  # some emulators return it URL-encoded JSON text
        from urllib.parse import unquote
        document = json.loads(unquote(document))
    statements = [s for s in document.get("Statement", []) if s.get("Sid") != HARNESS_TRUST_SID]
    statements.append({"Sid": HARNESS_TRUST_SID, "Effect": "Allow",
                       "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                       "Action": "sts:AssumeRole"})
    iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(
        {"Version": document.get("Version", "2012-10-17"), "Statement": statements}))


def assume(sts: Any, role_arn: str, *, attempts: int = 12, delay: float = 5.0, sleep=None) -> dict[str, str]:
    """Credentials of ``role_arn``; retried, since a trust policy change takes seconds to apply."""
    import time

    from botocore.exceptions import ClientError

    sleep = sleep or time.sleep
    for attempt in range(attempts):
        try:
            return sts.assume_role(RoleArn=role_arn, RoleSessionName="cglive-harness")["Credentials"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "AccessDenied" or attempt == attempts - 1:
                raise
            sleep(delay)
    raise AssertionError("unreachable")


def session_factory(settings: LiveSettings, credentials: dict[str, str]):
    return client_factory(settings, boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"], region_name=settings.region))
