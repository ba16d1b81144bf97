"""The code of the Lambda function the stack pipelines invoke, as a deterministic zip.

The function's code is the ``review`` package (decision 9: everything that runs inside AWS is this
package's tested code). ``changegate deploy`` uploads the zip to the staging bucket before it
creates the bootstrap change set, under a key that is the hash of the zip's content: the template
names that key, so a change to the code is a change to the template (and ``generate --check``
sees it), and an unchanged code never makes CloudFormation update the function.

No AWS here: the generator builds the bytes and the key; ``changegate deploy`` uploads them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from generator.zipfiles import Archive, build_archive

FUNCTION_PACKAGE = "review"
FUNCTION_KEY_PREFIX = "changegate/functions/"


def _package_dir() -> Path:
    spec = importlib.util.find_spec(FUNCTION_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {FUNCTION_PACKAGE!r} package is not installed with changegate")
    return Path(next(iter(spec.submodule_search_locations)))


def function_entries() -> dict[str, bytes]:
    """``review/<module>.py`` -> bytes, for every module of the package (no caches, no data)."""
    root = _package_dir()
    return {f"{FUNCTION_PACKAGE}/{path.relative_to(root).as_posix()}": path.read_bytes()
            for path in sorted(root.rglob("*.py")) if "__pycache__" not in path.parts}


def function_archive() -> Archive:
    return build_archive(function_entries())


def function_code_key(archive: Archive) -> str:
    """The staging-bucket key of the function code: content-addressed."""
    return f"{FUNCTION_KEY_PREFIX}{archive.sha256}.zip"
