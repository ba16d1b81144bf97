"""ETags are not MD5 digests on SSE-KMS buckets; moto returns MD5s, so this test makes S3 answer
like a KMS bucket: every ETag it returns (PutObject, HeadObject, the listing) is an opaque token that
differs from the MD5 of the body but is stable per object. A sync comparing ETags with local MD5s
would re-upload everything here."""

from __future__ import annotations

import hashlib
from typing import Any

from sync_fixtures import BUCKET

REAL: dict[str, str] = {}  # opaque ETag -> the one moto holds (for conditional writes)


def kms_like(etag: str) -> str:
    opaque = '"' + hashlib.sha256(b"kms:" + etag.strip('"').encode()).hexdigest()[:32] + '"'
    REAL[opaque.strip('"')] = etag.strip('"')
    return opaque


def make_etags_opaque(s3: Any) -> None:
    def condition(params: dict, **_: Any) -> None:
        # S3 compares IfMatch with the ETag it returned, opaque or not: map it back for moto
        if "IfMatch" in params:
            params["IfMatch"] = '"' + REAL.get(params["IfMatch"].strip('"'), params["IfMatch"]) + '"'

    s3.meta.events.register("provide-client-params.s3.PutObject", condition)

    def rewrite(parsed: dict, **_: Any) -> None:
        if "ETag" in parsed:
            parsed["ETag"] = kms_like(parsed["ETag"])
        for item in parsed.get("Contents", []):
            item["ETag"] = kms_like(item["ETag"])

    for operation in ("PutObject", "HeadObject", "GetObject", "ListObjectsV2"):
        s3.meta.events.register(f"after-call.s3.{operation}", rewrite)


def test_no_reupload_when_etags_are_not_md5(repo, aws):
    make_etags_opaque(aws.s3)
    for name in ("alpha", "beta"):
        repo.put(name)
    assert aws.sync(repo, start=False).ok
    body = aws.s3.get_object(Bucket=BUCKET, Key="stacks/alpha.zip")["Body"].read()
    listed = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="stacks/")["Contents"]
    assert all(o["ETag"].strip('"') != hashlib.md5(body).hexdigest() for o in listed)  # the premise

    report = aws.sync(repo, start=False)
    assert report.unchanged == ["alpha", "beta"]
    assert aws.calls == ["ListObjectsV2", "GetObject"]  # no HEAD, no PUT

    repo.put("alpha", topic="changed")
    report = aws.sync(repo, start=False)
    assert report.changed == ["alpha"] and report.unchanged == ["beta"]
    assert aws.writes() == ["PutObject", "PutObject"]  # alpha, then the manifest


def test_an_object_rewritten_behind_the_syncs_back_is_noticed_by_its_etag(repo, aws):
    make_etags_opaque(aws.s3)
    repo.put("alpha")
    aws.sync(repo, start=False)
    # someone with write access replaces the object: the listing's ETag no longer matches the record
    aws.s3.put_object(Bucket=BUCKET, Key="stacks/alpha.zip", Body=b"not an archive")
    report = aws.sync(repo, start=False)
    assert report.changed == ["alpha"]
    assert "HeadObject" in aws.calls and aws.writes() == ["PutObject", "PutObject"]


def test_a_thousand_stacks_are_one_listing_page_and_one_manifest_read(aws):
    from sync.state import StackRecord, manifest_key, read_remote_state, write_manifest

    for i in range(1000):
        aws.s3.put_object(Bucket=BUCKET, Key=f"stacks/s{i:04d}.zip", Body=b"x")
    write_manifest(aws.s3, BUCKET, "stacks/", {"s0000": StackRecord("h", "e", "v", "c")}, "c", None)
    assert manifest_key("stacks/") == "stacks/.changegate/state.json"  # where the sync role may write
    aws.calls.clear()
    state = read_remote_state(aws.s3, BUCKET, "stacks/")
    assert len(state.objects) == 1000 and state.manifest_found
    assert aws.calls == ["ListObjectsV2", "GetObject"]
