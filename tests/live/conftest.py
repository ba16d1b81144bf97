"""tests/live/ is collected only when a sandbox account is named; otherwise pytest ignores it.

Ignored, not skipped: a default run's report shows only the tests that ran, with no "skipped"
or "deselected" line (setup.cfg's [tool:pytest] comment says why). ``cglive`` (the harness)
is importable through setup.cfg's ``pythonpath``; its own tests are in tests/live_harness/ and
run in every default run.
"""

from __future__ import annotations

from pathlib import Path

from cglive.settings import enabled

HERE = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    if not enabled() and HERE in (collection_path.resolve(), *collection_path.resolve().parents):
        return True
    return None
