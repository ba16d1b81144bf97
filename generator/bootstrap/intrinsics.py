"""Find and rewrite the references of a CloudFormation template fragment (a JSON value).

The sharding (generator/bootstrap/shards.py) moves resources into nested stacks; every reference
they hold to a resource left behind must become a parameter of the nested stack. CloudFormation
has four ways to name another resource in a value: ``Ref``, ``Fn::GetAtt`` (list or ``"X.Attr"``
form), and ``${X}`` / ``${X.Attr}`` inside ``Fn::Sub`` ("To write a dollar sign and curly braces
(``${}``) literally, add an exclamation point (``!``) after the open curly brace", CloudFormation
user guide, intrinsic-function-reference-sub; the variables of the list form's map are local and
name no resource). ``DependsOn`` is a resource attribute, not a value: shards.py handles it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Pseudo parameters that resolve to the same value in a nested stack as in its parent.
SAME_IN_NESTED_STACK = frozenset({"AWS::AccountId", "AWS::NoValue", "AWS::Partition", "AWS::Region",
                                  "AWS::URLSuffix"})
# ... and those that do not: a nested stack has its own name and id, and its own notification ARNs.
PARENT_ONLY = frozenset({"AWS::StackName", "AWS::StackId", "AWS::NotificationARNs"})
# Functions whose meaning depends on a section of the whole template (Conditions, Mappings).
TEMPLATE_SCOPED = ("Fn::If", "Fn::FindInMap", "Condition")

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True, order=True)
class Reference:
    """``target`` (a logical id or pseudo parameter) and ``attribute`` (None for a ``Ref``)."""

    target: str
    attribute: str | None = None


Replace = Callable[[Reference], "str | None"]


def references(node: Any) -> set[Reference]:
    """Every reference in ``node``."""
    found: set[Reference] = set()
    rewrite(node, lambda ref: found.add(ref))
    return found


def template_scoped(node: Any) -> list[str]:
    """The names of the ``Fn::If``/``Fn::FindInMap``/``Condition`` functions used in ``node``."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            found.extend(k for k in value if k in TEMPLATE_SCOPED[:2] or (k == "Condition"
                                                                          and isinstance(value[k], str)))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(node)
    return found


def rewrite(node: Any, replace: Replace) -> Any:
    """A copy of ``node`` where each reference for which ``replace`` returns a name ``P`` becomes a
    ``Ref`` to ``P`` (``${P}`` inside ``Fn::Sub``). ``replace`` sees every reference; None keeps it."""
    if isinstance(node, list):
        return [rewrite(item, replace) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (key, value), = node.items()
        if key == "Ref" and isinstance(value, str):
            name = replace(Reference(value))
            return {"Ref": name} if name else node
        if key == "Fn::GetAtt":
            ref = _getatt(value)
            if ref is not None:
                name = replace(ref)
                return {"Ref": name} if name else node
        if key == "Fn::Sub":
            return {"Fn::Sub": _rewrite_sub(value, replace)}
    return {key: rewrite(value, replace) for key, value in node.items()}


def _getatt(value: Any) -> Reference | None:
    if isinstance(value, str) and "." in value:
        target, attribute = value.split(".", 1)
        return Reference(target, attribute)
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return Reference(value[0], value[1])
    return None


def _rewrite_sub(value: Any, replace: Replace) -> Any:
    if isinstance(value, str):
        return _rewrite_sub_text(value, frozenset(), replace)
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) \
            and isinstance(value[1], dict):
        local = frozenset(value[1])
        return [_rewrite_sub_text(value[0], local, replace),
                {k: rewrite(v, replace) for k, v in value[1].items()}]
    return rewrite(value, replace)


def _rewrite_sub_text(text: str, local: frozenset[str], replace: Replace) -> str:
    def one(match: re.Match) -> str:
        inner = match.group(1)
        if inner.startswith("!") or inner in local:
            return match.group(0)
        target, _, attribute = inner.partition(".")
        name = replace(Reference(target, attribute or None))
        return f"${{{name}}}" if name else match.group(0)

    return _SUB_VARIABLE.sub(one, text)
