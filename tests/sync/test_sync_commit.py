"""The sync ships the commit it records (issue 9, items 5 and 6).

Item 5: uncommitted edits under stacks/ or pipelines/ are refused, naming each file, before any
request (the sync validates and ships the working tree, so it must be the commit's).
Item 6: --commit is resolved to a full id by git; what does not resolve is refused with exit 2,
and a value that looks like an option never reaches git as one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sync_fixtures import BUCKET, commit_all, git

from changegate.cli import main
from generator.errors import UsageError


@pytest.fixture
def history(repo):
    git(repo.root, "init", "-q", "-b", "main")
    repo.put("alpha", topic="v1")
    repo.put("beta", topic="b1")
    old = commit_all(repo.root, "first version")
    repo.put("alpha", topic="v2")
    new = commit_all(repo.root, "second version")
    return old, new


def refusal(aws, repo, **options) -> str:
    with pytest.raises(UsageError) as refused:
        aws.sync(repo, **options)
    assert aws.calls == [] and aws.starts == []  # refused before any request
    return str(refused.value)


def test_a_clean_tree_ships_exactly_the_commit(repo, aws, history):
    _, new = history
    aws.create_pipeline("alpha")
    report = aws.sync(repo)
    assert report.ok and report.commit.id == new
    committed = git(repo.root, "show", f"{new}:stacks/alpha/config.json").encode()
    config = json.loads(aws.current_entries("alpha")["config.json"])
    assert config["Parameters"] == json.loads(committed)["Parameters"] == {"TopicName": "v2"}


@pytest.mark.parametrize("edit, named", [
    (lambda r: r.put("alpha", topic="uncommitted"), "stacks/alpha/config.json (modified)"),
    (lambda r: r.put("gamma"), "stacks/gamma/template.yaml (untracked)"),
    (lambda r: (r.put("beta", topic="staged"), git(r.root, "add", "stacks/beta")),
     "stacks/beta/config.json (modified)"),
    (lambda r: r.write_config("stacks:\n  beta:\n    disabled: true\n"), "pipelines/config.yaml (modified)"),
    (lambda r: r.remove("beta"), "stacks/beta/config.json (deleted)"),
])
def test_uncommitted_changes_are_refused_naming_each_file(repo, aws, history, edit, named):
    edit(repo)
    message = refusal(aws, repo)
    assert named in message and "differs from commit" in message and "git restore" in message


def test_a_commit_other_than_the_checkout_is_refused_where_their_files_differ(repo, aws, history):
    old, _ = history
    message = refusal(aws, repo, commit=old)
    assert f"stacks/alpha/config.json (differs between {old[:12]} and the checked-out" in message
    assert "stacks/beta" not in message  # the same in both commits


def test_an_ignored_file_counts_only_when_the_sync_reads_it(repo, aws, history):
    (repo.root / ".gitignore").write_text("*.tmp\nstacks/delta/\n")
    commit_all(repo.root, "ignore scratch files")
    (repo.root / "stacks" / "alpha" / "notes.tmp").write_text("scratch")
    assert aws.sync(repo, start=False).ok  # not read, not shipped: no reason to refuse
    repo.put("delta")  # a whole stack hidden by .gitignore: it would be shipped
    message = refusal(aws, repo)
    assert "stacks/delta/template.yaml (ignored)" in message and "notes.tmp" not in message


def test_a_dry_run_previews_the_working_tree_with_a_warning(repo, aws, history):
    repo.put("alpha", topic="uncommitted")
    report = aws.sync(repo, dry_run=True)
    assert report.changed == [] and report.added == ["alpha", "beta"]
    assert any("stacks/alpha/config.json (modified)" in w for w in report.warnings)
    assert aws.writes() == []


def test_commit_is_resolved_to_a_full_id_and_recorded_as_such(repo, aws, history):
    _, new = history
    aws.create_pipeline("alpha")
    report = aws.sync(repo, commit="main")
    assert report.commit.id == new and report.commit.subject == "second version"
    assert aws.manifest()["alpha"].commit == new
    head = aws.s3.head_object(Bucket=BUCKET, Key="stacks/alpha.zip")
    assert head["Metadata"]["changegate-commit"] == new
    variables = {v["name"]: v["value"] for v in aws.starts[0]["variables"]}
    assert variables["CommitId"] == new
    assert aws.sync(repo, commit=new[:7]).commit.id == new  # an abbreviated id too


@pytest.mark.parametrize("value", ["0" * 40, "no-such-branch", "main~5"])
def test_a_commit_that_does_not_resolve_is_refused(repo, aws, history, value):
    message = refusal(aws, repo, commit=value)
    assert repr(value) in message and "is not a commit" in message


def test_without_git_only_a_full_id_is_accepted(repo, aws):
    repo.put("alpha")
    message = refusal(aws, repo, commit="main")
    assert "not a git repository" in message and "40 hexadecimal" in message
    assert aws.sync(repo, commit="AB" * 20, start=False).commit.id == "ab" * 20


def test_an_option_like_commit_never_reaches_git_as_an_option(repo, aws, history, tmp_path, monkeypatch,
                                                              capsys):
    target = tmp_path / "written-by-git"
    monkeypatch.chdir(repo.root)
    code = main(["sync", "--bucket", BUCKET, "--root", str(repo.root), "--no-start",
                 f"--commit=--output={target}"])
    assert code == 2
    assert not target.exists()
    assert "is not a commit" in capsys.readouterr().err
    assert aws.calls == []


def test_unknown_commit_exits_2_through_the_command(repo, aws, history, capsys):
    code = main(["sync", "--bucket", BUCKET, "--root", str(repo.root), "--commit", "deadbeef"])
    assert code == 2 and "'deadbeef' is not a commit" in capsys.readouterr().err
    assert aws.calls == [] and not Path(repo.root / "written-by-git").exists()
