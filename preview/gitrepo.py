"""Read two sides of a change from Git without a checkout, in a few git processes.

The cost is O(changed): one ``git diff --name-only`` finds the changed stack folders, one
``git ls-tree`` lists their files and one ``git cat-file --batch`` reads every blob. User
input (the refs) never reaches git as an option: refs are resolved with
``rev-parse --verify --end-of-options`` and only the resulting object ids are used after that.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from generator.errors import UsageError

_SHA_RE = re.compile(r"\A[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")


class GitRepository:
    """A Git work tree; every call runs git with ``-C root`` and no user text as an option."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _git(self, *args: str, stdin: bytes | None = None, check: bool = True) -> bytes:
        try:
            done = subprocess.run(["git", "-C", str(self.root), *args], input=stdin,
                                  capture_output=True, check=False)
        except FileNotFoundError as exc:
            raise UsageError("git is not installed; the preview reads commits with git") from exc
        if check and done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip()
            raise UsageError(f"git {args[0]} failed in {self.root}: {message}")
        return done.stdout

    def resolve(self, ref: str) -> str:
        """The commit id ``ref`` names; a clear error when it names none."""
        done = subprocess.run(
            ["git", "-C", str(self.root), "rev-parse", "--verify", "--quiet", "--end-of-options",
             f"{ref}^{{commit}}"], capture_output=True, check=False)
        sha = done.stdout.decode().strip()
        if done.returncode != 0 or not _SHA_RE.match(sha):
            raise UsageError(f"{ref!r} names no commit in {self.root}\n"
                             "    hint: fetch it first (in CI: actions/checkout with "
                             "fetch-depth: 0), or pass a branch, tag or commit id")
        return sha

    def changed_paths(self, base: str, head: str | None, pathspecs: tuple[str, ...]) -> list[str]:
        """Paths under ``pathspecs`` that differ between ``base`` and ``head``.

        ``head`` None means the working tree (staged and unstaged changes, and untracked files
        that are not ignored).
        """
        args = ["diff", "--name-only", "--no-renames", "-z", base]
        if head is not None:
            args.append(head)
        paths = set(_split(self._git(*args, "--", *pathspecs)))
        if head is None:
            paths.update(_split(self._git("ls-files", "--others", "--exclude-standard", "-z",
                                          "--", *pathspecs)))
        return sorted(paths)

    def list_files(self, commit: str, folders: list[str]) -> list[str]:
        """Every file under ``folders`` at ``commit``."""
        if not folders:
            return []
        out = self._git("ls-tree", "-r", "-z", "--name-only", commit, "--", *folders)
        return sorted(_split(out))

    def read_blobs(self, commit: str, paths: list[str]) -> dict[str, bytes]:
        """The content of ``paths`` at ``commit``, read by one ``git cat-file --batch``."""
        if not paths:
            return {}
        request = "".join(f"{commit}:{path}\n" for path in paths).encode()
        out = self._git("cat-file", "--batch", stdin=request)
        blobs, offset = {}, 0
        for path in paths:
            end = out.index(b"\n", offset)
            header = out[offset:end].decode()
            offset = end + 1
            if header.endswith(" missing"):
                continue
            size = int(header.rsplit(" ", 1)[1])
            blobs[path] = out[offset:offset + size]
            offset += size + 1  # the content is followed by a newline
        return blobs

    def grep_words(self, commit: str | None, words: list[str],
                   pathspec: str) -> dict[str, set[str]]:
        """Which of ``words`` (fixed strings) each file under ``pathspec`` contains.

        One ``git grep -o``; ``commit`` None searches the working tree (tracked and untracked).
        """
        if not words:
            return {}
        args = ["grep", "-o", "-z", "-F", "-I"]
        for word in words:
            args += ["-e", word]
        args.append("--untracked" if commit is None else commit)
        out = self._git(*args, "--", pathspec, check=False)
        prefix = f"{commit}:" if commit else ""
        found: dict[str, set[str]] = {}
        for line in out.split(b"\n"):
            path, _, match = line.partition(b"\0")
            if not match:
                continue
            name = path.decode("utf-8", "surrogateescape")
            found.setdefault(name[len(prefix):] if name.startswith(prefix) else name,
                             set()).add(match.decode("utf-8", "replace"))
        return found


def _split(out: bytes) -> list[str]:
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]
