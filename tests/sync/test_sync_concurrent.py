"""Two overlapping syncs cannot roll a stack back (issue 9, item 8).

An older commit's sync (slow) and a newer commit's sync overlap on one bucket. Every write is
conditional on what the run read (moto 5.2 enforces S3's IfMatch and IfNoneMatch on PutObject,
so these run against real conditional-write semantics); the newer run's content must end up
current whatever the interleaving, and the older run must not report success when it lost.

The interleavings are made deterministic by running the whole newer sync inside a hook on one
request of the older one (its first archive upload, its manifest write, its manifest re-check).
The inner sync uses its own S3 client, so the hook does not fire for it (both share the
CodePipeline client, which records every start).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3
import pytest
from sync_fixtures import BUCKET, commit_all, git, is_manifest

from generator.errors import SyncError
from sync.run import SyncOptions, run_sync


@pytest.fixture
def two_checkouts(repo, tmp_path):
    """The same repository checked out twice: at the older commit and at the newer one."""
    git(repo.root, "init", "-q", "-b", "main")
    for name in ("alpha", "beta"):
        repo.put(name, topic=f"{name}-v0")
    base = commit_all(repo.root, "base")
    repo.put("alpha", topic="alpha-v1")
    older = commit_all(repo.root, "older")
    repo.put("alpha", topic="alpha-v2")
    repo.put("beta", topic="beta-v2")
    newer = commit_all(repo.root, "newer")
    old_checkout = tmp_path / "old-build"
    git(tmp_path, "clone", "-q", str(repo.root), str(old_checkout))
    git(old_checkout, "checkout", "-q", older)
    return {"base": base, "older": older, "newer": newer, "new": repo, "old_root": old_checkout}


def topic(aws, folder: str) -> str:
    body = aws.s3.get_object(Bucket=BUCKET, Key=f"stacks/{folder}.zip")["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return json.loads(archive.read("config.json"))["Parameters"]["TopicName"]


def sync_with(s3: Any, codepipeline: Any, root, **options) -> Any:
    return run_sync(root, s3, codepipeline, SyncOptions(bucket=BUCKET, workers=1, jobs=1, **options))


def during(aws, operation: str, when, action) -> None:
    """Run ``action`` once, just before the older run's first ``operation`` matching ``when``."""
    done = {"n": 0}

    def hook(params: dict, **_: Any) -> None:
        if done["n"] == 0 and when(params):
            done["n"] = 1
            action()

    aws.s3.meta.events.register(f"provide-client-params.s3.{operation}", hook)


@pytest.fixture
def setup(aws, two_checkouts):
    c = two_checkouts
    for name in ("alpha", "beta"):
        aws.create_pipeline(name)
    # the bucket holds the base commit's content
    git(c["old_root"], "checkout", "-q", c["base"])
    assert sync_with(aws.s3, aws.codepipeline, c["old_root"]).ok
    git(c["old_root"], "checkout", "-q", c["older"])
    aws.starts.clear()
    newer_s3 = boto3.client("s3", region_name="us-east-1")
    results: dict[str, Any] = {}

    def newer_sync() -> None:
        results["newer"] = sync_with(newer_s3, aws.codepipeline, c["new"].root)

    return c, newer_sync, results


def assert_newer_current(aws, c, results) -> None:
    assert results["newer"].ok and results["newer"].commit.id == c["newer"]
    assert topic(aws, "alpha") == "alpha-v2" and topic(aws, "beta") == "beta-v2"
    manifest = aws.manifest()
    assert {r.commit for r in manifest.values()} == {c["newer"]}
    aws.assert_manifest_truthful()


def test_newer_sync_during_the_older_ones_upload_wins_and_the_older_fails(aws, setup):
    c, newer_sync, results = setup
    during(aws, "PutObject", lambda p: not is_manifest(p), newer_sync)
    with pytest.raises(SyncError, match=r"another sync wrote .* not an ancestor") as lost:
        sync_with(aws.s3, aws.codepipeline, c["old_root"])
    assert "starts nothing" in str(lost.value)
    assert_newer_current(aws, c, results)
    # only the newer run started pipelines (alpha and beta changed for it)
    assert {s["variables"][0]["value"] for s in aws.starts} == {c["newer"]}


def test_newer_sync_before_the_older_ones_manifest_write_wins_and_the_older_fails(aws, setup):
    c, newer_sync, results = setup
    # the older run has uploaded alpha when the newer one runs start to finish
    during(aws, "PutObject", is_manifest, newer_sync)
    with pytest.raises(SyncError, match="another sync wrote"):
        sync_with(aws.s3, aws.codepipeline, c["old_root"])
    assert_newer_current(aws, c, results)
    assert {s["variables"][0]["value"] for s in aws.starts} == {c["newer"]}


def test_newer_sync_before_the_older_ones_starts_leaves_it_starting_nothing(aws, setup):
    c, newer_sync, results = setup
    # the older run recorded its upload; the newer one runs before the older one's re-check
    during(aws, "HeadObject", is_manifest, newer_sync)
    with pytest.raises(SyncError, match=r"another sync .*recorded its state.*started no pipeline"):
        sync_with(aws.s3, aws.codepipeline, c["old_root"])
    assert_newer_current(aws, c, results)
    assert {s["variables"][0]["value"] for s in aws.starts} == {c["newer"]}


def test_older_sync_finishing_inside_the_newer_ones_upload_is_replaced(aws, setup):
    c, _, _ = setup
    older_s3 = boto3.client("s3", region_name="us-east-1")
    results: dict[str, Any] = {}

    def older_sync() -> None:
        results["older"] = sync_with(older_s3, aws.codepipeline, c["old_root"])

    # the newer run is the slow one: the older one runs start to finish during its first upload
    during(aws, "PutObject", lambda p: not is_manifest(p), older_sync)
    newer = sync_with(aws.s3, aws.codepipeline, c["new"].root)
    assert results["older"].ok  # it ran alone, before the newer run wrote anything
    assert newer.ok and any("another sync changed" in n for n in newer.notes)
    results["newer"] = newer
    assert_newer_current(aws, c, results)
    # the newer run's alpha execution was started after the older one's
    alpha = [s["variables"][0]["value"] for s in aws.starts if s["name"] == "acme-alpha"]
    assert alpha == [c["older"], c["newer"]]
