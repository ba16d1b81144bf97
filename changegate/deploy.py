"""Deploy the bootstrap stack by hand: stage the template, change set, execute, follow, protect.

The template always goes through a staging bucket of this account and region. CloudFormation
takes a template body of at most 51,200 bytes inline and 1 MB from S3 (CloudFormation quotas,
"Template body size in a request" and "... in an Amazon S3 object"). The example project's compact
body is about 30 KB, under the inline limit, but it grows with every stack, so one path through S3
serves every size. The staging bucket also holds the code of the stack-policy function the stack
pipelines invoke: it is uploaded before the change set is created, because CloudFormation reads it
when it creates or updates the function; so are the templates of the bootstrap stack's nested
stacks when it is sharded (generator/bootstrap/shards.py), for the same reason. The deployment is
a change set, like every other change changegate makes: the operator sees it before it executes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from changegate.aws import aws_call, error_code, paginate
from changegate.changesets import ChangeSet, describe_change_set
from generator.errors import AwsError, UsageError
from generator.naming import staging_bucket_name

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], float]

# The bootstrap stack creates named IAM roles; nested stacks (sharding) need no macro capability,
# but AUTO_EXPAND costs nothing and keeps a future transform from failing the deploy.
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")
TEMPLATE_PREFIX = "bootstrap/"
SUCCESS = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
FAILURE = frozenset({"CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_FAILED",
                     "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED", "DELETE_COMPLETE",
                     "DELETE_FAILED", "IMPORT_ROLLBACK_COMPLETE", "IMPORT_ROLLBACK_FAILED"})
# A stack in one of these has no resources worth keeping and cannot be updated: delete it first.
DEAD = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"})
# An update failed and so did its rollback: the stack keeps its resources but takes no change set
# until the rollback is finished. "For a specified stack that's in the UPDATE_ROLLBACK_FAILED state,
# continues rolling it back to the UPDATE_ROLLBACK_COMPLETE state" (CloudFormation API reference,
# ContinueUpdateRollback). Deleting it would delete the pipelines: never suggest that.
STUCK_ROLLBACK = "UPDATE_ROLLBACK_FAILED"
FUNCTION_CONTENT_TYPE = "application/zip"
TEMPLATE_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class StagingBucket:
    name: str
    created: bool
    tls_only: bool = True  # False only when just created over a plain-http endpoint


@dataclass(frozen=True)
class FunctionCode:
    """A function's zip and the staging-bucket key the template names for it (content-addressed)."""

    key: str
    data: bytes
    sha256: str


@dataclass(frozen=True)
class ShardTemplate:
    """A nested stack's template (compact ``body``) and the content-addressed key the parent names."""

    logical_id: str
    key: str
    body: str

    @property
    def code(self) -> FunctionCode:
        data = self.body.encode("utf-8")
        return FunctionCode(self.key, data, hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class DeployPlan:
    stack: str
    change_set: ChangeSet
    change_set_type: str  # CREATE | UPDATE
    bucket: StagingBucket
    template_url: str
    function_uploaded: bool | None = None  # None: no function code given
    shards_uploaded: tuple[str, ...] = ()  # keys of the shard templates uploaded (not already staged)


@dataclass(frozen=True)
class StackEvent:
    event_id: str
    timestamp: datetime
    logical_id: str
    resource_type: str
    status: str
    reason: str = ""


@dataclass(frozen=True)
class DeployOutcome:
    stack: str
    status: str
    failures: tuple[StackEvent, ...] = ()
    protection_warning: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCESS


# ---- the staging bucket ----

def ensure_staging_bucket(s3: Any, account: str, region: str) -> StagingBucket:
    """The account's staging bucket in ``region``, created (encrypted, versioned, private) when missing.

    The name is predictable, so every call passes ``ExpectedBucketOwner``: a bucket of that
    name in another account is refused, never written to.
    """
    name = staging_bucket_name(account, region)
    with aws_call("s3:ListBucket", f"bucket {name}"):
        try:
            s3.head_bucket(Bucket=name, ExpectedBucketOwner=account)
            return StagingBucket(name, created=False)
        except ClientError as exc:
            if error_code(exc) in ("403", "AccessDenied"):
                raise AwsError(f"the staging bucket {name} exists but is not this account's ({account}), "
                               "or s3:ListBucket on it is denied; changegate will not upload there") from exc
            if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise
    log.info("creating staging bucket %s", name)
    with aws_call("s3:CreateBucket", f"bucket {name}"):
        kwargs: dict[str, Any] = {"Bucket": name, "ObjectOwnership": "BucketOwnerEnforced"}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            s3.create_bucket(**kwargs)
        except ClientError as exc:
            if error_code(exc) != "BucketAlreadyOwnedByYou":  # another deploy won the race
                raise
    partition = getattr(s3.meta, "partition", "aws") or "aws"
    arn = f"arn:{partition}:s3:::{name}"
    with aws_call("s3:PutBucketPublicAccessBlock", f"bucket {name}"):
        s3.put_public_access_block(Bucket=name, ExpectedBucketOwner=account, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True,
            "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    with aws_call("s3:PutEncryptionConfiguration", f"bucket {name}"):
        s3.put_bucket_encryption(Bucket=name, ExpectedBucketOwner=account, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    with aws_call("s3:PutBucketVersioning", f"bucket {name}"):
        s3.put_bucket_versioning(Bucket=name, ExpectedBucketOwner=account,
                                 VersioningConfiguration={"Status": "Enabled"})
    if not str(s3.meta.endpoint_url).startswith("https://"):
        # a local emulator over plain http (AWS_ENDPOINT_URL): a TLS-only policy would lock us out
        log.info("S3 endpoint %s is not https: no TLS-only policy on %s", s3.meta.endpoint_url, name)
        return StagingBucket(name, created=True, tls_only=False)
    with aws_call("s3:PutBucketPolicy", f"bucket {name}"):
        s3.put_bucket_policy(Bucket=name, ExpectedBucketOwner=account,
                             Policy=json.dumps(tls_only_policy(arn)))
    return StagingBucket(name, created=True)


def tls_only_policy(bucket_arn: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


def upload_template(s3: Any, bucket: str, account: str, region: str, stack: str, body: str) -> str:
    """Upload ``body`` under a content-addressed key; return the URL CloudFormation reads it from."""
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    key = f"{TEMPLATE_PREFIX}{stack}/{digest}.json"
    with aws_call("s3:PutObject", f"s3://{bucket}/{key}"):
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/json",
                      ExpectedBucketOwner=account)
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{bucket}.s3.{region}.{suffix}/{key}"


def upload_function_code(s3: Any, bucket: str, account: str, code: FunctionCode) -> bool:
    """Put ``code`` at its key unless the same content is already there; True when uploaded.

    The key is the content's hash, so an object there normally is this code; its recorded hash and
    size are compared anyway, so a different object under that key is replaced, never trusted.
    """
    location = f"s3://{bucket}/{code.key}"
    with aws_call("s3:GetObject", location):
        try:
            head = s3.head_object(Bucket=bucket, Key=code.key, ExpectedBucketOwner=account)
        except ClientError as exc:
            if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
                raise
            head = None
    if head and head.get("Metadata", {}).get("sha256") == code.sha256 \
            and head.get("ContentLength") == len(code.data):
        log.info("function code %s is already staged", location)
        return False
    _put(s3, bucket, account, code, FUNCTION_CONTENT_TYPE)
    return True


def upload_shard_template(s3: Any, bucket: str, account: str, shard: ShardTemplate) -> bool:
    """Put a nested stack's template at its key unless exactly that content is there; True when uploaded.

    Compared byte for byte, not by recorded metadata (which whoever writes the object sets):
    CloudFormation reads the nested stacks' templates from their URLs when it creates the change set
    (and again at later updates of the parent), so what sits under the key is what deploys. A few
    hundred KB a shard is cheap to read.
    """
    code = shard.code
    location = f"s3://{bucket}/{code.key}"
    with aws_call("s3:GetObject", location):
        try:
            current = s3.get_object(Bucket=bucket, Key=code.key, ExpectedBucketOwner=account)["Body"].read()
        except ClientError as exc:
            if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
                raise
            current = None
    if current == code.data:
        log.info("shard template %s is already staged", location)
        return False
    _put(s3, bucket, account, code, TEMPLATE_CONTENT_TYPE)
    return True


def _put(s3: Any, bucket: str, account: str, code: FunctionCode, content_type: str) -> None:
    location = f"s3://{bucket}/{code.key}"
    # Content-MD5: S3 refuses a body that arrives damaged, so a bad file never sits under a good key
    md5 = base64.b64encode(hashlib.md5(code.data, usedforsecurity=False).digest()).decode()
    with aws_call("s3:PutObject", location):
        s3.put_object(Bucket=bucket, Key=code.key, Body=code.data, ContentType=content_type,
                      Metadata={"sha256": code.sha256}, ExpectedBucketOwner=account, ContentMD5=md5)
    log.info("uploaded %s (%d bytes)", location, len(code.data))


# ---- the change set ----

def stack_status(cfn: Any, stack: str) -> dict[str, Any] | None:
    """The stack's description, or None when it does not exist."""
    with aws_call("cloudformation:DescribeStacks", f"stack/{stack}"):
        try:
            return cfn.describe_stacks(StackName=stack)["Stacks"][0]
        except ClientError as exc:
            if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
                return None
            raise


def new_change_set_name() -> str:
    return f"changegate-deploy-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def prepare(cfn: Any, s3: Any, *, stack: str, body: str, account: str, region: str,
            function: FunctionCode | None = None, shards: Sequence[ShardTemplate] = (),
            change_set_name: str | None = None,
            sleep: Sleep = time.sleep, clock: Clock = time.monotonic,
            timeout: float = 600, interval: float = 3) -> DeployPlan:
    """Stage the function code, the shards' templates and the template, create the change set;
    return it described."""
    existing = stack_status(cfn, stack)
    status = existing["StackStatus"] if existing else None
    if status in DEAD:
        raise UsageError(f"stack {stack} is {status} and cannot be updated: delete it "
                         f"(aws cloudformation delete-stack --stack-name {stack}) and deploy again")
    if status == STUCK_ROLLBACK:
        raise UsageError(
            f"stack {stack} is {status}: an update failed and so did its rollback, and CloudFormation "
            "accepts no change set until the rollback is finished. Finish it: aws cloudformation "
            f"continue-update-rollback --stack-name {stack} (add --resources-to-skip with the logical "
            "ids of resources that cannot roll back; the stack's events name them), wait for "
            "UPDATE_ROLLBACK_COMPLETE, then run changegate deploy again")
    if status and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise AwsError(f"stack {stack} is busy ({status}); wait until it settles and deploy again")
    change_set_type = "UPDATE" if status and status != "REVIEW_IN_PROGRESS" else "CREATE"
    bucket = ensure_staging_bucket(s3, account, region)
    # before the change set: CloudFormation reads the code when it creates or updates the function
    uploaded = upload_function_code(s3, bucket.name, account, function) if function is not None else None
    # the nested stacks' templates too: CloudFormation reads them when it creates the change set
    shards_uploaded = tuple(shard.key for shard in shards
                            if upload_shard_template(s3, bucket.name, account, shard))
    url = upload_template(s3, bucket.name, account, region, stack, body)
    name = change_set_name or new_change_set_name()
    with aws_call("cloudformation:CreateChangeSet", f"stack/{stack}"):
        cfn.create_change_set(StackName=stack, ChangeSetName=name, ChangeSetType=change_set_type,
                              TemplateURL=url, Capabilities=list(CAPABILITIES), IncludeNestedStacks=True,
                              Description="changegate deploy: the bootstrap stack of pipelines")
    _wait_for_change_set(cfn, stack, name, sleep=sleep, clock=clock, timeout=timeout, interval=interval)
    change_set = describe_change_set(cfn, stack, name)
    if change_set.status == "FAILED" and not change_set.is_empty:
        discard(cfn, stack, name, change_set_type)
        raise AwsError(f"the change set for stack {stack} failed: {change_set.status_reason}")
    return DeployPlan(stack, change_set, change_set_type, bucket, url, uploaded, shards_uploaded)


def _wait_for_change_set(cfn: Any, stack: str, name: str, *, sleep: Sleep, clock: Clock,
                         timeout: float, interval: float) -> None:
    deadline = clock() + timeout
    while True:
        with aws_call("cloudformation:DescribeChangeSet", f"stack/{stack} change set {name}"):
            status = cfn.describe_change_set(StackName=stack, ChangeSetName=name)["Status"]
        if status not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
            return
        if clock() >= deadline:
            raise AwsError(f"change set {name} of stack {stack} still {status} after {timeout:.0f}s")
        sleep(interval)


def discard(cfn: Any, stack: str, name: str, change_set_type: str) -> None:
    """Delete an unused change set and, for a first deployment, the empty stack it left behind."""
    with aws_call("cloudformation:DeleteChangeSet", f"stack/{stack} change set {name}"):
        cfn.delete_change_set(StackName=stack, ChangeSetName=name)
    if change_set_type == "CREATE":
        current = stack_status(cfn, stack)
        if current and current["StackStatus"] == "REVIEW_IN_PROGRESS":  # a stack with no resources
            with aws_call("cloudformation:DeleteStack", f"stack/{stack}"):
                cfn.delete_stack(StackName=stack)


# ---- execution ----

def execute(cfn: Any, plan: DeployPlan, *, on_event: Callable[[StackEvent], None] = lambda e: None,
            sleep: Sleep = time.sleep, clock: Clock = time.monotonic, timeout: float = 3600,
            interval: float = 5) -> DeployOutcome:
    """Execute the change set, follow the stack's events until it settles, protect it on success."""
    stack = plan.stack
    marker = _latest_event_id(cfn, stack)
    with aws_call("cloudformation:ExecuteChangeSet", f"stack/{stack} change set {plan.change_set.name}"):
        cfn.execute_change_set(StackName=stack, ChangeSetName=plan.change_set.name)
    outcome = follow(cfn, stack, marker, on_event=on_event, sleep=sleep, clock=clock,
                     timeout=timeout, interval=interval)
    if outcome.succeeded:
        return DeployOutcome(outcome.stack, outcome.status, outcome.failures,
                             ensure_termination_protection(cfn, stack))
    return outcome


def follow(cfn: Any, stack: str, since_event_id: str | None, *,
           on_event: Callable[[StackEvent], None], sleep: Sleep, clock: Clock,
           timeout: float, interval: float) -> DeployOutcome:
    """Report each new stack event, oldest first, until the stack itself reaches a final status."""
    deadline = clock() + timeout
    seen: set[str] = set()
    events: list[StackEvent] = []
    while True:
        for event in _events_since(cfn, stack, since_event_id):
            if event.event_id in seen:
                continue
            seen.add(event.event_id)
            events.append(event)
            on_event(event)
            if _is_stack_event(event, stack) and (event.status in SUCCESS or event.status in FAILURE):
                failures = tuple(e for e in events if e.status.endswith("FAILED") and e.reason)
                return DeployOutcome(stack, event.status, failures)
        if clock() >= deadline:
            raise AwsError(f"stack {stack} has not settled after {timeout:.0f}s; follow it in the "
                           "CloudFormation console, then run `changegate deploy` again")
        sleep(interval)


def _is_stack_event(event: StackEvent, stack: str) -> bool:
    return event.resource_type == "AWS::CloudFormation::Stack" and event.logical_id == stack


def _latest_event_id(cfn: Any, stack: str) -> str | None:
    with aws_call("cloudformation:DescribeStackEvents", f"stack/{stack}"):
        events = cfn.describe_stack_events(StackName=stack).get("StackEvents", [])
    return events[0]["EventId"] if events else None


def _events_since(cfn: Any, stack: str, marker: str | None) -> list[StackEvent]:
    """Events newer than ``marker``, oldest first (the API pages newest first)."""
    newer: list[StackEvent] = []
    with aws_call("cloudformation:DescribeStackEvents", f"stack/{stack}"):
        for raw in paginate(cfn, "describe_stack_events", "StackEvents", StackName=stack):
            if raw["EventId"] == marker:
                break
            newer.append(StackEvent(
                event_id=raw["EventId"], timestamp=raw["Timestamp"], logical_id=raw["LogicalResourceId"],
                resource_type=raw.get("ResourceType", ""), status=raw.get("ResourceStatus", ""),
                reason=raw.get("ResourceStatusReason", "") or ""))
    newer.reverse()
    return newer


def ensure_termination_protection(cfn: Any, stack: str) -> str | None:
    """Turn termination protection on; return a warning (not an error) when that is refused.

    The stack is deployed by then: failing the whole command would hide that it succeeded.
    """
    current = stack_status(cfn, stack)
    if current and current.get("EnableTerminationProtection"):
        return None
    try:
        with aws_call("cloudformation:UpdateTerminationProtection", f"stack/{stack}"):
            cfn.update_termination_protection(StackName=stack, EnableTerminationProtection=True)
    except AwsError as exc:
        return (f"termination protection is NOT on for {stack}: {exc}; turn it on with "
                f"aws cloudformation update-termination-protection --enable-termination-protection "
                f"--stack-name {stack}")
    return None
