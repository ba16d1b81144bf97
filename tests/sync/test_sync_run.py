"""The sync against moto (S3 + CodePipeline in process): only what changed, pinned starts."""

from __future__ import annotations

import json

import pytest
from sync_fixtures import BUCKET, C1, C2, PROJECT, TEMPLATE

from generator import naming
from generator.errors import ConfigError, SyncError, UsageError
from sync.archive import content_hash
from sync.pipelines import SOURCE_ACTION_NAME


def synced(repo, aws, names=("alpha", "beta", "gamma")):
    for name in names:
        repo.put(name)
        aws.create_pipeline(name)
    return aws.sync(repo, commit=C1)


def test_first_sync_uploads_every_stack_and_starts_each_pipeline_pinned(repo, aws):
    report = synced(repo, aws)
    assert report.ok and report.stage == "done"
    assert report.added == ["alpha", "beta", "gamma"]
    assert aws.current_keys() == {"stacks/alpha.zip", "stacks/beta.zip", "stacks/gamma.zip"}
    assert sorted(report.started) == ["alpha", "beta", "gamma"]
    by_pipeline = {s["name"]: s for s in aws.starts}
    for folder, version in report.uploaded.items():
        request = by_pipeline[f"{PROJECT}-{folder}"]
        # moto accepts and ignores sourceRevisions: assert on the request the sync sent
        assert request["sourceRevisions"] == [{"actionName": SOURCE_ACTION_NAME,
                                               "revisionType": "S3_OBJECT_VERSION_ID",
                                               "revisionValue": version}]
        assert [v["name"] for v in request["variables"]] == list(naming.PIPELINE_VARIABLES)
    entries = aws.current_entries("alpha")
    assert sorted(entries) == [naming.ARCHIVE_CONFIG, naming.ARCHIVE_TEMPLATE]
    assert json.loads(entries[naming.ARCHIVE_CONFIG]) == {"Parameters": {"TopicName": "t-alpha"}, "Tags": {}}
    head = aws.s3.head_object(Bucket=BUCKET, Key="stacks/alpha.zip")
    assert head["Metadata"] == {"changegate-sha256": content_hash(entries), "changegate-commit": C1}
    aws.assert_manifest_truthful()
    assert not any(r.pending_start for r in aws.manifest().values())


def test_no_change_costs_two_requests_and_starts_nothing(repo, aws):
    synced(repo, aws)
    aws.starts.clear()
    report = aws.sync(repo, commit=C2)
    assert report.ok and report.unchanged == ["alpha", "beta", "gamma"]
    assert aws.calls == ["ListObjectsV2", "GetObject"]
    assert aws.starts == [] and report.started == {}


def test_changed_added_removed_ship_only_those_and_start_only_those(repo, aws):
    synced(repo, aws)
    versions_before = {f: r.version_id for f, r in aws.manifest().items()}
    repo.put("alpha", topic="renamed")
    repo.remove("beta")
    repo.put("delta")
    aws.create_pipeline("delta")
    aws.starts.clear()
    report = aws.sync(repo, commit=C2)
    assert (report.added, report.changed, report.removed, report.unchanged) == (
        ["delta"], ["alpha"], ["beta"], ["gamma"])
    # alpha, delta, beta's delete marker; the manifest before the starts, and with the starts
    assert sorted(aws.writes()) == ["DeleteObject", "PutObject", "PutObject", "PutObject", "PutObject"]
    # list, get, versioning, one per changed/added/removed stack, manifest put, manifest head
    # (still ours?), manifest put
    assert aws.calls == ["ListObjectsV2", "GetObject", "GetBucketVersioning", "PutObject", "PutObject",
                         "DeleteObject", "PutObject", "HeadObject", "PutObject"]
    assert sorted(s["name"] for s in aws.starts) == ["acme-alpha", "acme-delta"]
    assert aws.current_keys() == {"stacks/alpha.zip", "stacks/delta.zip", "stacks/gamma.zip"}
    assert any("beta" in n and "NOT deleted" in n for n in report.notes)
    # the removed stack's history is kept: its old version is still there, behind a delete marker
    versions = aws.s3.list_object_versions(Bucket=BUCKET, Prefix="stacks/beta.zip")
    assert [v["VersionId"] for v in versions["Versions"]] == [versions_before["beta"]]
    assert len(versions["DeleteMarkers"]) == 1
    assert json.loads(aws.current_entries("alpha")[naming.ARCHIVE_CONFIG])["Parameters"] == {
        "TopicName": "renamed"}
    aws.assert_manifest_truthful()


def test_an_unchanged_stack_never_gets_a_new_version(repo, aws):
    synced(repo, aws)
    (repo.root / "stacks" / "alpha" / "template.yaml").touch()  # new mtime, same bytes
    aws.sync(repo, commit=C2)
    versions = aws.s3.list_object_versions(Bucket=BUCKET, Prefix="stacks/alpha.zip")["Versions"]
    assert len(versions) == 1


def test_invalid_stack_uploads_nothing_and_starts_nothing(repo, aws):
    synced(repo, aws)
    aws.starts.clear()
    repo.put("alpha", topic="changed")
    (repo.root / "stacks" / "beta" / "config.json").write_text('{"Parameters": {"Nope": "x"}}')
    report = aws.sync(repo, commit=C2)
    assert not report.valid and not report.ok
    assert aws.writes() == [] and aws.starts == []
    assert any(p.stack == "beta" for p in report.validation.errors)


def test_cfn_lint_runs_on_changed_stacks_only_and_its_errors_block(repo, aws):
    synced(repo, aws)
    bad = TEMPLATE + "      NotAProperty: 1\n"  # a property AWS::SNS::Topic does not have
    repo.put("alpha", template=bad)
    report = aws.sync(repo, commit=C2)
    assert report.validation.linted == ("alpha",)
    assert not report.valid
    assert any(p.check.startswith("cfn-lint") and p.stack == "alpha" for p in report.validation.errors)
    assert aws.writes() == []


def test_config_error_raises_before_any_request(repo, aws):
    repo.put("alpha")
    # an enabled entry for a folder that does not exist (a disabled one is only a warning)
    repo.write_config("stacks:\n  missing:\n    stack_name: acme-missing\n")
    with pytest.raises(ConfigError):
        aws.sync(repo)
    assert aws.calls == []


def test_dry_run_reports_and_changes_nothing(repo, aws):
    repo.put("alpha")
    aws.create_pipeline("alpha")
    report = aws.sync(repo, dry_run=True)
    assert report.added == ["alpha"] and report.not_started == {"alpha": "dry run"}
    assert aws.writes() == [] and aws.starts == []


def test_no_start_leaves_pipelines_pending_for_the_next_sync(repo, aws):
    repo.put("alpha")
    aws.create_pipeline("alpha")
    report = aws.sync(repo, start=False)
    assert report.not_started == {"alpha": "--no-start"} and aws.starts == []
    assert aws.manifest()["alpha"].pending_start
    report = aws.sync(repo)
    assert report.unchanged == ["alpha"] and list(report.started) == ["alpha"]
    assert aws.starts[0]["sourceRevisions"][0]["revisionValue"] == aws.manifest()["alpha"].version_id
    assert not aws.manifest()["alpha"].pending_start


def test_missing_pipeline_is_a_warning_and_is_retried(repo, aws):
    repo.put("alpha")
    report = aws.sync(repo)
    assert report.ok and report.uploaded and not report.started
    assert any("no pipeline exists yet" in w and "redeploy" in w for w in report.warnings)
    aws.create_pipeline("alpha")
    report = aws.sync(repo)
    assert list(report.started) == ["alpha"]


def test_missing_pipelines_are_reported_once_not_once_per_stack(repo, aws):
    # issue 9, item 15: a first sync before the bootstrap stack was redeployed
    for name in ("alpha", "beta", "gamma"):
        repo.put(name)
    report = aws.sync(repo)
    missing = [w for w in report.warnings if "no pipeline exists yet" in w]
    assert len(missing) == 1 and "for 3 stack(s)" in missing[0]
    assert all(name in missing[0] for name in ("alpha", "beta", "gamma"))
    assert report.not_started == dict.fromkeys(("alpha", "beta", "gamma"), "no pipeline yet")


def test_disabled_stacks_are_shipped_but_not_started(repo, aws):
    repo.put("alpha")
    repo.put("beta")
    aws.create_pipeline("alpha")
    repo.write_config("stacks:\n  beta:\n    disabled: true\n")
    report = aws.sync(repo)
    assert report.disabled == ["beta"] and list(report.started) == ["alpha"]
    assert "stacks/beta.zip" in aws.current_keys()
    assert not aws.manifest()["beta"].pending_start


def test_stack_policy_reaches_the_archive(repo, aws):
    repo.put("alpha")
    (repo.root / "pipelines" / "policies").mkdir()
    policy = {"Statement": [{"Effect": "Deny", "Action": "Update:Replace", "Principal": "*",
                             "Resource": "*"}]}
    (repo.root / "pipelines" / "policies" / "alpha.json").write_text(json.dumps(policy))
    repo.write_config("stacks:\n  alpha:\n    stack_policy: policies/alpha.json\n")
    aws.sync(repo, start=False)
    assert json.loads(aws.current_entries("alpha")[naming.ARCHIVE_CONFIG])["StackPolicy"] == policy


@pytest.mark.parametrize("suspended", [False, True])
@pytest.mark.parametrize("start", [True, False])
def test_an_unversioned_bucket_is_refused_before_any_upload(repo, aws, suspended, start):
    # issue 9, item 10: --no-start used to succeed, overwriting objects without history
    aws.s3.create_bucket(Bucket="plain")
    if suspended:
        aws.s3.put_bucket_versioning(Bucket="plain", VersioningConfiguration={"Status": "Enabled"})
        aws.s3.put_bucket_versioning(Bucket="plain", VersioningConfiguration={"Status": "Suspended"})
    repo.put("alpha")
    aws.create_pipeline("alpha")
    from sync.run import SyncOptions, run_sync
    aws.calls.clear()
    refusal = r"versioning (suspended|never enabled).*nothing was uploaded"
    with pytest.raises(SyncError, match=refusal) as refused:
        run_sync(repo.root, aws.s3, aws.codepipeline, SyncOptions(bucket="plain", jobs=1, start=start))
    assert "put-bucket-versioning" in str(refused.value)
    assert "PutObject" not in aws.calls and aws.starts == []
    assert aws.s3.list_objects_v2(Bucket="plain").get("KeyCount") == 0


def test_a_no_change_sync_does_not_ask_for_versioning(repo, aws):
    synced(repo, aws)
    aws.sync(repo, commit=C2)
    assert "GetBucketVersioning" not in aws.calls


@pytest.mark.parametrize("flags", [{}, {"start": False}, {"dry_run": True}])
def test_a_prefix_the_pipelines_do_not_read_is_for_uploads_only(repo, aws, flags):
    # issue 9, item 10: the generated pipelines read stacks/<folder>.zip
    repo.put("alpha")
    aws.create_pipeline("alpha")
    if not flags:
        with pytest.raises(UsageError, match=r"(?s)--prefix 'other/'.*--no-start"):
            aws.sync(repo, prefix="other/")
        assert aws.calls == [] and aws.starts == []
        return
    report = aws.sync(repo, prefix="other/", **flags)
    assert report.ok and aws.starts == []
