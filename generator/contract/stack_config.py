"""A stack's ``config.json|yaml``: the CodePipeline TemplateConfiguration, checked and normalized.

Only ``Parameters`` and ``Tags`` belong here. Values are written as strings because a
TemplateConfiguration with ``"Port": 3`` fails at deploy time (a known gotcha): users may
write numbers, booleans and lists, changegate writes what CloudFormation accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from generator.contract.documents import key_line, line_of
from generator.contract.problems import Problem, error

ALLOWED_KEYS = ("Parameters", "Tags")
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256


@dataclass(frozen=True)
class TemplateConfiguration:
    """Normalized content: every value a string, keys sorted by whoever serializes it."""

    parameters: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # line of each parameter in the config file, for problems found later against the template
    parameter_lines: dict[str, int | None] = field(default_factory=dict)


def normalize_configuration(data: Any, relpath: str,
                            stack: str) -> tuple[TemplateConfiguration, list[Problem]]:
    problems: list[Problem] = []

    def report(check: str, message: str, key: str | None = None, line: int | None = None,
               hint: str | None = None) -> None:
        problems.append(error(relpath, check, message, key=key, line=line, hint=hint, stack=stack))

    if not isinstance(data, dict):
        report("config-type", f"the config must be a mapping, not {_kind(data)}",
               line=line_of(data), hint="write {\"Parameters\": {...}, \"Tags\": {...}}")
        return TemplateConfiguration(), problems
    for key in data:
        if key == "StackPolicy":
            report("config-stack-policy", "StackPolicy is not accepted in a stack config",
                   key=key, line=key_line(data, key),
                   hint="stack policies are protected settings: put the policy in a file under "
                        "pipelines/ and name it in pipelines/config.yaml "
                        f"(stacks.{stack}.stack_policy)")
        elif key not in ALLOWED_KEYS:
            report("config-unknown-key", f"unknown key {key!r}", key=str(key),
                   line=key_line(data, key), hint="a stack config holds only Parameters and Tags")
    parameters, lines = _string_map(data.get("Parameters", {}), "Parameters", report,
                                    allow_lists=True)
    tags, _ = _string_map(data.get("Tags", {}), "Tags", report, allow_lists=False)
    _check_tags(tags, data.get("Tags"), report)
    return TemplateConfiguration(parameters, tags, lines), problems


def _string_map(section: Any, name: str, report, *, allow_lists: bool):
    values: dict[str, str] = {}
    lines: dict[str, int | None] = {}
    if section is None:
        return values, lines
    if not isinstance(section, dict):
        report("config-type", f"{name} must be a mapping of names to values, not {_kind(section)}",
               key=name, line=line_of(section))
        return values, lines
    for key, value in section.items():
        path = f"{name}.{key}"
        line = key_line(section, key)
        text = as_parameter_string(value, allow_lists)
        if text is None:
            expected = "a string, number, boolean or list of those" if allow_lists else \
                "a string, number or boolean"
            report("config-value-type", f"{path} is {_kind(value)}; expected {expected}",
                   key=path, line=line)
            continue
        values[str(key)] = text
        lines[str(key)] = line
    return values, lines


def as_parameter_string(value: Any, allow_lists: bool = True) -> str | None:
    """The string CloudFormation expects for ``value``, or None when there is none."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    if allow_lists and isinstance(value, list):
        items = [as_parameter_string(item, allow_lists=False) for item in value]
        return None if None in items else ",".join(items)
    return None


def _check_tags(tags: dict[str, str], section: Any, report) -> None:
    if len(tags) > MAX_TAGS:
        report("config-tags", f"{len(tags)} tags; CloudFormation allows at most {MAX_TAGS}",
               key="Tags", line=line_of(section))
    for key, value in tags.items():
        path, line = f"Tags.{key}", key_line(section, key)
        if key.lower().startswith("aws:"):
            report("config-tags", f"tag key {key!r} uses the reserved aws: prefix", key=path,
                   line=line, hint="AWS reserves aws: tags; choose another key")
        if not 1 <= len(key) <= MAX_TAG_KEY:
            report("config-tags", f"tag key is {len(key)} characters; allowed 1-{MAX_TAG_KEY}",
                   key=path, line=line)
        if len(value) > MAX_TAG_VALUE:
            report("config-tags", f"tag value is {len(value)} characters; at most {MAX_TAG_VALUE}",
                   key=path, line=line)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty (null)"
    return f"a {type(value).__name__}"
