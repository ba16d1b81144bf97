"""normalize_configuration: only Parameters and Tags, every value written as a string."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from generator.contract.stack_config import as_parameter_string, normalize_configuration


def normalize(data):
    return normalize_configuration(data, "stacks/s/config.json", "s")


def test_numbers_booleans_and_lists_are_written_as_strings():
    config, problems = normalize({
        "Parameters": {"Port": 3, "Ratio": 1.5, "On": True, "Off": False, "Azs": ["a", 1, True],
                       "Name": "web"},
        "Tags": {"cost-center": 1001, "critical": False},
    })
    assert problems == []
    assert config.parameters == {"Port": "3", "Ratio": "1.5", "On": "true", "Off": "false",
                                 "Azs": "a,1,true", "Name": "web"}
    assert config.tags == {"cost-center": "1001", "critical": "false"}


def test_empty_and_null_sections_are_fine():
    for data in ({}, {"Parameters": None, "Tags": None}, {"Parameters": {}, "Tags": {}}):
        config, problems = normalize(data)
        assert (config.parameters, config.tags, problems) == ({}, {}, [])


def test_stack_policy_is_refused_with_where_it_belongs():
    _, (problem,) = normalize({"StackPolicy": {"Statement": []}})
    assert (problem.check, problem.key, problem.stack) == ("config-stack-policy", "StackPolicy", "s")
    assert "pipelines/config.yaml (stacks.s.stack_policy)" in problem.hint


def test_lists_are_not_tag_values():
    _, (problem,) = normalize({"Tags": {"team": ["a", "b"]}})
    assert (problem.check, problem.key) == ("config-value-type", "Tags.team")


def test_nested_lists_are_not_parameter_values():
    _, (problem,) = normalize({"Parameters": {"P": [["a"]]}})
    assert problem.check == "config-value-type"


def test_tag_limits_at_the_boundary():
    config, problems = normalize({"Tags": {f"k{i}": "v" for i in range(50)}})
    assert problems == [] and len(config.tags) == 50
    _, problems = normalize({"Tags": {"k" * 128: "v" * 256}})
    assert problems == []
    _, problems = normalize({"Tags": {"": "v", "AWS:Name": "x"}})
    assert sorted((p.key, p.message) for p in problems) == [
        ("Tags.", "tag key is 0 characters; allowed 1-128"),
        ("Tags.AWS:Name", "tag key 'AWS:Name' uses the reserved aws: prefix"),
    ]


@given(st.integers() | st.booleans() | st.text(max_size=20))
def test_scalars_always_have_a_string_form(value):
    text = as_parameter_string(value)
    assert isinstance(text, str)
    if isinstance(value, bool):
        assert text == str(value).lower()
    elif isinstance(value, int):
        assert int(text) == value


def test_values_without_a_string_form():
    assert as_parameter_string(None) is None
    assert as_parameter_string({"a": 1}) is None
    assert as_parameter_string(["a"], allow_lists=False) is None
