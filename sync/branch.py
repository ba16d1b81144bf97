"""The sync ships only commits of the protected branch (issue 10 item 4; threat model row
"the sync runs an unmerged branch").

The sync pipeline's trigger runs only on pushes to ``repository.branch``, but whoever may start the
sync pipeline or its CodeBuild project could pick another commit, and the sync would then upload
what no reviewer merged. So before anything is uploaded the sync asks git whether the commit is
reachable from the configured branch, as the remote has it: CodeBuild's full clone
(``CODEBUILD_CLONE_REF``) carries ``refs/remotes/origin/<branch>``; a local checkout of the branch
itself (``refs/heads/<branch>``) counts when there is no remote-tracking ref, which is how the sync
runs in tests and by hand. Neither ref, or a commit not on it: refused, naming both, nothing uploaded.

Without git at all (a tree copied without its history) nothing can be checked; the sync says so in
its report and goes on, as its rollback check does.
"""

from __future__ import annotations

from generator.errors import UsageError
from sync.git import Git, is_full_commit_id

REMOTE = "origin"


def branch_refs(branch: str) -> tuple[str, ...]:
    """Where the branch is looked up, in order: the remote's, then a local branch."""
    return (f"refs/remotes/{REMOTE}/{branch}", f"refs/heads/{branch}")


def check_on_branch(git: Git, commit: str | None, branch: str) -> str | None:
    """Raise ``UsageError`` when ``commit`` is not on ``branch``; the ref it was found on, else.

    Returns None (and checks nothing) when the root is not a git repository.
    """
    if not git.available or commit is None:
        return None
    if not is_full_commit_id(commit):
        raise ValueError(f"not a full commit id: {commit!r}")  # resolve() first
    for ref in branch_refs(branch):
        tip = git.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
        if tip.returncode:
            continue
        if git.is_ancestor(commit, tip.stdout.strip()):
            return ref
        raise UsageError(
            f"commit {commit} is not on branch {branch!r} ({ref}); the sync ships only what was merged "
            "to the configured branch, and uploaded nothing\n    hint: merge the change to "
            f"{branch!r} (repository.branch in pipelines/config.yaml) and let the sync run on it")
    raise UsageError(
        f"cannot tell whether commit {commit} is on branch {branch!r}: the clone has neither "
        f"{' nor '.join(branch_refs(branch))}; nothing was uploaded\n    hint: run the sync in a full "
        f"clone that has the branch (git fetch {REMOTE} {branch})")
