"""Apply the owner's stack policy around ExecuteChangeSet, and prove that it applied (F6).

The stack pipelines' Change stage invokes :func:`handler` as two CodePipeline Lambda actions
(generator/bootstrap/function.py): ``ApplyStackPolicy`` before ExecuteChangeSet (phase ``before``) and
``VerifyStackPolicy`` after it (phase ``after``). The policy is the ``StackPolicy`` of the stack
archive's ``config.json`` (the sync writes it from ``pipelines/policies``, which only owners change):
``CreateChangeSet`` has no stack-policy parameter, and nothing documents that CodePipeline applies
a TemplateConfiguration's policy in change-set modes.

- ``before``: an existing stack gets the policy, so the approved change executes under the owner's
  current policy. A stack being created (REVIEW_IN_PROGRESS) is left for ``after``.
- ``after``: the policy is set when needed (a new stack exists only now), then ``GetStackPolicy``
  must return exactly it, or the action fails.
- No policy configured: a stack without a policy is left alone; a stack with one gets an allow-all
  policy, because a stack policy cannot be removed, only overwritten.

"there must be a call to either the PutJobSuccessResult API or PutJobFailureResult API. Otherwise,
the execution of this action hangs until the action times out" (CodePipeline user guide,
action-reference-Lambda): :func:`run` reports exactly one result, whatever happens. The event is
never logged: it holds the job's artifact credentials.

Only the standard library, boto3 and botocore (a test enforces it): the Lambda runtime has them.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)

# The archive entry the sync writes (generator/naming.py ARCHIVE_CONFIG; a test keeps them equal:
# this package cannot import the generator, or the function's zip would carry it).
CONFIG_ENTRY = "config.json"
PHASE_BEFORE = "before"
PHASE_AFTER = "after"
PHASES = (PHASE_BEFORE, PHASE_AFTER)
# A stack CreateChangeSet made for a CREATE: it exists, has no resources, and takes no policy yet.
BEING_CREATED = "REVIEW_IN_PROGRESS"
# What replaces a configured policy once the owners remove it: every update allowed.
ALLOW_ALL = {"Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]}
# PutJobFailureResult's FailureDetails.message: 1 to 5000 characters (CodePipeline API reference).
MAX_FAILURE_MESSAGE = 5000


class StackPolicyError(Exception):
    """Why the action fails; its message is what the pipeline's console shows."""


@dataclass(frozen=True)
class Job:
    id: str
    phase: str
    stack: str
    bucket: str
    key: str
    credentials: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    message: str
    changed: bool  # SetStackPolicy was called


def parse_job(event: dict[str, Any]) -> Job:
    """The job's id, parameters, input artifact and artifact credentials from a Lambda action event."""
    job = event["CodePipeline.job"]
    data = job.get("data") or {}
    try:
        raw = data["actionConfiguration"]["configuration"]["UserParameters"]
        parameters = json.loads(raw)
        phase, stack = parameters["Phase"], parameters["StackName"]
    except (KeyError, TypeError, ValueError) as exc:
        raise StackPolicyError('UserParameters must be JSON {"Phase": "before"|"after", "StackName": '
                               f'"<stack>"}}, not readable ({exc.__class__.__name__}: {exc})') from exc
    if phase not in PHASES or not isinstance(stack, str) or not stack:
        raise StackPolicyError(f"UserParameters: Phase must be one of {', '.join(PHASES)} and StackName a "
                               f"stack name, not {phase!r} and {stack!r}")
    artifacts = data.get("inputArtifacts") or []
    if len(artifacts) != 1:
        raise StackPolicyError(f"the action needs exactly one input artifact (the stack's source), "
                               f"got {len(artifacts)}")
    location = artifacts[0]["location"]["s3Location"]
    return Job(id=job["id"], phase=phase, stack=stack, bucket=location["bucketName"],
               key=location["objectKey"], credentials=data.get("artifactCredentials") or {})


def desired_policy(archive: bytes) -> dict | None:
    """The ``StackPolicy`` of the archive's config.json, or None when the owners configured none."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            config = json.loads(zipped.read(CONFIG_ENTRY))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise StackPolicyError(f"cannot read {CONFIG_ENTRY} from the stack's source artifact "
                               f"({exc.__class__.__name__}: {exc})") from exc
    policy = config.get("StackPolicy") if isinstance(config, dict) else None
    if policy is None:
        return None
    if not isinstance(policy, dict) or not isinstance(policy.get("Statement"), list):
        raise StackPolicyError(f"{CONFIG_ENTRY}: StackPolicy must be a policy object with a Statement list")
    return policy


def read_artifact(s3: Any, job: Job) -> bytes:
    return s3.get_object(Bucket=job.bucket, Key=job.key)["Body"].read()


def stack_status(cfn: Any, stack: str) -> str | None:
    """The stack's status, or None when it does not exist."""
    from botocore.exceptions import ClientError

    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        # DescribeStacks answers ValidationError "Stack with id <name> does not exist".
        if exc.response.get("Error", {}).get("Code") == "ValidationError" and "does not exist" in str(exc):
            return None
        raise
    return stacks[0]["StackStatus"] if stacks else None


def current_policy(cfn: Any, stack: str) -> dict | None:
    body = cfn.get_stack_policy(StackName=stack).get("StackPolicyBody")
    return json.loads(body) if body else None


def apply(cfn: Any, stack: str, desired: dict | None, phase: str) -> Outcome:
    """Set ``desired`` (or allow-all over a stale policy) on ``stack``; in every phase, check it took."""
    status = stack_status(cfn, stack)
    if status is None:
        raise StackPolicyError(f"stack {stack} does not exist")
    if status == BEING_CREATED:
        if phase == PHASE_BEFORE:
            return Outcome(f"stack {stack} is being created: its policy is set after ExecuteChangeSet",
                           changed=False)
        raise StackPolicyError(f"stack {stack} is still {BEING_CREATED} after ExecuteChangeSet")
    current = current_policy(cfn, stack)
    if desired is None and current is None:
        return Outcome(f"stack {stack}: no stack policy configured, and the stack has none", changed=False)
    # A stack policy cannot be removed, only overwritten: a removed one becomes allow-all.
    expected = desired if desired is not None else ALLOW_ALL
    changed = current != expected
    if changed:
        cfn.set_stack_policy(StackName=stack, StackPolicyBody=json.dumps(expected, sort_keys=True))
        current = current_policy(cfn, stack)
    if current != expected:
        raise StackPolicyError(f"stack {stack}: GetStackPolicy does not return the configured policy "
                               "after SetStackPolicy")
    what = ("the configured stack policy" if desired is not None
            else "an allow-all stack policy (none configured)")
    verb = "set" if changed else "already had"
    return Outcome(f"stack {stack}: {verb} {what}", changed=changed)


def run(event: dict[str, Any], *, codepipeline: Any, cloudformation: Any,
        artifact_s3: Callable[[dict[str, str]], Any]) -> Outcome | None:
    """Do the job and report exactly one result to CodePipeline. Returns the outcome (None on failure).

    ``artifact_s3(credentials)`` makes the S3 client that reads the input artifact with the job's
    artifact credentials (the pipeline's, which the artifact key's policy allows).
    """
    job_id = event["CodePipeline.job"]["id"]
    try:
        job = parse_job(event)
        desired = desired_policy(read_artifact(artifact_s3(job.credentials), job))
        outcome = apply(cloudformation, job.stack, desired, job.phase)
    # The one place that catches everything: an action whose function ends without a result hangs
    # until it times out (20 minutes without a reply). Any error becomes the job's failure.
    except Exception as exc:
        message = _failure_message(exc)
        log.error("job %s failed: %s", job_id, message)
        codepipeline.put_job_failure_result(
            jobId=job_id, failureDetails={"type": "JobFailed", "message": message[:MAX_FAILURE_MESSAGE]})
        return None
    log.info("job %s (%s): %s", job_id, job.phase, outcome.message)
    codepipeline.put_job_success_result(jobId=job_id)
    return outcome


def _failure_message(exc: Exception) -> str:
    if isinstance(exc, StackPolicyError):
        return str(exc)
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{exc.operation_name} failed: {error.get('Code')}: {error.get('Message')}"
    return f"{exc.__class__.__name__}: {exc}"


def _artifact_client(credentials: dict[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    # SigV4: the artifacts are SSE-KMS objects, which S3 serves only to SigV4 requests.
    return boto3.client("s3", aws_access_key_id=credentials.get("accessKeyId"),
                        aws_secret_access_key=credentials.get("secretAccessKey"),
                        aws_session_token=credentials.get("sessionToken"),
                        config=Config(signature_version="s3v4"))


def handler(event: dict[str, Any], context: Any) -> None:
    """The Lambda entry point (generator/bootstrap/function.py HANDLER)."""
    import boto3

    run(event, codepipeline=boto3.client("codepipeline"), cloudformation=boto3.client("cloudformation"),
        artifact_s3=_artifact_client)
