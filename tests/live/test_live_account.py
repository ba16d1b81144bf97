"""The live acceptance suite: one test per question of ../shared/notes/aws-fidelity.md section 2.

Runs only with CHANGEGATE_LIVE_PROFILE and CHANGEGATE_LIVE_REGION set (tests/live/conftest.py).
One session deploys a throwaway project, answers every question, writes the report
(CHANGEGATE_LIVE_OUTPUT, default ./live-report: report.md, report.json, the ledger) and deletes
everything it created before the first test below reads its answer.
"""

from __future__ import annotations

import pytest
from cglive import probes
from cglive.report import MANUAL, PASS
from cglive.run import run_from_settings
from cglive.settings import from_environment

pytestmark = pytest.mark.live


@pytest.fixture(scope="session")
def live_run():
    return run_from_settings(from_environment())


@pytest.mark.parametrize("question", [q[0] for q in probes.ALL])
def test_aws_answers_as_the_code_assumes(live_run, question):
    run, _ = live_run
    result = run.results[question]
    assert result.outcome in (PASS, MANUAL), (
        f"{result.id} ({result.finding}) {result.question}\n  expected: {result.expected}\n"
        f"  observed: {result.observed}\n  outcome: {result.outcome}\n{result.details}")


def test_everything_created_was_deleted(live_run):
    run, cleanup = live_run
    left = run.ledger.pending()
    assert cleanup.ok and not left, (
        "left behind: " + ", ".join(f"{e.kind} {e.name}" for e in left)
        + "\n  finish with: PYTHONPATH=tests/live .venv/bin/python -m cglive --cleanup "
        + str(run.ledger.path)
        + "\n  " + "; ".join(f"{e.kind} {e.name}: {why}" for e, why in cleanup.failed))
