"""What the live run created, written to disk BEFORE each creation, and how to delete it.

Each line of the ledger file is one JSON object: ``{"op": "create", "kind": ..., "name": ...}``
when the harness is about to create something (so a creation interrupted half-way is still
cleaned up), ``{"op": "deleted", ...}`` once it is gone. ``cleanup`` deletes whatever is created
and not deleted yet, kind by kind in ``KIND_ORDER`` (pipelines before the stacks that hold their
roles, managed stacks before the bootstrap stack that holds their execution role, buckets and
keys last), newest first within a kind. It is idempotent: something already gone counts as
deleted, so ``python -m cglive --cleanup <ledger>`` finishes an interrupted run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

ClientFactory = Callable[[str], Any]
Sleep = Callable[[float], None]

# Managed stacks are deleted with their own service role (the execution role of the bootstrap
# stack), so they go before the bootstrap stack. Buckets, the key and the log group outlive the
# bootstrap stack (DeletionPolicy Retain), so they come after it.
KIND_ORDER = ("pipeline", "managed_stack", "bootstrap_stack", "codebuild_project", "role",
              "sns_topic", "log_group", "bucket", "kms_key")
GONE_CODES = frozenset({"NoSuchBucket", "NoSuchEntity", "ResourceNotFoundException", "NotFoundException",
                        "PipelineNotFoundException", "NotFound", "404", "InvalidParameterException"})
# KMS: a key already pending deletion (or gone) needs nothing more.
KMS_DONE_CODES = frozenset({"KMSInvalidStateException", "NotFoundException"})
STACK_DELETE_TIMEOUT = 1800.0


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)


@dataclass
class CleanupResult:
    deleted: list[Entry] = field(default_factory=list)
    failed: list[tuple[Entry, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


class Ledger:
    """An append-only JSON-lines file; each line is flushed and fsynced before the call it records."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
            handle.flush()
            with contextlib.suppress(OSError):
                os.fsync(handle.fileno())

    def will_create(self, kind: str, name: str, **extra: Any) -> Entry:
        if kind not in KIND_ORDER:
            raise ValueError(f"unknown ledger kind {kind!r}; one of {', '.join(KIND_ORDER)}")
        self._append({"op": "create", "kind": kind, "name": name, "extra": extra})
        return Entry(kind, name, dict(extra))

    def deleted(self, entry: Entry) -> None:
        self._append({"op": "deleted", "kind": entry.kind, "name": entry.name})

    def pending(self) -> list[Entry]:
        """Created and not deleted yet, in cleanup order."""
        if not self.path.exists():
            return []
        created: dict[tuple[str, str], tuple[int, Entry]] = {}
        for index, line in enumerate(self.path.read_text("utf-8").splitlines()):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:  # a line cut short by a kill: the ones before it still count
                log.warning("%s line %d is not JSON; ignored", self.path, index + 1)
                continue
            key = (record["kind"], record["name"])
            if record["op"] == "create":
                created[key] = (index, Entry(record["kind"], record["name"], record.get("extra") or {}))
            elif record["op"] == "deleted":
                created.pop(key, None)
        return [entry for _, entry in sorted(created.values(),
                                             key=lambda item: (KIND_ORDER.index(item[1].kind), -item[0]))]


def cleanup(ledger: Ledger, clients: ClientFactory, *, sleep: Sleep = time.sleep,
            clock: Callable[[], float] = time.monotonic, stack_timeout: float = STACK_DELETE_TIMEOUT,
            interval: float = 10.0) -> CleanupResult:
    """Delete every pending entry; go on after a failure, and say which ones failed and why.

    The pending list is read again after each deletion: deleting a bootstrap stack first adds
    what it leaves behind (retained buckets, key, log groups) to the ledger.
    """
    result = CleanupResult()
    failed: set[tuple[str, str]] = set()
    while True:
        todo = [e for e in ledger.pending() if e.key not in failed]
        if not todo:
            return result
        entry = todo[0]
        try:
            if entry.kind == "bootstrap_stack":
                adopt_retained(ledger, clients, entry)
            DELETERS[entry.kind](clients, entry, sleep=sleep, clock=clock, timeout=stack_timeout,
                                 interval=interval)
            if entry.kind == "bootstrap_stack":
                adopt_log_groups(ledger, clients, entry)
        except (ClientError, CleanupError) as exc:
            log.warning("could not delete %s %s: %s", entry.kind, entry.name, exc)
            result.failed.append((entry, str(exc)))
            failed.add(entry.key)
            continue
        ledger.deleted(entry)
        result.deleted.append(entry)


# Retained by the bootstrap template (DeletionPolicy Retain): they outlive the stack.
RETAINED_TYPES = {"AWS::S3::Bucket": "bucket", "AWS::KMS::Key": "kms_key", "AWS::Logs::LogGroup": "log_group"}


def adopt_retained(ledger: Ledger, clients: ClientFactory, entry: Entry) -> list[Entry]:
    """Record the stack's buckets, keys and log groups, so they are deleted after the stack."""
    cfn = clients("cloudformation")
    try:
        resources = [r for page in cfn.get_paginator("list_stack_resources").paginate(StackName=entry.name)
                     for r in page["StackResourceSummaries"]]
    except ClientError as exc:
        if _code(exc) == "ValidationError" and "does not exist" in str(exc):
            return []
        raise
    known = {e.key for e in ledger.pending()}
    return [ledger.will_create(RETAINED_TYPES[r["ResourceType"]], r["PhysicalResourceId"])
            for r in resources
            if r["ResourceType"] in RETAINED_TYPES and r.get("PhysicalResourceId")
            and (RETAINED_TYPES[r["ResourceType"]], r["PhysicalResourceId"]) not in known]


def adopt_log_groups(ledger: Ledger, clients: ClientFactory, entry: Entry) -> list[Entry]:
    """Log groups AWS created for the project's builds and functions on first use (no stack owns them)."""
    project = entry.extra.get("project")
    if not project:
        return []
    logs = clients("logs")
    known = {e.key for e in ledger.pending()}
    found = []
    for prefix in (f"/aws/codebuild/{project}", f"/aws/lambda/{project}"):
        for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix):
            found += [g["logGroupName"] for g in page.get("logGroups", [])]
    return [ledger.will_create("log_group", name) for name in sorted(set(found))
            if ("log_group", name) not in known]


class CleanupError(Exception):
    pass


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def _gone_is_fine(extra_codes: frozenset[str] = frozenset()) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        if _code(exc) not in GONE_CODES | extra_codes:
            raise


def delete_pipeline(clients: ClientFactory, entry: Entry, **_: Any) -> None:
    with _gone_is_fine():
        clients("codepipeline").delete_pipeline(name=entry.name)


def delete_stack(clients: ClientFactory, entry: Entry, *, sleep: Sleep, clock: Callable[[], float],
                 timeout: float, interval: float) -> None:
    cfn = clients("cloudformation")
    try:
        stack = cfn.describe_stacks(StackName=entry.name)["Stacks"][0]
    except ClientError as exc:
        if _code(exc) == "ValidationError" and "does not exist" in str(exc):
            return
        raise
    if stack.get("EnableTerminationProtection"):
        # changegate turns termination protection on for every stack it deploys
        cfn.update_termination_protection(StackName=entry.name, EnableTerminationProtection=False)
    stack_id = stack["StackId"]  # a deleted stack is described by id only
    if stack["StackStatus"] != "DELETE_COMPLETE":
        cfn.delete_stack(StackName=stack_id)
    deadline = clock() + timeout
    while True:
        status = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]
        if status == "DELETE_COMPLETE":
            return
        if status == "DELETE_FAILED":
            raise CleanupError(f"stack {entry.name} is DELETE_FAILED; see its events, "
                               "then run the cleanup again")
        if clock() >= deadline:
            raise CleanupError(f"stack {entry.name} still {status} after {timeout:.0f}s")
        sleep(interval)


def delete_codebuild_project(clients: ClientFactory, entry: Entry, **_: Any) -> None:
    with _gone_is_fine():
        clients("codebuild").delete_project(name=entry.name)


def delete_role(clients: ClientFactory, entry: Entry, **_: Any) -> None:
    iam = clients("iam")
    with _gone_is_fine():
        for name in iam.list_role_policies(RoleName=entry.name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=entry.name, PolicyName=name)
        for attached in iam.list_attached_role_policies(RoleName=entry.name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=entry.name, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=entry.name)


def delete_topic(clients: ClientFactory, entry: Entry, **_: Any) -> None:
    with _gone_is_fine():
        clients("sns").delete_topic(TopicArn=entry.name)


def delete_log_group(clients: ClientFactory, entry: Entry, **_: Any) -> None:
    with _gone_is_fine():
        clients("logs").delete_log_group(logGroupName=entry.name)


def delete_bucket(clients: ClientFactory, entry: Entry, **_: Any) -> None:
    """Every version and delete marker, then the bucket; or, for a shared bucket the run did not
    create (``keys_containing``), only the versions whose key names this run's project."""
    s3 = clients("s3")
    only = entry.extra.get("keys_containing")
    with _gone_is_fine():
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=entry.name):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
                      if not only or only in v["Key"]]
            for start in range(0, len(doomed), 1000):
                s3.delete_objects(Bucket=entry.name,
                                  Delete={"Objects": doomed[start:start + 1000], "Quiet": True})
        if not only:
            s3.delete_bucket(Bucket=entry.name)


def delete_kms_key(clients: ClientFactory, entry: Entry, **_: Any) -> None:
    # 7 days is the shortest waiting period KMS allows (ScheduleKeyDeletion PendingWindowInDays 7-30).
    with _gone_is_fine(KMS_DONE_CODES):
        clients("kms").schedule_key_deletion(KeyId=entry.name, PendingWindowInDays=7)


DELETERS: dict[str, Callable[..., None]] = {
    "pipeline": delete_pipeline,
    "managed_stack": delete_stack,
    "bootstrap_stack": delete_stack,
    "codebuild_project": delete_codebuild_project,
    "role": delete_role,
    "sns_topic": delete_topic,
    "log_group": delete_log_group,
    "bucket": delete_bucket,
    "kms_key": delete_kms_key,
}


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into SystemExit, as SIGINT already is KeyboardInterrupt, so that
    the caller's ``finally`` (the cleanup) runs when CI cancels the job or the terminal closes."""

    def _exit(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, _exit) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def shielded() -> Iterator[list[int]]:
    """While cleaning up, a signal does not cut the cleanup short: it is recorded and the
    cleanup goes on (the ledger still lets a later ``--cleanup`` run finish, if it is killed)."""
    received: list[int] = []

    def _note(signum: int, _frame: Any) -> None:
        received.append(signum)
        log.warning("signal %d during cleanup: finishing the cleanup first", signum)

    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, _note) for sig in sigs}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
