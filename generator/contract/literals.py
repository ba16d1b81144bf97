"""Refuse stack-config values that the file format would silently retype.

A TemplateConfiguration carries strings. Users may write numbers and booleans, and changegate
writes them as strings (``stack_config.as_parameter_string``), but the string must be exactly
what the user wrote. YAML 1.1 (PyYAML, and cfn-lint's decoder) reads ``13.10`` as the float
13.1, ``012345670123`` as an octal number, ``12:30`` as 750 (base 60), ``NO``/``off``/``yes`` as
booleans, and JSON reads ``1e3`` as 1000.0. Each would ship a different value than the one
reviewed. This module reads the file's scalars as written (their source text) and reports each
unquoted value whose text differs from what would be shipped, with a "quote it" hint. It also
refuses a list item holding a comma: CloudFormation splits a list parameter at every comma, so
``["Smith, John"]`` would arrive as two items, and no escape exists.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import yaml

from generator.contract.problems import Problem, error
from generator.contract.stack_config import as_parameter_string

_STR_TAG = "tag:yaml.org,2002:str"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SECTIONS = ("Parameters", "Tags")


def literal_problems(text: str, suffix: str, relpath: str, stack: str) -> list[Problem]:
    """Every value of ``Parameters`` and ``Tags`` that would not ship as written."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        if suffix == ".json":
            return _json_number_problems(text, relpath, stack)  # JSON that YAML cannot read
        return []  # the decoder reports the syntax error with its line
    problems = []
    for path, node, in_list in _values(root):
        line = node.start_mark.line + 1
        if in_list and isinstance(node.value, str) and "," in node.value:
            problems.append(error(
                relpath, "config-value-comma",
                f"{path}: the list item {node.value!r} holds a comma, and CloudFormation splits "
                "list parameters at every comma: it would arrive as more than one item",
                key=path, line=line, stack=stack,
                hint="a list parameter cannot carry a comma inside an item; change the value or "
                     "the parameter's Type"))
            continue
        if node.style:  # libyaml says '' for plain, pure-Python PyYAML None
            continue  # quoted (or a block scalar): a string, as written
        shipped = _shipped(node, json_file=suffix == ".json")
        if shipped is not None and shipped != node.value:
            problems.append(error(
                relpath, "config-value-retyped",
                f"{path}: {node.value} would be read as {shipped!r}, not as written",
                key=path, line=line, stack=stack,
                hint=f'quote it: "{node.value}" (an unquoted value is a number, a boolean or a '
                     "time to the file format; quoted, it is exactly this text)"))
    return problems


class _Number(str):
    """A JSON number's text, kept as written."""


def _json_number_problems(text: str, relpath: str, stack: str) -> list[Problem]:
    """The retyped-number check without line numbers, through the JSON reader itself."""
    try:
        data = json.loads(text, parse_float=_Number, parse_int=_Number)
    except ValueError:
        return []  # the decoder reports it
    problems = []
    for section in SECTIONS:
        values = data.get(section) if isinstance(data, dict) else None
        for name, value in (values.items() if isinstance(values, dict) else ()):
            path = f"{section}.{name}"
            shipped = as_parameter_string(json.loads(value)) if isinstance(value, _Number) else None
            if shipped is not None and shipped != value:
                problems.append(error(relpath, "config-value-retyped",
                                      f"{path}: {value} would be read as {shipped!r}, not as written",
                                      key=path, stack=stack, hint=f'quote it: "{value}"'))
    return problems


def _values(root: yaml.Node | None) -> Iterator[tuple[str, yaml.ScalarNode, bool]]:
    if not isinstance(root, yaml.MappingNode):
        return
    for key, section in root.value:
        if not (isinstance(key, yaml.ScalarNode) and key.value in SECTIONS) \
                or not isinstance(section, yaml.MappingNode):
            continue
        for name, value in section.value:
            if not isinstance(name, yaml.ScalarNode):
                continue
            path = f"{key.value}.{name.value}"
            if isinstance(value, yaml.ScalarNode):
                yield path, value, False
            elif isinstance(value, yaml.SequenceNode) and key.value == "Parameters":
                for index, item in enumerate(value.value):
                    if isinstance(item, yaml.ScalarNode):
                        yield f"{path}[{index}]", item, True


def _shipped(node: yaml.ScalarNode, json_file: bool) -> str | None:
    """The string changegate would write for this unquoted scalar, or None when it is not known."""
    value: Any
    try:
        if json_file:
            value = json.loads(node.value)  # JSON's own reading: 1e3 is a number there, not in YAML
        elif node.tag == _STR_TAG:
            return None
        else:
            value = yaml.load(node.value, Loader=_Loader)  # the same resolution, on the text alone
    except (ValueError, yaml.YAMLError):
        return None
    if value is None:
        return None  # an empty value: stack_config reports it
    return as_parameter_string(value, allow_lists=False)
