"""The sync, step by step: validate, plan, upload, record, start.

1. Resolve the commit (``git``: a full id, or refused), refuse a ``--prefix`` the pipelines do not
   read unless nothing is started, validate every stack (structure and parameters), refuse a
   commit that is not on the configured branch (``branch``), refuse a working tree that differs
   from the commit (``worktree``), build each stack's archive and hash.
2. Read the remote state (``state``: one listing, one manifest GET, a HEAD per object the
   manifest does not describe) and classify stacks (``plan``).
3. cfn-lint only the added and changed stacks (the others were linted when they were shipped).
   Any validation error: stop here, nothing uploaded, nothing started.
4. Refuse rollbacks (``git``), unless forced; refuse an unversioned bucket when anything is to be
   uploaded or removed (one GetBucketVersioning: a no-change sync stays at two requests).
5. Upload new and changed archives in parallel (metadata: content hash and commit), each a
   conditional write on what the listing showed; a stack whose template names local content
   (nested templates, snippets, code) first uploads that content and pins its template to the
   versions (``package``); remove the objects of removed stacks with a
   delete marker (versioning keeps their history; their CloudFormation stacks are never touched).
6. Write the manifest (conditional: see below), describing only what is now in the bucket, with
   the uploaded stacks' starts pending.
7. Re-check that the manifest is still ours, start the pipelines of uploaded stacks and of stacks
   whose start an earlier run did not get to, each pinned to its object version, and record the
   starts (a second conditional manifest write).

Convergence: every step before 6 either changed nothing or left objects the manifest does not
describe yet; a re-run finds those by their ETag, reads their metadata by HEAD, adopts them
without a new upload when their hash matches, and starts their pipelines (at least once: a
failure between a start and the last write means a second execution on a re-run, which finds an
empty change set and stops without asking an approver, decision 6). A failed upload, delete or
start is reported, the manifest records what did succeed (a failed start stays pending), and the
sync exits non-zero; the next run finishes the work. Ctrl-C cancels the uploads not yet begun.

Overlapping syncs (issue 9, item 8), for example an older commit's build on a slow connection and
a newer one: every write is conditional on the state this run read. An archive upload or delete
carries ``IfMatch`` with the ETag the listing showed (an upload of a new stack ``IfNoneMatch="*"``),
so a run never replaces or removes an object another run wrote after its listing; the manifest
write carries
``IfMatch`` on the manifest's ETag, so of two runs that read the same manifest only one records.
A run whose condition fails reads the bucket again and re-plans (at most ``MAX_ATTEMPTS`` times);
the rollback check then sees the other run's commit (its records and the manifest's commit) and,
if that commit is newer or cannot be ordered, refuses: the loser exits non-zero having started
nothing, and the newer content stays current. If the other run's commit is older, this run
replaces its content and proceeds. Just before starting pipelines the run checks (one HEAD) that
the manifest is still the one it wrote; if a later run has written since, it starts nothing and
leaves the pending starts to that run. The remaining window is the time between that HEAD and the
start calls; a pipeline execution is pinned to its object version, so at worst an older execution
is queued before the newer one, which then runs last.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from generator import naming
from generator.contract.lint import lint_stacks
from generator.contract.validate import ValidationReport, validate_repository
from generator.errors import SyncError, UsageError
from sync import worktree
from sync.archive import Archive
from sync.branch import check_on_branch
from sync.git import CommitInfo, Git, rollback_refusals
from sync.package import PackagedStack, local_archive, package_stack
from sync.pipelines import REDEPLOY_HINT, PipelineMissing, commit_metadata, start_pipeline
from sync.plan import Plan, classify, resolve_unknown
from sync.state import (
    ABSENT_CODES,
    META_COMMIT,
    META_SHA256,
    ManifestConflict,
    RemoteState,
    StackRecord,
    error_code,
    fetch_manifest,
    is_conflict,
    manifest_etag_now,
    normalize_etag,
    read_remote_state,
    record_from_head,
    version_of,
    write_manifest,
)

log = logging.getLogger(__name__)

AWS_ERRORS = (ClientError, BotoCoreError)
DEFAULT_WORKERS = 16
MAX_ATTEMPTS = 3  # plans per run when another sync changes the bucket meanwhile
# progress(label, total) -> a callback called once per item done
ProgressFactory = Callable[[str, int], Callable[[str], None]]


@dataclass(frozen=True)
class SyncOptions:
    bucket: str
    prefix: str = naming.DEFAULT_SOURCE_PREFIX
    commit: str | None = None  # None: git HEAD when the root is a git repository; else resolved
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
    assets: dict[str, list[str]] = field(default_factory=dict)  # folder -> asset keys written
    deleted: list[str] = field(default_factory=list)
    started: dict[str, str] = field(default_factory=dict)  # folder -> execution id
    not_started: dict[str, str] = field(default_factory=dict)  # folder -> why
    disabled: list[str] = field(default_factory=list)  # shipped, but they have no pipeline
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # every stack this run uploaded, over all its attempts (see _Conflict)
    earlier_uploads: set[str] = field(default_factory=set)
    stage: str = "validate"  # where the run stopped: validate, refused, planned, done

    @property
    def valid(self) -> bool:
        return self.validation is not None and self.validation.ok

    @property
    def ok(self) -> bool:
        return self.valid and not self.failures


class _Conflict(Exception):
    """Another sync changed what this run read (a conditional write failed): plan again."""


def run_sync(root: Path, s3: Any, codepipeline: Any, options: SyncOptions, *,
             progress: ProgressFactory | None = None, lint: bool = True) -> SyncReport:
    """Sync ``root``'s stacks to ``s3://bucket/prefix``; see the module docstring.

    Returns the report; raises ``UsageError`` for a commit that does not resolve, a dirty working
    tree or a prefix the pipelines do not read, ``SyncError`` for a refused rollback (also when a
    concurrent sync of a newer commit won), an unversioned bucket, or when the bucket cannot be
    read or the state cannot be recorded, ``ConfigError`` for an invalid ``pipelines/config.yaml``.
    """
    root = Path(root)
    _check_prefix(options)
    git = Git(root)
    commit_id = git.resolve(options.commit) if options.commit is not None else git.head()
    commit = git.commit_info(commit_id) if commit_id else CommitInfo(id=None)
    report = SyncReport(commit=commit, bucket=options.bucket, prefix=options.prefix,
                        dry_run=options.dry_run)

    validation = validate_repository(root, lint=False)
    report.validation = validation
    if not validation.ok:
        # stop before S3: a stack whose template does not load would look removed
        report.notes.append("cfn-lint not run: fix the errors above first")
        return report
    # only commits of the protected branch reach the bucket (issue 10 item 4)
    if check_on_branch(git, commit.id, validation.config.repository.branch) is None and commit.id:
        report.notes.append(f"not a git repository: cannot check that {commit.id} is on branch "
                            f"{validation.config.repository.branch!r}")
    # packaging reads the stacks' local content (nested templates, snippets, code): offline, so a
    # no-change sync stays at its two requests; the uploads happen only for stacks that changed
    local = {name: local_archive(stack, root, validation.config.content_sources)
             for name, stack in validation.stacks.items()}
    packaged = frozenset(f for a in local.values() if isinstance(a, PackagedStack) for f in a.files)
    _check_worktree(git, commit.id, validation, root, options.dry_run, report, packaged)
    disabled = {name for name, stack in validation.stacks.items() if stack.settings.disabled}

    linted: set[str] = set()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            result = _attempt(git, s3, codepipeline, options, commit, local, disabled, report,
                              progress=progress, lint=lint, linted=linted, strict=attempt > 1)
            result.notes = list(dict.fromkeys(result.notes))  # an attempt repeats the plan's notes
            return result
        except _Conflict as conflict:
            log.info("attempt %d: %s", attempt, conflict)
            report.notes.append(f"another sync changed s3://{options.bucket}/{options.prefix} while "
                                f"this one ran ({conflict}): read it again")
            if attempt == MAX_ATTEMPTS:
                raise SyncError(
                    f"another sync kept changing s3://{options.bucket}/{options.prefix} while this one "
                    f"ran ({MAX_ATTEMPTS} attempts): nothing of this run was started\n    hint: re-run "
                    "the sync once the other one is done") from conflict
            _reset(report)
    raise AssertionError("unreachable")


def _reset(report: SyncReport) -> None:
    """Forget one attempt's plan and results (what it uploaded is found again by the next plan)."""
    for name in ("added", "changed", "removed", "unchanged", "deleted", "disabled", "failures"):
        getattr(report, name).clear()
    for name in ("uploaded", "assets", "started", "not_started"):
        getattr(report, name).clear()
    report.warnings = [w for w in report.warnings if w.startswith("dry run of the working tree")]


def _attempt(git: Git, s3: Any, codepipeline: Any, options: SyncOptions, commit: CommitInfo,
             local: dict[str, Archive | PackagedStack], disabled: set[str], report: SyncReport, *,
             progress: ProgressFactory | None, lint: bool, linted: set[str], strict: bool) -> SyncReport:
    validation = report.validation
    assert validation is not None
    plan, remote = _plan(s3, options, local, report)
    to_lint = [validation.stacks[f] for f in plan.to_upload if f not in linted] if lint else []
    if to_lint:
        problems = lint_stacks(to_lint, validation.root, jobs=options.jobs,
                               progress=progress("linting", len(to_lint)) if progress else None)
        validation = validation.with_lint(problems, tuple(s.name for s in to_lint))
        report.validation = validation
        linted.update(s.name for s in to_lint)
    if not validation.ok:
        log.info("validation failed: nothing uploaded, nothing started")
        return report

    _refuse_rollbacks(git, commit.id, plan, remote, options, report, strict)
    report.stage = "planned"
    to_start = sorted(set(plan.to_upload) - disabled)
    pending = plan.pending_starts(disabled)
    report.disabled = sorted(set(plan.to_upload) & disabled)
    if plan.to_upload or plan.removed:
        _check_versioning(s3, options, report)
    if options.dry_run:
        for folder in [*to_start, *pending]:
            report.not_started[folder] = "dry run"
        return report

    records = {f: r for f, r in plan.records.items() if f in local or f in plan.removed}
    _upload(s3, options, local, plan.to_upload, commit, records, disabled, remote, report,
            progress("uploading", len(plan.to_upload)) if progress and plan.to_upload else None)
    _delete(s3, options, plan.removed, records, remote, report)
    uploaded_to_start = [f for f in to_start if f in report.uploaded]
    candidates = sorted({*uploaded_to_start, *pending})
    # 6: record what is now in the bucket before any start (only objects now current: a failed
    # upload keeps the old object's record, a deleted one has none)
    etag = _record(s3, options, records, remote.records, commit.id, remote.manifest_etag)
    if options.start and not report.failures and candidates:
        _recheck(s3, options, etag, report)
        _start(codepipeline, options, report.validation, candidates, records, commit, report)
        try:
            _record(s3, options, records, None, commit.id, etag)
        except _Conflict:
            report.notes.append("another sync recorded its state after this one started its pipelines: "
                                "it starts again what it finds pending (at most a second, empty run)")
    else:
        why = "--no-start" if not options.start else "not started: the sync had failures"
        for folder in candidates:
            report.not_started[folder] = why
    report.stage = "done"
    return report


def _record(s3: Any, options: SyncOptions, records: dict[str, StackRecord],
            previous: dict[str, StackRecord] | None, commit: str | None,
            expected_etag: str | None) -> str | None:
    """Write the manifest unless it would not change; returns the manifest's ETag after."""
    if previous is not None and records == previous:
        return expected_etag
    try:
        return write_manifest(s3, options.bucket, options.prefix, records, commit, expected_etag)
    except ManifestConflict as exc:
        raise _Conflict(f"the state manifest changed since this run read it ({exc.code})") from exc
    except AWS_ERRORS as exc:
        raise SyncError(
            f"the state manifest could not be written to s3://{options.bucket}/{options.prefix}: "
            f"{exc}\n    hint: the uploads are in place; re-run the sync and it converges") from exc


def _recheck(s3: Any, options: SyncOptions, etag: str | None, report: SyncReport) -> None:
    """Start nothing when a later sync recorded its state after this one (it starts what is pending)."""
    try:
        now = manifest_etag_now(s3, options.bucket, options.prefix)
    except AWS_ERRORS as exc:
        raise SyncError(f"cannot re-read the state manifest in s3://{options.bucket}/{options.prefix}: "
                        f"{exc}\n    hint: the uploads are recorded; re-run the sync and it starts "
                        "the pipelines") from exc
    if now == etag:
        return
    try:
        other = fetch_manifest(s3, options.bucket, options.prefix).commit
    except AWS_ERRORS:
        other = None
    report.stage = "superseded"
    raise SyncError(
        f"another sync{f' (commit {other[:12]})' if other else ''} recorded its state in "
        f"s3://{options.bucket}/{options.prefix} after this one uploaded: this run started no "
        "pipeline; the other run starts what it finds pending\n    hint: check that sync's log; "
        "re-run this one only if it is the newest commit")


def _check_prefix(options: SyncOptions) -> None:
    """The generated pipelines read ``<DEFAULT_SOURCE_PREFIX><folder>.zip``; starting them with the
    version id of an object under another prefix would pin them to a version their key does not
    have (or, worse, one it has from earlier). Another prefix is for uploads only."""
    if options.prefix == naming.DEFAULT_SOURCE_PREFIX or options.dry_run or not options.start:
        return
    raise UsageError(
        f"--prefix {options.prefix!r}: the generated pipelines read "
        f"{naming.DEFAULT_SOURCE_PREFIX}<stack>.zip, so their pipelines cannot be started on "
        f"objects under {options.prefix!r}\n    hint: leave --prefix (and "
        f"{naming.ENV_SOURCE_PREFIX}) unset, or pass --no-start to upload there without starting")


def _check_worktree(git: Git, commit: str | None, validation: ValidationReport, root: Path,
                    dry_run: bool, report: SyncReport, packaged: Collection[str] = ()) -> None:
    if not git.available:
        report.notes.append(f"no git repository at {root}: the files are shipped as they are "
                            "(nothing to compare them with)")
        return
    read = worktree.files_read(validation, root) | set(packaged)
    lines = worktree.differences(git, commit or "HEAD", git.head(), read)
    if not lines:
        return
    label = (commit or "HEAD")[:12]
    if dry_run:
        report.warnings.append(f"dry run of the working tree: these files differ from {label}, and "
                               f"a real sync refuses them:\n{worktree.describe(lines)}")
        return
    raise UsageError(
        f"the working tree differs from commit {label} under stacks/ or pipelines/; the sync ships "
        f"exactly the commit it records, so it refuses:\n{worktree.describe(lines)}\n"
        "    hint: commit these changes (or restore them with `git restore`, remove untracked "
        "files) and run the sync again; `--dry-run` previews the working tree as it is")


def _check_versioning(s3: Any, options: SyncOptions, report: SyncReport) -> None:
    """Refuse an unversioned (or versioning-suspended) bucket before anything is written.

    Without versioning an upload replaces the object for good, a delete removes it, and no
    pipeline can be pinned to what was uploaded (``StartPipelineExecution`` takes a version id).
    GetBucketVersioning: "If the versioning state has never been set on a bucket, it has never
    been enabled or suspended" and returns no Status
    (docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html).
    """
    try:
        status = s3.get_bucket_versioning(Bucket=options.bucket).get("Status")
    except AWS_ERRORS as exc:
        raise SyncError(
            f"cannot read the versioning of s3://{options.bucket}: {exc}\n    hint: the sync needs "
            "s3:GetBucketVersioning on the source bucket (redeploy the bootstrap stack with "
            "`changegate deploy` to grant it to the sync role)") from exc
    if status == "Enabled":
        return
    message = (f"s3://{options.bucket} has versioning {(status or 'never enabled').lower()}: "
               "uploads would overwrite objects without history and no pipeline could be pinned "
               "to what is uploaded")
    if options.dry_run:
        report.warnings.append(message + "; a real sync refuses it")
        return
    report.stage = "refused"
    raise SyncError(message + "; nothing was uploaded\n    hint: enable versioning (`aws s3api "
                    f"put-bucket-versioning --bucket {options.bucket} --versioning-configuration "
                    "Status=Enabled`; the bootstrap stack's source bucket has it) and run the sync "
                    "again")


def _plan(s3: Any, options: SyncOptions, local: dict[str, Archive | PackagedStack],
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


def _refuse_rollbacks(git: Git, current: str | None, plan: Plan, remote: RemoteState,
                      options: SyncOptions, report: SyncReport, strict: bool) -> None:
    # every stack this run would write carries the commit of the last sync that wrote the
    # manifest: a stack that sync left unchanged (or removed) reflects that commit too
    last = remote.manifest_commit
    touched = [*plan.changed, *plan.removed, *plan.added]
    replaced = {f: (plan.records[f].commit if f in plan.records else None, last) for f in touched}
    refusals = rollback_refusals(git, current, replaced, report.notes, strict=strict)
    if not refusals:
        return
    lines = "\n".join(f"    {r.folder}: recorded from {r.reason}" for r in refusals)
    if options.force:
        report.warnings.append("--force: replacing content recorded from newer or unrelated "
                               f"commits:\n{lines}")
        return
    report.stage = "refused"
    if strict:
        raise SyncError(
            f"another sync wrote s3://{options.bucket}/{options.prefix} while this one ran, from a commit "
            f"that is not an ancestor of {(current or '?')[:12]}: this run stops and starts nothing, so "
            f"the newer content stays current:\n{lines}\n    uploaded by this run before it stopped "
            f"(the newer sync's records describe the current state): "
            f"{', '.join(sorted(report.earlier_uploads)) or 'none'}")
    raise SyncError(f"refusing to replace content from commits that are not ancestors of "
                    f"{(current or '?')[:12]} (re-running an old build would roll these stacks back):\n"
                    f"{lines}\n    hint: sync a newer commit, or pass --force for a deliberate rollback")


def _parallel(workers: int, fn: Callable[[str], Any], items: Iterable[str],
              consume: Callable[[str, Any], bool]) -> None:
    """Run ``fn`` over ``items`` in threads, hand each result to ``consume`` in order.

    ``consume`` returns False to stop: the calls not yet begun are cancelled. So is everything
    not yet begun when the main thread is interrupted (Ctrl-C): only the requests already in
    flight (at most ``workers``) finish, instead of the whole queue.
    """
    items = list(items)
    if not items:
        return
    pool = ThreadPoolExecutor(max_workers=workers)
    futures: list[Future] = []
    try:
        futures = [pool.submit(fn, item) for item in items]
        for item, future in zip(items, futures, strict=True):
            if not consume(item, future.result()):
                break
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=False, cancel_futures=True)
    pool.shutdown(wait=True)


class _Lost(Exception):
    """A conditional upload found the object replaced since the listing."""


def _upload(s3: Any, options: SyncOptions, local: dict[str, Archive | PackagedStack], folders: list[str],
            commit: CommitInfo, records: dict[str, StackRecord], disabled: Collection[str],
            remote: RemoteState, report: SyncReport, progress: Callable[[str], None] | None) -> None:
    about_commit = commit_metadata(commit)

    def put(folder: str) -> dict | Exception:
        archive = local[folder]
        if isinstance(archive, PackagedStack):
            # its nested templates and code first (each once, by content), then the archive whose
            # template pins exactly those versions
            try:
                archive, assets = package_stack(s3, options.bucket, options.prefix, archive)
            except SyncError as exc:
                return exc
            report.assets[folder] = [a.key for a in assets]
        metadata = {META_SHA256: archive.sha256}
        if commit.id:
            metadata[META_COMMIT] = commit.id
            metadata.update(about_commit)
        key = naming.source_object_key(folder, options.prefix)
        request = dict(Bucket=options.bucket, Key=key, Body=archive.data,
                       ContentType="application/zip", Metadata=metadata)
        seen = remote.objects.get(folder)
        # only over the object the listing showed (IfMatch), or where there was none (IfNoneMatch)
        condition = {"IfMatch": f'"{seen.etag}"'} if seen else {"IfNoneMatch": "*"}
        try:
            return s3.put_object(**request, **condition)
        except ClientError as exc:
            if not is_conflict(exc):
                return exc
            if seen is None and _absent(s3, options.bucket, key):
                # S3 documents If-None-Match for "the current version"; whether a delete marker
                # (a stack removed earlier, now back) counts as one is not documented. The key
                # has no current object, so nothing newer can be overwritten: write it plainly.
                try:
                    return s3.put_object(**request)
                except AWS_ERRORS as again:
                    return again
            return _Lost(f"{folder}: s3://{options.bucket}/{key} was replaced since this run listed it")
        except BotoCoreError as exc:
            return exc

    lost: list[_Lost] = []

    def consume(folder: str, result: dict | Exception) -> bool:
        if isinstance(result, _Lost):
            lost.append(result)
            return False  # stop: the plan is stale; what was uploaded is found again by HEAD
        if isinstance(result, Exception):
            report.failures.append(f"{folder}: upload failed: {result}")
            return True
        version = version_of(result)
        records[folder] = StackRecord(sha256=local[folder].sha256,
                                      etag=normalize_etag(result.get("ETag")),
                                      version_id=version, commit=commit.id,
                                      pending_start=folder not in disabled)
        report.uploaded[folder] = version
        report.earlier_uploads.add(folder)
        if progress:
            progress(folder)
        return True

    _parallel(options.workers, put, folders, consume)
    if lost:
        raise _Conflict(str(lost[0]))


def _absent(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        return error_code(exc) in ABSENT_CODES
    return False


def _delete(s3: Any, options: SyncOptions, folders: list[str], records: dict[str, StackRecord],
            remote: RemoteState, report: SyncReport) -> None:
    def delete(folder: str) -> Exception | None:
        key = naming.source_object_key(folder, options.prefix)
        try:
            # no VersionId: a delete marker; earlier versions stay, so the history is kept.
            # IfMatch: only the object the listing showed ("Conditional delete evaluations only
            # apply to the current version of the object", docs.aws.amazon.com/AmazonS3/latest/
            # userguide/conditional-deletes.html): a stack another sync re-added stays.
            s3.delete_object(Bucket=options.bucket, Key=key, IfMatch=f'"{remote.objects[folder].etag}"')
            return None
        except ClientError as exc:
            if is_conflict(exc):
                return _Lost(f"{folder}: s3://{options.bucket}/{key} was replaced since this run listed it")
            if error_code(exc) in ABSENT_CODES:
                return None  # already gone: what this run wanted
            return exc
        except BotoCoreError as exc:
            return exc

    lost: list[_Lost] = []

    def consume(folder: str, error: Exception | None) -> bool:
        if isinstance(error, _Lost):
            lost.append(error)
            return False
        if error is not None:
            report.failures.append(f"{folder}: removing its object failed: {error}")
            return True
        records.pop(folder, None)
        report.deleted.append(folder)
        return True

    _parallel(options.workers, delete, folders, consume)
    if lost:
        raise _Conflict(str(lost[0]))


def _start(codepipeline: Any, options: SyncOptions, validation: ValidationReport, folders: list[str],
           records: dict[str, StackRecord], commit: CommitInfo, report: SyncReport) -> None:
    def start(folder: str) -> Any:
        record = records[folder]
        if record.version_id is None:
            return SyncError(
                f"s3://{options.bucket} is not versioned: the pipeline cannot be pinned to the upload "
                "(enable versioning; the bootstrap stack's source bucket has it)")
        try:
            return start_pipeline(codepipeline, validation.stacks[folder].pipeline_name,
                                  record.version_id, commit)
        except (PipelineMissing, SyncError, *AWS_ERRORS) as exc:
            return exc

    missing: list[str] = []

    def consume(folder: str, result: Any) -> bool:
        if isinstance(result, PipelineMissing):
            missing.append(folder)
            report.not_started[folder] = "no pipeline yet"
        elif isinstance(result, Exception):
            report.failures.append(f"{folder}: starting its pipeline failed: {result}")
            report.not_started[folder] = "start failed"
        else:
            report.started[folder] = result.execution_id
            records[folder] = replace(records[folder], pending_start=False)
        return True

    _parallel(min(options.workers, 8), start, folders, consume)
    if missing:
        # once for the run, not once per stack: the cause (and the fix) is the same for all
        names = ", ".join(missing[:10]) + (f", ... and {len(missing) - 10} more" if len(missing) > 10 else "")
        report.warnings.append(f"no pipeline exists yet for {len(missing)} stack(s) ({names}): "
                               f"{REDEPLOY_HINT}")
