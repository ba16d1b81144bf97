"""The recorder: one JSON audit record per finished execution of a stack pipeline (issue 11, item 7).

The function ``<project>-changegate-recorder`` runs this module's :func:`handler` (the same code zip as
the steps function, generator/bootstrap/recorder.py). An EventBridge rule sends it every
"CodePipeline Pipeline Execution State Change" event of the project's pipelines in a final state.
The event, as the CodePipeline user guide (detect-state-changes-cloudwatch-events) documents it::

    {"version": "0", "id": "01234567-EXAMPLE", "detail-type": "CodePipeline Pipeline Execution State Change",
     "source": "aws.codepipeline", "account": "123456789012", "time": "2020-01-24T22:03:07Z",
     "region": "us-east-1", "resources": ["arn:aws:codepipeline:us-east-1:123456789012:myPipeline"],
     "detail": {"pipeline": "myPipeline", "version": 1, "state": "SUCCEEDED",
                "execution-id": "12345678-1234-5678-abcd-12345678abcd",
                "pipeline-execution-attempt": 1.0, ...}}

"The execution-id entry under pipeline detail shows the execution ID for the pipeline execution that
caused the state change" and "The pipeline-execution-attempt entry shows the number of attempts, or
retries, for the specific execution ID" (same page). An execution that failed may be retried
(RetryStageExecution) and end again: each attempt gets its own record (:func:`record_key`).

The record ``s3://<source bucket>/audit/<pipeline>/<start UTC YYYYmmddTHHMMSSZ>-<execution id>.json``
sits beside the stacks' archives but not under ``stacks/``, which the sync lists on every run. It is
written once: ``PutObject`` with ``IfNoneMatch="*"`` "Uploads the object only if the object key name
does not already exist in the bucket specified. Otherwise, Amazon S3 returns a 412 Precondition
Failed error. If a conflicting operation occurs during the upload S3 returns a 409
ConditionalRequestConflict response" (S3 API reference, PutObject). CodePipeline emits pipeline
execution events at least once (the same CodePipeline page) and Lambda retries an asynchronous
invocation that fails, so the same record may be written twice: a 412 means an earlier delivery
wrote it, which is success; a 409 is retried. (The bucket policy refuses a PutObject under
``audit/`` without If-None-Match, generator/bootstrap/buckets.py.)

What goes in (``"schema": 1``, keys stable, sorted): the execution (pipeline, id, attempt, status,
start and end, trigger), the commit, author and subject as the sync set them (pipeline variables:
``changegate audit`` checks them against the object version's metadata, changegate/origin.py), the
object version the Source action read, the change set (stack, name, id), the review (Summary,
RiskTier), every approval (verdict, who, when, comment; the waiver of SecondApproval included), the
outcome and its detail, and when it was recorded. The reading of CodePipeline's records is
review/history.py's, the same ``changegate audit`` uses for executions without a record.

Standard library only (the clients are passed in; ``handler`` imports boto3, which the runtime has).
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import datetime, timezone
from typing import Any

from review import history

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)

SCHEMA = 1
AUDIT_PREFIX = "audit/"
# The event the rule sends (CodePipeline user guide, detect-state-changes-cloudwatch-events).
EVENT_SOURCE = "aws.codepipeline"
EVENT_DETAIL_TYPE = "CodePipeline Pipeline Execution State Change"
# Pipeline-level states after which nothing more happens to the execution (same page: STARTED,
# STOPPING and RESUMED are not final). CANCELED is the event's spelling; the API says "Cancelled".
FINAL_STATES = ("CANCELED", "FAILED", "STOPPED", "SUCCEEDED", "SUPERSEDED")
# ListPipelineExecutions: "The maximum number of results to return in a single call", up to 100. The
# execution that just ended is among the newest (QUEUED mode: a few may have started since); this
# many pages is far more than a stack pipeline queues.
EXECUTIONS_PAGE = 100
MAX_EXECUTION_PAGES = 5
STAMP = "%Y%m%dT%H%M%SZ"
_KEY = re.compile(r"\A(?P<stamp>\d{8}T\d{6}Z)-(?P<execution>[0-9a-f-]{36})"
                  r"(?:\.attempt(?P<attempt>\d+))?\.json\Z")
# Environment of the function (generator/bootstrap/recorder.py sets them).
ENV_BUCKET = "RECORDS_BUCKET"
ENV_PREFIX = "PIPELINE_PREFIX"  # "<project>-": the project's pipelines
ENV_SKIP = "SKIP_PIPELINES"  # comma-separated pipelines that are not stack pipelines (the sync)
ENV_KEY = "RECORDS_KEY_ARN"  # changegate's key: the record is encrypted with it, object by object
ENV_STEPS_ROLE = "STEPS_ROLE"  # the steps function's role: its approval of SecondApproval is the waiver
# A stack folder (generator/naming.py STACK_FOLDER_RE): what follows the prefix in a stack pipeline's name.
_FOLDER = re.compile(r"\A[A-Za-z][A-Za-z0-9-]*\Z")
MAX_CONFLICT_RETRIES = 3


class RecordError(Exception):
    """An execution that cannot be recorded; the message says which and why."""


def record_key(pipeline: str, started: datetime, execution_id: str, *, attempt: int = 1) -> str:
    """``audit/<pipeline>/<start, UTC>-<execution id>.json``: sorted by start, so ``--since`` is StartAfter.

    A retried execution's later attempts end in ``.attempt<N>.json``, beside the first (same prefix).
    """
    moment = history.aware(started)
    if moment is None:
        raise RecordError(f"execution {execution_id} of {pipeline} has no start time: no key for its record")
    stamp = moment.astimezone(timezone.utc).strftime(STAMP)
    suffix = f".attempt{attempt}" if attempt > 1 else ""
    return f"{pipeline_prefix(pipeline)}{stamp}-{execution_id}{suffix}.json"


def pipeline_prefix(pipeline: str) -> str:
    return f"{AUDIT_PREFIX}{pipeline}/"


def parse_key(key: str) -> tuple[str, str, int] | None:
    """(start stamp, execution id, attempt) of a record key, or None when it is not one."""
    match = _KEY.match(key.rsplit("/", 1)[-1])
    if match is None:
        return None
    return match["stamp"], match["execution"], int(match["attempt"] or 1)


def find_summary(codepipeline: Any, pipeline: str, execution_id: str) -> dict[str, Any] | None:
    """The execution's ListPipelineExecutions summary (start time, end, stop reason), newest pages first.

    GetPipelineExecution carries no start time and no stop reason; the summary does.
    """
    request: dict[str, Any] = {"pipelineName": pipeline, "maxResults": EXECUTIONS_PAGE}
    for _ in range(MAX_EXECUTION_PAGES):
        page = codepipeline.list_pipeline_executions(**request)
        for summary in page.get("pipelineExecutionSummaries", []):
            if summary.get("pipelineExecutionId") == execution_id:
                return summary
        if not page.get("nextToken"):
            return None
        request["nextToken"] = page["nextToken"]
    return None


def build_record(codepipeline: Any, *, pipeline: str, execution_id: str, attempt: int = 1,
                 started: datetime | None = None, steps_role: str | None = None,
                 now: datetime | None = None) -> dict:
    """The audit record of one execution, from GetPipelineExecution, ListPipelineExecutions and
    ListActionExecutions (that execution's only). ``started`` is used when the summary is not found."""
    execution = codepipeline.get_pipeline_execution(pipelineName=pipeline,
                                                    pipelineExecutionId=execution_id)["pipelineExecution"]
    summary = find_summary(codepipeline, pipeline, execution_id) or {}
    details = history.action_executions(codepipeline, pipeline, execution_id)
    status = execution.get("status") or summary.get("status", "")
    start = history.aware(summary.get("startTime")) or history.aware(started) or _first_start(details)
    if start is None:
        raise RecordError(f"execution {execution_id} of {pipeline}: no start time in ListPipelineExecutions, "
                          "the event or its action executions")
    ended = None if status in history.RUNNING else (summary.get("lastUpdateTime") or _last_update(details))
    outcome, detail = history.outcome_of({**summary, "status": status,
                                          "statusSummary": execution.get("statusSummary")
                                          or summary.get("statusSummary")}, details)
    revisions = execution.get("artifactRevisions") or []
    fallback = history.summary_version(summary) or (revisions[0].get("revisionId") if len(revisions) == 1
                                                     else None)
    bucket, key, version = history.source_of(details, fallback)
    variables = history.variables_of(execution)
    trigger = execution.get("trigger") or summary.get("trigger") or {}
    review = history.review_of(details)
    return {
        "schema": SCHEMA,
        "pipeline": pipeline,
        "execution_id": execution_id,
        "attempt": attempt,
        "status": status,
        "started": history.iso(start),
        "ended": history.iso(ended),
        "trigger": {"type": trigger.get("triggerType"), "detail": trigger.get("triggerDetail")},
        # As the sync set them (pipeline variables): changegate audit checks them against the metadata
        # of the object version, which only the sync writes (changegate/origin.py).
        "commit": {"id": variables.get("CommitId"), "author": variables.get("CommitAuthor"),
                   "subject": variables.get("CommitSubject")},
        "variables": variables,
        "source": {"bucket": bucket, "key": key, "version": version},
        "change_set": history.change_set_of(details, execution_id),
        "review": ({"summary": review.get(history.REVIEW_SUMMARY), "risk": review.get(history.REVIEW_RISK)}
                   if review else None),
        "approvals": [d.to_json() for d in history.decisions_of(details, steps_role=steps_role)],
        "outcome": outcome,
        "outcome_detail": detail,
        "recorded_at": history.iso(now or datetime.now(timezone.utc)),
    }


def record_body(record: dict) -> bytes:
    return (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write_record(s3: Any, *, bucket: str, record: dict, kms_key_arn: str | None = None) -> str:
    """Write ``record`` once under its key and return the key; a record already there is success.

    With ``kms_key_arn`` the object is encrypted with that key WITHOUT the bucket's S3 Bucket Key ("your
    object-level operation uses the S3 Bucket Key automatically unless you disable the key in the
    request header", S3 user guide, configuring-bucket-key-object), so KMS sees the object's own ARN as
    encryption context ("When an S3 Bucket Key is enabled ... the encryption context will be the bucket
    Amazon Resource Name (ARN) and not the object ARN", configuring-bucket-key): the key policy can let
    readers decrypt audit records and nothing else in the bucket. The key's ARN: with
    ``aws:kms`` and no key id "Amazon S3 uses the AWS managed key (aws/s3)" (API reference, PutObject),
    and the bucket policy's OnlyChangegatesKey compares the header to the key's ARN.
    """
    started = datetime.fromisoformat(record["started"])
    key = record_key(record["pipeline"], started, record["execution_id"],
                     attempt=int(record.get("attempt", 1)))
    request: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": record_body(record),
                               "ContentType": "application/json", "IfNoneMatch": "*"}
    if kms_key_arn:
        request.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key_arn, BucketKeyEnabled=False)
    if not _knows_if_none_match(s3):
        _send_if_none_match_header(s3, request)
    for attempt in range(MAX_CONFLICT_RETRIES + 1):
        try:
            s3.put_object(**request)
            return key
        except Exception as exc:  # botocore's ClientError, without importing botocore here
            code = _error_code(exc)
            if code == "PreconditionFailed":
                log.info("record %s already written (an earlier delivery of the event)", key)
                return key
            if code == "ConditionalRequestConflict" and attempt < MAX_CONFLICT_RETRIES:
                continue  # another delivery is writing it right now: the retry then sees 412
            raise
    raise RecordError(f"s3://{bucket}/{key}: conflicting writes did not settle")  # pragma: no cover


def _knows_if_none_match(s3: Any) -> bool:
    """Whether this botocore has PutObject's ``IfNoneMatch`` (added in 1.35.0, August 2024). The
    Lambda runtime's botocore may be older: then the header is added to the request by hand."""
    try:
        return "IfNoneMatch" in s3.meta.service_model.operation_model("PutObject").input_shape.members
    except AttributeError:
        return True  # not a botocore client (a test double): pass the parameter as it is


def _send_if_none_match_header(s3: Any, request: dict[str, Any]) -> None:
    request.pop("IfNoneMatch", None)

    def add_header(request: Any, **_: Any) -> None:
        request.headers["If-None-Match"] = "*"

    s3.meta.events.register_first("before-sign.s3.PutObject", add_header,
                                  unique_id="changegate-record-if-none-match")


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def is_stack_pipeline(pipeline: str, prefix: str, skip: tuple[str, ...]) -> bool:
    """``<project>-<folder>``, and not the sync pipeline (or another named in ``skip``)."""
    if not prefix or not pipeline.startswith(prefix) or pipeline in skip:
        return False
    return bool(_FOLDER.match(pipeline[len(prefix):]))


def wanted(event: dict[str, Any], prefix: str, skip: tuple[str, ...]) -> tuple[str, str, int] | None:
    """(pipeline, execution id, attempt) of an event to record, or None for one to ignore."""
    detail = event.get("detail") or {}
    if event.get("source") != EVENT_SOURCE or event.get("detail-type") != EVENT_DETAIL_TYPE:
        return None
    if detail.get("state") not in FINAL_STATES:
        return None
    pipeline, execution_id = detail.get("pipeline"), detail.get("execution-id")
    if not isinstance(pipeline, str) or not isinstance(execution_id, str):
        return None
    if not is_stack_pipeline(pipeline, prefix, skip):
        return None
    try:
        attempt = max(1, int(float(detail.get("pipeline-execution-attempt") or 1)))
    except (TypeError, ValueError):
        attempt = 1
    return pipeline, execution_id, attempt


def _event_start(event: dict[str, Any]) -> datetime | None:
    value = (event.get("detail") or {}).get("start-time")
    if not isinstance(value, str):
        return None
    try:
        return history.aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def record_event(event: dict[str, Any], *, codepipeline: Any, s3: Any, environ: dict[str, str],
                 now: datetime | None = None) -> str | None:
    """Record the execution the event names; the key written, or None for an event to ignore."""
    bucket = environ.get(ENV_BUCKET)
    prefix = environ.get(ENV_PREFIX, "")
    if not bucket or not prefix:
        raise RecordError(f"the recorder needs {ENV_BUCKET} and {ENV_PREFIX} in its environment")
    skip = tuple(p for p in environ.get(ENV_SKIP, "").split(",") if p)
    target = wanted(event, prefix, skip)
    if target is None:
        log.info("ignored: %s %s of %s", event.get("detail-type"), (event.get("detail") or {}).get("state"),
                 (event.get("detail") or {}).get("pipeline"))
        return None
    pipeline, execution_id, attempt = target
    record = build_record(codepipeline, pipeline=pipeline, execution_id=execution_id, attempt=attempt,
                          started=_event_start(event), steps_role=environ.get(ENV_STEPS_ROLE) or None,
                          now=now)
    if record["status"] in history.RUNNING:
        # A record is written once: one written while the execution still runs would keep its real
        # end out for good. The event said it ended; CodePipeline says not yet (a late view, or an
        # event that did not come from CodePipeline). Fail: Lambda retries the invocation later.
        raise RecordError(f"execution {execution_id} of {pipeline} is still {record['status']} although the "
                          f"event said {(event.get('detail') or {}).get('state')}: not recorded yet")
    key = write_record(s3, bucket=bucket, record=record, kms_key_arn=environ.get(ENV_KEY) or None)
    log.info("recorded %s %s (%s): s3://%s/%s", pipeline, execution_id, record["outcome"], bucket, key)
    return key


def handler(event: dict[str, Any], context: Any) -> str | None:
    """The Lambda entry point (generator/bootstrap/recorder.py HANDLER). An error fails the invocation,
    so Lambda retries it (asynchronous invocation); ``changegate audit`` shows an execution that never
    got a record from CodePipeline's history instead."""
    import boto3

    return record_event(event, codepipeline=boto3.client("codepipeline"), s3=boto3.client("s3"),
                        environ=dict(os.environ))


def _first_start(details: list[dict]) -> datetime | None:
    times = [history.aware(d.get("startTime")) for d in details if d.get("startTime")]
    return min(times) if times else None


def _last_update(details: list[dict]) -> datetime | None:
    times = [history.aware(d.get("lastUpdateTime")) for d in details if d.get("lastUpdateTime")]
    return max(times) if times else None
