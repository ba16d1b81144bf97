"""check_parameters: configured values against the template's Parameters, pass and fail."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.contract.parameters import check_parameters
from generator.contract.stack_config import TemplateConfiguration, as_parameter_string


def check(spec: dict, value=None, *, name: str = "P", declared: dict | None = None):
    declared = declared if declared is not None else {name: spec}
    values = {} if value is None else {name: as_parameter_string(value)}
    configuration = TemplateConfiguration(values, {}, {name: 7} if value is not None else {})
    return check_parameters({"Parameters": declared}, "stacks/s/template.yaml", configuration,
                            "stacks/s/config.yaml", "s")


def messages(problems) -> list[str]:
    return [p.message for p in problems]


# (spec, a value CloudFormation accepts, a value it refuses, fragment of the refusal)
CASES = {
    "number": ({"Type": "Number"}, 3, "three", "is not a number"),
    "number-exponent": ({"Type": "Number"}, "1.5e3", "1.5e", "is not a number"),
    "allowed-values": ({"Type": "String", "AllowedValues": ["dev", "prod"]}, "prod", "Prod",
                       "not one of the AllowedValues"),
    "allowed-numbers": ({"Type": "Number", "AllowedValues": [1, 2]}, "2.0", 3,
                        "not one of the AllowedValues"),
    "allowed-pattern": ({"Type": "String", "AllowedPattern": "^[a-z][a-z0-9-]*$"}, "web-1", "1web",
                        "does not match AllowedPattern"),
    "pattern-is-anchored": ({"Type": "String", "AllowedPattern": "[a-z]+"}, "abc", "abc1",
                            "does not match AllowedPattern"),
    "possessive-quantifier": ({"Type": "String", "AllowedPattern": "[a-z]++"}, "abc", "ABC",
                              "does not match AllowedPattern"),
    "min-length": ({"Type": "String", "MinLength": 2}, "ab", "a", "outside MinLength 2"),
    "max-length": ({"Type": "String", "MaxLength": "3"}, "abc", "abcd", "outside MaxLength 3"),
    "min-value": ({"Type": "Number", "MinValue": 1}, 1, 0, "0 is outside MinValue 1"),
    "max-value": ({"Type": "Number", "MaxValue": 2.5}, 2.5, 2.6, "2.6 is outside MaxValue 2.5"),
    "list-number": ({"Type": "List<Number>"}, [1, 2], [1, "x"], "'x' is not a number"),
    "comma-list-allowed": ({"Type": "CommaDelimitedList", "AllowedValues": ["a", "b"]}, "a, b", "a,c",
                           "'c' is not one of the AllowedValues"),
    "vpc-id": ({"Type": "AWS::EC2::VPC::Id"}, "vpc-0123abcd", "vpc-xyz", "is not a valid AWS::EC2::VPC::Id"),
    "subnet-list": ({"Type": "List<AWS::EC2::Subnet::Id>"}, "subnet-01234567,subnet-89abcdef",
                    "subnet-01234567,nope", "'nope' is not a valid"),
    "availability-zone": ({"Type": "AWS::EC2::AvailabilityZone::Name"}, "eu-west-1a", "eu-west-1",
                          "is not a valid"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_accepted_value(name):
    spec, good, _, _ = CASES[name]
    assert check(spec, good) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_refused_value(name):
    spec, _, bad, fragment = CASES[name]
    (problem,) = check(spec, bad)
    assert (problem.check, problem.file, problem.key, problem.line, problem.stack) == \
        ("parameter-value", "stacks/s/config.yaml", "Parameters.P", 7, "s")
    assert fragment in problem.message


def test_constraint_description_is_the_hint():
    (problem,) = check({"AllowedPattern": "^a$", "ConstraintDescription": "only a"}, "b")
    assert problem.hint == "only a"


@pytest.mark.parametrize("pattern", [r"\p{javaLowerCase}+", r"(?<name>a)\k<name>", "[a-z&&[^q]]+", "(*"])
def test_a_pattern_python_cannot_compile_is_not_checked_and_does_not_crash(pattern):
    assert check({"Type": "String", "AllowedPattern": pattern}, "abc") == []


def test_dynamic_references_and_ssm_types_are_not_checked():
    assert check({"Type": "Number", "MinValue": 5}, "{{resolve:ssm:/app/size}}") == []
    assert check({"Type": "AWS::SSM::Parameter::Value<String>", "AllowedValues": ["x"]}, "/app/name") == []


def test_unknown_parameter_with_case_insensitive_suggestion():
    (problem,) = check({}, "x", name="vpcid", declared={"VpcId": {"Type": "String", "Default": "v"}})
    assert (problem.check, problem.key, problem.hint) == \
        ("parameter-unknown", "Parameters.vpcid", "did you mean 'VpcId'?")


def test_missing_parameter_without_default():
    declared = {"A": {"Type": "String"}, "B": {"Type": "String", "Default": ""}}
    (problem,) = check({}, declared=declared)
    assert (problem.check, problem.key, problem.file) == ("parameter-missing", "Parameters.A",
                                                          "stacks/s/config.yaml")
    assert check({}, "set", name="A", declared=declared) == []


def test_missing_config_names_the_file_to_create():
    configuration = TemplateConfiguration()
    (problem,) = check_parameters({"Parameters": {"A": {"Type": "String"}}}, "t.yaml", configuration,
                                  None, "s")
    assert problem.file == "stacks/s/config.json"


def test_noecho_literal_is_a_warning_and_a_dynamic_reference_is_not():
    spec = {"Type": "String", "NoEcho": "true"}
    (problem,) = check(spec, "hunter2")
    assert (problem.check, problem.severity.value) == ("parameter-noecho-literal", "warning")
    assert "{{resolve:secretsmanager:" in problem.hint
    assert check(spec, "{{resolve:secretsmanager:db:SecretString:password}}") == []
    assert check({"Type": "String", "NoEcho": False}, "plain") == []


def test_parameters_that_are_not_a_mapping_are_left_to_cfn_lint():
    configuration = TemplateConfiguration({"P": "x"}, {}, {})
    assert check_parameters({"Parameters": ["P"]}, "t", configuration, "c", "s") == []


def test_several_problems_in_one_value_are_all_reported():
    problems = check({"Type": "String", "AllowedValues": ["aaaa"], "MaxLength": 3}, "bbbbb")
    assert len(problems) == 2
    assert any("AllowedValues" in m for m in messages(problems))
    assert any("MaxLength" in m for m in messages(problems))


@given(pattern=st.text(max_size=25), value=st.text(max_size=25),
       kind=st.sampled_from(["String", "Number", "CommaDelimitedList", "List<Number>", "AWS::EC2::VPC::Id"]))
def test_no_pattern_or_value_crashes_the_check(pattern, value, kind):
    spec = {"Type": kind, "AllowedPattern": pattern, "MinLength": 1, "MaxValue": 3, "AllowedValues": [1, "a"]}
    problems = check(spec, value)
    assert all(p.check == "parameter-value" for p in problems)


# ---- issue 9, item 1: a pattern that backtracks catastrophically never hangs validate ----

# A widely copied e-mail pattern: nested quantifiers. Python's re takes about a second on a
# 24-character near miss and doubles with each character; 40 characters would take days.
EMAIL_PATTERN = (r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}"
                 r"(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$")
# A shape the regex module's own safeguards do not defuse: only its timeout stops it.
RUNAWAY_PATTERN = r"(a|aa)+$"


def test_the_email_pattern_against_a_near_miss_is_decided_quickly():
    import time
    started = time.monotonic()
    (problem,) = check({"Type": "String", "AllowedPattern": EMAIL_PATTERN}, "a" * 40 + "!")
    assert time.monotonic() - started < 2
    assert problem.check == "parameter-value" and "does not match AllowedPattern" in problem.message
    assert check({"Type": "String", "AllowedPattern": EMAIL_PATTERN}, "john.smith@example.com") == []


def test_a_runaway_match_is_a_warning_naming_file_key_and_pattern():
    import time
    started = time.monotonic()
    (problem,) = check({"Type": "String", "AllowedPattern": RUNAWAY_PATTERN}, "a" * 60 + "!")
    assert time.monotonic() - started < 2
    assert (problem.check, problem.severity.value, problem.file, problem.key) == \
        ("parameter-pattern-unchecked", "warning", "stacks/s/config.yaml", "Parameters.P")
    assert RUNAWAY_PATTERN in problem.message and "could not be checked" in problem.message


def test_patterns_use_java_ascii_classes():
    # Java's \w is [a-zA-Z_0-9] unless the pattern asks for Unicode: CloudFormation refuses "café"
    (problem,) = check({"Type": "String", "AllowedPattern": r"\w+"}, "café")
    assert "does not match AllowedPattern" in problem.message


# ---- issue 9, item 11: Local Zone and Wavelength Zone names are zone names ----

@pytest.mark.parametrize("zone", ["us-west-2-lax-1a", "us-east-1-wl1-bos-wlz-1", "us-east-1-bos-1a",
                                  "ap-northeast-1-wl1-nrt-wlz-1", "us-gov-west-1a", "cn-north-1b"])
def test_local_and_wavelength_zones_are_availability_zone_names(zone):
    assert check({"Type": "AWS::EC2::AvailabilityZone::Name"}, zone) == []
    assert check({"Type": "List<AWS::EC2::AvailabilityZone::Name>"}, f"eu-west-1a,{zone}") == []


@pytest.mark.parametrize("zone", ["us-west-2", "us-west-2-lax", "us-west-2-lax-", "use1-az1"])
def test_not_a_zone_name(zone):
    (problem,) = check({"Type": "AWS::EC2::AvailabilityZone::Name"}, zone)
    assert "is not a valid AWS::EC2::AvailabilityZone::Name" in problem.message


# ---- issue 9, item 12: CloudFormation's 4,096-byte parameter value limit ----

def test_a_value_over_4096_bytes_is_refused():
    assert check({"Type": "String"}, "x" * 4096) == []
    (problem,) = check({"Type": "String"}, "é" * 2049)  # 4,098 bytes in UTF-8, 2,049 characters
    assert (problem.check, problem.key, problem.line) == ("parameter-value-too-long", "Parameters.P", 7)
    assert "4,098 bytes" in problem.message and "4,096" in problem.message
