"""pipelines/config.yaml: JSON Schema validation, frozen dataclasses with explicit defaults."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jsonschema
import pytest

from generator.contract.config import (
    DEFAULT_APPROVAL_TIMEOUT_MINUTES,
    DEFAULT_EXECUTION_POLICY_ARNS,
    DeploymentWindow,
    StackSettings,
    check_overrides,
    config_schema,
    load_config,
    schema_path,
)
from generator.errors import ConfigError

BASE = "project: demo\nrepository:\n  name: acme/infrastructure\n"


def write_config(root: Path, text: str, **files: str) -> Path:
    (root / "pipelines").mkdir(parents=True, exist_ok=True)
    (root / "pipelines/config.yaml").write_text(text, encoding="utf-8")
    for relpath, content in files.items():
        path = root / "pipelines" / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


def problems_of(root: Path) -> list:
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    assert caught.value.exit_code == 2
    return list(caught.value.problems)


# ---- the schema --------------------------------------------------------------------------

def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(config_schema())
    assert schema_path().is_file()


def _objects(node):
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def test_every_object_in_the_schema_refuses_unknown_keys():
    for obj in _objects(config_schema()):
        extra = obj.get("additionalProperties")
        assert extra is False or isinstance(extra, dict), obj


def test_example_config_validates_against_the_schema(example_root):
    import yaml

    data = yaml.safe_load((example_root / "pipelines/config.yaml").read_text("utf-8"))
    jsonschema.Draft202012Validator(config_schema()).validate(data)


# ---- loading --------------------------------------------------------------------------------

def test_minimal_config_gets_explicit_defaults(tmp_path):
    config = load_config(write_config(tmp_path, BASE))
    assert config.project == "demo"
    assert config.path == tmp_path / "pipelines/config.yaml"
    assert config.repository.name == "acme/infrastructure"
    assert config.repository.branch == "main"
    assert config.repository.connection_arn is None  # "create"
    assert config.notifications.emails == ()
    assert config.notifications.topic_arn is None
    assert config.approvers == ()
    assert config.execution_policy_arns == DEFAULT_EXECUTION_POLICY_ARNS
    assert config.sync_compute == "lambda"
    assert config.defaults == StackSettings()
    assert config.defaults.termination_protection is True
    assert config.defaults.approval_timeout_minutes == DEFAULT_APPROVAL_TIMEOUT_MINUTES
    assert dict(config.overrides) == {}


def test_the_model_is_frozen(tmp_path):
    config = load_config(write_config(tmp_path, BASE))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.project = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.defaults.termination_protection = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.overrides["x"] = StackSettings()  # type: ignore[index]


def test_example_config_loads(example_root):
    config = load_config(example_root)
    assert config.project == "acme"
    assert config.notifications.emails == ("platform-approvers@example.com",)
    assert config.defaults.approval_timeout_minutes == 4320
    database = config.settings_for("database")
    assert database.stack_policy == (example_root / "pipelines/policies/database.json").resolve()
    assert config.settings_for("service").capabilities == ("CAPABILITY_IAM",)
    alarms = config.settings_for("alarms")
    assert alarms.approval_timeout_minutes == 1440
    assert alarms.termination_protection is True  # inherited from defaults
    assert config.settings_for("network") == config.defaults


def test_overrides_inherit_defaults_and_sorted_lists(tmp_path):
    arn = "arn:aws:codeconnections:eu-west-1:111122223333:connection/0123abcd-0123-4567-89ab-0123456789ab"
    config = load_config(write_config(tmp_path, BASE + f"""\
  branch: release
  connection_arn: {arn}
notifications:
  emails: [zed@example.com, amy@example.com]
approvers:
  - arn:aws:iam::111122223333:role/B
  - arn:aws:iam::111122223333:group/A
sync:
  compute: container
defaults:
  capabilities: [CAPABILITY_IAM]
  termination_protection: false
stacks:
  app:
    approval_timeout_minutes: 60
    stack_name: LegacyApp
    disabled: true
"""))
    assert config.repository.branch == "release"
    assert config.repository.connection_arn == arn
    assert config.notifications.emails == ("amy@example.com", "zed@example.com")
    assert config.approvers[0].endswith("group/A")
    assert config.sync_compute == "container"
    app = config.settings_for("app")
    assert app == StackSettings(capabilities=("CAPABILITY_IAM",), termination_protection=False,
                                approval_timeout_minutes=60, disabled=True, stack_name="LegacyApp")
    assert config.settings_for("other").disabled is False


def test_stack_policy_under_pipelines_is_resolved(tmp_path):
    root = write_config(tmp_path, BASE + "stacks:\n  app:\n    stack_policy: policies/app.json\n",
                        **{"policies/app.json": '{"Statement": [{"Effect": "Deny"}]}'})
    assert load_config(root).settings_for("app").stack_policy == \
        (tmp_path / "pipelines/policies/app.json").resolve()


def test_stack_policy_without_statement_list(tmp_path):
    root = write_config(tmp_path, BASE + "stacks:\n  app:\n    stack_policy: p.json\n",
                        **{"p.json": '{"Statement": {}}'})
    (problem,) = problems_of(root)
    assert problem.check == "config-stack-policy"
    assert "has no Statement list" in problem.message


def test_stack_policy_absolute_path_is_outside(tmp_path):
    (tmp_path / "abs.json").write_text('{"Statement": []}', encoding="utf-8")
    root = write_config(tmp_path / "repo", BASE + f"stacks:\n  app:\n    stack_policy: {tmp_path}/abs.json\n")
    (problem,) = problems_of(root)
    assert (problem.check, problem.key) == ("config-stack-policy", "stacks.app.stack_policy")
    assert "outside pipelines/" in problem.message


def test_reserved_stack_override(tmp_path):
    (problem,) = problems_of(write_config(tmp_path, BASE + "stacks:\n  sync: {}\n"))
    assert (problem.check, problem.key) == ("config-reserved-stack", "stacks.sync")


# ---- problems ---------------------------------------------------------------------------------

def test_missing_file_is_a_config_error_with_a_hint(tmp_path):
    with pytest.raises(ConfigError, match=r"pipelines/config\.yaml: not found") as caught:
        load_config(tmp_path)
    assert caught.value.exit_code == 2
    assert "--root" in str(caught.value)


def test_every_schema_problem_is_reported_at_once(tmp_path):
    problems = problems_of(write_config(tmp_path, """\
project: demo
repository:
  name: not a repo
  colour: blue
approvers: [someone]
defaults:
  approval_timeout_minutes: 2
  capabilities: [CAPABILITY_ALL]
"""))
    got = {(p.key, p.line) for p in problems}
    assert got == {("repository.name", 3), ("repository.colour", 4), ("approvers.0", 5),
                   ("defaults.approval_timeout_minutes", 7), ("defaults.capabilities.0", 8)}
    assert all(p.check == "config-schema" and p.file == "pipelines/config.yaml" for p in problems)
    colour = next(p for p in problems if p.key == "repository.colour")
    assert "valid keys: branch, connection_arn, name" in colour.message


def test_unknown_keys_each_get_their_own_problem_and_suggestion(tmp_path):
    problems = problems_of(write_config(tmp_path, BASE + "aprovers: []\nnotifcations: {}\nzzz: 1\n"))
    hints = {p.key: (p.line, p.hint) for p in problems}
    assert hints == {"aprovers": (4, "did you mean 'approvers'?"),
                     "notifcations": (5, "did you mean 'notifications'?"),
                     "zzz": (6, "remove the key")}


def test_type_error_names_expected_and_got(tmp_path):
    (problem,) = problems_of(write_config(tmp_path, BASE + "defaults:\n  termination_protection: 'no'\n"))
    assert problem.message == "defaults.termination_protection: expected boolean, got string 'no'"


def test_non_string_keys_are_reported_not_crashed_on(tmp_path):
    problems = problems_of(write_config(tmp_path, BASE + "true: 1\nstacks:\n  2: {}\n"))
    assert {(p.check, p.key) for p in problems} == {("config-schema", "True"), ("config-schema", "stacks.2")}


def test_check_overrides(tmp_path):
    config = load_config(write_config(tmp_path, BASE + "stacks:\n  network: {}\n  netwrok: {}\n"))
    check_overrides(config, ["network", "netwrok", "other"])  # all known: no error
    with pytest.raises(ConfigError) as caught:
        check_overrides(config, ["network"])
    (problem,) = caught.value.problems
    assert (problem.check, problem.key, problem.hint) == \
        ("config-unknown-stack", "stacks.netwrok", "did you mean 'network'?")


def test_a_disabled_entry_for_a_deleted_folder_is_a_warning(tmp_path):
    # issue 9, item 14: the README's "disable, then delete the folder" leaves this behind
    config = load_config(write_config(tmp_path, BASE + "stacks:\n  gone:\n    disabled: true\n"))
    (problem,) = check_overrides(config, ["network"])
    assert (problem.check, problem.key, problem.severity.value) == \
        ("config-stale-stack", "stacks.gone", "warning")
    config = load_config(write_config(tmp_path, BASE + "stacks:\n  gone: {}\n"))
    with pytest.raises(ConfigError) as caught:
        check_overrides(config, ["network"])
    (problem,) = caught.value.problems
    assert "stacks.gone.disabled: true" in problem.hint


APPROVER = "arn:aws:iam::{}:role/Approvers"


@pytest.mark.parametrize(("extra", "expected"), [
    ("", None),
    (f"approvers:\n  - {APPROVER.format('111122223333')}\n", "111122223333"),
    ("account_id: '444455556666'\n", "444455556666"),
])
def test_the_deploying_account_is_what_the_file_says(tmp_path, extra, expected):
    assert load_config(write_config(tmp_path, BASE + extra)).deploying_account() == expected


def test_approvers_of_two_accounts_without_account_id_are_refused(tmp_path):
    text = (BASE + f"approvers:\n  - {APPROVER.format('111122223333')}\n"
            f"  - {APPROVER.format('222233334444')}\n")
    (problem,) = problems_of(write_config(tmp_path, text))
    # a tie: the first account (by sorted ARN) is taken as the deploying one, the other is named
    assert (problem.check, problem.key) == ("config-foreign-account", "approvers[1]")
    assert "222233334444" in problem.message and "same-named principal" in problem.message


@pytest.mark.parametrize(("project", "fragment"), [
    ("acme-prod", "holds a hyphen"), ("acme\n", "holds a line break"), ("amazonia", "reserves"),
    ("Acme", "is not a valid project name")])
def test_project_names_generate_would_refuse_or_crash_on(tmp_path, project, fragment):
    text = BASE.replace("project: demo", f"project: {project!r}".replace("'", '"').replace("\n", "\\n"))
    (problem,) = problems_of(write_config(tmp_path, text))
    assert (problem.check, problem.key) == ("config-project-name", "project")
    assert fragment in problem.message


# ---- the gate's allow-lists (issue 10 items 1, 2) ---------------------------------------------

def test_only_aws_hosted_transforms_are_allowed_by_default(tmp_path):
    config = load_config(write_config(tmp_path, BASE))
    assert config.defaults.allowed_transforms == \
        ("AWS::LanguageExtensions", "AWS::Serverless-2016-10-31")
    assert "AWS::Include" not in config.defaults.allowed_transforms  # governed by content_sources
    assert config.content_sources == ()
    assert config.allowed_service_tokens == ()


def test_transform_allow_list_top_level_and_per_stack(tmp_path):
    config = load_config(write_config(tmp_path, BASE + """\
transforms:
  allowed: [AWS::LanguageExtensions, ReviewedMacro]
stacks:
  legacy:
    transforms:
      allowed: []
  other:
    transforms: {}
  app:
    capabilities: [CAPABILITY_IAM]
content_sources:
  allowed: [s3://shared-templates/vpc/, 111122223333.dkr.ecr.eu-west-1.amazonaws.com/base]
custom_resources:
  allowed_service_tokens: ["444455556666", "arn:aws:lambda:eu-west-1:444455556666:function:vendor"]
"""))
    assert config.defaults.allowed_transforms == ("AWS::LanguageExtensions", "ReviewedMacro")
    assert config.settings_for("app").allowed_transforms == config.defaults.allowed_transforms
    assert config.settings_for("legacy").allowed_transforms == ()  # replaces, never adds
    assert config.settings_for("other").allowed_transforms == config.defaults.allowed_transforms
    assert config.content_sources == ("s3://shared-templates/vpc/",
                                       "111122223333.dkr.ecr.eu-west-1.amazonaws.com/base")
    assert config.allowed_service_tokens[0] == "444455556666"


@pytest.mark.parametrize(("text", "key"), [
    ("transforms:\n  allowed: ['Evil Macro']\n", "transforms.allowed.0"),
    ("transforms:\n  allow: [X]\n", "transforms.allow"),
    ("content_sources:\n  allowed: [https://example.com/x]\n", "content_sources.allowed.0"),
    ("content_sources:\n  allowed: [attacker-bucket]\n", "content_sources.allowed.0"),
    ("custom_resources:\n  allowed_service_tokens: ['*']\n", "custom_resources.allowed_service_tokens.0"),
    ("custom_resources:\n  allowed_service_tokens: [arn:aws:iam::111122223333:role/x]\n",
     "custom_resources.allowed_service_tokens.0"),
    ("defaults:\n  transforms:\n    allowed: [X]\n", "defaults.transforms"),
])
def test_allow_list_entries_are_checked(tmp_path, text, key):
    problems = problems_of(write_config(tmp_path, BASE + text))
    assert [p.key for p in problems] == [key]


# ---- issue 11 items 4 and 5: approvals and deployment windows --------------------------------

def test_approvals_and_window_default_to_risk_and_none(tmp_path):
    config = load_config(write_config(tmp_path, BASE))
    assert config.defaults.approvals == "risk"
    assert config.defaults.deployment_window is None


def test_example_database_needs_two_approvals_always_inside_a_weekday_window(example_root):
    config = load_config(example_root)
    database = config.settings_for("database")
    assert database.approvals == "always"
    assert database.deployment_window == DeploymentWindow(cron="* * 9-16 ? * MON-FRI",
                                                          time_zone="Europe/Dublin")
    for other in ("network", "service", "alarms"):
        assert config.settings_for(other).approvals == "risk"
        assert config.settings_for(other).deployment_window is None


def test_window_and_approvals_inherit_override_and_null_removes_the_window(tmp_path):
    config = load_config(write_config(tmp_path, BASE + """\
defaults:
  approvals: always
  deployment_window:
    cron: "*  *  22-23 ? * SAT,SUN"
stacks:
  app:
    approval_timeout_minutes: 60
  alarms:
    approvals: risk
    deployment_window: null
  db:
    deployment_window:
      cron: "* 0/30 6-7 1-7 JAN-MAR ? 2026-2030"
      time_zone: "UTC-03:30"
"""))
    # the cron is kept as the step reads it: fields separated by one space; UTC by default
    assert config.defaults.deployment_window == DeploymentWindow("* * 22-23 ? * SAT,SUN", "UTC")
    assert config.settings_for("app").deployment_window == config.defaults.deployment_window
    assert config.settings_for("app").approvals == "always"
    assert config.settings_for("alarms").approvals == "risk"
    assert config.settings_for("alarms").deployment_window is None
    assert config.settings_for("db").deployment_window == DeploymentWindow(
        "* 0/30 6-7 1-7 JAN-MAR ? 2026-2030", "UTC-03:30")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.defaults.deployment_window.cron = "x"  # type: ignore[misc, union-attr]


def test_approvals_outside_the_choices_is_refused_naming_them(tmp_path):
    (problem,) = problems_of(write_config(tmp_path, BASE + "stacks:\n  db:\n    approvals: twice\n"))
    assert (problem.file, problem.key, problem.line) == ("pipelines/config.yaml", "stacks.db.approvals", 6)
    assert "'twice' is not one of: risk, always" in problem.message


@pytest.mark.parametrize(("cron", "reason"), [
    ("0 9-17 * * MON-FRI", "expected 6 or 7 fields"),       # a Unix cron: no seconds field
    ("5 * 9-17 ? * MON-FRI", "seconds must be * or 0"),
    ("* * 9-25 ? * MON-FRI", "25 is outside 0-23"),
    ("* * 9-17 ? * MON-FRX", "'FRX' is not a number or one of SUN"),
    ("* * 9-17 L * ?", "L, W and # are not supported"),
    ("* * 9-17 ? * 2#1", "L, W and # are not supported"),
    ("* * 17-9 ? * *", "runs backwards"),
    ("* */0 * ? * *", "the step after / must be a positive number"),
    ("* * * ? * * 1969", "1969 is outside 1970-2199"),
    # fields that one call of the step's parser at a single moment would leave unread: minute 5
    # does not match a moment at minute 0, so the hours (and the rest) were never parsed
    ("* 5 99 ? * *", "99 is outside 0-23"),
    ("* 5 * ? DECEMBER *", "'DECEMBER' is not a number"),
    ("* * * 40 * MON", "40 is outside 1-31"),
    ("* * * 2 * MONDAY", "'MONDAY' is not a number"),  # probed on day 1
])
def test_a_cron_the_window_step_cannot_read_is_refused(tmp_path, cron, reason):
    (problem,) = problems_of(write_config(tmp_path, BASE + f"""\
stacks:
  db:
    deployment_window:
      cron: "{cron}"
      time_zone: Europe/Dublin
"""))
    assert problem.check == "config-deployment-window"
    assert (problem.file, problem.key, problem.line) == (
        "pipelines/config.yaml", "stacks.db.deployment_window.cron", 7)
    assert f"stacks.db.deployment_window.cron: {cron!r} cannot be read: " in problem.message
    assert reason in problem.message
    assert "seconds minutes hours day-of-month month day-of-week [year]" in problem.hint


@pytest.mark.parametrize(("zone", "reason"), [
    ("PST", "abbreviations are ambiguous"),
    ("Mars/Olympus", "is not known"),
    ("UTC+5", "is not known"),
    ("../../etc/passwd", "is not known"),
])
def test_a_time_zone_the_window_step_cannot_read_is_refused(tmp_path, zone, reason):
    (problem,) = problems_of(write_config(tmp_path, BASE + f"""\
defaults:
  deployment_window:
    cron: "* * 9-16 ? * MON-FRI"
    time_zone: "{zone}"
"""))
    assert (problem.key, problem.line) == ("defaults.deployment_window.time_zone", 7)
    assert f"defaults.deployment_window.time_zone: {zone!r} cannot be read: " in problem.message
    assert reason in problem.message
    assert "Region/City" in problem.hint and "UTC+HH:MM" in problem.hint


def test_a_bad_cron_and_a_bad_zone_are_both_reported(tmp_path):
    problems = problems_of(write_config(tmp_path, BASE + """\
defaults:
  deployment_window:
    cron: "* * 9-25 ? * *"
    time_zone: CET
stacks:
  db:
    deployment_window:
      cron: "* * * ? * FRI"
      time_zone: Nowhere/Special
"""))
    assert [(p.key, p.line) for p in problems] == [
        ("defaults.deployment_window.cron", 6), ("defaults.deployment_window.time_zone", 7),
        ("stacks.db.deployment_window.time_zone", 12)]
    assert {p.check for p in problems} == {"config-deployment-window"}


def test_a_window_without_cron_or_with_unknown_keys_is_a_schema_problem(tmp_path):
    problems = problems_of(write_config(tmp_path, BASE + """\
stacks:
  db:
    deployment_window: {time_zone: UTC, timezone: UTC}
"""))
    assert sorted((p.key, p.message) for p in problems) == [
        ("stacks.db.deployment_window", "stacks.db.deployment_window is missing a required key: 'cron'"),
        ("stacks.db.deployment_window.timezone",
         "unknown key 'timezone' in stacks.db.deployment_window; valid keys: cron, time_zone")]


@pytest.mark.parametrize("cron", [
    "* * 9-16 ? * MON-FRI", "0 0 9-17 ? * MON-FRI *", "* 0/15 * ? * *", "* * * 1,15 * ?",
    "* * 22-23 ? DEC SUN", "* 30-59 8 ? * 2-6 2026", "*   *  *  ?  *  ?",
])
def test_every_window_validate_accepts_the_step_reads_at_any_moment(cron):
    """What validate lets through, the WaitForWindow step (review/steps.py) reads without failing."""
    import datetime as dt

    from generator.contract.config import window_problems
    from review.steps import window_step

    window = DeploymentWindow(" ".join(cron.split()), "Europe/Dublin")
    assert window_problems(window) == {}
    start = dt.datetime(2026, 3, 27, tzinfo=dt.timezone.utc)  # a Friday, two days before summer time
    for hour in range(0, 24 * 8, 5):
        window_step({"Cron": window.cron, "TimeZone": window.time_zone},
                    now=start + dt.timedelta(hours=hour, minutes=hour % 60))
