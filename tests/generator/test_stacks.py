"""load_stack: names, template shape and limits, config and parameters together."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.contract.config import load_config
from generator.contract.discovery import discover_stacks
from generator.contract.stacks import MAX_RESOURCES, load_stack

TEMPLATE = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"


def add_stack(root: Path, folder: str, template: str = TEMPLATE, config: str | None = None) -> Path:
    (root / "stacks" / folder).mkdir(parents=True)
    (root / "stacks" / folder / "template.yaml").write_text(template, encoding="utf-8")
    if config is not None:
        (root / "stacks" / folder / "config.yaml").write_text(config, encoding="utf-8")
    return root


def load(root: Path, folder: str):
    sources, problems = discover_stacks(root)
    assert problems == []
    source = next(s for s in sources if s.name == folder)
    return load_stack(source, root, load_config(root))


def checks(problems) -> list[str]:
    return sorted(p.check for p in problems)


def test_loaded_stack_carries_names_bytes_and_normalized_config(minimal_repo):
    stack, problems = load(minimal_repo, "app")
    assert problems == []
    assert (stack.name, stack.stack_name, stack.pipeline_name) == ("app", "demo-app", "demo-app")
    assert stack.template_relpath == "stacks/app/template.yaml"
    assert stack.template_bytes == (minimal_repo / "stacks/app/template.yaml").read_bytes()
    assert stack.template["Resources"]["Topic"]["Type"] == "AWS::SNS::Topic"
    assert stack.configuration.parameters == {"TopicName": "demo-app-topic"}
    assert stack.configuration.tags == {"team": "platform"}


def test_adopted_stack_keeps_its_name_but_the_pipeline_is_prefixed(minimal_repo):
    config = minimal_repo / "pipelines/config.yaml"
    config.write_text(config.read_text() + "stacks:\n  app:\n    stack_name: LegacyTopic\n")
    stack, problems = load(minimal_repo, "app")
    assert problems == []
    assert (stack.stack_name, stack.pipeline_name) == ("LegacyTopic", "demo-app")
    assert stack.settings.stack_name == "LegacyTopic"


@pytest.mark.parametrize(("length", "expected"), [
    (95, []),  # demo-<95> is 100 characters: the pipeline limit
    (96, ["pipeline-name-too-long"]),
    (123, ["pipeline-name-too-long"]),  # demo-<123> is 128: the stack name still fits
    (124, ["pipeline-name-too-long", "stack-name-too-long"]),
])
def test_name_length_limits_include_the_project_prefix(minimal_repo, length, expected):
    folder = "a" * length
    _, problems = load(add_stack(minimal_repo, folder), folder)
    assert checks(problems) == expected
    assert all(p.file == f"stacks/{folder}" and p.stack == folder for p in problems)


@pytest.mark.parametrize("folder", ["my_stack", "1app", "app.v2"])
def test_invalid_stack_names(minimal_repo, folder):
    _, problems = load(add_stack(minimal_repo, folder), folder)
    assert checks(problems) == ["stack-name-invalid"]


@pytest.mark.parametrize("folder", ["A", "web-Tier-2"])
def test_valid_stack_names(minimal_repo, folder):
    stack, problems = load(add_stack(minimal_repo, folder), folder)
    assert problems == [] and stack is not None


def test_resource_limit_at_the_boundary(minimal_repo):
    def resources(n: int) -> str:
        return "Resources:\n" + "".join(f"  T{i}:\n    Type: AWS::SNS::Topic\n" for i in range(n))
    stack, problems = load(add_stack(minimal_repo, "full", resources(MAX_RESOURCES)), "full")
    assert problems == [] and stack is not None
    stack, problems = load(add_stack(minimal_repo, "over", resources(MAX_RESOURCES + 1)), "over")
    assert checks(problems) == ["template-too-many-resources"]


def test_template_size_limit_at_the_boundary(minimal_repo):
    def sized(n: int) -> str:
        return TEMPLATE + "#" * (n - len(TEMPLATE) - 1) + "\n"
    # CodePipeline's CloudFormation action takes 512 KB (aws-fidelity notes, F10), not 1 MB
    _, problems = load(add_stack(minimal_repo, "full", sized(512_000)), "full")
    assert problems == []
    _, problems = load(add_stack(minimal_repo, "over", sized(512_001)), "over")
    assert checks(problems) == ["file-too-large"]
    assert "512,001 bytes; the limit is 512,000 bytes" in problems[0].message
    assert "CodePipeline's CloudFormation action" in problems[0].message


def test_a_template_of_1_000_000_bytes_is_refused_even_as_yaml_config(minimal_repo):
    # CloudFormation's "1 MB" is 1,000,000 bytes; no document changegate reads may be larger
    add_stack(minimal_repo, "big", TEMPLATE, config="Parameters: {}\n" + "#" * 1_000_000 + "\n")
    _, problems = load(minimal_repo, "big")
    assert checks(problems) == ["file-too-large"]
    assert "the limit is 1,000,000 bytes" in problems[0].message


def test_an_unusable_template_gives_no_stack_but_config_problems_are_still_reported(minimal_repo):
    add_stack(minimal_repo, "bad", "- not a mapping\n", config="Parameters:\n  P: {a: 1}\nOops: 1\n")
    stack, problems = load(minimal_repo, "bad")
    assert stack is None
    assert checks(problems) == ["config-unknown-key", "config-value-type", "template-type"]


def test_config_and_parameter_problems_together(minimal_repo):
    template = "Parameters:\n  Size:\n    Type: Number\nResources:\n  T:\n    Type: AWS::SNS::Topic\n"
    add_stack(minimal_repo, "both", template, config="Parameters:\n  Size: big\nTags:\n  aws:x: y\n")
    stack, problems = load(minimal_repo, "both")
    assert stack is not None  # the stack loads: problems are in the config, not the template
    assert checks(problems) == ["config-tags", "parameter-value"]


def test_empty_resources_mapping(minimal_repo):
    _, problems = load(add_stack(minimal_repo, "empty", "Resources: {}\n"), "empty")
    assert checks(problems) == ["template-no-resources"]
