"""Check configured parameter values against the template's ``Parameters`` declarations.

What CloudFormation would refuse at deploy time is refused here, at review time: unknown
parameters, missing required values, and values outside ``Type``, ``AllowedValues``,
``AllowedPattern``, ``MinLength``/``MaxLength`` and ``MinValue``/``MaxValue``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from generator.contract.documents import key_line
from generator.contract.patterns import MATCH_TIMEOUT_SECONDS, match_allowed_pattern
from generator.contract.problems import Problem, Severity, error, warning
from generator.contract.stack_config import TemplateConfiguration, as_parameter_string

DYNAMIC_REFERENCE = re.compile(r"^\{\{resolve:[a-z-]+:.+\}\}$")

# AWS-specific parameter types whose values have a recognisable shape. Others (key pair
# names, SSM parameter names...) are free-form and checked by CloudFormation itself.
AWS_ID_PATTERNS = {
    "AWS::EC2::VPC::Id": r"vpc-[0-9a-f]{8,17}",
    "AWS::EC2::Subnet::Id": r"subnet-[0-9a-f]{8,17}",
    "AWS::EC2::SecurityGroup::Id": r"sg-[0-9a-f]{8,17}",
    "AWS::EC2::Image::Id": r"ami-[0-9a-f]{8,17}",
    "AWS::EC2::Instance::Id": r"i-[0-9a-f]{8,17}",
    "AWS::EC2::Volume::Id": r"vol-[0-9a-f]{8,17}",
    # a Region's zone (eu-west-1a), a Local Zone (us-west-2-lax-1a) or a Wavelength Zone
    # (us-east-1-wl1-bos-wlz-1): "Local Zone names are the Region code followed by an identifier
    # that indicates the location, for example us-west-2-lax-1a" (Local Zones user guide).
    "AWS::EC2::AvailabilityZone::Name": r"[a-z]{2}(-[a-z]+)+-\d([a-z]|(-[a-z0-9]+)+-\d+[a-z]?)",
    "AWS::Route53::HostedZone::Id": r"Z[A-Z0-9]{1,32}",
}
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
# "Parameter value: 4,096 bytes" (CloudFormation quotas, cloudformation-limits).
MAX_PARAMETER_VALUE_BYTES = 4096

# (message, hint, severity) of one finding about one value
Finding = tuple[str, str | None, Severity]


def check_parameters(template: Mapping, template_relpath: str, configuration: TemplateConfiguration,
                     config_relpath: str | None, stack: str) -> list[Problem]:
    declared = template.get("Parameters") or {}
    if not isinstance(declared, Mapping):
        return []  # cfn-lint reports a malformed Parameters section with its line
    problems: list[Problem] = []
    config_file = config_relpath or f"stacks/{stack}/config.json"
    for name, value in configuration.parameters.items():
        line = configuration.parameter_lines.get(name)
        spec = declared.get(name)
        if not isinstance(spec, Mapping):
            close = [str(p) for p in declared if str(p).lower() == name.lower()]
            problems.append(error(
                config_file, "parameter-unknown",
                f"parameter {name!r} is not declared in {template_relpath}",
                key=f"Parameters.{name}", line=line, stack=stack,
                hint=f"did you mean {close[0]!r}?" if close else
                "remove it, or declare it under Parameters in the template"))
            continue
        size = len(value.encode("utf-8"))
        if size > MAX_PARAMETER_VALUE_BYTES:
            problems.append(error(
                config_file, "parameter-value-too-long",
                f"{name}: the value is {size:,} bytes; CloudFormation accepts at most "
                f"{MAX_PARAMETER_VALUE_BYTES:,} bytes per parameter value",
                key=f"Parameters.{name}", line=line, stack=stack,
                hint="keep large values out of parameters: an SSM parameter "
                     "({{resolve:ssm:NAME}}) or an S3 object the template reads"))
            continue
        for message, hint, severity in _value_problems(name, value, spec):
            check = "parameter-value" if severity is Severity.ERROR else "parameter-pattern-unchecked"
            report = error if severity is Severity.ERROR else warning
            problems.append(report(config_file, check, message, key=f"Parameters.{name}",
                                   line=line, hint=hint, stack=stack))
        if _is_true(spec.get("NoEcho")) and not DYNAMIC_REFERENCE.match(value):
            problems.append(warning(
                config_file, "parameter-noecho-literal",
                f"{name} is NoEcho but its value is written here in plain text",
                key=f"Parameters.{name}", line=line, stack=stack,
                hint="keep secrets out of Git: use a dynamic reference such as "
                     "{{resolve:secretsmanager:NAME:SecretString:KEY}} or "
                     "{{resolve:ssm-secure:NAME:VERSION}}"))
    for name, spec in declared.items():
        if isinstance(spec, Mapping) and "Default" not in spec \
                and name not in configuration.parameters:
            problems.append(error(
                config_file, "parameter-missing",
                f"parameter {name!r} has no Default in {template_relpath} and no value here",
                key=f"Parameters.{name}", stack=stack,
                hint=f"add {name} under Parameters in {config_file}, or give it a Default "
                     f"({template_relpath} line {key_line(declared, name)})"))
    return problems


def _value_problems(name: str, value: str, spec: Mapping) -> list[Finding]:
    if DYNAMIC_REFERENCE.match(value):
        return []  # resolved by CloudFormation at deploy time
    kind = str(spec.get("Type", "String"))
    if kind.startswith("AWS::SSM::Parameter::"):
        return []  # the value is an SSM parameter name; CloudFormation resolves it
    is_list = kind.startswith("List<") or kind == "CommaDelimitedList"
    items = [item.strip() for item in value.split(",")] if is_list else [value]
    element = kind[5:-1] if kind.startswith("List<") else kind
    found: list[Finding] = []
    for item in items:
        found.extend(_item_problems(name, item, element, spec))
        if any(severity is Severity.ERROR for *_, severity in found):
            break  # one bad item is enough to explain the problem
    if not is_list:
        found.extend(_length_problems(name, value, spec))
    return found


def _item_problems(name: str, item: str, kind: str, spec: Mapping) -> list[Finding]:
    found: list[Finding] = []
    allowed = spec.get("AllowedValues")
    if isinstance(allowed, list):
        choices = [as_parameter_string(v, allow_lists=False) for v in allowed]
        if item not in choices and not _same_number(kind, item, choices):
            found.append((f"{name}: {item!r} is not one of the AllowedValues",
                          f"use one of: {', '.join(str(c) for c in choices)}", Severity.ERROR))
    if kind == "Number":
        if not NUMBER.match(item):
            found.append((f"{name}: {item!r} is not a number (Type: Number)", None, Severity.ERROR))
        else:
            found.extend(_range_problems(name, float(item), spec))
    pattern = AWS_ID_PATTERNS.get(kind)
    if pattern and not re.fullmatch(pattern, item):
        found.append((f"{name}: {item!r} is not a valid {kind}", f"expected a value like {pattern}",
                      Severity.ERROR))
    allowed_pattern = spec.get("AllowedPattern")
    if isinstance(allowed_pattern, str) and kind not in ("Number",):
        found.extend(_pattern_problems(name, item, allowed_pattern, spec))
    return found


def _pattern_problems(name: str, item: str, pattern: str, spec: Mapping) -> list[Finding]:
    result = match_allowed_pattern(pattern, item)
    if result.timed_out:
        return [(f"{name}: AllowedPattern {pattern!r} could not be checked against "
                 f"{_shorten(item)!r}: matching took longer than {MATCH_TIMEOUT_SECONDS:g} s "
                 "(the pattern backtracks catastrophically on this value)",
                 "CloudFormation checks it at deploy time; a pattern without nested quantifiers "
                 "(no (x+)* or (a|ab)+ shapes) can be checked here", Severity.WARNING)]
    if result.matched is not False:
        return []  # a Java-only construct: CloudFormation checks it; a guess here helps nobody
    described = spec.get("ConstraintDescription")
    return [(f"{name}: {item!r} does not match AllowedPattern {pattern!r}",
             str(described) if described else None, Severity.ERROR)]


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _range_problems(name: str, number: float, spec: Mapping) -> list[Finding]:
    found: list[Finding] = []
    for key, fails in (("MinValue", lambda n, bound: n < bound),
                       ("MaxValue", lambda n, bound: n > bound)):
        bound = _as_float(spec.get(key))
        if bound is not None and fails(number, bound):
            found.append((f"{name}: {_number_text(number)} is outside {key} {_number_text(bound)}",
                          None, Severity.ERROR))
    return found


def _length_problems(name: str, value: str, spec: Mapping) -> list[Finding]:
    found: list[Finding] = []
    checks: tuple[tuple[str, Callable[[int, float], bool]], ...] = (
        ("MinLength", lambda n, bound: n < bound), ("MaxLength", lambda n, bound: n > bound))
    for key, fails in checks:
        bound = _as_float(spec.get(key))
        if bound is not None and fails(len(value), bound):
            found.append((f"{name}: the value is {len(value)} characters, "
                          f"outside {key} {_number_text(bound)}", None, Severity.ERROR))
    return found


def _same_number(kind: str, item: str, choices: list) -> bool:
    if kind != "Number" or not NUMBER.match(item):
        return False
    return any(c is not None and NUMBER.match(c) and float(c) == float(item) for c in choices)


def _as_float(value: Any) -> float | None:
    text = as_parameter_string(value, allow_lists=False)
    return float(text) if text is not None and NUMBER.match(text) else None


def _number_text(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number)


def _is_true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"
