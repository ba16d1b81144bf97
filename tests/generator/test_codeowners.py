"""The CODEOWNERS example covers every path that decides what changegate lets through (issue 10
item 4): a change there needs an owner's review, as a change to pipelines/config.yaml does."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODEOWNERS = ROOT / ".github" / "CODEOWNERS"
PROTECTED = [
    "pipelines/config.yaml", "pipelines/policies/database.json", "pipelines/lint-rules/rule.py",
    "buildspecs/sync.yml", ".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml",
    ".github/CODEOWNERS", ".github/workflows/ci.yml", ".ci/run",
    "generator/contract/config.py", "sync/run.py", "changegate/cli.py", "review/steps.py",
    "preview/engine.py",
    "setup.cfg", "pyproject.toml",
]


def rules() -> list[tuple[str, list[str]]]:
    parsed = []
    for line in CODEOWNERS.read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pattern, *owners = line.split()
            parsed.append((pattern, owners))
    return parsed


def owners_of(path: str) -> list[str]:
    """GitHub's rule for the anchored patterns this file uses: the last matching line wins."""
    found: list[str] = []
    for pattern, owners in rules():
        assert pattern.startswith("/") and "*" not in pattern, f"unsupported pattern {pattern}"
        anchored = pattern[1:]
        if (anchored.endswith("/") and path.startswith(anchored)) or path == anchored:
            found = owners
    return found


@pytest.mark.parametrize("path", PROTECTED)
def test_every_protected_path_has_an_owner(path):
    assert owners_of(path), f"{path} has no code owner in .github/CODEOWNERS"


def test_stacks_are_not_owner_only():
    assert owners_of("stacks/network/template.yaml") == []


def test_the_team_name_is_marked_as_an_example():
    text = CODEOWNERS.read_text("utf-8")
    assert "EXAMPLE team name" in text
    assert {owner for _, owners in rules() for owner in owners} == {"@acme-corp/platform-owners"}
