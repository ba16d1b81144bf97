"""Where the content comes from (commit id, author, subject) and the rollback check.

The rollback check (threat model: "re-running an old build to roll infrastructure back"): the
content the sync would replace or remove was recorded from some commit; that commit must be an
ancestor of (or equal to) the commit being synced, or the sync would put older content back.
Only git can tell, so the check needs the repository's history:

* no git repository at the root (CodeBuild's default source artifact is a zip without ``.git``)
  or no current commit: the check is skipped and the report says so;
* ``git merge-base --is-ancestor`` says no: refused (``--force`` for a deliberate rollback);
* the recorded commit is not in the local history: in a shallow clone that proves nothing (the
  check is skipped for it, with a note); in a full clone it means the content came from a history
  this branch does not contain (a force-push, another branch): refused.

The commit is verified (issue 9, item 6): ``--commit`` is resolved to a full id with
``git rev-parse --verify --end-of-options <value>^{commit}``; what does not resolve is refused, a
branch name is recorded as the id it names, and user text never reaches git where it could be
read as an option (``--end-of-options`` before it, and only full hexadecimal ids afterwards).
Without a git repository the value cannot be checked, so only a full hexadecimal id is accepted
(what CodeBuild's ``CODEBUILD_RESOLVED_SOURCE_VERSION`` holds).
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from generator.errors import UsageError

log = logging.getLogger(__name__)

# a full commit id: SHA-1 (40) or SHA-256 (64) repositories
FULL_COMMIT_RE = re.compile(r"\A(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")


def is_full_commit_id(value: str | None) -> bool:
    return bool(value) and FULL_COMMIT_RE.match(value) is not None


@dataclass(frozen=True)
class CommitInfo:
    id: str | None
    author: str | None = None
    subject: str | None = None


class Git:
    """Read-only git queries on the repository holding ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._available: bool | None = None
        self._shallow: bool | None = None

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, check=False)

    @property
    def available(self) -> bool:
        if self._available is None:
            self._available = bool(shutil.which("git")) and \
                self.run("rev-parse", "--is-inside-work-tree").stdout.strip() == "true"
        return self._available

    @property
    def shallow(self) -> bool:
        if self._shallow is None:
            self._shallow = self.run("rev-parse", "--is-shallow-repository").stdout.strip() == "true"
        return self._shallow

    def head(self) -> str | None:
        if not self.available:
            return None
        result = self.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        return (result.stdout.strip() or None) if result.returncode == 0 else None

    def resolve(self, value: str) -> str:
        """The full id of the commit ``value`` names; ``UsageError`` when it names none.

        ``--end-of-options`` (git 2.24+) makes git read ``value`` as a revision even when it
        starts with ``-``: ``--output=/tmp/x`` is an unknown revision, never an option.
        """
        value = value.strip()
        if not value:
            raise UsageError("--commit is empty\n    hint: pass a commit id or a branch name, "
                             "or leave it out to sync git HEAD")
        if not self.available:
            lowered = value.lower()
            if is_full_commit_id(lowered):
                return lowered
            raise UsageError(f"--commit {value!r} cannot be checked: {self.root} is not a git "
                             "repository\n    hint: pass the full commit id (40 hexadecimal digits) "
                             "the files come from")
        result = self.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{value}^{{commit}}")
        resolved = result.stdout.strip()
        if result.returncode != 0 or not is_full_commit_id(resolved):
            raise UsageError(f"--commit {value!r} is not a commit of the repository at {self.root}"
                             "\n    hint: pass a commit id or branch name that `git rev-parse` "
                             "resolves (fetch it first in a shallow clone), or leave --commit out")
        return resolved

    def commit_info(self, commit: str | None) -> CommitInfo:
        """Author and subject of ``commit`` (a full id; HEAD when None), when the history has it."""
        if commit is not None and not is_full_commit_id(commit):
            raise ValueError(f"not a full commit id: {commit!r}")  # resolve() first
        if not self.available:
            return CommitInfo(id=commit)
        result = self.run("log", "-1", "--format=%H%x00%an <%ae>%x00%s", commit or "HEAD", "--")
        if result.returncode != 0 or "\0" not in result.stdout:
            log.info("commit %s is not in the local git history: no author or subject", commit)
            return CommitInfo(id=commit)
        full, author, subject = [*result.stdout.rstrip("\n").split("\0"), "", ""][:3]
        return CommitInfo(id=commit or full, author=author or None, subject=subject or None)

    def is_ancestor(self, old: str, new: str) -> bool | None:
        """True/False when git can tell, None when it cannot (a commit it does not have).

        ``old`` comes from the bucket (the manifest or an object's metadata), so it is text anyone
        with write access to the bucket chose: only a full hexadecimal id reaches git.
        """
        if old == new:
            return True
        if not (is_full_commit_id(old) and is_full_commit_id(new)):
            return None
        result = self.run("merge-base", "--is-ancestor", "--end-of-options", old, new)
        if result.returncode == 0:
            return True
        if result.returncode == 1:
            return False
        return None


@dataclass(frozen=True)
class Refusal:
    folder: str
    recorded: str
    reason: str


def rollback_refusals(git: Git, current: str | None, recorded: dict[str, tuple[str | None, ...]],
                      notes: list[str], *, strict: bool = False) -> list[Refusal]:
    """The stacks whose recorded content would be replaced by content from an older commit.

    ``recorded`` maps each stack the sync would add, replace or remove to the commits its current
    content is known to come from (its record's commit, and the commit of the last sync that wrote
    the manifest: a stack that sync left as it was still reflects that commit). Notes about checks
    that could not be made are appended to ``notes``. ``strict`` (after another sync changed the
    bucket during this one): a check that cannot be made refuses instead of being skipped.
    """
    commits = {c for cs in recorded.values() for c in cs if c and c != "unknown"}
    if not commits:
        return []
    if current is None or not git.available:
        why = ("the current commit is unknown (pass --commit)" if current is None
               else f"no git history at {git.root}")
        if strict:
            return [Refusal(folder, "?", f"cannot tell whether its content is newer: {why}")
                    for folder, cs in sorted(recorded.items()) if any(c and c != "unknown" for c in cs)]
        notes.append(f"rollback check skipped: {why}")
        return []
    verdicts = {c: git.is_ancestor(c, current) for c in sorted(commits)}
    refusals = []
    for folder, folder_commits in sorted(recorded.items()):
        for commit in sorted({c for c in folder_commits if c and c != "unknown"}):
            verdict = verdicts[commit]
            if verdict is True:
                continue
            if verdict is False:
                refusals.append(Refusal(folder, commit,
                                        f"{commit[:12]} is not an ancestor of {current[:12]}"))
            elif git.shallow and not strict:
                notes.append(f"rollback check skipped for {folder}: {commit[:12]} is not in this "
                             "shallow clone")
                continue
            elif git.shallow:
                refusals.append(Refusal(folder, commit, f"{commit[:12]} is not in this shallow clone: "
                                        "cannot tell whether it is newer"))
            else:
                refusals.append(Refusal(folder, commit,
                                        f"{commit[:12]} is not in this repository's history"))
            break
    return refusals
