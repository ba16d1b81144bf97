"""Which property changes replace a resource, from the provider schemas cfn-lint ships.

cfn-lint bundles the CloudFormation resource provider schemas: ``providers/<region>.json``
maps each resource type to a schema file in ``resources/`` (a region without its own file uses
us-east-1's, as cfn-lint's ``ProviderSchemaManager._load_provider_module`` does). A schema's
``createOnlyProperties`` are JSON pointers (``/properties/Foo/Bar``, ``*`` for any list
element): "properties that can be specified by the user only during resource creation"
(CloudFormation CLI, resource type schema), so changing one replaces the resource. Where the
AWS documentation's "Update requires" says otherwise, ``overrides.py`` wins.

The files are read directly (JSON, cached per type) instead of through cfn-lint's API, whose
import alone costs half a second.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.util import find_spec
from pathlib import Path

from preview.overrides import OVERRIDES, Override

DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class TypeRules:
    """Update behaviour of one resource type, schema and documentation merged."""

    known: bool  # False: no schema (custom or third-party type): every change is Unknown
    replacing: tuple[tuple[str, ...], ...]  # property paths ("*" = any list element)
    not_replacing: frozenset[str]  # top-level properties the docs say update in place
    unordered: frozenset[tuple[str, ...]]  # lists whose order CloudFormation ignores
    sources: dict[tuple[str, ...], Override]  # path -> the documentation override used


@lru_cache(maxsize=1)
def _schema_dir() -> Path | None:
    spec = find_spec("cfnlint")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas"


@lru_cache(maxsize=8)
def _providers(region: str) -> dict[str, str]:
    base = _schema_dir()
    if base is None:
        return {}
    path = base / "providers" / f"{region}.json"
    if not path.is_file():
        path = base / "providers" / f"{DEFAULT_REGION}.json"
    return json.loads(path.read_text("utf-8"))


@cache
def rules_for(resource_type: str, region: str = DEFAULT_REGION) -> TypeRules:
    schema = _schema(resource_type, region)
    overrides = [o for o in OVERRIDES if o.resource_type == resource_type]
    if schema is None:
        replacing = tuple(o.path for o in overrides if o.replacement)
        return TypeRules(bool(overrides), replacing, frozenset(), frozenset(),
                         {o.path: o for o in overrides})
    paths = {_pointer_path(p) for p in schema.get("createOnlyProperties", ())}
    for override in overrides:
        if override.replacement:
            paths.add(override.path)
        else:
            paths = {p for p in paths if p[: len(override.path)] != override.path}
    return TypeRules(
        known=True,
        replacing=tuple(sorted(paths)),
        not_replacing=frozenset(o.path[0] for o in overrides if not o.replacement),
        unordered=frozenset(_unordered_lists(schema)),
        sources={o.path: o for o in overrides},
    )


def _schema(resource_type: str, region: str) -> dict | None:
    digest = _providers(region).get(resource_type)
    base = _schema_dir()
    if digest is None or base is None:
        return None
    path = base / "resources" / f"{digest}.json"
    return json.loads(path.read_text("utf-8")) if path.is_file() else None


def _pointer_path(pointer: str) -> tuple[str, ...]:
    parts = pointer.strip("/").split("/")
    return tuple(parts[1:]) if parts and parts[0] == "properties" else tuple(parts)


def _unordered_lists(schema: dict) -> list[tuple[str, ...]]:
    """Top-level and nested list properties with ``insertionOrder: false``."""
    found: list[tuple[str, ...]] = []
    definitions = schema.get("definitions", {})

    def walk(node: dict, path: tuple[str, ...], depth: int) -> None:
        if depth > 6 or not isinstance(node, dict):
            return
        if "$ref" in node:
            node = definitions.get(node["$ref"].rsplit("/", 1)[-1], {})
        if node.get("type") == "array" or "items" in node:
            if node.get("insertionOrder") is False:
                found.append(path)
            walk(node.get("items", {}), (*path, "*"), depth + 1)
        for name, child in node.get("properties", {}).items():
            walk(child, (*path, name), depth + 1)

    for name, child in schema.get("properties", {}).items():
        walk(child, (name,), 0)
    return found
