"""Evaluate a template the way CloudFormation would before it compares two versions.

Parameters take their configured value or their default, ``Fn::FindInMap`` looks into
Mappings, conditions are decided, ``Fn::If`` picks its branch, ``Fn::Sub``/``Fn::Join`` build
strings, ``AWS::NoValue`` removes a property. What is only known at deploy time stays a
*token*: a ``Ref``/``GetAtt`` to a resource (its physical id or attribute), a pseudo parameter
(region, account), an import, or an expression over those. Two tokens compare equal when they
are built from the same inputs, so ``!Sub "${Bucket}-logs"`` and ``!Join ["", [!Ref Bucket,
"-logs"]]`` are the same value, and a ``Ref`` to a replaced resource is a changed value.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generator.contract.stack_config import as_parameter_string

PSEUDO = ("AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::URLSuffix",
          "AWS::NotificationARNs", "AWS::StackId")
LIST_PARAMETER_PREFIXES = ("List<", "CommaDelimitedList")


@dataclass(frozen=True)
class Ref:
    """The physical id of a resource of this stack."""

    logical_id: str


@dataclass(frozen=True)
class Att:
    logical_id: str
    attribute: str


@dataclass(frozen=True)
class Sym:
    """A value known only at deploy time, determined by ``kind`` and ``args``."""

    kind: str  # Pseudo, ImportValue, GetAZs, If, SSMParameter, Fn::..., Concat
    args: tuple


@dataclass(frozen=True)
class Unknown:
    """A value the template does not determine offline (a parameter without a value...)."""

    reason: str


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


def freeze(value: Any) -> Any:
    """A hashable form of a resolved value (tokens are hashable already)."""
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


def is_literal(value: Any) -> bool:
    if isinstance(value, dict):
        return all(is_literal(v) for v in value.values())
    if isinstance(value, list):
        return all(is_literal(v) for v in value)
    return isinstance(value, str)


@dataclass
class ResolvedResource:
    logical_id: str
    type: str
    properties: dict
    deletion_policy: str | None
    update_replace_policy: str | None
    metadata: Any
    condition: Any  # True, or a symbolic condition when it cannot be decided offline


class Resolver:
    """Resolve one template with one set of parameter values."""

    def __init__(self, template: Mapping, parameter_values: Mapping[str, str],
                 stack_name: str) -> None:
        self.template = template
        self.stack_name = stack_name
        self.mappings = template.get("Mappings") or {}
        self.conditions = template.get("Conditions") or {}
        self.resources = template.get("Resources") or {}
        self.parameters = self._parameters(template.get("Parameters") or {}, parameter_values)
        self._condition_cache: dict[str, Any] = {}

    def _parameters(self, declared: Mapping, values: Mapping[str, str]) -> dict[str, Any]:
        resolved: dict[str, Any] = {}
        for name, spec in declared.items():
            spec = spec if isinstance(spec, Mapping) else {}
            kind = str(spec.get("Type", "String"))
            if name in values:
                value: Any = values[name]
            elif "Default" in spec:
                value = as_parameter_string(spec["Default"])
                if value is None:
                    value = Unknown(f"parameter {name} has a default CloudFormation cannot use")
            else:
                value = Unknown(f"parameter {name} has no value in the stack's config "
                                "and no Default")
            if isinstance(value, str):
                if kind.startswith("AWS::SSM::Parameter::Value<"):
                    # resolved from Parameter Store at deploy time: the name is what we know
                    value = Sym("SSMParameter", (value,))
                elif kind.startswith(LIST_PARAMETER_PREFIXES) or \
                        kind.startswith("List<") or "List<" in kind:
                    value = [item.strip() for item in value.split(",")] if value else []
            resolved[str(name)] = value
        return resolved

    # -- conditions -------------------------------------------------------------------
    def condition(self, name: str) -> Any:
        """True or False, or a ``Sym`` when it depends on deploy-time values."""
        if name not in self._condition_cache:
            self._condition_cache[name] = Unknown(f"condition {name} refers to itself")
            expression = self.conditions.get(name)
            if expression is None:
                result: Any = Unknown(f"condition {name} is not declared")
            else:
                result = self._condition_value(expression)
            self._condition_cache[name] = result
        return self._condition_cache[name]

    def _condition_value(self, expression: Any) -> Any:
        if isinstance(expression, Mapping) and len(expression) == 1:
            (key, args), = expression.items()
            if key == "Condition":
                return self.condition(str(args))
            if key == "Fn::Equals" and isinstance(args, list) and len(args) == 2:
                left, right = self.value(args[0]), self.value(args[1])
                if is_literal(left) and is_literal(right):
                    return freeze(left) == freeze(right)
                return Sym("Fn::Equals", (freeze(left), freeze(right)))
            if key == "Fn::Not" and isinstance(args, list) and len(args) == 1:
                inner = self._condition_value(args[0])
                return (not inner) if isinstance(inner, bool) else Sym("Fn::Not", (inner,))
            if key in ("Fn::And", "Fn::Or") and isinstance(args, list):
                values = [self._condition_value(a) for a in args]
                decided = [v for v in values if isinstance(v, bool)]
                if key == "Fn::And" and False in decided:
                    return False
                if key == "Fn::Or" and True in decided:
                    return True
                if len(decided) == len(values):
                    return key == "Fn::And"
                return Sym(key, tuple(v for v in values if not isinstance(v, bool)))
        value = self.value(expression)
        if value in ("true", "false"):
            return value == "true"
        return value if isinstance(value, Sym | Unknown) else Unknown("malformed condition")

    # -- values -----------------------------------------------------------------------
    def value(self, node: Any) -> Any:
        if isinstance(node, Mapping):
            if len(node) == 1:
                (key, args), = node.items()
                if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
                    return self._intrinsic(str(key), args)
            result = {}
            for key, child in node.items():
                resolved = self.value(child)
                if resolved is not NO_VALUE:
                    result[str(key)] = resolved
            return result
        if isinstance(node, list):
            return [v for v in (self.value(child) for child in node) if v is not NO_VALUE]
        if isinstance(node, bool):
            return "true" if node else "false"
        if node is None:
            return ""
        if isinstance(node, int | float):
            return str(node)
        return str(node)

    def _intrinsic(self, key: str, args: Any) -> Any:
        handler = getattr(self, "_fn_" + key.replace("Fn::", "").replace("::", "_"), None)
        if handler is None:
            return Sym(key, (freeze(self.value(args)),))
        return handler(args)

    def _fn_Ref(self, name: Any) -> Any:
        name = str(name)
        if name == "AWS::StackName":
            return self.stack_name
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO:
            return Sym("Pseudo", (name,))
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return Ref(name)
        return Unknown(f"Ref to {name}, which the template does not declare")

    def _fn_GetAtt(self, args: Any) -> Any:
        if isinstance(args, str):
            args = args.split(".", 1)
        if isinstance(args, list) and len(args) == 2:
            attribute = self.value(args[1])
            if isinstance(attribute, str):
                return Att(str(args[0]), attribute)
            return Sym("Fn::GetAtt", (str(args[0]), freeze(attribute)))
        return Unknown("malformed Fn::GetAtt")

    def _fn_Sub(self, args: Any) -> Any:
        variables: dict[str, Any] = {}
        if isinstance(args, list) and len(args) == 2 and isinstance(args[1], Mapping):
            text = args[0]
            variables = {str(k): self.value(v) for k, v in args[1].items()}
        else:
            text = args
        if not isinstance(text, str):
            return Unknown("malformed Fn::Sub")
        parts: list[Any] = []
        rest = text
        while rest:
            start = rest.find("${")
            if start < 0:
                parts.append(rest)
                break
            parts.append(rest[:start])
            end = rest.find("}", start)
            if end < 0:
                parts.append(rest[start:])
                break
            name = rest[start + 2:end]
            if name.startswith("!"):
                parts.append("${" + name[1:] + "}")
            elif name in variables:
                parts.append(variables[name])
            elif "." in name and name.split(".", 1)[0] in self.resources:
                parts.append(Att(*name.split(".", 1)))
            else:
                parts.append(self._fn_Ref(name))
            rest = rest[end + 1:]
        return concat(parts)

    def _fn_Join(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) == 2):
            return Unknown("malformed Fn::Join")
        delimiter, items = self.value(args[0]), self.value(args[1])
        if not isinstance(delimiter, str) or not isinstance(items, list):
            return Sym("Fn::Join", (freeze(delimiter), freeze(items)))
        parts: list[Any] = []
        for index, item in enumerate(items):
            if index:
                parts.append(delimiter)
            parts.append(item)
        return concat(parts)

    def _fn_Select(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) == 2):
            return Unknown("malformed Fn::Select")
        index, items = self.value(args[0]), self.value(args[1])
        if isinstance(index, str) and index.isdigit() and isinstance(items, list):
            position = int(index)
            return items[position] if position < len(items) else \
                Unknown("Fn::Select index out of range")
        return Sym("Fn::Select", (freeze(index), freeze(items)))

    def _fn_Split(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) == 2):
            return Unknown("malformed Fn::Split")
        delimiter, text = self.value(args[0]), self.value(args[1])
        if isinstance(delimiter, str) and isinstance(text, str):
            return text.split(delimiter)
        return Sym("Fn::Split", (freeze(delimiter), freeze(text)))

    def _fn_If(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) == 3):
            return Unknown("malformed Fn::If")
        decided = self.condition(str(args[0]))
        if decided is True:
            return self.value(args[1])
        if decided is False:
            return self.value(args[2])
        return Sym("Fn::If", (freeze(decided), freeze(self.value(args[1])),
                              freeze(self.value(args[2]))))

    def _fn_FindInMap(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) in (3, 4)):
            return Unknown("malformed Fn::FindInMap")
        keys = [self.value(a) for a in args[:3]]
        if all(isinstance(k, str) for k in keys):
            node: Any = self.mappings
            for key in keys:
                node = node.get(key) if isinstance(node, Mapping) else None
            if node is not None:
                return self.value(node)
            if len(args) == 4 and isinstance(args[3], Mapping):
                return self.value(args[3].get("DefaultValue"))
            return Unknown(f"Fn::FindInMap {'/'.join(keys)} is not in Mappings")
        return Sym("Fn::FindInMap", tuple(freeze(k) for k in keys))

    def _fn_ImportValue(self, args: Any) -> Any:
        return Sym("ImportValue", (freeze(self.value(args)),))

    def _fn_GetAZs(self, args: Any) -> Any:
        region = self.value(args)
        return Sym("GetAZs", (freeze(region) if region else "AWS::Region",))

    def _fn_Cidr(self, args: Any) -> Any:
        values = self.value(args) if isinstance(args, list) else None
        if isinstance(values, list) and len(values) == 3 and is_literal(values):
            try:
                network = ipaddress.ip_network(values[0], strict=False)
                count, bits = int(values[1]), int(values[2])
                prefix = network.max_prefixlen - bits
                subnets = network.subnets(new_prefix=prefix)
                return [str(next(subnets)) for _ in range(count)]
            except (ValueError, StopIteration):
                return Unknown("Fn::Cidr cannot split this block")
        return Sym("Fn::Cidr", (freeze(values),))

    # -- the template -----------------------------------------------------------------
    def resource(self, logical_id: str) -> ResolvedResource | None:
        """The resolved resource, or None when its condition is false."""
        body = self.resources.get(logical_id)
        if not isinstance(body, Mapping):
            return None
        condition: Any = True
        if "Condition" in body:
            condition = self.condition(str(body["Condition"]))
            if condition is False:
                return None
        properties = self.value(body.get("Properties") or {})
        return ResolvedResource(
            logical_id=logical_id, type=str(body.get("Type", "")),
            properties=properties if isinstance(properties, dict) else {},
            deletion_policy=_policy(body.get("DeletionPolicy")),
            update_replace_policy=_policy(body.get("UpdateReplacePolicy")),
            metadata=self.value(body["Metadata"]) if "Metadata" in body else None,
            condition=condition)

    def all_resources(self) -> dict[str, ResolvedResource]:
        found = {}
        for logical_id in self.resources:
            resolved = self.resource(str(logical_id))
            if resolved is not None:
                found[str(logical_id)] = resolved
        return found

    def exports(self) -> dict[Any, str]:
        """Export name (resolved when possible) -> the output's logical id."""
        found: dict[Any, str] = {}
        for name, output in (self.template.get("Outputs") or {}).items():
            if not isinstance(output, Mapping) or not isinstance(output.get("Export"), Mapping):
                continue
            if "Condition" in output and self.condition(str(output["Condition"])) is False:
                continue
            found[freeze(self.value(output["Export"].get("Name")))] = str(name)
        return found


def _policy(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def concat(parts: list[Any]) -> Any:
    """Join strings and tokens; adjacent strings merge, a lone part is returned as is."""
    merged: list[Any] = []
    for part in parts:
        if isinstance(part, Sym) and part.kind == "Concat":
            pieces: list[Any] = list(part.args)
        else:
            pieces = [part]
        for piece in pieces:
            if isinstance(piece, list):
                piece = Sym("List", freeze(piece))
            if isinstance(piece, str) and merged and isinstance(merged[-1], str):
                merged[-1] += piece
            elif piece != "":
                merged.append(piece)
    if not merged:
        return ""
    if len(merged) == 1:
        return merged[0]
    return Sym("Concat", tuple(merged))


def imports_in(value: Any, found: set | None = None) -> set:
    """Every ``Fn::ImportValue`` name inside a resolved value."""
    found = set() if found is None else found
    if isinstance(value, Sym):
        if value.kind == "ImportValue":
            found.add(value.args[0])
        for arg in value.args:
            imports_in(arg, found)
    elif isinstance(value, dict):
        for child in value.values():
            imports_in(child, found)
    elif isinstance(value, list | tuple):
        for child in value:
            imports_in(child, found)
    return found


def references_in(value: Any, found: set | None = None) -> set[str]:
    """Logical ids a resolved value refers to (Ref and GetAtt)."""
    found = set() if found is None else found
    if isinstance(value, Ref | Att):
        found.add(value.logical_id)
    elif isinstance(value, Sym):
        for arg in value.args:
            references_in(arg, found)
    elif isinstance(value, dict):
        for child in value.values():
            references_in(child, found)
    elif isinstance(value, list | tuple):
        for child in value:
            references_in(child, found)
    return found
