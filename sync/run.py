"""The sync, step by step: validate, plan, upload, record, start.

1. Validate every stack (structure and parameters); build each stack's archive and hash.
2. Read the remote state (``state``: one listing, one manifest GET, a HEAD per object the
   manifest does not describe) and classify stacks (``plan``).
3. cfn-lint only the added and changed stacks (the others were linted when they were shipped).
   Any validation error: stop here, nothing uploaded, nothing started.
4. Refuse rollbacks (``git``), unless forced.
5. Upload new and changed archives in parallel (metadata: content hash and commit); remove the
   objects of removed stacks with a delete marker (versioning keeps their history; their
   CloudFormation stacks are never touched).
6. Start the pipelines of uploaded stacks, and of stacks whose start an earlier run did not get
   to, each pinned to its object version.
7. Write the manifest, once, describing only what is now in the bucket.

Convergence: every step before 7 either changed nothing or left objects the manifest does not
describe yet; a re-run finds those by their ETag, reads their metadata by HEAD, adopts them
without a new upload when their hash matches, and starts their pipelines (at least once: a
failure between a start and step 7 means a second execution on a re-run, which finds an empty
change set and stops without asking an approver, decision 6). A failed upload, delete or start is
reported, the manifest records what did succeed (a failed start stays pending), and the sync
exits non-zero; the next run finishes the work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from generator import naming
from generator.errors import SyncError
from generator.lint import lint_stacks
from generator.validate import ValidationReport, validate_repository
from sync.archive import Archive, stack_archive
from sync.git import CommitInfo, Git, rollback_refusals
from sync.pipelines import REDEPLOY_HINT, PipelineMissing, start_pipeline
from sync.plan import Plan, classify, resolve_unknown
from sync.state import (
    META_COMMIT,
    META_SHA256,
    RemoteState,
    StackRecord,
    normalize_etag,
    read_remote_state,
    record_from_head,
    version_of,
    write_manifest,
)

log = logging.getLogger(__name__)

AWS_ERRORS = (ClientError, BotoCoreError)
DEFAULT_WORKERS = 16
# progress(label, total) -> a callback called once per item done
ProgressFactory = Callable[[str, int], Callable[[str], None]]


@dataclass(frozen=True)
class SyncOptions:
    bucket: str
    prefix: str = naming.DEFAULT_SOURCE_PREFIX
    commit: str | None = None  # None: git HEAD when the root is a git repository
    dry_run: bool = False
    start: bool = True
    force: bool = False
    jobs: int | None = None  # cfn-lint processes
    workers: int = DEFAULT_WORKERS  # parallel S3 and CodePipeline requests


@dataclass
class SyncReport:
    commit: CommitInfo
    bucket: str
    prefix: str
    dry_run: bool
    validation: ValidationReport | None = None
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    uploaded: dict[str, str | None] = field(default_factory=dict)  # folder -> new version id
    deleted: list[str] = field(default_factory=list)
    started: dict[str, str] = field(default_factory=dict)  # folder -> execution id
    not_started: dict[str, str] = field(default_factory=dict)  # folder -> why
    disabled: list[str] = field(default_factory=list)  # shipped, but they have no pipeline
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stage: str = "validate"  # where the run stopped: validate, refused, planned, done

    @property
    def valid(self) -> bool:
        return self.validation is not None and self.validation.ok

    @property
    def ok(self) -> bool:
        return self.valid and not self.failures


def run_sync(root: Path, s3: Any, codepipeline: Any, options: SyncOptions, *,
             progress: ProgressFactory | None = None, lint: bool = True) -> SyncReport:
    """Sync ``root``'s stacks to ``s3://bucket/prefix``; see the module docstring.

    Returns the report; raises ``SyncError`` for a refused rollback or when the bucket cannot be
    read or the state cannot be recorded, ``ConfigError`` for an invalid ``pipelines/config.yaml``.
    """
    root = Path(root)
    git = Git(root)
    commit_id = options.commit or git.head()
    commit = git.commit_info(commit_id) if commit_id else CommitInfo(id=None)
    report = SyncReport(commit=commit, bucket=options.bucket, prefix=options.prefix,
                        dry_run=options.dry_run)

    validation = validate_repository(root, lint=False)
    report.validation = validation
    if not validation.ok:
        # stop before S3: a stack whose template does not load would look removed
        report.notes.append("cfn-lint not run: fix the errors above first")
        return report
    local = {name: stack_archive(stack) for name, stack in validation.stacks.items()}
    disabled = {name for name, stack in validation.stacks.items() if stack.settings.disabled}

    plan, remote = _plan(s3, options, local, report)
    to_lint = [validation.stacks[f] for f in plan.to_upload] if lint else []
    if to_lint:
        problems = lint_stacks(to_lint, root, jobs=options.jobs,
                               progress=progress("linting", len(to_lint)) if progress else None)
        validation = validation.with_lint(problems, tuple(s.name for s in to_lint))
        report.validation = validation
    if not validation.ok:
        log.info("validation failed: nothing uploaded, nothing started")
        return report

    _refuse_rollbacks(git, commit.id, plan, options.force, report)
    report.stage = "planned"
    to_start = sorted(set(plan.to_upload) - disabled)
    pending = plan.pending_starts(disabled)
    report.disabled = sorted(set(plan.to_upload) & disabled)
    if options.dry_run:
        for folder in [*to_start, *pending]:
            report.not_started[folder] = "dry run"
        return report

    records = {f: r for f, r in plan.records.items() if f in local or f in plan.removed}
    _upload(s3, options, local, plan.to_upload, commit.id, records, disabled, report,
            progress("uploading", len(plan.to_upload)) if progress and plan.to_upload else None)
    _delete(s3, options, plan.removed, records, report)
    uploaded_to_start = [f for f in to_start if f in report.uploaded]
    candidates = sorted({*uploaded_to_start, *pending})
    if options.start and not report.failures:
        _start(codepipeline, options, validation, candidates, records, commit, report)
    else:
        why = "--no-start" if not options.start else "not started: the sync had failures"
        for folder in candidates:
            report.not_started[folder] = why
    # only objects now current: a failed upload keeps the old object's record, a deleted one has none
    new_manifest = dict(records)
    if new_manifest != remote.records:
        try:
            write_manifest(s3, options.bucket, options.prefix, new_manifest, commit.id)
        except AWS_ERRORS as exc:
            raise SyncError(
                f"the state manifest could not be written to s3://{options.bucket}/{options.prefix}: "
                f"{exc}\n    hint: the uploads are in place; re-run the sync and it converges") from exc
    report.stage = "done"
    return report


def _plan(s3: Any, options: SyncOptions, local: dict[str, Archive],
          report: SyncReport) -> tuple[Plan, RemoteState]:
    try:
        remote = read_remote_state(s3, options.bucket, options.prefix)
        plan = classify(local, remote)
        unknown = [*plan.unknown, *plan.unknown_removed]
        if unknown:
            log.info("%d stack objects are not in the state manifest: reading their metadata",
                     len(unknown))
            objects = remote.objects
            with ThreadPoolExecutor(max_workers=options.workers) as pool:
                heads = dict(zip(unknown, pool.map(
                    lambda f: record_from_head(s3, options.bucket, objects[f]), unknown), strict=True))
            resolve_unknown(plan, local, heads)
    except AWS_ERRORS as exc:
        raise SyncError(f"cannot read s3://{options.bucket}/{options.prefix}: {exc}\n"
                        "    hint: check the bucket name (--bucket or "
                        f"{naming.ENV_SOURCE_BUCKET}), the region and your credentials") from exc
    report.added, report.changed = list(plan.added), list(plan.changed)
    report.removed, report.unchanged = list(plan.removed), list(plan.unchanged)
    for folder in plan.removed:
        report.notes.append(f"{folder}: removed from the repository; its object leaves the current view "
                            "(versioning keeps its history); its CloudFormation stack is NOT deleted")
    return plan, remote


def _refuse_rollbacks(git: Git, current: str | None, plan: Plan, force: bool, report: SyncReport) -> None:
    replaced = {f: (plan.records[f].commit if f in plan.records else None)
                for f in [*plan.changed, *plan.removed]}
    refusals = rollback_refusals(git, current, replaced, report.notes)
    if not refusals:
        return
    lines = "\n".join(f"    {r.folder}: recorded from {r.reason}" for r in refusals)
    if force:
        report.warnings.append("--force: replacing content recorded from newer or unrelated "
                               f"commits:\n{lines}")
        return
    report.stage = "refused"
    raise SyncError(f"refusing to replace content from commits that are not ancestors of "
                    f"{(current or '?')[:12]} (re-running an old build would roll these stacks back):\n"
                    f"{lines}\n    hint: sync a newer commit, or pass --force for a deliberate rollback")


def _upload(s3: Any, options: SyncOptions, local: dict[str, Archive], folders: list[str],
            commit: str | None, records: dict[str, StackRecord], disabled: Collection[str],
            report: SyncReport, progress: Callable[[str], None] | None) -> None:
    def put(folder: str) -> tuple[str, dict | Exception]:
        archive = local[folder]
        metadata = {META_SHA256: archive.sha256}
        if commit:
            metadata[META_COMMIT] = commit
        try:
            return folder, s3.put_object(
                Bucket=options.bucket, Key=naming.source_object_key(folder, options.prefix),
                Body=archive.data, ContentType="application/zip", Metadata=metadata)
        except AWS_ERRORS as exc:
            return folder, exc

    with ThreadPoolExecutor(max_workers=options.workers) as pool:
        for folder, result in pool.map(put, folders):
            if isinstance(result, Exception):
                report.failures.append(f"{folder}: upload failed: {result}")
                continue
            version = version_of(result)
            records[folder] = StackRecord(sha256=local[folder].sha256,
                                          etag=normalize_etag(result.get("ETag")),
                                          version_id=version, commit=commit,
                                          pending_start=folder not in disabled)
            report.uploaded[folder] = version
            if progress:
                progress(folder)


def _delete(s3: Any, options: SyncOptions, folders: list[str], records: dict[str, StackRecord],
            report: SyncReport) -> None:
    def delete(folder: str) -> tuple[str, Exception | None]:
        try:
            # no VersionId: a delete marker; earlier versions stay, so the history is kept
            s3.delete_object(Bucket=options.bucket, Key=naming.source_object_key(folder, options.prefix))
            return folder, None
        except AWS_ERRORS as exc:
            return folder, exc

    with ThreadPoolExecutor(max_workers=options.workers) as pool:
        for folder, error in pool.map(delete, folders):
            if error is not None:
                report.failures.append(f"{folder}: removing its object failed: {error}")
                continue
            records.pop(folder, None)
            report.deleted.append(folder)


def _start(codepipeline: Any, options: SyncOptions, validation: ValidationReport, folders: list[str],
           records: dict[str, StackRecord], commit: CommitInfo, report: SyncReport) -> None:
    def start(folder: str) -> tuple[str, Any]:
        record = records[folder]
        if record.version_id is None:
            return folder, SyncError(
                f"s3://{options.bucket} is not versioned: the pipeline cannot be pinned to the upload "
                "(enable versioning; the bootstrap stack's source bucket has it)")
        try:
            return folder, start_pipeline(codepipeline, validation.stacks[folder].pipeline_name,
                                          record.version_id, commit)
        except (PipelineMissing, SyncError, *AWS_ERRORS) as exc:
            return folder, exc

    with ThreadPoolExecutor(max_workers=min(options.workers, 8)) as pool:
        for folder, result in pool.map(start, folders):
            if isinstance(result, PipelineMissing):
                report.warnings.append(f"{folder}: pipeline {result} does not exist yet: {REDEPLOY_HINT}")
                report.not_started[folder] = "no pipeline yet"
            elif isinstance(result, Exception):
                report.failures.append(f"{folder}: starting its pipeline failed: {result}")
                report.not_started[folder] = "start failed"
            else:
                report.started[folder] = result.execution_id
                records[folder] = replace(records[folder], pending_start=False)


