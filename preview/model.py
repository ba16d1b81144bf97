"""What the preview reports, in CloudFormation's own words (Add/Modify/Remove, Replacement)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REPLACEMENTS = ("True", "Conditional", "Unknown", "False")


@dataclass(frozen=True)
class ResourceChange:
    logical_id: str
    resource_type: str
    action: str  # Add | Modify | Remove
    replacement: str | None = None  # True | Conditional | Unknown | False; None for Add/Remove
    paths: tuple[str, ...] = ()
    causes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # documentation addresses behind a cause, when overridden

    def to_json(self) -> dict:
        data: dict[str, Any] = {"action": self.action, "type": self.resource_type,
                                "replacement": self.replacement, "paths": list(self.paths),
                                "causes": list(self.causes)}
        if self.sources:
            data["sources"] = list(self.sources)
        return data


@dataclass
class StackPreview:
    folder: str
    stack_name: str
    status: str  # added | changed | removed
    resources: dict[str, ResourceChange] = field(default_factory=dict)
    parameters: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    tags: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    settings: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    data_at_risk: list[str] = field(default_factory=list)
    permission_broadening: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        actions = [c.action for c in self.resources.values()]
        return {"add": actions.count("Add"), "modify": actions.count("Modify"),
                "remove": actions.count("Remove"),
                "replace": sum(1 for c in self.resources.values()
                               if c.replacement in ("True", "Conditional", "Unknown"))}

    @property
    def risky(self) -> bool:
        return bool(self.data_at_risk or self.permission_broadening or self.status == "removed"
                    or any(c.action == "Remove" or c.replacement in ("True", "Conditional",
                                                                      "Unknown")
                           for c in self.resources.values()))

    def summary(self) -> str:
        n = self.counts()
        text = (f"{self.folder}: {self.status}; {n['add']} to add, {n['modify']} to modify "
                f"({n['replace']} may be replaced), {n['remove']} to remove")
        extras = []
        if self.data_at_risk:
            extras.append(f"{len(self.data_at_risk)} data at risk")
        if self.permission_broadening:
            extras.append(f"{len(self.permission_broadening)} permission broadening")
        if self.errors:
            extras.append(f"{len(self.errors)} errors")
        return text + (f"; {', '.join(extras)}" if extras else "")


@dataclass
class Preview:
    base: str
    head: str
    stacks: dict[str, StackPreview] = field(default_factory=dict)
    pipeline_settings: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # "deploy A before B" lines
    notes: list[str] = field(default_factory=list)

    @property
    def all_errors(self) -> list[str]:
        return self.errors + [f"{s.folder}: {e}" for s in self.stacks.values() for e in s.errors]

    @property
    def risky(self) -> bool:
        return any(s.risky for s in self.stacks.values())

    @property
    def exit_code(self) -> int:
        """0 nothing risky, 1 errors, 3 risky changes (documented in the README)."""
        if self.all_errors:
            return 1
        return 3 if self.risky else 0

    def total(self) -> str:
        totals = {"add": 0, "modify": 0, "remove": 0, "replace": 0}
        for stack in self.stacks.values():
            for key, value in stack.counts().items():
                totals[key] += value
        risky = sum(1 for s in self.stacks.values() if s.risky)
        return (f"total: {len(self.stacks)} stacks changed ({risky} risky); "
                f"{totals['add']} to add, {totals['modify']} to modify "
                f"({totals['replace']} may be replaced), {totals['remove']} to remove; "
                f"{len(self.all_errors)} errors")

    def to_json(self) -> dict:
        return {
            "base": self.base,
            "head": self.head,
            "stacks": {name: _stack_json(stack) for name, stack in sorted(self.stacks.items())},
            "pipelines": {"settings": _pairs(self.pipeline_settings)},
            "order": list(self.order),
            "errors": self.all_errors,
            "notes": list(self.notes),
            "summary": self.total(),
            "exit_code": self.exit_code,
        }


def _pairs(changes: dict[str, tuple[Any, Any]]) -> dict:
    return {key: {"before": before, "after": after}
            for key, (before, after) in sorted(changes.items())}


def _stack_json(stack: StackPreview) -> dict:
    return {
        "status": stack.status,
        "stack_name": stack.stack_name,
        "resources": {lid: change.to_json() for lid, change in sorted(stack.resources.items())},
        "parameters": _pairs(stack.parameters),
        "tags": _pairs(stack.tags),
        "settings": _pairs(stack.settings),
        "data_at_risk": list(stack.data_at_risk),
        "permission_broadening": list(stack.permission_broadening),
        "errors": list(stack.errors),
        "notes": list(stack.notes),
        "summary": stack.summary(),
    }
