"""Where an execution's change comes from, told by what only the sync can write (decision 12).

Approvers must not believe the pipeline variables CommitId, CommitAuthor and CommitSubject:
``StartPipelineExecution`` takes ``variables`` from whoever calls it, and PowerUserAccess may call
it on any ``<project>-*`` pipeline, pinned to any older object version (security review, M5). Two
facts cannot be forged by such a caller:

- the metadata of the S3 object version the execution runs on. Only the sync role may write the
  source bucket (its bucket policy denies object writes to every other principal), and "You can't
  modify object metadata after it's uploaded" without writing a new version (S3 user guide,
  UsingMetadata), so ``changegate-commit`` (and ``changegate-author``/``changegate-subject`` when
  the sync writes them) of a version are what the sync wrote when it uploaded it;
- the execution's trigger: ``ExecutionTrigger.triggerDetail`` is "the user ARN for a user-initiated
  start-pipeline-execution CLI command" (CodePipeline API reference, ExecutionTrigger). The sync
  runs in CodeBuild as the sync role, so its starts read ``StartPipelineExecution`` by that role.

This module reads both and lists every way an execution fails them. It decides nothing: the
commands warn, and ``approve`` refuses without ``--force``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from typing import Any

from botocore.exceptions import ClientError

from changegate.aws import AccessDeniedError, aws_call, error_code
from generator import naming
from generator.errors import AwsError
from review import history

log = logging.getLogger(__name__)

# What the sync writes on every archive it uploads (sync/state.py: META_SHA256, META_COMMIT), and
# what it may write (author, subject): S3 lower-cases user metadata names.
META_SHA256 = "changegate-sha256"
META_COMMIT = "changegate-commit"
META_AUTHOR = "changegate-author"
META_SUBJECT = "changegate-subject"
# pipeline variable -> the metadata that must agree with it
VARIABLE_METADATA = dict(zip(naming.PIPELINE_VARIABLES, (META_COMMIT, META_AUTHOR, META_SUBJECT),
                             strict=True))
TRIGGER_START = "StartPipelineExecution"
# arn:aws:sts::123456789012:assumed-role/acme-changegate-sync/AWSCodeBuild-... (a role session) or
# arn:aws:iam::123456789012:role/path/acme-changegate-sync (the role itself)
_ASSUMED = re.compile(r"\Aarn:[a-z-]+:sts::(\d{12}):assumed-role/([^/]+)/.+\Z")
_ROLE = re.compile(r"\Aarn:[a-z-]+:iam::(\d{12}):role/(?:.*/)?([^/]+)\Z")

FROM_METADATA = "object metadata"
FROM_SYNC_VARIABLES = "pipeline variables set by the sync"
UNTRUSTED_VARIABLES = "pipeline variables, UNTRUSTED"


@dataclass(frozen=True)
class SyncIdentity:
    """The principal the sync runs as: the only one whose starts are trusted."""

    role_name: str
    account: str | None = None  # None: any account (only when the caller's account is unknown)

    def started(self, trigger_type: str | None, trigger_detail: str | None) -> bool:
        if trigger_type != TRIGGER_START or not trigger_detail:
            return False
        for pattern in (_ASSUMED, _ROLE):
            match = pattern.match(trigger_detail)
            if match:
                account, role = match.groups()
                return role == self.role_name and (self.account is None or account == self.account)
        return False

    @property
    def described(self) -> str:
        return f"role {self.role_name}" + (f" of account {self.account}" if self.account else "")


def sync_identity(project: str, account: str | None) -> SyncIdentity:
    return SyncIdentity(naming.role_name(project, "sync"), account)


@dataclass(frozen=True)
class SourceObject:
    """The S3 object version an execution runs on (its Source action read it)."""

    bucket: str | None
    key: str | None
    version: str | None

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.key} version {self.version}"


@dataclass(frozen=True)
class Origin:
    """What an execution runs on and who started it, and every reason not to trust it."""

    source: SourceObject
    commit: str | None
    author: str | None
    subject: str | None
    # field ("commit", "author", "subject") -> where its value comes from (FROM_METADATA, ...)
    provenance: tuple[tuple[str, str], ...]
    trigger_type: str | None
    trigger_detail: str | None
    started_by_sync: bool
    metadata: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @property
    def trusted(self) -> bool:
        return not self.problems

    def where_from(self, name: str) -> str | None:
        return dict(self.provenance).get(name)

    def to_json(self) -> dict[str, Any]:
        return {"trusted": self.trusted, "problems": list(self.problems),
                "bucket": self.source.bucket, "key": self.source.key,
                "object_version": self.source.version,
                "commit": self.commit, "author": self.author, "subject": self.subject,
                "provenance": dict(self.provenance),
                "trigger": {"type": self.trigger_type, "detail": self.trigger_detail},
                "started_by_sync": self.started_by_sync,
                "metadata": dict(self.metadata), "variables": dict(self.variables)}


def source_object(details: list[dict], fallback_version: str | None = None) -> SourceObject:
    """The bucket, key and version the Source action of these action executions read (read as the
    audit recorder reads it: review/history.py)."""
    return SourceObject(*history.source_of(details, fallback_version))


def read_metadata(s3: Any, source: SourceObject) -> dict[str, str]:
    """The user metadata of exactly that object version (HeadObject with VersionId), names lower-cased.

    HeadObject needs ``s3:GetObject`` and, with a VersionId, ``s3:GetObjectVersion`` (S3 API
    reference, HeadObject: "You need the relevant read object (or version) permission"). Values S3
    stored from non-ASCII text come back RFC 2047 encoded ("encoded as per RFC 2047 to make them
    mail-safe before returning", S3 user guide, UsingMetadata): they are decoded here.
    """
    what = f"s3://{source.bucket}/{source.key} version {source.version}"
    with aws_call("s3:GetObjectVersion", what):
        head = s3.head_object(Bucket=source.bucket, Key=source.key, VersionId=source.version)
    return {name.lower(): decode_metadata(value) for name, value in head.get("Metadata", {}).items()}


def decode_metadata(value: str) -> str:
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
        return value


def assess(*, source: SourceObject, metadata: dict[str, str] | None, metadata_error: str | None,
           variables: dict[str, str], trigger: dict[str, Any] | None, sync: SyncIdentity) -> Origin:
    """Put the facts together: what to show for commit, author and subject, and what is wrong."""
    trigger = trigger or {}
    trigger_type, trigger_detail = trigger.get("triggerType"), trigger.get("triggerDetail")
    by_sync = sync.started(trigger_type, trigger_detail)
    problems: list[str] = []
    if not by_sync:
        problems.append(
            f"not started by the sync: trigger {trigger_type or 'unknown'} by {trigger_detail or 'unknown'}, "
            f"expected {TRIGGER_START} by {sync.described} (whoever starts a pipeline sets its commit "
            "variables and may pin any older object version)")
    if source.version is None or source.bucket is None or source.key is None:
        problems.append("the object version this execution runs on is unknown (no Source action "
                        "execution recorded): its origin cannot be checked")
    elif metadata_error is not None:
        problems.append(f"cannot read the metadata of {source.where}: {metadata_error}")
    elif metadata is not None and META_COMMIT not in metadata:
        problems.append(f"{source.where} carries no {META_COMMIT} metadata: the sync did not write it")
    metadata = metadata or {}
    shown: dict[str, str | None] = {}
    from_variables: list[str] = []
    for variable, meta in VARIABLE_METADATA.items():
        name = meta.removeprefix("changegate-")
        written, claimed = metadata.get(meta), variables.get(variable)
        if claimed == naming.PIPELINE_VARIABLE_DEFAULT:
            claimed = None  # the declared default: nobody set it (a run the sync did not start)
        if written is not None:
            shown[name] = written
            if claimed is not None and claimed != written and not _shortened(claimed, written):
                problems.append(f"pipeline variable {variable} says {claimed!r} but the object version "
                                f"says {written!r}: the variables were not set by the sync")
        elif claimed is not None:
            shown[name] = claimed
            from_variables.append(name)
        else:
            shown[name] = None
    # a variable is believed only when nothing is wrong: the sync started the run on a version it wrote
    told = FROM_SYNC_VARIABLES if not problems else UNTRUSTED_VARIABLES
    provenance = tuple((name, told if name in from_variables else FROM_METADATA)
                       for name in ("commit", "author", "subject") if shown[name] is not None)
    return Origin(source=source, commit=shown["commit"], author=shown["author"], subject=shown["subject"],
                  provenance=provenance, trigger_type=trigger_type, trigger_detail=trigger_detail,
                  started_by_sync=by_sync, metadata=metadata, variables=variables, problems=tuple(problems))


def _shortened(claimed: str, written: str) -> bool:
    """The sync caps variable values (sync/pipelines.py: one line, an ellipsis when cut) but not metadata.

    A variable equal to the metadata's first characters plus "…", or "-" for an empty value, agrees.
    """
    if claimed == "-" and not written.strip():
        return True
    flat = " ".join(written.split())
    return claimed == flat or (claimed.endswith("…") and flat.startswith(claimed[:-1]))


def metadata_or_error(s3: Any, source: SourceObject) -> tuple[dict[str, str] | None, str | None]:
    """``read_metadata``, or the reason it failed (a denied or missing version is a finding, not a crash)."""
    if source.version is None or source.bucket is None or source.key is None:
        return None, None
    try:
        return read_metadata(s3, source), None
    except AccessDeniedError as exc:
        return None, str(exc)
    except AwsError as exc:
        cause = exc.__cause__
        code = error_code(cause) if isinstance(cause, ClientError) else ""
        if code in ("404", "NoSuchKey", "NoSuchVersion", "NotFound"):
            return None, "no such object version (HTTP 404): deleted, or never written"
        if code in ("403", "Forbidden"):
            # a HEAD error has no body: S3 answers a bare 403 where GetObject would say AccessDenied
            return None, (f"AccessDenied (HTTP 403): ask for s3:GetObject and s3:GetObjectVersion on "
                          f"arn:aws:s3:::{source.bucket}/{source.key}")
        return None, str(exc)


def read_origin(s3: Any, *, pipeline: str, execution: dict[str, Any],
                details: list[dict], sync: SyncIdentity) -> Origin:
    """The origin of one execution: ``execution`` is GetPipelineExecution's ``pipelineExecution``."""
    revisions = execution.get("artifactRevisions") or []
    fallback = revisions[0].get("revisionId") if len(revisions) == 1 else None
    source = source_object(details, fallback)
    metadata, error = metadata_or_error(s3, source)
    variables = {v["name"]: v.get("resolvedValue", "") for v in execution.get("variables", [])}
    log.debug("origin of %s %s: %s", pipeline, execution.get("pipelineExecutionId"), source.where)
    return assess(source=source, metadata=metadata, metadata_error=error, variables=variables,
                  trigger=execution.get("trigger"), sync=sync)
