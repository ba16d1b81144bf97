"""Resolve template values offline, as far as the repository says what they are.

The gate checks (``transforms.py``, ``content_sources.py``, ``custom_resources.py``,
``protected_names.py``) judge where a value points: a bucket, an account, a role name. A value
the repository fixes is judged; a value that only AWS knows at Plan or deploy time (another
resource's attribute, an import, an SSM parameter, a dynamic reference) is not, because it could
point anywhere. What the repository fixes:

- a literal string (without a ``{{resolve:...}}`` dynamic reference);
- ``Ref`` to a template parameter: its value in the stack's config (the reviewed
  TemplateConfiguration), else its ``Default``; never a parameter of an ``AWS::SSM::Parameter``
  type, whose value is read from SSM at Plan time;
- ``Fn::Sub`` and ``Fn::Join`` over such values.

Pseudo parameters stay in the result as written (``${AWS::AccountId}``): "this account" is a
fact an account check can use, and an allow-list entry never matches a placeholder by accident.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.contract.documents import key_line, line_of

PSEUDO_PARAMETERS = frozenset({
    "AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::URLSuffix", "AWS::StackName",
    "AWS::StackId", "AWS::NotificationARNs", "AWS::NoValue"})
THIS_ACCOUNT = "${AWS::AccountId}"
_SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]*)\}")
_DYNAMIC_REFERENCE = "{{resolve:"


@dataclass(frozen=True)
class Resolver:
    """Resolves values of one template with one stack config's parameter values."""

    template: Mapping
    parameters: Mapping[str, str] = field(default_factory=dict)

    def string(self, value: Any) -> str | None:
        """``value`` as the string it will be, or None when only AWS knows it."""
        if isinstance(value, str):
            return None if _DYNAMIC_REFERENCE in value else str(value)
        if isinstance(value, bool) or not isinstance(value, (Mapping, int, float)):
            return None
        if not isinstance(value, Mapping):
            return str(value)
        if len(value) != 1:
            return None
        (name, argument), = value.items()
        if name == "Ref":
            return self._ref(argument)
        if name == "Fn::Sub":
            return self._sub(argument)
        if name == "Fn::Join":
            return self._join(argument)
        return None

    def _ref(self, name: Any) -> str | None:
        if not isinstance(name, str):
            return None
        if name in PSEUDO_PARAMETERS:
            return None if name in ("AWS::NoValue", "AWS::NotificationARNs") else f"${{{name}}}"
        declared = self.template.get("Parameters")
        declared = declared.get(name) if isinstance(declared, Mapping) else None
        if not isinstance(declared, Mapping):
            return None  # a resource's Ref: known only once it exists
        if str(declared.get("Type", "")).startswith("AWS::SSM::Parameter"):
            return None  # read from SSM at Plan time, not from the repository
        value = self.parameters.get(name, declared.get("Default"))
        return self.string(value) if isinstance(value, (str, int, float)) else None

    def _sub(self, argument: Any) -> str | None:
        variables: Mapping = {}
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], Mapping):
            argument, variables = argument
        if not isinstance(argument, str):
            return None
        failed = False

        def replace(match: re.Match) -> str:
            nonlocal failed
            bang, name = match.groups()
            if bang:  # ${!Literal} is the literal text ${Literal}
                return "${" + name + "}"
            if name in variables:
                resolved = self.string(variables[name])
            elif "." in name:
                resolved = None  # ${Resource.Attribute}
            else:
                resolved = self._ref(name)
            if resolved is None:
                failed = True
                return ""
            return resolved

        text = _SUB_VARIABLE.sub(replace, argument)
        return None if failed or _DYNAMIC_REFERENCE in text else text

    def _join(self, argument: Any) -> str | None:
        if not (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], list)):
            return None
        separator = self.string(argument[0])
        parts = [self.string(part) for part in argument[1]]
        if separator is None or any(part is None for part in parts):
            return None
        return separator.join(parts)  # type: ignore[arg-type]


def path_text(path: tuple) -> str:
    """A key path as validate prints it: ``Resources.Fn.Properties.Layers[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def line_at(document: Any, path: tuple) -> int | None:
    """The line of the deepest key of ``path`` that exists in ``document``."""
    node, line = document, line_of(document)
    for part in path:
        if isinstance(node, Mapping) and part in node:
            line = key_line(node, part) or line
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            line = line_of(node[part]) or line
            node = node[part]
        else:
            break
    return line


def arn_parts(text: str) -> list[str] | None:
    """The colon-separated fields of an ARN, pseudo parameters kept whole (``${AWS::Region}``).

    ``arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:f`` has the account
    ``${AWS::AccountId}`` in field 4; a plain split would cut the placeholders at their colons.
    """
    fields, placeholders = text, {}
    for index, name in enumerate(sorted(PSEUDO_PARAMETERS)):
        token = f"\x00{index}\x00"
        placeholders[token] = f"${{{name}}}"
        fields = fields.replace(f"${{{name}}}", token)
    parts = fields.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        return None
    for token, placeholder in placeholders.items():
        parts = [part.replace(token, placeholder) for part in parts]
    return parts
