"""N-stack inputs for the sharding tests, without writing N folders to disk.

Copies of the example stacks, named ``<example>-<i>`` like benchmarks/bench_commands.py
``make_repository`` names them, each keeping its example's settings (windows, approvals, capabilities),
so the pipelines differ in size as they would in a real repository.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from generator.contract.config import PipelinesConfig
from generator.contract.stacks import LoadedStack
from generator.contract.validate import validate_repository

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = ("network", "database", "service", "alarms")


@lru_cache(maxsize=1)
def _example() -> tuple[PipelinesConfig, dict[str, LoadedStack]]:
    report = validate_repository(REPO, lint=False)
    assert report.ok, report.errors
    return report.config, dict(report.stacks)


def stacks(count: int) -> tuple[PipelinesConfig, dict[str, LoadedStack]]:
    config, examples = _example()
    made = {}
    for i in range(count):
        one = examples[EXAMPLES[i % len(EXAMPLES)]]
        folder = f"{one.name}-{i:04d}"
        made[folder] = replace(one, source=replace(one.source, name=folder), stack_name=f"acme-{folder}",
                               pipeline_name=f"acme-{folder}")
    return config, made


_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


def named(node: Any) -> set[str]:
    """Every name ``node`` refers to (Ref, GetAtt, ${X} or ${X.Attr} in Fn::Sub; not the local
    variables of Fn::Sub's list form). Written apart from generator/bootstrap/intrinsics.py on purpose."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= named(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value.split(".")[0] if isinstance(value, str) else value[0])
            elif key == "Fn::Sub":
                text, local = (value, {}) if isinstance(value, str) else value
                found |= {m.group(1).split(".")[0] for m in _SUB.finditer(text)} - set(local)
                found |= named(local)
            else:
                found |= named(value)
    return found


def substitute(node: Any, passed: dict[str, dict]) -> Any:
    """``node`` with each ``Ref`` to a parameter replaced by what the parent passes for it, and
    ``${P}`` in Fn::Sub by ``${X}`` / ``${X.Attr}``: the child resource as the parent would hold it."""
    def sub_name(value: dict) -> str:
        if "Ref" in value:
            return value["Ref"]
        target, attribute = value["Fn::GetAtt"]
        return f"{target}.{attribute}"

    if isinstance(node, list):
        return [substitute(item, passed) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and node["Ref"] in passed:
        return passed[node["Ref"]]
    if set(node) == {"Fn::Sub"}:
        value = node["Fn::Sub"]
        text, local = (value, None) if isinstance(value, str) else value
        mine = set(local or ())

        def one(m: re.Match) -> str:
            name = m.group(1)
            return "${" + sub_name(passed[name]) + "}" if name in passed and name not in mine else m.group(0)

        text = _SUB.sub(one, text)
        return {"Fn::Sub": text if local is None else [text, substitute(local, passed)]}
    return {key: substitute(value, passed) for key, value in node.items()}
