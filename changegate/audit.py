"""The history of a stack's changes: for every execution, which commit, which object version, which
change set, who approved or rejected it and when, and how it ended (issue 11, item 7).

Two sources, one reading (review/history.py):

- the audit records the recorder wrote (review/record.py), one JSON object per finished execution at
  ``s3://<source bucket>/audit/<pipeline>/<start UTC>-<execution id>.json``: ListObjectsV2 (``--since``
  is ``StartAfter``: the keys sort by start time) and GetObject, in parallel. They are kept as long as
  the bucket, unlike CodePipeline's history;
- CodePipeline's own history, for the executions that have no record: in progress, older than the
  recorder, or a recorder failure. ListPipelineExecutions (every page; with ``since``, no page past
  it), and for those executions only ListActionExecutions and GetPipelineExecution. CodePipeline keeps
  this for a year: "Pipeline history is limited to the most recent 12 months, based on pipeline
  execution start times" (API reference, ListPipelineExecutions), "Action execution history is
  retained for up to 12 months" (ListActionExecutions).

Every entry says which it came from. Either way, where the change comes from is checked the same way
(changegate/origin.py): HeadObject on the execution's object version, whose metadata only the sync
writes, and the execution's trigger. A record that is not valid JSON, not schema 1 or not the
execution its key names is reported (the key and what is wrong), never a crash.

The source bucket is the one the stack pipeline's Source action reads (GetPipeline); for a pipeline
that no longer exists, the bootstrap stack's ``SourceBucketName`` output.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import pairwise
from typing import Any

from botocore.exceptions import ClientError

from changegate.aws import AccessDeniedError, aws_call, error_code
from changegate.origin import Origin, SourceObject, SyncIdentity, assess, metadata_or_error
from changegate.pipeline_state import action_details, get_execution
from generator import naming
from generator.errors import AwsError
from review import history, record
from review.history import Decision, decisions_of, outcome_of, review_of

log = logging.getLogger(__name__)

# The review step (review/steps.py) stops an execution whose change set is empty with this reason.
NO_CHANGES_REASON = history.NO_CHANGES_REASON
# The Review action's output variables (review/steps.py OUT_SUMMARY, OUT_RISK), when the stage has one.
REVIEW_SUMMARY, REVIEW_RISK = history.REVIEW_SUMMARY, history.REVIEW_RISK
RETENTION_NOTE = "CodePipeline keeps 12 months of execution history; audit records are kept with the bucket"
FROM_RECORD = "audit record"
FROM_HISTORY = "pipeline history, no audit record"
# Below this many executions without a record, their action executions are read one execution at a
# time (ListActionExecutions filtered); above it, the whole pipeline's at once (fewer requests).
PER_EXECUTION_LIMIT = 10
BOOTSTRAP_BUCKET_OUTPUT = "SourceBucketName"


@dataclass(frozen=True)
class AuditRecord:
    """One execution, as an audit record or CodePipeline's history tells it."""

    pipeline: str
    execution_id: str
    status: str  # the execution's own status (Succeeded, Failed, Stopped, ...)
    started: datetime | None
    ended: datetime | None
    outcome: str  # executed | rejected | no changes | stopped | failed | skipped | in progress | ...
    outcome_detail: str | None
    origin: Origin
    change_set: dict[str, str | None] | None  # stack, name, id of the change set CreateChangeSet made
    decisions: tuple[Decision, ...] = ()
    review: dict[str, str] = field(default_factory=dict)  # the Review action's Summary and RiskTier
    source: str = FROM_HISTORY  # FROM_RECORD or FROM_HISTORY
    record_key: str | None = None
    attempt: int = 1

    def to_json(self) -> dict[str, Any]:
        origin = self.origin
        return {
            "pipeline": self.pipeline, "execution_id": self.execution_id, "status": self.status,
            "started": history.iso(self.started), "ended": history.iso(self.ended),
            "outcome": self.outcome, "outcome_detail": self.outcome_detail,
            "commit": origin.commit, "author": origin.author, "subject": origin.subject,
            "trusted": origin.trusted,
            "object": {"bucket": origin.source.bucket, "key": origin.source.key,
                       "version": origin.source.version},
            "change_set": dict(self.change_set) if self.change_set else None,
            "decisions": [d.to_json() for d in self.decisions],
            "review": dict(self.review) or None,
            "origin": origin.to_json(),
            "source": self.source, "record_key": self.record_key, "attempt": self.attempt,
        }


@dataclass(frozen=True)
class BadRecord:
    """An object under the pipeline's audit prefix that is not a record changegate can read."""

    key: str
    problem: str

    def to_json(self) -> dict[str, str]:
        return {"record_key": self.key, "problem": self.problem}


@dataclass(frozen=True)
class AuditReport:
    pipeline: str
    bucket: str | None
    entries: tuple[AuditRecord, ...]
    bad: tuple[BadRecord, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline, "bucket": self.bucket,
                "executions": [e.to_json() for e in self.entries],
                "unreadable_records": [b.to_json() for b in self.bad], "notes": list(self.notes)}


def read_audit(codepipeline: Any, s3: Any, *, pipeline: str, sync: SyncIdentity,
               since: datetime | None = None, workers: int = 8, bucket: str | None = None,
               cloudformation: Any = None, project: str | None = None,
               steps_role: str | None = None) -> AuditReport:
    """Every execution of ``pipeline`` started at or after ``since`` (all of them without), newest first."""
    notes: list[str] = []
    exists = True
    if bucket is None:
        bucket, exists = records_bucket(codepipeline, cloudformation, pipeline=pipeline, project=project)
    if not exists:
        notes.append(f"pipeline {pipeline} no longer exists: only its audit records are left")
    records: dict[str, tuple[str, dict]] = {}
    bad: list[BadRecord] = []
    if bucket is None:
        notes.append("the source bucket is unknown: no audit records read")
    else:
        try:
            records, bad = read_records(s3, bucket, pipeline, since, workers)
        except AccessDeniedError as exc:
            # e.g. approvers whose policy predates the records (redeploy the bootstrap stack): the
            # history still answers for the last 12 months
            if not exists:
                raise
            notes.append(f"audit records not read, shown from CodePipeline's history only: {exc}")
    summaries = [] if not exists else [
        s for s in list_executions(codepipeline, pipeline, since)
        if since is None or _after(s.get("startTime"), since)]
    heads: dict[tuple, tuple] = {}

    def head(source: SourceObject) -> tuple[dict | None, str | None]:
        key = (source.bucket, source.key, source.version)
        if key not in heads:
            heads[key] = metadata_or_error(s3, source)
        return heads[key]

    # A record wins, unless CodePipeline says the execution runs again (a retry after the record).
    running = {s["pipelineExecutionId"] for s in summaries if s.get("status") in history.RUNNING}
    missing = [s for s in summaries if s["pipelineExecutionId"] not in records
               or s["pipelineExecutionId"] in running]
    from_history = _from_history(codepipeline, pipeline, missing, sync, head, workers, steps_role)
    from_records = [_from_record(key, body, sync, head) for execution, (key, body) in records.items()
                    if execution not in running]
    entries = [*from_records, *from_history]
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    entries.sort(key=lambda r: (history.aware(r.started) or epoch, r.execution_id), reverse=True)
    return AuditReport(pipeline, bucket, tuple(entries), tuple(sorted(bad, key=lambda b: b.key)),
                       tuple(notes))


# ---- where the records are ----

def records_bucket(codepipeline: Any, cloudformation: Any, *, pipeline: str,
                   project: str | None) -> tuple[str | None, bool]:
    """(the source bucket, whether the pipeline exists): the bucket its Source action reads (GetPipeline),
    else the bootstrap stack's SourceBucketName output."""
    try:
        with aws_call("codepipeline:GetPipeline", f"pipeline {pipeline}"):
            declaration = codepipeline.get_pipeline(name=pipeline)["pipeline"]
    except AccessDeniedError:
        raise
    except AwsError as exc:
        cause = exc.__cause__
        if not (isinstance(cause, ClientError) and error_code(cause) == "PipelineNotFoundException"):
            raise
        return _bootstrap_bucket(cloudformation, project), False
    for stage in declaration.get("stages", []):
        for action in stage.get("actions", []):
            if (stage.get("name"), action.get("name")) == (naming.SOURCE_STAGE, naming.SOURCE_ACTION_NAME):
                found = (action.get("configuration") or {}).get("S3Bucket")
                if found:
                    return found, True
    return _bootstrap_bucket(cloudformation, project), True


def _bootstrap_bucket(cloudformation: Any, project: str | None) -> str | None:
    if cloudformation is None or project is None:
        return None
    stack = naming.bootstrap_stack_name(project)
    with aws_call("cloudformation:DescribeStacks", f"stack {stack}"):
        try:
            stacks = cloudformation.describe_stacks(StackName=stack).get("Stacks", [])
        except ClientError as exc:
            if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
                return None
            raise
    outputs = stacks[0].get("Outputs", []) if stacks else []
    return next((o.get("OutputValue") for o in outputs if o.get("OutputKey") == BOOTSTRAP_BUCKET_OUTPUT),
                None)


def list_record_keys(s3: Any, bucket: str, pipeline: str, since: datetime | None) -> list[str]:
    """Every key under ``audit/<pipeline>/``; with ``since``, only those started at or after it.

    The keys start with the start time (``20261112T000000Z-...``), so ``StartAfter`` the bare stamp of
    ``since`` lists exactly the records started in that second or later ("StartAfter is where you want
    Amazon S3 to start listing from. Amazon S3 starts listing after this specified key", API reference,
    ListObjectsV2).
    """
    prefix = naming.audit_records_prefix(pipeline)
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if since is not None:
        request["StartAfter"] = prefix + history.aware(since).astimezone(timezone.utc).strftime(record.STAMP)
    keys: list[str] = []
    with aws_call("s3:ListBucket", f"s3://{bucket}/{prefix}"):
        for page in s3.get_paginator("list_objects_v2").paginate(**request):
            keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def read_records(s3: Any, bucket: str, pipeline: str, since: datetime | None,
                 workers: int) -> tuple[dict[str, tuple[str, dict]], list[BadRecord]]:
    """execution id -> (key, record) of its latest attempt, and the objects that are not readable records."""
    keys = list_record_keys(s3, bucket, pipeline, since)

    def one(key: str) -> tuple[str, dict | None, str | None]:
        with aws_call("s3:GetObject", f"s3://{bucket}/{key}"):
            try:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except ClientError as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    return key, None, "gone between the listing and the read"
                raise
        parsed, problem = parse_record(key, body, pipeline)
        return key, parsed, problem

    if workers <= 1 or len(keys) <= 1:
        results = [one(key) for key in keys]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, keys))
    found: dict[str, tuple[str, dict]] = {}
    bad: list[BadRecord] = []
    for key, parsed, problem in results:
        if parsed is None:
            bad.append(BadRecord(key, problem or "unreadable"))
            continue
        execution = parsed["execution_id"]
        attempt = int(parsed.get("attempt", 1))
        if execution not in found or attempt > int(found[execution][1].get("attempt", 1)):
            found[execution] = (key, parsed)
    return found, bad


def parse_record(key: str, body: bytes, pipeline: str) -> tuple[dict | None, str | None]:
    """The record in ``body``, or None and what is wrong with it (in words that name the fix)."""
    named = record.parse_key(key)
    if named is None:
        return None, ("not an audit record's name (<start>-<execution id>.json, review/record.py); "
                      "changegate never writes such an object there")
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"not valid JSON ({exc})"
    if not isinstance(parsed, dict):
        return None, f"not a JSON object but {type(parsed).__name__}"
    if parsed.get("schema") != record.SCHEMA:
        return None, (f"schema {parsed.get('schema')!r}, this changegate reads schema {record.SCHEMA}: "
                      "upgrade changegate to read it")
    missing = [k for k in ("pipeline", "execution_id", "started", "outcome") if not parsed.get(k)]
    if missing:
        return None, f"lacks {', '.join(missing)}"
    if parsed["pipeline"] != pipeline or parsed["execution_id"] != named[1]:
        return None, (f"names pipeline {parsed['pipeline']!r} execution {parsed['execution_id']!r}, but its "
                      f"key names pipeline {pipeline!r} execution {named[1]!r}")
    try:
        datetime.fromisoformat(parsed["started"])
    except (TypeError, ValueError):
        return None, f"started is not a time: {parsed['started']!r}"
    attempt = parsed.get("attempt", 1)
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1 or attempt != named[2]:
        return None, f"attempt {attempt!r} is not the attempt its key names ({named[2]})"
    return parsed, None


# ---- one entry ----

def _from_record(key: str, body: dict, sync: SyncIdentity, head) -> AuditRecord:
    source_json = body.get("source") or {}
    source = SourceObject(source_json.get("bucket"), source_json.get("key"), source_json.get("version"))
    metadata, error = head(source)
    trigger = body.get("trigger") or {}
    variables = body.get("variables") or {
        name: value for name, value in zip(naming.PIPELINE_VARIABLES, (
            (body.get("commit") or {}).get(k) for k in ("id", "author", "subject")), strict=True)
        if value is not None}
    origin = assess(source=source, metadata=metadata, metadata_error=error, variables=variables,
                    trigger={"triggerType": trigger.get("type"), "triggerDetail": trigger.get("detail")},
                    sync=sync)
    review = body.get("review") or {}
    return AuditRecord(
        pipeline=body["pipeline"], execution_id=body["execution_id"], status=body.get("status", ""),
        started=_time(body.get("started")), ended=_time(body.get("ended")), outcome=body["outcome"],
        outcome_detail=body.get("outcome_detail"), origin=origin, change_set=body.get("change_set"),
        decisions=tuple(Decision(d.get("action", ""), d.get("verdict", ""), d.get("by"), _time(d.get("at")),
                                 d.get("comment")) for d in body.get("approvals", [])),
        review={k: v for k, v in ((REVIEW_SUMMARY, review.get("summary")), (REVIEW_RISK, review.get("risk")))
                if v is not None},
        source=FROM_RECORD, record_key=key, attempt=int(body.get("attempt", 1)))


def _from_history(codepipeline: Any, pipeline: str, summaries: list[dict], sync: SyncIdentity, head,
                  workers: int, steps_role: str | None) -> list[AuditRecord]:
    if not summaries:
        return []
    by_execution: dict[str, list[dict]] = defaultdict(list)
    if len(summaries) > PER_EXECUTION_LIMIT:
        for detail in action_details(codepipeline, pipeline):
            by_execution[detail.get("pipelineExecutionId", "")].append(detail)

    def one(summary: dict[str, Any]) -> AuditRecord:
        execution_id = summary["pipelineExecutionId"]
        if len(summaries) > PER_EXECUTION_LIMIT:
            details = by_execution.get(execution_id, [])
        else:
            details = action_details(codepipeline, pipeline, execution_id)
        execution = get_execution(codepipeline, pipeline, execution_id)
        bucket, key, version = history.source_of(details, history.summary_version(summary))
        source = SourceObject(bucket, key, version)
        metadata, error = head(source)
        origin = assess(source=source, metadata=metadata, metadata_error=error,
                        variables=history.variables_of(execution),
                        trigger=execution.get("trigger") or summary.get("trigger"), sync=sync)
        outcome, detail = outcome_of(summary, details)
        status = summary.get("status", "")
        return AuditRecord(
            pipeline=pipeline, execution_id=execution_id, status=status, started=summary.get("startTime"),
            ended=None if status in history.RUNNING else summary.get("lastUpdateTime"),
            outcome=outcome, outcome_detail=detail, origin=origin,
            change_set=history.change_set_of(details, execution_id),
            decisions=decisions_of(details, steps_role=steps_role), review=review_of(details))

    if workers <= 1:
        return [one(summary) for summary in summaries]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, summaries))


def list_executions(codepipeline: Any, pipeline: str, since: datetime | None) -> Iterator[dict[str, Any]]:
    """ListPipelineExecutions, every page; with ``since``, no page after one that reaches back past it.

    The API "Gets a summary of the most recent executions for a pipeline", newest first. A page is
    taken to end the search only when it is itself in that order and ends before ``since``; a page
    in any other order makes the search go on, so an unexpected order costs requests, never records.
    """
    with aws_call("codepipeline:ListPipelineExecutions", f"pipeline {pipeline}"):
        for page in codepipeline.get_paginator("list_pipeline_executions").paginate(pipelineName=pipeline):
            summaries = page.get("pipelineExecutionSummaries", [])
            yield from summaries
            times = [history.aware(s.get("startTime")) for s in summaries]
            if since is None or not times or None in times:
                continue
            newest_first = all(a >= b for a, b in pairwise(times))
            if newest_first and times[-1] < history.aware(since):
                return


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return history.aware(datetime.fromisoformat(value))
    except ValueError:
        return None


def _after(moment: datetime | None, since: datetime) -> bool:
    moment = history.aware(moment)
    return moment is not None and moment >= history.aware(since)
