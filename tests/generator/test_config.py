"""pipelines/config.yaml: JSON Schema validation, frozen dataclasses with explicit defaults."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jsonschema
import pytest

from generator.config import (
    DEFAULT_APPROVAL_TIMEOUT_MINUTES,
    DEFAULT_EXECUTION_POLICY_ARNS,
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
