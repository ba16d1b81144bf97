"""Stack-config values are shipped as written or refused (issue 9, item 7)."""

from __future__ import annotations

import pytest

from generator.contract.literals import literal_problems


def checks(text: str, suffix: str = ".yaml") -> list[tuple[str, str, int | None]]:
    return [(p.check, p.key, p.line) for p in literal_problems(text, suffix, "stacks/s/config" + suffix, "s")]


@pytest.mark.parametrize("value", ["13.10", "012345670123", "12:30", "NO", "off", "Yes", "True", "0x1F",
                                   "1_000", "+5", ".5", ".inf", "1.0e+3"])
def test_yaml_values_that_would_not_ship_as_written(value):
    assert checks(f"Parameters:\n  P: {value}\n") == [("config-value-retyped", "Parameters.P", 2)]


@pytest.mark.parametrize("value", ["50", "-3", "1.5", "true", "false", "'13.10'", '"NO"', "hello",
                                   "2024-01-01", "", "1e3"])
def test_yaml_values_that_ship_as_written_or_are_reported_elsewhere(value):
    # 2024-01-01 and an empty value are refused by stack_config; "1e3" is text to YAML 1.1
    assert checks(f"Parameters:\n  P: {value}\nTags:\n  t: {value}\n") == []


def test_list_items_are_checked_and_commas_refused():
    text = "Parameters:\n  L:\n    - 1.10\n    - 'a, b'\n    - ok\n"
    assert checks(text) == [("config-value-retyped", "Parameters.L[0]", 3),
                            ("config-value-comma", "Parameters.L[1]", 4)]


def test_json_numbers_follow_json_not_yaml():
    text = '{\n  "Parameters": {"A": 13.10, "B": 1e3, "C": 50, "D": true, "E": "13.10"}\n}\n'
    assert checks(text, ".json") == [("config-value-retyped", "Parameters.A", 2),
                                     ("config-value-retyped", "Parameters.B", 2)]


def test_json_that_yaml_cannot_read_is_still_checked():
    # an escaped surrogate pair is valid JSON that PyYAML's scanner refuses
    text = '{"Parameters": {"A": 13.10, "S": "\\ud83d\\ude00"}}'
    assert checks(text, ".json") == [("config-value-retyped", "Parameters.A", None)]
