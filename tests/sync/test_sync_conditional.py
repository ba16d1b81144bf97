"""The conditional writes themselves (issue 9, item 8), one at a time, against moto 5.2 (which
enforces S3's If-Match and If-None-Match on PutObject with 412 PreconditionFailed)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from sync_fixtures import BUCKET, is_manifest


def test_an_object_replaced_between_listing_and_upload_is_not_overwritten_blindly(repo, aws):
    repo.put("alpha")
    aws.create_pipeline("alpha")
    assert aws.sync(repo).ok
    repo.put("alpha", topic="mine")
    done = {"n": 0}

    def someone_else_writes(params: dict, **_: Any) -> None:
        # after this run listed the bucket, another writer replaces the object
        if not is_manifest(params) and done["n"] == 0:
            done["n"] = 1
            aws.s3.meta.events.unregister("provide-client-params.s3.PutObject", someone_else_writes)
            aws.s3.put_object(Bucket=BUCKET, Key="stacks/alpha.zip", Body=b"written behind our back")

    aws.s3.meta.events.register("provide-client-params.s3.PutObject", someone_else_writes)
    aws.starts.clear()
    report = aws.sync(repo)
    # the first upload was refused (412), the run read the bucket again and uploaded over the
    # object it then saw; the other writer's content is not current, ours is, and it was started
    assert report.ok and any("another sync changed" in n for n in report.notes)
    assert aws.current_entries("alpha")["config.json"].find(b"mine") > 0
    assert [s["name"] for s in aws.starts] == ["acme-alpha"]
    aws.assert_manifest_truthful()


def test_a_manifest_written_since_it_was_read_is_not_overwritten(repo, aws):
    from sync.state import ManifestConflict, fetch_manifest, write_manifest

    repo.put("alpha")
    assert aws.sync(repo, start=False).ok
    read = fetch_manifest(aws.s3, BUCKET, "stacks/")
    write_manifest(aws.s3, BUCKET, "stacks/", read.records, "f" * 40, read.etag)  # another run
    try:
        write_manifest(aws.s3, BUCKET, "stacks/", {}, "e" * 40, read.etag)
    except ManifestConflict as conflict:
        assert conflict.code == "PreconditionFailed"
    else:
        raise AssertionError("a stale IfMatch must not replace the manifest")
    assert fetch_manifest(aws.s3, BUCKET, "stacks/").commit == "f" * 40
    # and "there was none" does not replace one that appeared
    try:
        write_manifest(aws.s3, BUCKET, "stacks/", {}, "e" * 40, None)
    except ManifestConflict:
        pass
    else:
        raise AssertionError("IfNoneMatch='*' must not replace an existing manifest")


def test_a_removed_stack_that_comes_back_is_uploaded_over_its_delete_marker(repo, aws):
    repo.put("alpha")
    repo.put("beta")
    assert aws.sync(repo, start=False).ok
    repo.remove("beta")
    assert aws.sync(repo, start=False).deleted == ["beta"]
    repo.put("beta", topic="back")
    report = aws.sync(repo, start=False)
    assert report.ok and report.added == ["beta"] and "beta" in report.uploaded
    assert b"back" in aws.current_entries("beta")["config.json"]


def test_if_s3_counted_a_delete_marker_as_an_object_the_upload_still_happens(repo, aws):
    # S3 documents If-None-Match for "the current version" only; if it answered 412 over a
    # delete marker, the sync sees by HEAD that no object is current and writes plainly
    repo.put("alpha")
    assert aws.sync(repo, start=False).ok
    repo.remove("alpha")
    aws.sync(repo, start=False)
    repo.put("alpha", topic="back")

    def as_if_a_delete_marker_counted(params: dict, **_: Any) -> None:
        if params.get("IfNoneMatch") == "*" and not is_manifest(params):
            raise ClientError({"Error": {"Code": "PreconditionFailed", "Message": "At least one of the "
                                         "pre-conditions you specified did not hold"},
                               "ResponseMetadata": {"HTTPStatusCode": 412}}, "PutObject")

    aws.s3.meta.events.register("provide-client-params.s3.PutObject", as_if_a_delete_marker_counted)
    report = aws.sync(repo, start=False)
    assert report.ok and report.added == ["alpha"] and "alpha" in report.uploaded
    assert b"back" in aws.current_entries("alpha")["config.json"]


def test_a_removal_does_not_delete_an_object_written_since_the_listing(repo, aws):
    repo.put("alpha")
    repo.put("beta")
    assert aws.sync(repo, start=False).ok
    repo.remove("beta")
    seen: list[dict] = []

    def written_again(params: dict, **_: Any) -> None:
        seen.append(dict(params))
        if len(seen) == 1:  # between this run's listing and its delete, beta is written again
            aws.s3.put_object(Bucket=BUCKET, Key="stacks/beta.zip", Body=b"written since")

    aws.s3.meta.events.register("provide-client-params.s3.DeleteObject", written_again)
    report = aws.sync(repo, start=False)
    # the first delete carried the listed ETag and was refused (412); the run listed again and
    # removed the object it then saw
    assert all("IfMatch" in p for p in seen) and len(seen) == 2 and seen[0]["IfMatch"] != seen[1]["IfMatch"]
    assert report.ok and report.deleted == ["beta"] and any("another sync changed" in n for n in report.notes)
    assert aws.current_keys() == {"stacks/alpha.zip"}
