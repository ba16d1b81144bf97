"""The sync ships the commit it records, never uncommitted edits (issue 9, item 5).

Decision: the sync refuses a working tree whose ``stacks/`` or ``pipelines/`` differ from the
commit being synced, naming each file that differs; it does not build archives from git objects.

Why not build from the commit: validation must look at the bytes that are shipped, and the
validator and cfn-lint read files from disk (cfn-lint takes file paths and the repository's
``.cfnlintrc``). Shipping the commit's blobs would mean materializing the commit's ``stacks/``
and ``pipelines/`` in a temporary tree and validating that: O(all files) on every run, while
the check below costs one ``git status`` (plus one ``git diff`` when ``--commit`` is not the
checked-out commit) and reads nothing it does not already read. In CI the checkout is clean, so
the refusal costs nothing there; locally the message says which files to commit or restore.

What counts as a difference (paths under ``stacks/`` and ``pipelines/``):

* a tracked file modified, added, deleted or staged (``git status``);
* an untracked file (it is in no commit; a new stack folder that is not committed yet);
* an ignored file that the sync reads (a template or config a ``.gitignore`` hides);
* with ``--commit`` other than HEAD: a file that differs between that commit and HEAD.

``git status`` runs with ``--no-optional-locks``: the sync never takes the index lock (another
process may be using the same work tree). Without git (CodeBuild's zip source artifact holds no
``.git``) the files are the source artifact itself; the report notes that nothing was compared.
``--dry-run`` changes nothing, so it reports the working tree with a warning instead of refusing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

from generator.contract.validate import ValidationReport
from sync.git import Git

CHECKED_DIRS = ("stacks", "pipelines")
STATUS_WORDS = {"M": "modified", "A": "added", "D": "deleted", "T": "type changed", "U": "unmerged",
                "?": "untracked", "!": "ignored", "R": "renamed", "C": "copied"}
LIST_LIMIT = 20


def files_read(validation: ValidationReport, root: Path) -> set[str]:
    """The files (relative to ``root``, POSIX) whose bytes end up in the archives."""
    root = Path(root)
    paths = {"pipelines/config.yaml"}
    for stack in validation.stacks.values():
        paths.add(stack.template_relpath)
        for path in (stack.source.config_path, stack.settings.stack_policy):
            if path is not None:
                paths.add(_relative(Path(path), root))
    return paths


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.resolve().relative_to(root.resolve()).as_posix()


def differences(git: Git, commit: str, head: str | None, read: Collection[str]) -> list[str]:
    """One line per file under stacks/ or pipelines/ that is not as ``commit`` has it."""
    top_prefix = git.run("rev-parse", "--show-prefix").stdout.strip()
    pathspecs = ["--", *CHECKED_DIRS]
    status = git.run("--no-optional-locks", "status", "--porcelain=v1", "-z", "--no-renames",
                      "--untracked-files=all", "--ignored=matching", *pathspecs)
    if status.returncode != 0:
        return [f"(git status failed: {status.stderr.strip() or status.returncode})"]
    lines = []
    for code, path in _status_entries(status.stdout):
        path = path[len(top_prefix):] if top_prefix and path.startswith(top_prefix) else path
        if code == "!!":
            # ignored and never read: not shipped either. A whole ignored folder is one entry
            # ending in "/": the files the sync reads under it count.
            hidden = sorted(r for r in read if r.startswith(path)) if path.endswith("/") else \
                [path] if path in read else []
            lines += [f"{h} (ignored)" for h in hidden]
            continue
        words = sorted({STATUS_WORDS.get(c, c) for c in code.strip()})
        lines.append(f"{path} ({', '.join(words)})")
    if head != commit:
        diff = git.run("diff", "--name-status", "-z", "--no-renames", commit, head or "HEAD", *pathspecs)
        if diff.returncode != 0:
            lines.append(f"(git diff {commit[:12]} HEAD failed: {diff.stderr.strip() or diff.returncode})")
        else:
            fields = diff.stdout.split("\0")
            for _code, path in zip(fields[0::2], fields[1::2], strict=False):
                if path:
                    path = path[len(top_prefix):] if top_prefix and path.startswith(top_prefix) else path
                    lines.append(f"{path} (differs between {commit[:12]} and the checked-out "
                                 f"{(head or 'HEAD')[:12]})")
    return sorted(set(lines))


def _status_entries(output: str) -> Iterable[tuple[str, str]]:
    # porcelain v1 -z: "XY path\0" per entry (no rename pairs: --no-renames)
    for entry in output.split("\0"):
        if len(entry) > 3:
            yield entry[:2], entry[3:]


def describe(lines: list[str]) -> str:
    shown = [f"    {line}" for line in lines[:LIST_LIMIT]]
    if len(lines) > LIST_LIMIT:
        shown.append(f"    ... and {len(lines) - LIST_LIMIT} more")
    return "\n".join(shown)
