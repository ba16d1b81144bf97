"""Remote state in O(listing): one ``ListObjectsV2`` pass and one GET of a state manifest.

What the bucket holds is known from the listing (one page per 1,000 stacks). What each object
*contains* is known from the manifest ``<prefix>.changegate/state.json`` (which the listing skips,
see ``LIST_START_AFTER``): per stack the content
hash of the archive, the ETag and version id S3 returned when the sync uploaded it, the commit it
came from and whether its pipeline is still to be started. Reading it is one request, however many
stacks there are (the ADF script's HEAD per object is O(N) requests; the original script
downloads the whole bucket).

Why the manifest can be trusted, and why ETags are only compared with ETags:

* It is written only after the uploads it describes succeeded, so it never claims content that is
  not in the bucket. An interrupted run leaves it describing the previous state.
* A record is used only when the listing's ETag for the stack's object equals the ETag the record
  holds, an ETag that S3 itself returned for that upload. ETags are opaque (for SSE-KMS objects
  they are not MD5 digests), but an object version's ETag never changes, so equality means "the
  object the record describes is still the current one". A local MD5 is never compared with an
  ETag (decision 3).
* An object the manifest does not describe (a run interrupted before writing it, an object written
  by hand) costs one HEAD: its ``changegate-sha256`` metadata, stored atomically with the object,
  says what it holds. Without that metadata the stack counts as changed and is uploaded again.
  Either way a re-run converges.

Packaged content (``sync/package.py``) lives under ``<prefix>.assets/<folder>/``: a dot folder
like the manifest's, below ``LIST_START_AFTER`` and behind the ``/`` delimiter, so the listing
never shows it and no asset is ever taken for a stack (or removed with one).

The manifest is also what makes overlapping syncs safe (issue 9, item 8): it is only ever
replaced with a conditional write, ``IfMatch`` on the ETag this run read (``IfNoneMatch="*"``
when there was none), so of two runs that read the same state only one can record its result;
see ``sync/run.py`` for what the other does. AWS: "you can use conditional writes to check if an
object's ETag is unchanged before updating the object" and "If the ETag values don't match, the
operation fails" with 412 Precondition Failed; concurrent conditional writes to one key may
instead get 409 ConditionalRequestConflict (docs.aws.amazon.com/AmazonS3/latest/userguide/
conditional-writes.html). botocore's PutObject model has both ``IfMatch`` and ``IfNoneMatch``
(checked on the installed 1.44), and moto 5.2 enforces both (412 PreconditionFailed), so the tests
exercise the conditions against moto rather than a stub.

The absent manifest (F19 of the AWS notes): S3 answers a GET of a missing key with 404 only when
the caller may list that key, else with 403 AccessDenied ("If you don't have the s3:ListBucket
permission, Amazon S3 returns an HTTP status code 403 Forbidden error",
docs.aws.amazon.com/AWSJavaScriptSDK/v3/latest/client/s3/command/HeadObjectCommand/). The sync
role's ListBucket is conditioned on ``s3:prefix``, so which answer a first sync gets is not
documented. A 403 counts as "absent" only when a listing of exactly the manifest's key succeeds
and shows no such key (one more request, on the first sync only); otherwise it is an error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

MANIFEST_NAME = ".changegate/state.json"
# Stack folders start with a letter (naming.STACK_FOLDER_RE) and S3 lists keys in byte order, so
# listing from just below "A" skips the manifest's ".changegate/" folder (and any dot file): the
# listing holds stack archives only and 1,000 stacks are exactly one ListObjectsV2 page.
LIST_START_AFTER = "@"  # 0x40, the byte before "A"
MANIFEST_FORMAT = 1
META_SHA256 = "changegate-sha256"  # S3 lower-cases user metadata names: keep them lower case
META_COMMIT = "changegate-commit"
# Author and subject of that commit, as the pipeline variables carry them (same caps), so approvers
# read them from the object version only the sync can write (changegate/origin.py; decision 12).
META_AUTHOR = "changegate-author"
META_SUBJECT = "changegate-subject"
ARCHIVE_SUFFIX = ".zip"


@dataclass(frozen=True)
class RemoteObject:
    """A current stack archive, as the listing shows it."""

    key: str
    etag: str
    size: int


@dataclass(frozen=True)
class StackRecord:
    """What the sync knows about the current object of one stack."""

    sha256: str | None  # content hash of the archive (archive.content_hash); None: unknown
    etag: str | None  # the ETag S3 returned for that upload, compared with the listing's only
    version_id: str | None  # the object version pipelines are pinned to (None: unversioned bucket)
    commit: str | None  # the commit the content came from
    pending_start: bool = False  # uploaded, but its pipeline has not been started for it yet

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StackRecord:
        return cls(sha256=_opt_str(data.get("sha256")), etag=_opt_str(data.get("etag")),
                   version_id=_opt_str(data.get("version_id")), commit=_opt_str(data.get("commit")),
                   pending_start=bool(data.get("pending_start", False)))


@dataclass(frozen=True)
class RemoteState:
    objects: dict[str, RemoteObject]  # folder -> current archive object
    records: dict[str, StackRecord]  # folder -> manifest record
    manifest_found: bool
    manifest_etag: str | None = None  # the manifest object's ETag (None: no manifest object)
    manifest_commit: str | None = None  # the commit the last run that wrote it synced


class ManifestConflict(Exception):
    """A conditional write found the object changed since this run read it (another sync)."""

    def __init__(self, key: str, code: str) -> None:
        super().__init__(f"{key}: {code}")
        self.key = key
        self.code = code


CONFLICT_CODES = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")
ABSENT_CODES = ("NoSuchKey", "404", "NotFound")
DENIED_CODES = ("AccessDenied", "403", "Forbidden")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_conflict(exc: ClientError) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error_code(exc) in CONFLICT_CODES or status in (409, 412)


def manifest_key(prefix: str) -> str:
    """Under the prefix (the sync role may write ``<prefix>*`` only), in a dot folder the listing skips."""
    return f"{prefix}{MANIFEST_NAME}"


def folder_of_key(key: str, prefix: str) -> str | None:
    """``stacks/network.zip`` -> ``network``; None for any other key under the prefix."""
    if not key.startswith(prefix) or not key.endswith(ARCHIVE_SUFFIX):
        return None
    folder = key[len(prefix):-len(ARCHIVE_SUFFIX)]
    return folder if folder and "/" not in folder else None


def normalize_etag(etag: str | None) -> str | None:
    return etag.strip('"') if etag else None


def read_remote_state(s3: Any, bucket: str, prefix: str) -> RemoteState:
    """One ListObjectsV2 page per 1,000 objects under the prefix, plus one GET of the manifest."""
    objects: dict[str, RemoteObject] = {}
    # Delimiter: anything in deeper "folders" stays out of the pages
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/",
                                   StartAfter=f"{prefix}{LIST_START_AFTER}"):
        for item in page.get("Contents", []):
            folder = folder_of_key(item["Key"], prefix)
            if folder is None:
                log.debug("ignoring s3://%s/%s: not a stack archive", bucket, item["Key"])
                continue
            objects[folder] = RemoteObject(key=item["Key"], etag=normalize_etag(item["ETag"]) or "",
                                           size=int(item.get("Size", 0)))
    manifest = fetch_manifest(s3, bucket, prefix)
    return RemoteState(objects=objects, records=manifest.records, manifest_found=manifest.found,
                       manifest_etag=manifest.etag, manifest_commit=manifest.commit)


@dataclass(frozen=True)
class Manifest:
    records: dict[str, StackRecord]
    found: bool  # a readable manifest
    etag: str | None  # the object's ETag, also when its content was unreadable
    commit: str | None = None


def read_manifest(s3: Any, bucket: str, prefix: str) -> tuple[dict[str, StackRecord], bool]:
    manifest = fetch_manifest(s3, bucket, prefix)
    return manifest.records, manifest.found


def fetch_manifest(s3: Any, bucket: str, prefix: str) -> Manifest:
    key = manifest_key(prefix)
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
        body = response["Body"].read()
    except ClientError as exc:
        code = error_code(exc)
        if code in ABSENT_CODES or (code in DENIED_CODES and listed_absent(s3, bucket, key)):
            log.info("no state manifest at s3://%s/%s (%s): every stack object is checked by HEAD",
                     bucket, key, code)
            return Manifest({}, False, None)
        raise
    etag = normalize_etag(response.get("ETag"))
    try:
        data = json.loads(body)
        stacks = data["stacks"]
        if data.get("format") != MANIFEST_FORMAT or not isinstance(stacks, dict):
            raise ValueError(f"unexpected format {data.get('format')!r}")
        return Manifest({str(k): StackRecord.from_json(v) for k, v in stacks.items()}, True, etag,
                        _opt_str(data.get("commit")))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # a damaged manifest costs one HEAD per object this run, then it is rewritten
        log.warning("ignoring the unreadable state manifest s3://%s/%s (%s)", bucket, key, exc)
        return Manifest({}, False, etag)


def listed_absent(s3: Any, bucket: str, key: str) -> bool:
    """True when a listing of exactly ``key`` succeeds and shows no such object (F19)."""
    try:
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    except ClientError:
        return False
    return not any(item.get("Key") == key for item in listing.get("Contents", []))


def manifest_etag_now(s3: Any, bucket: str, prefix: str) -> str | None:
    """The manifest's current ETag (one HEAD); None when there is none."""
    key = manifest_key(prefix)
    try:
        return normalize_etag(s3.head_object(Bucket=bucket, Key=key).get("ETag"))
    except ClientError as exc:
        if error_code(exc) in ABSENT_CODES or (error_code(exc) in DENIED_CODES
                                               and listed_absent(s3, bucket, key)):
            return None
        raise


def manifest_bytes(records: Mapping[str, StackRecord], commit: str | None) -> bytes:
    document = {"format": MANIFEST_FORMAT, "commit": commit,
                "stacks": {folder: asdict(records[folder]) for folder in sorted(records)}}
    # compact: it is read on every run (about 250 bytes per stack)
    return (json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def write_manifest(s3: Any, bucket: str, prefix: str, records: Mapping[str, StackRecord],
                   commit: str | None, expected_etag: str | None) -> str | None:
    """Replace the manifest only if it is still the one this run read; returns the new ETag.

    ``expected_etag`` None means "there was no manifest": the write must not replace one that
    appeared since. Raises ``ManifestConflict`` when the condition fails.
    """
    key = manifest_key(prefix)
    condition = {"IfMatch": f'"{expected_etag}"'} if expected_etag else {"IfNoneMatch": "*"}
    try:
        response = s3.put_object(Bucket=bucket, Key=key, Body=manifest_bytes(records, commit),
                                 ContentType="application/json", **condition)
    except ClientError as exc:
        if is_conflict(exc):
            raise ManifestConflict(key, error_code(exc) or "412") from exc
        raise
    return normalize_etag(response.get("ETag"))


def record_from_head(s3: Any, bucket: str, obj: RemoteObject) -> StackRecord:
    """What an object the manifest does not describe holds, from its own metadata (one HEAD)."""
    head = s3.head_object(Bucket=bucket, Key=obj.key)
    metadata = {k.lower(): v for k, v in head.get("Metadata", {}).items()}
    return StackRecord(sha256=metadata.get(META_SHA256), etag=normalize_etag(head.get("ETag")),
                       version_id=_version(head.get("VersionId")), commit=metadata.get(META_COMMIT),
                       pending_start=True)  # nothing says its pipeline ran: start it (at least once)


def _version(value: str | None) -> str | None:
    # an unversioned bucket reports no version, or the literal "null"
    return None if value in (None, "", "null") else value


def version_of(response: Mapping[str, Any]) -> str | None:
    return _version(response.get("VersionId"))


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
