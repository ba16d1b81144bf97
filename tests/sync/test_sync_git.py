"""Rollback refusal with a real git history: an old build re-run must not put old content back."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from sync_fixtures import Repo

from generator.errors import SyncError
from sync.git import Git

ENV = {"GIT_AUTHOR_NAME": "Ada Lovelace", "GIT_AUTHOR_EMAIL": "ada@example.com",
       "GIT_COMMITTER_NAME": "Ada Lovelace", "GIT_COMMITTER_EMAIL": "ada@example.com",
       "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_SYSTEM": "/dev/null"}


def git(root, *args):
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env={**ENV, "PATH": "/usr/bin:/bin:/usr/local/bin"}).stdout.strip()


def commit(root, message):
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def history(repo):
    git(repo.root, "init", "-q", "-b", "main")
    repo.put("alpha", topic="v1")
    old = commit(repo.root, "first version")
    repo.put("alpha", topic="v2")
    new = commit(repo.root, "second version\n\nwith a body")
    return old, new


def test_commit_info_reads_author_and_subject(repo, history):
    _, new = history
    info = Git(repo.root).commit_info(new)
    assert info.id == new and info.author == "Ada Lovelace <ada@example.com>"
    assert info.subject == "second version"
    assert Git(repo.root).commit_info(None).id == new  # HEAD


def test_rerunning_an_old_build_is_refused_then_forced(repo, aws, history):
    old, _ = history
    aws.create_pipeline("alpha")
    assert aws.sync(repo).ok  # HEAD = the newer commit
    git(repo.root, "checkout", "-q", old)  # the old build's checkout
    with pytest.raises(SyncError, match="not an ancestor") as refused:
        aws.sync(repo)
    assert "alpha" in str(refused.value) and "--force" in str(refused.value)
    assert aws.writes() == []
    report = aws.sync(repo, force=True)
    assert report.ok and report.changed == ["alpha"] and any("--force" in w for w in report.warnings)
    assert aws.manifest()["alpha"].commit == old


def test_moving_forward_is_accepted_and_variables_carry_the_commit(repo, aws, history):
    old, new = history
    aws.create_pipeline("alpha")
    git(repo.root, "checkout", "-q", old)
    aws.sync(repo)
    git(repo.root, "checkout", "-q", "main")
    aws.starts.clear()
    report = aws.sync(repo)
    assert report.changed == ["alpha"] and list(report.started) == ["alpha"]
    variables = {v["name"]: v["value"] for v in aws.starts[0]["variables"]}
    assert variables == {"CommitId": new, "CommitAuthor": "Ada Lovelace <ada@example.com>",
                         "CommitSubject": "second version"}


def test_content_from_an_unknown_commit_is_refused_in_a_full_clone(repo, aws, history, tmp_path):
    aws.create_pipeline("alpha")
    # recorded from a commit this history does not contain (synced from a copy without .git)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(repo.root, elsewhere, ignore=shutil.ignore_patterns(".git"))
    aws.sync(Repo(elsewhere), commit="0" * 40)
    repo.put("alpha", topic="v3")
    commit(repo.root, "third version")
    with pytest.raises(SyncError, match="not in this repository's history"):
        aws.sync(repo)


def test_without_git_history_the_check_is_skipped_with_a_note(repo, aws):
    repo.put("alpha", topic="v1")
    aws.sync(repo, commit="b" * 40, start=False)
    repo.put("alpha", topic="v2")
    report = aws.sync(repo, commit="a" * 40, start=False)
    assert report.ok and any("rollback check skipped" in n for n in report.notes)
