"""Owners name more stateful types (issue 11 item 4, "risk tiers, configured by owners"):
``review.stateful_types`` in defaults or per stack, carried to the Review action, judged by the same
rule as the built-in list (removing or replacing one is high risk: tests/review/test_assess.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from test_config import BASE, problems_of, write_config

from generator.bootstrap import pipeline
from generator.contract.config import load_config
from generator.contract.validate import validate_repository
from review import steps

REPO = Path(__file__).resolve().parents[2]
ATLAS = "MongoDB::Atlas::Cluster"


def test_defaults_and_a_stack_name_their_stateful_types(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, BASE + (
        f"defaults:\n  review:\n    stateful_types: [{ATLAS}]\n"
        "stacks:\n  database:\n    review:\n      stateful_types: [Acme::Data::Store::MODULE]\n"
        "  network:\n    review:\n      stateful_types: []\n")))
    assert config.settings_for("service").stateful_types == (ATLAS,)
    assert config.settings_for("database").stateful_types == ("Acme::Data::Store::MODULE",)
    assert config.settings_for("network").stateful_types == ()  # a stack may clear the defaults


def test_a_type_that_is_not_a_type_name_is_an_error_naming_the_key(tmp_path: Path) -> None:
    [problem] = problems_of(write_config(tmp_path, BASE + (
        "stacks:\n  database:\n    review:\n      stateful_types: [rds-instance]\n")))
    assert problem.key == "stacks.database.review.stateful_types.0"
    assert problem.message == "stacks.database.review.stateful_types.0: 'rds-instance' is not valid"
    assert problem.hint.startswith("a resource type name, Organization::Service::Resource")


def test_the_review_action_carries_them_only_when_there_are_any() -> None:
    stack = validate_repository(REPO, lint=False).stacks["network"]
    assert "StatefulTypes" not in json.loads(pipeline.review_parameters("acme", stack))
    settings = dataclasses.replace(stack.settings, stateful_types=(ATLAS,))
    named = dataclasses.replace(stack, settings=settings)
    parameters = json.loads(pipeline.review_parameters("acme", named))
    assert parameters["StatefulTypes"] == [ATLAS]
    assert steps.stateful_types(parameters) == frozenset({ATLAS})


def test_changegate_changes_judges_with_the_types_the_pipelines_review_was_given() -> None:
    from changegate.reviewed import _stateful_types

    parameters = {"Step": "review", "StatefulTypes": [ATLAS]}
    detail = {"pipelineExecutionId": "e1", "stageName": "Change", "actionName": "Review",
              "input": {"resolvedConfiguration": {"UserParameters": json.dumps(parameters)}}}
    assert _stateful_types([detail], "e1") == frozenset({ATLAS})
    assert _stateful_types([detail], "e2") == frozenset()  # another execution's review
    assert _stateful_types([], "e1") == frozenset()


def test_more_type_names_than_the_review_action_can_carry_is_an_error(tmp_path: Path) -> None:
    names = ", ".join(f"Acme{i}::{'S' * 40}::{'R' * 40}" for i in range(10))  # 10 x 92 characters
    [problem] = problems_of(write_config(tmp_path, BASE + (
        f"stacks:\n  database:\n    review:\n      stateful_types: [{names}]\n")))
    assert problem.check == "config-stateful-types" and problem.key == "stacks.database.review.stateful_types"
    assert "over 500" in problem.message and "1,000 characters" in problem.message


def test_the_longest_allowed_list_fits_the_review_actions_1000_characters() -> None:
    from generator import naming
    from generator.contract.config import MAX_STATEFUL_TYPES_CHARS

    stack = validate_repository(REPO, lint=False).stacks["network"]
    settings = dataclasses.replace(stack.settings, drift_detect=False, drift_timeout_seconds=3600)
    longest = dataclasses.replace(stack, stack_name="S" * naming.MAX_STACK_NAME,
                                  pipeline_name="P" * naming.MAX_PIPELINE_NAME, settings=settings)
    without = pipeline.review_parameters("p" * 20, longest)
    # a list whose JSON is exactly the allowed size
    one = "A::B::" + "C" * (MAX_STATEFUL_TYPES_CHARS - len('["A::B::"]'))
    full = dataclasses.replace(longest, settings=dataclasses.replace(settings, stateful_types=(one,)))
    text = pipeline.review_parameters("p" * 20, full).replace(naming.EXECUTION_ID_VARIABLE,
                                                              "f" * naming.EXECUTION_ID_LENGTH)
    assert len(json.dumps([one], separators=(",", ":"))) == MAX_STATEFUL_TYPES_CHARS
    assert len(without) < len(text) <= 1000
