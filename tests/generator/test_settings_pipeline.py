"""pipelines/config.yaml ``approvals`` and ``deployment_window`` reach each stack's Change stage (issue 11
items 4 and 5), and the steps the template configures read them as the owners meant."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from generator import naming
from generator.bootstrap.template import render_template
from review.steps import window_step

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pipelines() -> dict[str, dict]:
    """The example's stack pipelines by folder: {action name: action}."""
    return _pipelines(json.loads(render_template(REPO)))


def _pipelines(doc: dict) -> dict[str, dict]:
    found = {}
    for resource in doc["Resources"].values():
        name = resource["Properties"].get("Name", "")
        if resource["Type"] != "AWS::CodePipeline::Pipeline" or name.endswith("-sync"):
            continue
        stage = resource["Properties"]["Stages"][1]
        assert stage["Name"] == naming.CHANGE_STAGE
        folder = resource["Properties"]["Name"].split("-", 1)[1]
        found[folder] = {a["Name"]: a for a in stage["Actions"]}
    return found


def _parameters(action: dict) -> dict:
    return json.loads(action["Configuration"]["UserParameters"])


def test_the_database_always_needs_two_and_waits_for_its_window(pipelines: dict) -> None:
    actions = pipelines["database"]
    assert _parameters(actions[naming.WAIVE_ACTION])["Approvals"] == "always"
    assert _parameters(actions[naming.CHECK_ACTION])["Approvals"] == "always"
    # never waived, so announced like the first, saying why
    second = actions[naming.SECOND_APPROVAL_ACTION]["Configuration"]
    assert second["NotificationArn"] == actions[naming.APPROVE_ACTION]["Configuration"]["NotificationArn"]
    assert second["CustomData"] == "Second person (this stack always needs two): #{Review.Summary}"
    # closed from Friday 17:00 to Monday 09:00 (64 hours): three waits of at most 23 h 30 min each,
    # one after another, cover the weekend; the last one fails if the window is still closed
    waits = ["WaitForWindow", "WaitForWindow2", "WaitForWindow3"]
    assert [name for name in actions if name.startswith(naming.WINDOW_ACTION)] == waits
    for k, name in enumerate(waits, start=1):
        assert _parameters(actions[name]) == {"Step": "window", "Cron": "* * 9-16 ? * MON-FRI",
                                              "TimeZone": "Europe/Dublin", "Wait": f"{k}/3"}
    # after both approvals and the waiver, in a row, before the stale guard and everything after it
    order = {name: action["RunOrder"] for name, action in actions.items()}
    assert order[naming.APPROVE_ACTION] == order[naming.SECOND_APPROVAL_ACTION] == order[naming.WAIVE_ACTION]
    assert [order[name] for name in waits] == [order[naming.WAIVE_ACTION] + k for k in (1, 2, 3)]
    assert order["WaitForWindow3"] + 1 == order[naming.CHECK_ACTION] < order[naming.EXECUTE_ACTION]


@pytest.mark.parametrize("folder", ["network", "service", "alarms"])
def test_the_other_stacks_need_two_only_for_high_risk_and_never_wait(pipelines: dict, folder: str) -> None:
    actions = pipelines[folder]
    assert _parameters(actions[naming.WAIVE_ACTION])["Approvals"] == "risk"
    assert _parameters(actions[naming.CHECK_ACTION])["Approvals"] == "risk"
    assert naming.WINDOW_ACTION not in actions
    assert list(actions) == list(naming.CHANGE_ACTIONS)
    second = actions[naming.SECOND_APPROVAL_ACTION]["Configuration"]
    assert "NotificationArn" not in second
    assert second["CustomData"] == "Second person for high risk: #{Review.Summary}"


def test_the_waiver_leaves_a_low_risk_database_change_to_a_second_person(pipelines: dict) -> None:
    """The waiver's parameters as CodePipeline resolves them for a tag-only (low) change: with
    ``always`` the step returns before it looks for the approval (no client is touched)."""
    from review.steps import waive_step

    parameters = _parameters(pipelines["database"][naming.WAIVE_ACTION])
    parameters |= {"RiskTier": "low", "ExecutionId": "0b5c2cf3-0000-4000-8000-000000000000"}
    result = waive_step(parameters, codepipeline=None, continuation=None)
    assert result.message == "the stack requires two approvals: SecondApproval needs a second person"
    assert result.continuation is None


@pytest.mark.parametrize(("moment", "inside"), [
    (dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc), True),     # Monday 09:00 in Dublin (GMT)
    (dt.datetime(2026, 1, 5, 16, 59, tzinfo=dt.timezone.utc), True),   # Monday 16:59
    (dt.datetime(2026, 1, 5, 17, 0, tzinfo=dt.timezone.utc), False),   # Monday 17:00: closed
    (dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.timezone.utc), False),  # Saturday noon
    (dt.datetime(2026, 6, 1, 8, 30, tzinfo=dt.timezone.utc), True),    # Monday 09:30 Irish summer time
    (dt.datetime(2026, 6, 1, 16, 30, tzinfo=dt.timezone.utc), False),  # Monday 17:30 Irish summer time
])
def test_the_database_window_opens_on_weekdays_in_dublin(pipelines: dict, moment: dt.datetime,
                                                          inside: bool) -> None:
    result = window_step(_parameters(pipelines["database"][naming.WINDOW_ACTION]), now=moment)
    assert (result.continuation is None) is inside, result.message


def test_a_default_window_applies_to_every_stack_but_one_set_to_null(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "stacks", root / "stacks")
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    config = root / "pipelines/config.yaml"
    text = config.read_text("utf-8")
    assert "\n  approvals: risk\n" in text  # the example's defaults
    text = text.replace("\n  approvals: risk\n",
                        '\n  approvals: always\n  deployment_window: {cron: "* * 22-23 ? * *"}\n', 1)
    text = text.replace("\n  alarms:\n", "\n  alarms:\n    deployment_window: null\n    approvals: risk\n", 1)
    config.write_text(text, "utf-8")
    pipelines = _pipelines(json.loads(render_template(root)))
    assert _parameters(pipelines["network"][naming.WINDOW_ACTION]) == {
        "Step": "window", "Cron": "* * 22-23 ? * *", "TimeZone": "UTC"}
    assert _parameters(pipelines["network"][naming.CHECK_ACTION])["Approvals"] == "always"
    assert _parameters(pipelines["database"][naming.WINDOW_ACTION])["TimeZone"] == "Europe/Dublin"
    assert naming.WINDOW_ACTION not in pipelines["alarms"]
    assert _parameters(pipelines["alarms"][naming.CHECK_ACTION])["Approvals"] == "risk"
