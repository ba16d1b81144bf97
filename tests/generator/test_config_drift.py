"""pipelines/config.yaml ``review.drift`` (drift detection before the approval) and the warning for
deployment windows that can stay closed longer than WaitForWindow may wait (issue 11, items 1 and 5)."""

from __future__ import annotations

from pathlib import Path

from test_config import BASE, problems_of, write_config

from generator.contract.config import (
    DEFAULT_DRIFT_TIMEOUT_SECONDS,
    StackSettings,
    check_overrides,
    load_config,
)


def test_drift_detection_is_on_by_default_for_300_seconds_reading_nothing_more(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, BASE))
    assert config.defaults.drift_detect is True
    assert config.defaults.drift_timeout_seconds == DEFAULT_DRIFT_TIMEOUT_SECONDS == 300
    assert config.drift_read_policies == ()
    assert StackSettings().drift_detect is True


def test_defaults_and_stacks_set_detection_and_its_deadline(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, BASE + (
        "defaults:\n"
        "  review:\n"
        "    drift:\n"
        "      timeout_seconds: 120\n"
        "      read_policies:\n"
        "        - arn:aws:iam::aws:policy/ReadOnlyAccess\n"
        "        - arn:aws:iam::123456789012:policy/ops/read\n"
        "stacks:\n"
        "  legacy:\n"
        "    review: {drift: {detect: false}}\n"
        "  database:\n"
        "    review: {drift: {timeout_seconds: 600}}\n")))
    assert config.drift_read_policies == ("arn:aws:iam::aws:policy/ReadOnlyAccess",
                                          "arn:aws:iam::123456789012:policy/ops/read")
    assert (config.defaults.drift_detect, config.defaults.drift_timeout_seconds) == (True, 120)
    legacy, database = config.settings_for("legacy"), config.settings_for("database")
    assert (legacy.drift_detect, legacy.drift_timeout_seconds) == (False, 120)  # the deadline inherited
    assert (database.drift_detect, database.drift_timeout_seconds) == (True, 600)


def test_a_read_policy_that_is_not_a_managed_policy_arn_is_refused_naming_it(tmp_path: Path) -> None:
    [problem] = problems_of(write_config(tmp_path, BASE + (
        "defaults:\n  review:\n    drift:\n      read_policies:\n"
        "        - arn:aws:iam::aws:policy/ReadOnlyAccess\n"
        "        - ReadOnlyAccess\n")))
    assert problem.check == "config-drift-read-policy"
    assert problem.key == "defaults.review.drift.read_policies[1]"
    assert problem.message == ("defaults.review.drift.read_policies[1]: 'ReadOnlyAccess' is not a managed "
                               "policy ARN")
    assert "arn:aws:iam::aws:policy/ReadOnlyAccess" in problem.hint
    assert problem.line == 9  # the entry's own line


def test_read_policies_belong_to_defaults_only_the_role_is_shared(tmp_path: Path) -> None:
    [problem] = problems_of(write_config(tmp_path, BASE + (
        "stacks:\n  database:\n"
        "    review: {drift: {read_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]}}\n")))
    assert problem.key == "stacks.database.review.drift.read_policies"
    assert "unknown key 'read_policies'" in problem.message and "detect, timeout_seconds" in problem.message


def test_the_deadline_stays_within_minutes(tmp_path: Path) -> None:
    text = BASE + "defaults:\n  review: {drift: {timeout_seconds: 86400}}\n"
    [problem] = problems_of(write_config(tmp_path, text))
    assert problem.key == "defaults.review.drift.timeout_seconds" and "3600" in problem.message


# ---- windows that stay closed longer than a day ----

def test_a_weekday_window_does_not_warn_three_waits_cover_the_weekend(tmp_path: Path) -> None:
    # closed Friday 17:00 to Monday 09:00, 64 hours: the generator chains three WaitForWindow actions
    # (tests/generator/test_settings_pipeline.py), so a Friday-evening approval waits for Monday
    root = write_config(tmp_path, BASE + (
        "stacks:\n  database:\n    deployment_window: {cron: '* * 9-16 ? * MON-FRI'}\n"))
    assert check_overrides(load_config(root), ["database"]) == []


def test_a_window_closed_longer_than_every_wait_together_warns(tmp_path: Path) -> None:
    root = write_config(tmp_path, BASE + (
        "stacks:\n  database:\n    deployment_window: {cron: '* * 9-16 1 * ?'}\n"))
    config = load_config(root)
    [warning] = check_overrides(config, ["database"])
    assert not warning.is_error and warning.check == "config-window-gap"
    assert warning.file == "pipelines/config.yaml" and warning.key == "stacks.database.deployment_window"
    assert warning.message.startswith(
        "stacks.database.deployment_window: '* * 9-16 1 * ?' (UTC) can stay closed ")
    assert warning.message.endswith(
        ": longer than the 8 WaitForWindow actions wait together (188 hours), so a change approved then "
        "fails unexecuted and runs only when someone retries the Change stage's failed actions")
    assert "ends a Lambda action after 24 hours" in warning.hint


def test_a_daily_window_and_no_window_do_not_warn(tmp_path: Path) -> None:
    root = write_config(tmp_path, BASE + (
        "defaults:\n  deployment_window: {cron: '* * 9-16 ? * *'}\n"
        "stacks:\n  alarms:\n    deployment_window: null\n"))
    assert check_overrides(load_config(root), ["alarms", "network"]) == []


def test_the_defaults_window_warns_once_under_defaults(tmp_path: Path) -> None:
    root = write_config(tmp_path, BASE + (
        "defaults:\n  deployment_window: {cron: '* * 2 ? * SUN', time_zone: Europe/Berlin}\n"
        "stacks:\n  alarms:\n    approvals: always\n"))
    [warning] = check_overrides(load_config(root), ["alarms"])
    assert warning.key == "defaults.deployment_window"
    # Weekly, but on the last Sunday of March Berlin's clocks skip 02:00-02:59: two weeks closed.
    assert "can stay closed 334 hours (Sun 03:00 to Sun 02:00)" in warning.message


def test_a_window_that_never_opens_again_says_so(tmp_path: Path) -> None:
    text = BASE + "stacks:\n  old:\n    deployment_window: {cron: '* * * ? * * 2025'}\n"
    root = write_config(tmp_path, text)
    [warning] = check_overrides(load_config(root), ["old"])
    assert "can stay closed a year or more" in warning.message


def test_a_disabled_stack_window_does_not_warn(tmp_path: Path) -> None:
    root = write_config(tmp_path, BASE + (
        "stacks:\n  old:\n    disabled: true\n    deployment_window: {cron: '* * 9 ? * MON'}\n"))
    assert check_overrides(load_config(root), ["old"]) == []


def test_the_read_policies_reach_the_steps_role_and_nothing_else() -> None:
    import dataclasses
    import json

    from generator import logical_ids
    from generator.bootstrap.template import build_template, template_json
    from generator.contract.validate import validate_repository

    report = validate_repository(Path(__file__).resolve().parents[2], lint=False)
    policies = ("arn:aws:iam::aws:policy/ReadOnlyAccess",)
    config = dataclasses.replace(report.config, drift_read_policies=policies)
    doc = json.loads(template_json(build_template(config, report.stacks)))
    attached = {name: r["Properties"]["ManagedPolicyArns"] for name, r in doc["Resources"].items()
                if r["Type"] == "AWS::IAM::Role" and "ManagedPolicyArns" in r["Properties"]}
    assert attached[logical_ids.STACK_POLICY_ROLE] == list(policies)
    # the execution role keeps the owners' own managed policies; no other role gets the read policies
    assert [name for name, arns in attached.items() if set(policies) & set(arns)] == [
        logical_ids.STACK_POLICY_ROLE]
