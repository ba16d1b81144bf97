"""Accuracy on pairs of templates whose outcome the AWS documentation states (issue 12).

The thresholds are the issue's: never ``False`` where AWS documents a replacement, no
unchanged resource reported as modified, and at least 85% of resources exactly right
(action, and replacement for modified ones).
"""

from __future__ import annotations

import pytest

from preview.engine import compare_templates
from tests.preview.accuracy_cases import CASES, Case


def _outcome(case: Case) -> dict:
    changes = compare_templates(case.old, case.new, case.old_parameters, case.new_parameters)
    return {lid: (c.action, c.replacement) for lid, c in changes.items()}


def test_there_are_at_least_30_documented_cases():
    assert len(CASES) >= 30
    assert all(case.doc.startswith("https://docs.aws.amazon.com/") for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_documented_outcome(case: Case):
    got = _outcome(case)
    for logical_id, expected in case.expected.items():
        assert got.get(logical_id) == expected, f"{case.name}: see {case.doc}"
    assert set(got) <= set(case.expected), f"unexpected changes: {set(got) - set(case.expected)}"


def test_score_meets_the_issue_thresholds():
    right = total = 0
    false_negatives, phantom_modifications = [], []
    for case in CASES:
        got = _outcome(case)
        for logical_id, expected in case.expected.items():
            total += 1
            actual = got.get(logical_id)
            right += actual == expected
            if expected == ("Modify", "True") and actual == ("Modify", "False"):
                false_negatives.append((case.name, logical_id))
            if expected is None and actual is not None:
                phantom_modifications.append((case.name, logical_id))
    assert false_negatives == []
    assert phantom_modifications == []
    assert right / total >= 0.85, f"{right}/{total}"
