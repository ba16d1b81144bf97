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
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


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

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, check=False)

    @property
    def available(self) -> bool:
        if self._available is None:
            self._available = bool(shutil.which("git")) and \
                self._run("rev-parse", "--is-inside-work-tree").stdout.strip() == "true"
        return self._available

    @property
    def shallow(self) -> bool:
        if self._shallow is None:
            self._shallow = self._run("rev-parse", "--is-shallow-repository").stdout.strip() == "true"
        return self._shallow

    def head(self) -> str | None:
        if not self.available:
            return None
        result = self._run("rev-parse", "--verify", "HEAD^{commit}")
        return (result.stdout.strip() or None) if result.returncode == 0 else None

    def commit_info(self, commit: str | None) -> CommitInfo:
        """Author and subject of ``commit`` (HEAD when None), when the history has it."""
        if not self.available:
            return CommitInfo(id=commit)
        result = self._run("log", "-1", "--format=%H%x00%an <%ae>%x00%s", commit or "HEAD", "--")
        if result.returncode != 0 or "\0" not in result.stdout:
            log.info("commit %s is not in the local git history: no author or subject", commit)
            return CommitInfo(id=commit)
        full, author, subject = [*result.stdout.rstrip("\n").split("\0"), "", ""][:3]
        return CommitInfo(id=commit or full, author=author or None, subject=subject or None)

    def is_ancestor(self, old: str, new: str) -> bool | None:
        """True/False when git can tell, None when it cannot (a commit it does not have)."""
        if old == new:
            return True
        result = self._run("merge-base", "--is-ancestor", old, new)
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


def rollback_refusals(git: Git, current: str | None, recorded: dict[str, str | None],
                      notes: list[str]) -> list[Refusal]:
    """The stacks whose recorded content would be replaced by content from an older commit.

    ``recorded`` maps each stack the sync would replace or remove to the commit its current
    content came from. Notes about checks that could not be made are appended to ``notes``.
    """
    commits = {c for c in recorded.values() if c and c != "unknown"}
    if not commits:
        return []
    if current is None:
        notes.append("rollback check skipped: the current commit is unknown (pass --commit)")
        return []
    if not git.available:
        notes.append(f"rollback check skipped: no git history at {git.root}")
        return []
    verdicts = {c: git.is_ancestor(c, current) for c in sorted(commits)}
    refusals = []
    for folder, commit in sorted(recorded.items()):
        if not commit or commit == "unknown":
            continue
        verdict = verdicts[commit]
        if verdict is True:
            continue
        if verdict is False:
            refusals.append(Refusal(folder, commit, f"{commit[:12]} is not an ancestor of {current[:12]}"))
        elif git.shallow:
            notes.append(f"rollback check skipped for {folder}: {commit[:12]} is not in this shallow clone")
        else:
            refusals.append(Refusal(folder, commit, f"{commit[:12]} is not in this repository's history"))
    return refusals
