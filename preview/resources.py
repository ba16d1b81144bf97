"""Which resources a change adds, removes and modifies, and which modifications replace.

A modified resource is replaced when a property its schema marks create-only (or the AWS
documentation marks "Update requires: Replacement") changes. Resources are decided in
dependency order, so that a ``Ref`` to a replaced resource is a changed value for its
dependants: if that value sits in one of their create-only properties, they are replaced too.
A resource type without a schema is ``Unknown`` on any change; a custom resource is
``Conditional``, because its provider decides ("If the update requires replacement, the
provider returns a new physical ID", CloudFormation User Guide, custom resources).
"""

from __future__ import annotations

from typing import Any

from preview.compare import MISSING, Comparer, Outcome, canonical
from preview.model import ResourceChange
from preview.resolve import ResolvedResource, is_literal, references_in
from preview.schemas import rules_for

_REPLACEMENT = {Outcome.CHANGED: "True", Outcome.UNKNOWN: "Unknown",
                Outcome.CONDITIONAL: "Conditional"}
# Attributes that change on every update of their resource, not only on replacement.
VOLATILE_ATTRIBUTES = {("AWS::EC2::LaunchTemplate", "LatestVersionNumber")}


def diff_resources(old: dict[str, ResolvedResource], new: dict[str, ResolvedResource],
                   region: str = "us-east-1") -> dict[str, ResourceChange]:
    changes: dict[str, ResourceChange] = {}
    for logical_id in sorted(old.keys() - new.keys()):
        changes[logical_id] = ResourceChange(logical_id, old[logical_id].type, "Remove")
    for logical_id in sorted(new.keys() - old.keys()):
        changes[logical_id] = ResourceChange(logical_id, new[logical_id].type, "Add")

    decided: dict[str, str] = {}
    changed_paths: dict[str, list[tuple[tuple, Outcome]]] = {}

    def replacement(logical_id: str) -> str | None:
        if logical_id in decided:
            return decided[logical_id]
        return None if logical_id in old and logical_id in new else "True"

    def attribute_changed(logical_id: str, attribute: str) -> Outcome:
        resource = new.get(logical_id)
        if resource is None or logical_id not in changed_paths:
            return Outcome.SAME
        if (resource.type, attribute) in VOLATILE_ATTRIBUTES:
            return Outcome.CHANGED
        base = attribute.split(".", 1)[0]
        outcomes = [o for path, o in changed_paths[logical_id] if path[:2] == ("Properties", base)]
        return max(outcomes, default=Outcome.SAME)

    comparer = Comparer(replacement, attribute_changed)
    for logical_id in _dependency_order(old.keys() & new.keys(), new):
        before, after = old[logical_id], new[logical_id]
        change = _modification(before, after, comparer, region)
        if change is None:
            decided[logical_id] = "False"
            continue
        changed_paths[logical_id] = change[1]
        decided[logical_id] = change[0].replacement or "False"
        changes[logical_id] = change[0]
    return dict(sorted(changes.items()))


def _dependency_order(common: set[str], new: dict[str, ResolvedResource]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(logical_id: str) -> None:
        if state.get(logical_id) is not None:
            return  # done, or a cycle (an invalid template): leave it undecided
        state[logical_id] = 0
        for dependency in sorted(references_in(new[logical_id].properties)):
            if dependency in common:
                visit(dependency)
        state[logical_id] = 1
        order.append(logical_id)

    for logical_id in sorted(common):
        visit(logical_id)
    return order


def _modification(before: ResolvedResource, after: ResolvedResource, comparer: Comparer,
                  region: str) -> tuple[ResourceChange, list] | None:
    if before.type != after.type:
        change = ResourceChange(after.logical_id, after.type, "Modify", "True", ("Type",),
                                ("Type",))
        return change, [(("Type",), Outcome.CHANGED)]
    rules = rules_for(after.type, region)
    found: list[tuple[tuple, Outcome]] = []
    _walk(before.properties, after.properties, ("Properties",), comparer, rules.unordered, found)
    if comparer.compare(_or_missing(before.metadata), _or_missing(after.metadata)) \
            is not Outcome.SAME:
        found.append((("Metadata",), Outcome.CHANGED))
    if before.condition != after.condition and not (before.condition is True
                                                     and after.condition is True):
        found.append((("Condition",), Outcome.UNKNOWN))
    if not found:
        return None
    paths = tuple(_dotted(path) for path, _ in found)
    property_changes = [(p, o) for p, o in found if p[0] == "Properties"]
    if not property_changes:
        unknown = (("Condition",), Outcome.UNKNOWN) in found
        return ResourceChange(after.logical_id, after.type, "Modify",
                              "Unknown" if unknown else "False", paths,
                              ("Condition",) if unknown else ()), found
    if after.type.startswith("Custom::") or after.type == "AWS::CloudFormation::CustomResource":
        causes = tuple(_dotted(p) for p, _ in property_changes)
        return ResourceChange(after.logical_id, after.type, "Modify", "Conditional", paths,
                              causes), found
    if not rules.known:
        causes = tuple(_dotted(p) for p, _ in property_changes)
        return ResourceChange(after.logical_id, after.type, "Modify", "Unknown", paths,
                              causes), found
    worst, causes, sources = Outcome.SAME, [], []
    for pattern in rules.replacing:
        outcome = comparer.compare(_extract(before.properties, pattern),
                                   _extract(after.properties, pattern))
        if outcome is Outcome.SAME:
            continue
        causes.append(_dotted(("Properties", *pattern)))
        worst = max(worst, outcome)
        if pattern in rules.sources:
            sources.append(rules.sources[pattern].source)
    if (("Condition",), Outcome.UNKNOWN) in found:
        # its condition changed to another expression decided at deploy time: the resource
        # may appear or disappear
        causes.append("Condition")
        worst = max(worst, Outcome.UNKNOWN)
    replacement = _REPLACEMENT.get(worst, "False")
    return ResourceChange(after.logical_id, after.type, "Modify", replacement, paths,
                          tuple(causes), tuple(sources)), found


def _or_missing(value: Any) -> Any:
    return MISSING if value is None else value


def _walk(old: Any, new: Any, path: tuple, comparer: Comparer, unordered: frozenset,
          found: list) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            if key not in old or key not in new:
                found.append(((*path, key), Outcome.CHANGED))
            else:
                _walk(old[key], new[key], (*path, key), comparer, unordered, found)
        return
    if isinstance(old, list) and isinstance(new, list):
        if _schema_path(path) in unordered and is_literal(old) and is_literal(new) \
                and sorted(map(canonical, old)) == sorted(map(canonical, new)):
            return  # CloudFormation ignores the order of this list (insertionOrder: false)
        common = min(len(old), len(new))
        for index in range(common):
            _walk(old[index], new[index], (*path, index), comparer, unordered, found)
        # elements added or removed at the end (CloudFormation compares lists by position)
        found.extend(((*path, index), Outcome.CHANGED)
                     for index in range(common, max(len(old), len(new))))
        return
    outcome = comparer.compare(old, new)
    if outcome is not Outcome.SAME:
        found.append((path, outcome))


def _schema_path(path: tuple) -> tuple:
    return tuple("*" if isinstance(p, int) else p for p in path[1:])


def _extract(value: Any, pattern: tuple) -> Any:
    if not pattern:
        return value
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        if isinstance(value, list):
            return [_extract(item, rest) for item in value]
        return MISSING if value is MISSING else _extract(value, rest)
    if isinstance(value, dict):
        return _extract(value.get(head, MISSING), rest)
    if value is MISSING or isinstance(value, str | list):
        return MISSING
    return value  # a deploy-time value (Fn::If on an open condition...): compare it whole


def _dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path)
