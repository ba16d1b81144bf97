"""The generated Change stage and steps role for drift detection and the commit's author (issue 11, items 1
and 4): the Review action carries each stack's ``review.drift`` settings, CheckChangeSet the commit's
author as plain text after a marker, and the steps role the drift APIs on the managed stacks only."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest
from troposphere import Template

from generator import naming
from generator.bootstrap import function, iam, pipeline
from generator.bootstrap.template import render_template
from generator.contract.validate import validate_repository
from review import steps

REPO = Path(__file__).resolve().parents[2]
MANAGED_STACKS = ["arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/acme-*/*"]


def _change_stages(root: Path) -> dict[str, dict]:
    doc = json.loads(render_template(root))
    found = {}
    for resource in doc["Resources"].values():
        name = resource["Properties"].get("Name", "")
        if resource["Type"] == "AWS::CodePipeline::Pipeline" and not name.endswith("-sync"):
            actions = resource["Properties"]["Stages"][1]["Actions"]
            found[name.split("-", 1)[1]] = {a["Name"]: a for a in actions}
    return found


def _parameters(action: dict) -> dict:
    return json.loads(action["Configuration"]["UserParameters"])


def test_every_review_detects_drift_for_300_seconds_by_default() -> None:
    for folder, actions in _change_stages(REPO).items():
        parameters = _parameters(actions[naming.REVIEW_ACTION])
        # the step's defaults, so the template does not repeat them for every stack
        assert "DriftDetect" not in parameters and "DriftTimeout" not in parameters, folder
        assert steps._drift_settings(parameters) == (True, 300)


def test_a_stack_can_turn_detection_off_and_change_its_deadline(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "stacks", root / "stacks")
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    config = root / "pipelines/config.yaml"
    text = config.read_text("utf-8")
    assert "\n  alarms:\n" in text
    text = text.replace("\n  alarms:\n", "\n  alarms:\n    review: {drift: {detect: false}}\n", 1)
    text = text.replace("\n  approvals: risk\n",
                        "\n  approvals: risk\n  review: {drift: {timeout_seconds: 90}}\n", 1)
    config.write_text(text, "utf-8")
    stages = _change_stages(root)
    assert _parameters(stages["alarms"][naming.REVIEW_ACTION])["DriftDetect"] is False
    assert _parameters(stages["network"][naming.REVIEW_ACTION])["DriftTimeout"] == 90


def test_the_check_carries_the_commit_author_last_after_the_marker_the_step_reads() -> None:
    assert pipeline.AUTHOR_MARKER == steps.AUTHOR_MARKER
    for folder, actions in _change_stages(REPO).items():
        text = actions[naming.CHECK_ACTION]["Configuration"]["UserParameters"]
        assert text.endswith(f'{steps.AUTHOR_MARKER}#{{variables.CommitAuthor}}"}}'), folder
        assert text.count(steps.AUTHOR_MARKER) == 1


def test_the_check_fits_1000_characters_with_the_longest_names_and_an_author_full_of_quotes() -> None:
    """ActionConfigurationValue: "Maximum length of 1000" (CodePipeline API reference); the sync caps
    the author at naming.PIPELINE_VARIABLE_MAX_LENGTHS["CommitAuthor"]."""
    project = "p" * 20
    stack = validate_repository(REPO, lint=False).stacks["network"]
    longest = dataclasses.replace(stack, stack_name="S" * naming.MAX_STACK_NAME,
                                  pipeline_name="P" * naming.MAX_PIPELINE_NAME)
    text = pipeline.check_parameters(project, longest)
    execution = "f" * naming.EXECUTION_ID_LENGTH
    change_set = naming.change_set_name_for(project, execution)
    outputs = {"ChangeSetId": ("arn:aws-us-gov:cloudformation:ap-southeast-5:123456789012:changeSet/"
                               f"{change_set}/{execution}"),
               "StackStatus": "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
               "StackUpdated": "2026-12-02T06:00:00.123456+00:00", "RiskTier": "medium"}
    cap = naming.PIPELINE_VARIABLE_MAX_LENGTHS["CommitAuthor"]
    author = ('"Ada" \\ Lovelace ' * 10)[:cap - 20] + " <ada@example.com>"
    assert len(author) <= cap
    resolved = re.sub(r"#\{Review\.([A-Za-z]+)\}", lambda m: outputs[m.group(1)],
                      text.replace(naming.EXECUTION_ID_VARIABLE, execution)
                      .replace("#{variables.CommitAuthor}", author))
    assert "#{" not in resolved
    assert len(resolved) <= pipeline.MAX_CONFIGURATION_VALUE
    assert pipeline.resolved_length(text, project) >= len(resolved)
    event = {"CodePipeline.job": {"id": "job", "data": {
        "actionConfiguration": {"configuration": {"UserParameters": resolved}}}}}
    parameters = steps._parameters(event)
    assert parameters["CommitAuthor"] == author
    assert parameters["StackName"] == "S" * naming.MAX_STACK_NAME


def _role(read_policies: tuple[str, ...] = ()) -> dict:
    stack_arns = iam.managed_stack_arns("acme", ["acme-network"])
    template = Template()
    template.add_resource(function.function_role("acme", stack_arns, read_policies))
    return json.loads(template.to_json())["Resources"]


def _allowed(resource: dict) -> dict[str, list]:
    found: dict[str, list] = {}
    for policy in resource["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Allow":
                for action in statement["Action"]:
                    found.setdefault(action, []).extend(
                        r["Fn::Sub"] if isinstance(r, dict) else r for r in statement["Resource"])
    return found


def test_the_steps_role_may_detect_drift_of_the_managed_stacks_only() -> None:
    [role] = _role().values()
    allowed = _allowed(role)
    for action in ("cloudformation:DetectStackDrift", "cloudformation:DetectStackResourceDrift",
                   "cloudformation:DescribeStackResourceDrifts"):
        assert allowed[action] == MANAGED_STACKS, action
    # the only drift call without a resource type (cfn-lint's IAM data): it names a detection id
    assert allowed["cloudformation:DescribeStackDriftDetectionStatus"] == ["*"]
    assert "ManagedPolicyArns" not in role["Properties"]  # no resource read rights by default


def test_read_policies_are_attached_to_the_steps_role_as_written() -> None:
    [role] = _role(("arn:aws:iam::aws:policy/ReadOnlyAccess",)).values()
    assert role["Properties"]["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]


@pytest.mark.parametrize("timeout", [True, "300", 0])
def test_the_step_refuses_drift_settings_the_generator_never_writes(timeout) -> None:
    with pytest.raises(steps.StepError, match="DriftTimeout"):
        steps._drift_settings({"DriftDetect": True, "DriftTimeout": timeout})
