"""F19 of the AWS notes: S3 answers a GET of the absent manifest with 404 or, when the caller's
s3:ListBucket does not cover the key, 403 AccessDenied. The first sync must work either way, and
a 403 on a manifest that does exist must still be an error.

The 403 is injected in the moto-backed client (a hook raising the ClientError botocore builds
from S3's AccessDenied answer); ``fetch_manifest`` is also checked with botocore's Stubber and
the real response shapes.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from sync_fixtures import BUCKET, is_manifest

from generator.errors import SyncError
from sync.state import fetch_manifest, manifest_key


def deny_manifest_reads(s3: Any) -> None:
    def hook(params: dict, **_: Any) -> None:
        if is_manifest(params):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"},
                               "ResponseMetadata": {"HTTPStatusCode": 403}}, "GetObject")

    s3.meta.events.register("provide-client-params.s3.GetObject", hook)


@pytest.mark.parametrize("answer", ["404", "403"])
def test_the_first_sync_works_whether_s3_answers_403_or_404(repo, aws, answer):
    if answer == "403":
        deny_manifest_reads(aws.s3)
    repo.put("alpha")
    aws.create_pipeline("alpha")
    report = aws.sync(repo)
    assert report.ok and list(report.started) == ["alpha"]
    # the 403 costs one listing of exactly the manifest's key, on the first sync only (the hook
    # answers before the request is recorded, so a denied GetObject is not in aws.calls)
    assert aws.calls.count("ListObjectsV2") == (2 if answer == "403" else 1)


def test_a_403_on_a_manifest_that_exists_is_an_error(repo, aws):
    repo.put("alpha")
    assert aws.sync(repo, start=False).ok  # the manifest now exists
    deny_manifest_reads(aws.s3)
    with pytest.raises(SyncError, match="cannot read s3://"):
        aws.sync(repo, start=False)


def stubbed_s3():
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def test_fetch_manifest_403_then_empty_listing_is_absent_stubbed():
    client, stubber = stubbed_s3()
    key = manifest_key("stacks/")
    stubber.add_client_error("get_object", service_error_code="AccessDenied", service_message="Access Denied",
                             http_status_code=403, expected_params={"Bucket": BUCKET, "Key": key})
    stubber.add_response("list_objects_v2", {"IsTruncated": False, "KeyCount": 0, "MaxKeys": 1,
                                             "Name": BUCKET, "Prefix": key},
                         {"Bucket": BUCKET, "Prefix": key, "MaxKeys": 1})
    with stubber:
        manifest = fetch_manifest(client, BUCKET, "stacks/")
        stubber.assert_no_pending_responses()
    assert manifest.records == {} and not manifest.found and manifest.etag is None


@pytest.mark.parametrize("listing", ["shows the key", "denied"])
def test_fetch_manifest_403_stays_an_error_unless_the_listing_proves_absence_stubbed(listing):
    client, stubber = stubbed_s3()
    key = manifest_key("stacks/")
    stubber.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
    if listing == "denied":
        stubber.add_client_error("list_objects_v2", service_error_code="AccessDenied", http_status_code=403)
    else:
        stubber.add_response("list_objects_v2", {"IsTruncated": False, "KeyCount": 1, "Contents": [
            {"Key": key, "ETag": '"e"', "Size": 10}]})
    with stubber, pytest.raises(ClientError, match="AccessDenied"):
        fetch_manifest(client, BUCKET, "stacks/")
