"""A failure at every step, then a re-run: it converges, and the manifest never claims content that
was not uploaded."""

from __future__ import annotations

import pytest
from sync_fixtures import BUCKET, C1, C2, fail_on, is_manifest

from generator.errors import SyncError
from sync.archive import content_hash, stack_archive
from sync.state import META_SHA256


def baseline(repo, aws):
    for name in ("alpha", "beta", "gamma", "delta"):
        repo.put(name)
        aws.create_pipeline(name)
    assert aws.sync(repo, commit=C1).ok
    # the change every case below is interrupted in: 2 changed, 1 added, 1 removed
    repo.put("alpha", topic="a2")
    repo.put("beta", topic="b2")
    repo.remove("gamma")
    repo.put("epsilon")
    aws.create_pipeline("epsilon")
    aws.starts.clear()


def assert_converged(repo, aws):
    from generator.contract.validate import validate_repository

    local = {n: stack_archive(s) for n, s in validate_repository(repo.root, lint=False).stacks.items()}
    assert aws.current_keys() == {f"stacks/{n}.zip" for n in local}
    manifest = aws.manifest()
    assert set(manifest) == set(local)
    for name, archive in local.items():
        assert content_hash(aws.current_entries(name)) == archive.sha256
        head = aws.s3.head_object(Bucket=BUCKET, Key=f"stacks/{name}.zip")
        assert manifest[name].etag == head["ETag"].strip('"')
        assert manifest[name].version_id == head["VersionId"]
        assert not manifest[name].pending_start, name
    aws.assert_manifest_truthful()
    # every changed or added stack's pipeline ran on its current version (at least once)
    pinned = {(s["name"], s["sourceRevisions"][0]["revisionValue"]) for s in aws.starts}
    for name in ("alpha", "beta", "epsilon"):
        assert (f"acme-{name}", manifest[name].version_id) in pinned, name
    # and nothing else was started
    assert {n for n, _ in pinned} == {"acme-alpha", "acme-beta", "acme-epsilon"}


def interrupt():
    return KeyboardInterrupt()


CASES = {
    "list": dict(operation="ListObjectsV2"),
    "manifest read": dict(operation="GetObject"),
    "first upload": dict(operation="PutObject", when=lambda p: not is_manifest(p)),
    "second upload": dict(operation="PutObject", nth=2, when=lambda p: not is_manifest(p)),
    "third upload": dict(operation="PutObject", nth=3, when=lambda p: not is_manifest(p)),
    "delete": dict(operation="DeleteObject"),
    "manifest write": dict(operation="PutObject", when=is_manifest),
    "first start": dict(operation="StartPipelineExecution", service="codepipeline"),
    "last start": dict(operation="StartPipelineExecution", service="codepipeline", nth=3),
    "interrupted upload": dict(operation="PutObject", nth=2, when=lambda p: not is_manifest(p),
                               error=interrupt),
    "interrupted delete": dict(operation="DeleteObject", error=interrupt),
    "interrupted start": dict(operation="StartPipelineExecution", service="codepipeline", nth=2,
                              error=interrupt),
    "interrupted manifest write": dict(operation="PutObject", when=is_manifest, error=interrupt),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_failure_then_rerun_converges(repo, aws, case):
    baseline(repo, aws)
    spec = dict(CASES[case])
    client = aws.codepipeline if spec.get("service") == "codepipeline" else aws.s3
    fail_on(client, spec.pop("operation"), **spec)
    try:
        report = aws.sync(repo, commit=C2)
    except (SyncError, KeyboardInterrupt):
        pass
    else:
        assert not report.ok and report.failures  # a failed step is reported, never swallowed
    aws.assert_manifest_truthful()
    report = aws.sync(repo, commit=C2)
    assert report.ok, report.failures
    assert_converged(repo, aws)
    # and a third run has nothing left to do
    aws.starts.clear()
    report = aws.sync(repo, commit=C2)
    assert aws.calls == ["ListObjectsV2", "GetObject"] and not report.started


def test_a_failed_run_that_uploaded_nothing_writes_no_claim(repo, aws):
    baseline(repo, aws)
    fail_on(aws.s3, "PutObject", when=lambda p: not is_manifest(p), nth=(1, 2, 3))
    report = aws.sync(repo, commit=C2)
    assert len(report.failures) == 3 and report.started == {}
    # alpha and beta are still recorded with their old, still current, content
    old = aws.manifest()
    assert content_hash(aws.current_entries("alpha")) == old["alpha"].sha256
    assert "epsilon" not in old


def test_an_object_the_manifest_misses_is_adopted_by_its_metadata_not_reuploaded(repo, aws):
    baseline(repo, aws)
    fail_on(aws.s3, "PutObject", when=is_manifest)
    with pytest.raises(SyncError, match="re-run the sync"):
        aws.sync(repo, commit=C2, start=False)
    report = aws.sync(repo, commit=C2)
    # no archive is uploaded again: the only writes are the manifest's (before and after the starts)
    assert [c for c in aws.calls if c == "PutObject"] == ["PutObject", "PutObject"]
    assert "GetBucketVersioning" not in aws.calls  # nothing to upload
    # alpha, beta, epsilon (not described by the manifest), then the manifest's re-check before starting
    assert aws.calls.count("HeadObject") == 3 + 1
    assert sorted(report.started) == ["alpha", "beta", "epsilon"]
    head = aws.s3.head_object(Bucket=BUCKET, Key="stacks/alpha.zip")
    assert head["Metadata"][META_SHA256] == aws.manifest()["alpha"].sha256
