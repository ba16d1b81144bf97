"""The suite on a fresh machine: it uses the console scripts of the interpreter running it.

A developer's PATH may hold an older ``moto_server`` or ``changegate`` (a global install, another
checkout). The README's test command installs both into ``.venv`` and runs ``.venv/bin/python -m
pytest`` without activating the venv, so the first one on PATH is not the one just installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from changegate import __version__

CONSOLE_SCRIPTS = ("changegate", "moto_server")
TESTS = Path(__file__).resolve().parents[1]
# a lookup on PATH, or a skip for a missing script: both hide the installation under test
ON_PATH_OR_SKIPPED = re.compile(r"shutil\.which\(|skip\([^)]*not installed", re.DOTALL)


@pytest.fixture
def decoys_first_on_path(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "decoys"
    folder.mkdir()
    for name in CONSOLE_SCRIPTS:
        (folder / name).write_text("#!/bin/sh\necho decoy\nexit 1\n", encoding="utf-8")
        (folder / name).chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(folder), os.environ.get("PATH", os.defpath)]))
    assert shutil.which("changegate") == str(folder / "changegate")  # the decoys really come first
    return folder


def test_console_scripts_are_this_interpreters_not_the_first_on_path(decoys_first_on_path,
                                                                      console_script):
    ours = {Path(sysconfig.get_path("scripts")), Path(sys.executable).parent}
    for name in CONSOLE_SCRIPTS:
        assert console_script(name).parent in ours
        assert console_script(name).parent != decoys_first_on_path
    result = subprocess.run([console_script("changegate"), "--version"], capture_output=True, text=True,
                            timeout=120)
    assert (result.returncode, result.stdout.strip()) == (0, f"changegate, version {__version__}")


def test_a_missing_console_script_fails_the_test_instead_of_skipping_it(console_script):
    with pytest.raises(pytest.fail.Exception, match=r"'no-such-script' of .* is in none of"):
        console_script("no-such-script")


def test_no_test_finds_a_console_script_on_path_or_skips_without_one():
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        if path == Path(__file__).resolve():  # this file puts decoys on PATH on purpose
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(TESTS.parent)}:{text.count(chr(10), 0, m.start()) + 1}"
                      for m in ON_PATH_OR_SKIPPED.finditer(text)]
    assert offenders == [], "use the console_script fixture of tests/conftest.py instead"
