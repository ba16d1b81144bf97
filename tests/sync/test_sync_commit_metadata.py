"""The commit's author and subject travel with the archive's object version (decision 12).

Approvers read where a change comes from out of the object version's metadata, which only the sync
role may write (changegate/origin.py), not out of pipeline variables whoever starts a pipeline can
set. So the sync writes author and subject next to the commit id, exactly as the variables carry
them, and the approvers' reader decodes them back to the same text.
"""

from __future__ import annotations

from sync_fixtures import BUCKET, commit_all, git

from changegate.origin import decode_metadata
from sync.git import CommitInfo
from sync.pipelines import commit_metadata, pipeline_variables
from sync.state import META_AUTHOR, META_COMMIT, META_SUBJECT


def _variables(commit: CommitInfo) -> dict[str, str]:
    return {v["name"]: v["value"] for v in pipeline_variables(commit)}


def test_metadata_decodes_to_exactly_what_the_variables_carry():
    for commit in (CommitInfo("a" * 40, "Ada Lovelace", "Widen the VPC CIDR"),
                   CommitInfo("b" * 40, "Zoë Ångström", "Ändere die Subnetze 😀"),
                   CommitInfo("c" * 40, "Ada " + "L" * 300, "Fix " + "x" * 500)):
        metadata = commit_metadata(commit)
        variables = _variables(commit)
        assert all(value.isascii() for value in metadata.values())  # HTTP headers carry ASCII only
        assert decode_metadata(metadata[META_AUTHOR]) == variables["CommitAuthor"]
        assert decode_metadata(metadata[META_SUBJECT]) == variables["CommitSubject"]
        assert sum(len(k) + len(v.encode()) for k, v in metadata.items()) < 2048  # S3: 2 KB of user metadata


def test_nothing_is_written_for_what_git_does_not_know():
    assert commit_metadata(CommitInfo("d" * 40)) == {}


def test_an_uploaded_version_carries_the_commits_author_and_subject(repo, aws):
    git(repo.root, "init", "-q", "-b", "main")
    repo.put("alpha", topic="v1")
    commit = commit_all(repo.root, "Add the alpha topic")
    aws.create_pipeline("alpha")
    report = aws.sync(repo)
    assert report.ok
    head = aws.s3.head_object(Bucket=BUCKET, Key="stacks/alpha.zip", VersionId=report.uploaded["alpha"])
    metadata = head["Metadata"]
    assert metadata[META_COMMIT] == commit
    assert metadata[META_AUTHOR] == "Ada Lovelace <ada@example.com>"  # sync_fixtures.GIT_ENV
    assert metadata[META_SUBJECT] == "Add the alpha topic"
    started = {v["name"]: v["value"] for v in aws.starts[0]["variables"]}
    assert started["CommitAuthor"] == metadata[META_AUTHOR]
    assert started["CommitSubject"] == metadata[META_SUBJECT]
