"""Where a change comes from (decision 12): the object version's metadata and the execution's trigger,
never the pipeline variables alone. S3 through moto (versions and user metadata), a HEAD error
through Stubber (moto cannot deny)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from cg_stubs import ACCOUNT, COMMIT, SOURCE_BUCKET, SYNC_ARN

from changegate.origin import (
    FROM_METADATA,
    FROM_SYNC_VARIABLES,
    UNTRUSTED_VARIABLES,
    SourceObject,
    assess,
    decode_metadata,
    metadata_or_error,
    read_metadata,
    sync_identity,
)

SYNC = sync_identity("acme", ACCOUNT)
VARIABLES = {"CommitId": COMMIT, "CommitAuthor": "Ada Lovelace", "CommitSubject": "Widen the VPC CIDR"}
BY_SYNC = {"triggerType": "StartPipelineExecution", "triggerDetail": SYNC_ARN}
SOURCE = SourceObject(SOURCE_BUCKET, "stacks/network.zip", "v1")


@pytest.mark.parametrize(("trigger_type", "detail", "expected"), [
    ("StartPipelineExecution", SYNC_ARN, True),
    ("StartPipelineExecution", f"arn:aws:iam::{ACCOUNT}:role/acme-changegate-sync", True),
    ("StartPipelineExecution", f"arn:aws:iam::{ACCOUNT}:role/team/acme-changegate-sync", True),
    ("StartPipelineExecution", f"arn:aws-cn:sts::{ACCOUNT}:assumed-role/acme-changegate-sync/s", True),
    # someone else, the same role name in another account, a look-alike name, other triggers
    ("StartPipelineExecution", f"arn:aws:sts::{ACCOUNT}:assumed-role/PowerUser/mallory", False),
    ("StartPipelineExecution", f"arn:aws:iam::{ACCOUNT}:user/mallory", False),
    ("StartPipelineExecution", "arn:aws:sts::999999999999:assumed-role/acme-changegate-sync/x", False),
    ("StartPipelineExecution", f"arn:aws:sts::{ACCOUNT}:assumed-role/acme-changegate-sync-x/s", False),
    ("StartPipelineExecution", None, False),
    ("CloudWatchEvent", SYNC_ARN, False),
    ("CreatePipeline", f"arn:aws:iam::{ACCOUNT}:role/acme-changegate-sync", False),
    (None, None, False),
])
def test_only_a_start_by_the_sync_role_of_this_account_counts(trigger_type, detail, expected):
    assert SYNC.started(trigger_type, detail) is expected


def test_a_run_the_sync_started_on_a_version_it_wrote_is_trusted():
    origin = assess(source=SOURCE, metadata={"changegate-commit": COMMIT}, metadata_error=None,
                    variables=VARIABLES, trigger=BY_SYNC, sync=SYNC)
    assert origin.trusted and origin.problems == ()
    assert (origin.commit, origin.author, origin.subject) == (COMMIT, "Ada Lovelace", "Widen the VPC CIDR")
    # the commit is read from the object; author and subject (not in the metadata yet) from variables
    # that the sync set, which is known because the sync started the run
    assert dict(origin.provenance) == {"commit": FROM_METADATA, "author": FROM_SYNC_VARIABLES,
                                       "subject": FROM_SYNC_VARIABLES}


def test_forged_variables_are_caught_and_the_metadata_is_shown():
    forged = {**VARIABLES, "CommitId": "1111111111111111111111111111111111111111",
              "CommitSubject": "Fix a typo"}
    origin = assess(source=SOURCE, metadata={"changegate-commit": COMMIT, "changegate-subject": "Open SSH"},
                    metadata_error=None, variables=forged, trigger=BY_SYNC, sync=SYNC)
    assert not origin.trusted
    assert origin.commit == COMMIT and origin.subject == "Open SSH"  # never the forged values
    assert origin.problems == (
        "pipeline variable CommitId says '1111111111111111111111111111111111111111' but the object version "
        f"says '{COMMIT}': the variables were not set by the sync",
        "pipeline variable CommitSubject says 'Fix a typo' but the object version says 'Open SSH': the "
        "variables were not set by the sync")
    assert dict(origin.provenance)["author"] == UNTRUSTED_VARIABLES


def test_a_run_someone_else_started_is_not_trusted_even_with_matching_metadata():
    """An older version the sync really wrote, started by hand: a rollback that skips the sync's checks."""
    mallory = {"triggerType": "StartPipelineExecution",
               "triggerDetail": f"arn:aws:sts::{ACCOUNT}:assumed-role/PowerUser/mallory"}
    origin = assess(source=SOURCE, metadata={"changegate-commit": COMMIT}, metadata_error=None,
                    variables=VARIABLES, trigger=mallory, sync=SYNC)
    assert origin.problems == (
        f"not started by the sync: trigger StartPipelineExecution by arn:aws:sts::{ACCOUNT}:assumed-role/"
        "PowerUser/mallory, expected StartPipelineExecution by role acme-changegate-sync of account "
        f"{ACCOUNT} (whoever starts a pipeline sets its commit variables and may pin any older object "
        "version)",)
    assert dict(origin.provenance) == {"commit": FROM_METADATA, "author": UNTRUSTED_VARIABLES,
                                       "subject": UNTRUSTED_VARIABLES}


def test_an_object_without_the_syncs_metadata_is_not_trusted():
    origin = assess(source=SOURCE, metadata={}, metadata_error=None, variables=VARIABLES, trigger=BY_SYNC,
                    sync=SYNC)
    assert origin.problems == (f"s3://{SOURCE_BUCKET}/stacks/network.zip version v1 carries no "
                               "changegate-commit metadata: the sync did not write it",)
    assert origin.commit == COMMIT and dict(origin.provenance)["commit"] == UNTRUSTED_VARIABLES


def test_an_unknown_version_is_not_trusted():
    origin = assess(source=SourceObject(None, None, None), metadata=None, metadata_error=None,
                    variables=VARIABLES, trigger=BY_SYNC, sync=SYNC)
    assert not origin.trusted and "object version this execution runs on is unknown" in origin.problems[0]


def test_the_syncs_shortened_variables_agree_with_the_full_metadata():
    """The sync caps CommitSubject at 120 characters with an ellipsis (sync/pipelines.py), not metadata."""
    subject = "x" * 200
    origin = assess(source=SOURCE, metadata={"changegate-commit": COMMIT, "changegate-subject": subject},
                    metadata_error=None, variables={**VARIABLES, "CommitSubject": "x" * 119 + "…"},
                    trigger=BY_SYNC, sync=SYNC)
    assert origin.trusted and origin.subject == subject


def test_metadata_is_read_from_exactly_the_versions_object_with_moto(stubs):
    key, first = stubs.put_source("acme-network", commit=COMMIT)
    _, second = stubs.put_source("acme-network", {"changegate-commit": "2" * 40,
                                                  "changegate-author": "=?utf-8?b?QWRhIEzDtnZlbGFjZQ==?="})
    assert read_metadata(stubs.s3, SourceObject(SOURCE_BUCKET, key, first))["changegate-commit"] == COMMIT
    newer = read_metadata(stubs.s3, SourceObject(SOURCE_BUCKET, key, second))
    assert newer == {"changegate-commit": "2" * 40, "changegate-author": "Ada Lövelace"}  # RFC 2047 decoded


def test_a_missing_version_is_a_finding_not_a_crash(stubs):
    key, _ = stubs.put_source("acme-network")
    metadata, error = metadata_or_error(stubs.s3, SourceObject(SOURCE_BUCKET, key, "nosuchversion"))
    assert metadata is None and error is not None


def test_a_denied_head_names_the_permissions_to_ask_for():
    """A HEAD error has no body: S3 answers a bare 403 (Stubber: moto does not deny)."""
    s3 = boto3.Session(region_name="us-east-1").client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("head_object", "403", "Forbidden", http_status_code=403,
                              expected_params={"Bucket": SOURCE_BUCKET, "Key": "stacks/network.zip",
                                               "VersionId": "v1"})
        metadata, error = metadata_or_error(s3, SOURCE)
    assert metadata is None
    assert error == ("AccessDenied (HTTP 403): ask for s3:GetObject and s3:GetObjectVersion on "
                     f"arn:aws:s3:::{SOURCE_BUCKET}/stacks/network.zip")


def test_plain_values_pass_through_the_decoder():
    assert decode_metadata("Ada Lovelace") == "Ada Lovelace"
    assert decode_metadata("=?broken") == "=?broken"


def test_the_metadata_names_are_the_ones_the_sync_writes():
    """origin.py reads what sync/run.py writes (sync/state.py names it); a rename on one side breaks this."""
    from changegate import origin
    from sync import state

    assert (origin.META_SHA256, origin.META_COMMIT) == (state.META_SHA256, state.META_COMMIT)


def test_the_generated_template_matches_what_origin_reads():
    """The sync's CodeBuild project runs as the role origin trusts, and every stack pipeline's Source
    action is the S3 action whose S3Bucket/S3ObjectKey origin reads (the example repository)."""
    from pathlib import Path

    from generator.bootstrap.template import build_template
    from generator.contract.validate import validate_repository
    from generator.naming import CHANGE_STAGE, SOURCE_ACTION_NAME, SOURCE_STAGE

    report = validate_repository(Path(__file__).resolve().parents[2], lint=False)
    resources = build_template(report.config, report.stacks).to_dict()["Resources"]
    projects = [r for r in resources.values() if r["Type"] == "AWS::CodeBuild::Project"]
    assert len(projects) == 1
    role = resources[projects[0]["Properties"]["ServiceRole"]["Fn::GetAtt"][0]]
    assert role["Properties"]["RoleName"] == sync_identity(report.config.project, ACCOUNT).role_name
    pipelines = [r for r in resources.values() if r["Type"] == "AWS::CodePipeline::Pipeline"
                 and [s["Name"] for s in r["Properties"]["Stages"]][:2] == [SOURCE_STAGE, CHANGE_STAGE]]
    assert pipelines
    for pipeline in pipelines:
        action = pipeline["Properties"]["Stages"][0]["Actions"][0]
        assert (action["Name"], action["ActionTypeId"]["Provider"]) == (SOURCE_ACTION_NAME, "S3")
        assert {"S3Bucket", "S3ObjectKey"} <= set(action["Configuration"])
