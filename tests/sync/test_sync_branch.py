"""The sync ships only commits of the configured branch (issue 10 item 4)."""

from __future__ import annotations

import pytest
from sync_fixtures import commit_all, git

from generator.errors import UsageError


@pytest.fixture
def history(repo):
    git(repo.root, "init", "-q", "-b", "main")
    repo.put("alpha", topic="v1")
    merged = commit_all(repo.root, "merged to main")
    git(repo.root, "checkout", "-q", "-b", "feature")
    repo.put("alpha", topic="unreviewed")
    unmerged = commit_all(repo.root, "not merged")
    return merged, unmerged


def test_a_commit_not_on_the_branch_is_refused_before_any_request(repo, aws, history):
    _, unmerged = history
    with pytest.raises(UsageError) as refused:
        aws.sync(repo)  # HEAD is the feature branch's commit
    assert f"commit {unmerged} is not on branch 'main' (refs/heads/main)" in str(refused.value)
    assert aws.calls == [] and aws.starts == []


def test_the_remote_branch_decides_when_the_clone_has_it(repo, aws, history):
    merged, unmerged = history
    # CodeBuild's full clone: origin/main is what was merged; a local main that someone moved does not count
    git(repo.root, "update-ref", "refs/remotes/origin/main", merged)
    git(repo.root, "branch", "-f", "main", unmerged)
    with pytest.raises(UsageError) as refused:
        aws.sync(repo)
    assert "(refs/remotes/origin/main)" in str(refused.value)
    assert aws.calls == []
    git(repo.root, "checkout", "-q", "main")
    git(repo.root, "reset", "-q", "--hard", merged)
    aws.create_pipeline("alpha")
    assert aws.sync(repo).ok


def test_a_clone_without_the_branch_is_refused(repo, aws, history):
    git(repo.root, "branch", "-D", "main")
    with pytest.raises(UsageError) as refused:
        aws.sync(repo)
    assert "neither refs/remotes/origin/main nor refs/heads/main" in str(refused.value)
    assert aws.calls == []


def test_a_merged_commit_syncs(repo, aws, history):
    merged, _ = history
    git(repo.root, "checkout", "-q", "main")
    aws.create_pipeline("alpha")
    report = aws.sync(repo)
    assert report.ok and report.commit.id == merged
