"""Shared fixtures: a minimal valid changegate repository in a temporary directory.

``minimal_repo`` is deliberately small and clean (no problem at all, cfn-lint included) so
that a test can write one bad file over it and assert exactly what is reported.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

# pytest puts this folder (tests/) on sys.path to import this file. Then tests/generator and
# tests/changegate look like namespace packages named generator and changegate, and they win
# over the editable install's import hook when the project root is not on sys.path (plain
# `pytest`, as opposed to `python -m pytest`). The project root first keeps the real packages.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))


def find_console_script(name: str) -> Path:
    """The console script ``name`` installed for the interpreter running the tests.

    Never the first one on ``PATH``: that may be another, older installation (a global
    ``moto_server``, a ``changegate`` from another checkout), and the test would silently check
    it instead. A missing script is a broken installation, so this fails instead of skipping.
    """
    folders = [Path(sysconfig.get_path("scripts")), Path(sys.executable).parent]
    if site.ENABLE_USER_SITE:  # `pip install --user` puts scripts in the user scheme's folder
        folders.append(Path(sysconfig.get_path("scripts", f"{os.name}_user")))
    for folder in dict.fromkeys(folders):
        path = folder / name
        if path.is_file() and os.access(path, os.X_OK):
            return path
    pytest.fail(f"the console script {name!r} of {sys.executable} is in none of "
                f"{', '.join(str(f) for f in dict.fromkeys(folders))}: install the project with its "
                f"test extras into this environment (pip install -e '.[test]')", pytrace=False)


@pytest.fixture(scope="session")
def console_script():
    """``console_script("moto_server")``: the path of this interpreter's console script ``name``."""
    return find_console_script


MINIMAL_PIPELINES_CONFIG = textwrap.dedent("""\
    project: demo
    repository:
      name: acme/infrastructure
""")

# One stack, "app": a parameter with a Default (no config needed) and one resource.
MINIMAL_TEMPLATE = textwrap.dedent("""\
    AWSTemplateFormatVersion: "2010-09-09"
    Description: Minimal stack for tests.
    Parameters:
      TopicName:
        Type: String
        Default: demo-topic
    Resources:
      Topic:
        Type: AWS::SNS::Topic
        Properties:
          TopicName: !Ref TopicName
    Outputs:
      TopicArn:
        Value: !Ref Topic
""")

MINIMAL_STACK_CONFIG = textwrap.dedent("""\
    {
      "Parameters": {
        "TopicName": "demo-app-topic"
      },
      "Tags": {
        "team": "platform"
      }
    }
""")


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    """Write ``{relative path: text or bytes}`` under ``root``, creating folders."""
    for relpath, content in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def build_minimal_repo(root: Path) -> Path:
    write_files(root, {
        "pipelines/config.yaml": MINIMAL_PIPELINES_CONFIG,
        "stacks/app/template.yaml": MINIMAL_TEMPLATE,
        "stacks/app/config.json": MINIMAL_STACK_CONFIG,
    })
    return root


@pytest.fixture
def minimal_repo(tmp_path: Path) -> Path:
    """A valid repository root: ``pipelines/config.yaml`` and one stack ``stacks/app``."""
    return build_minimal_repo(tmp_path / "repo")


@pytest.fixture
def write(minimal_repo: Path):
    """``write({"stacks/app/config.json": "..."})`` writes files over the minimal repository."""

    def _write(files: dict[str, str | bytes]) -> Path:
        write_files(minimal_repo, files)
        return minimal_repo

    return _write


@pytest.fixture(scope="session")
def example_root() -> Path:
    """The example repository shipped at the project root (stacks/ and pipelines/)."""
    return PROJECT_ROOT
