"""validate_repository: every problem in every stack, --stack selection, the example repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.contract.validate import validate_repository
from generator.errors import ConfigError, UsageError

TEMPLATE = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"


def add(root: Path, files: dict[str, str]) -> Path:
    for relpath, text in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(text, encoding="utf-8")
    return root


def test_the_example_repository_validates_clean_with_cfn_lint(example_root):
    report = validate_repository(example_root)
    assert report.problems == []
    assert report.ok
    assert report.checked == report.linted == ("alarms", "database", "network", "service")
    assert sorted(report.stacks) == ["alarms", "database", "network", "service"]


def test_the_minimal_repository_is_clean(minimal_repo):
    report = validate_repository(minimal_repo, lint=False)
    assert (report.ok, report.problems, report.checked, report.linted) == (True, [], ("app",), ())


def test_every_problem_in_every_stack_is_reported(minimal_repo):
    add(minimal_repo, {
        "stacks/one/template.yaml": "Parameters:\n  Size:\n    Type: Number\n" + TEMPLATE,
        "stacks/one/config.yaml": "Parameters:\n  Size: big\n  Extra: 1\nTags:\n  aws:x: y\n",
        "stacks/two/template.yaml": "Resources: [\n",
        "stacks/two/config.json": '{"StackPolicy": {}}',
        "stacks/three/template.json": "{}",
        "stacks/three/template.yaml": TEMPLATE,
    })
    report = validate_repository(minimal_repo, lint=False)
    found = sorted((p.stack, p.check) for p in report.problems)
    assert found == [
        ("one", "config-tags"), ("one", "parameter-unknown"), ("one", "parameter-value"),
        ("three", "stack-two-templates"),
        ("two", "config-stack-policy"), ("two", "file-syntax"),
    ]
    assert report.checked == ("app", "one", "two")  # three failed discovery
    assert sorted(report.stacks) == ["app", "one"]  # two's template is unusable
    assert [p.check for p in report.problems_of("two")] == ["config-stack-policy", "file-syntax"]
    # sorted by file, then line
    assert [p.file for p in report.problems] == sorted(p.file for p in report.problems)


def test_warnings_alone_keep_the_report_ok(minimal_repo):
    add(minimal_repo, {"stacks/README.md": "x"})
    report = validate_repository(minimal_repo, lint=False)
    assert report.ok and report.errors == [] and len(report.warnings) == 1


def test_only_restricts_checks_and_problems(minimal_repo):
    add(minimal_repo, {"stacks/bad/template.yaml": "- x\n", "stacks/worse/config.json": "{}",
                       "stacks/README.md": "x"})
    report = validate_repository(minimal_repo, only=["app"], lint=False)
    assert (report.checked, report.problems) == (("app",), [])
    report = validate_repository(minimal_repo, only=["worse"], lint=False)
    assert report.checked == ()  # discovery refused it, and says why
    assert [p.check for p in report.problems] == ["stack-no-template"]


def test_only_with_an_unknown_stack_is_a_usage_error(minimal_repo):
    with pytest.raises(UsageError, match="no such stack: nope") as caught:
        validate_repository(minimal_repo, only=["app", "nope"], lint=False)
    assert caught.value.exit_code == 2
    assert "(stacks: app)" in str(caught.value)


def test_an_override_for_a_folder_that_failed_discovery_is_not_a_typo(minimal_repo):
    add(minimal_repo, {"stacks/orphan/config.json": "{}"})
    config = minimal_repo / "pipelines/config.yaml"
    config.write_text(config.read_text() + "stacks:\n  orphan:\n    disabled: true\n")
    report = validate_repository(minimal_repo, lint=False)
    assert [p.check for p in report.problems] == ["stack-no-template"]


def test_a_config_error_stops_before_the_stacks(minimal_repo):
    config = "project: demo\nrepository:\n  name: acme/x\nstacks:\n  gone: {}\n"
    add(minimal_repo, {"stacks/bad/template.yaml": "- x\n", "pipelines/config.yaml": config})
    with pytest.raises(ConfigError) as caught:
        validate_repository(minimal_repo, lint=False)
    assert [p.check for p in caught.value.problems] == ["config-unknown-stack"]
