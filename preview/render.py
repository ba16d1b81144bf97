"""The preview as text (terminals), Markdown (pull-request comments) or JSON."""

from __future__ import annotations

import json
from typing import Any

from preview.model import Preview, StackPreview

MARKER = "<!-- changegate-preview -->"  # the workflow finds and updates its comment by this


def render(preview: Preview, output_format: str) -> str:
    if output_format == "json":
        return json.dumps(preview.to_json(), indent=2, sort_keys=False)
    if output_format == "markdown":
        return _markdown(preview)
    return _text(preview)


def _verdict(preview: Preview) -> str:
    code = preview.exit_code
    return {0: "nothing risky", 1: "errors", 3: "risky changes"}[code]


def _text(preview: Preview) -> str:
    lines = [f"changegate preview {preview.base[:12]}..{preview.head[:12]}"]
    for error in preview.errors:
        lines.append(f"ERROR: {error}")
    for folder, stack in sorted(preview.stacks.items()):
        lines.append("")
        lines.append(f"== {folder} ({stack.stack_name}): {stack.status}")
        for change in stack.resources.values():
            replacement = f" replacement={change.replacement}" if change.replacement else ""
            lines.append(f"  {change.action:<6} {change.logical_id} ({change.resource_type})"
                         f"{replacement}")
            for path in change.paths:
                mark = " [replaces]" if _causes(path, change.causes) else ""
                lines.append(f"           {path}{mark}")
            for cause in change.causes:
                if not any(_causes(p, (cause,)) for p in change.paths):
                    lines.append(f"           cause: {cause}")
        lines.extend(_section_lines(stack, "  "))
        lines.append(f"  {stack.summary()}")
    if preview.pipeline_settings:
        lines.append("")
        lines.append("== pipelines/config.yaml")
        for key, (before, after) in sorted(preview.pipeline_settings.items()):
            lines.append(f"  {key}: {_short(before)} -> {_short(after)}")
    if preview.order:
        lines.append("")
        lines.append("order:")
        lines.extend(f"  {line}" for line in preview.order)
    lines.append("")
    for stack in sorted(preview.stacks.values(), key=lambda s: s.folder):
        lines.append(stack.summary())
    lines.append(f"{preview.total()} -> {_verdict(preview)} (exit {preview.exit_code})")
    return "\n".join(lines)


def _section_lines(stack: StackPreview, indent: str) -> list[str]:
    lines = []
    for title, changes in (("parameter", stack.parameters), ("tag", stack.tags),
                           ("setting", stack.settings)):
        for key, (before, after) in changes.items():
            lines.append(f"{indent}{title} {key}: {_short(before)} -> {_short(after)}")
    for item in stack.data_at_risk:
        lines.append(f"{indent}DATA AT RISK: {item}")
    for item in stack.permission_broadening:
        lines.append(f"{indent}PERMISSION BROADENING: {item}")
    for item in stack.errors:
        lines.append(f"{indent}ERROR: {item}")
    for item in stack.notes:
        lines.append(f"{indent}note: {item}")
    return lines


def _markdown(preview: Preview) -> str:
    icon = {0: "✅", 1: "❌", 3: "⚠️"}[preview.exit_code]
    lines = [MARKER, f"### changegate preview {icon} {_verdict(preview)}", "",
             f"`{preview.base[:12]}` → `{preview.head[:12]}` · predicted offline from the "
             "resource schemas; the change set created at deploy time is authoritative.", ""]
    for error in preview.errors:
        lines.append(f"- ❌ **error:** {_md(error)}")
    if preview.errors:
        lines.append("")
    for folder, stack in sorted(preview.stacks.items()):
        lines.append(f"#### `{folder}` ({stack.stack_name}): {stack.status}")
        lines.append("")
        if stack.resources:
            lines.append("| Resource | Type | Action | Replacement | Changed paths |")
            lines.append("|---|---|---|---|---|")
            for change in stack.resources.values():
                replacement = change.replacement or ""
                if change.replacement == "True":
                    replacement = "**True**"
                paths = "<br>".join(f"`{p}`" + (" (replaces)" if _causes(p, change.causes)
                                                 else "") for p in change.paths)
                extra = [c for c in change.causes
                         if not any(_causes(p, (c,)) for p in change.paths)]
                if extra:
                    paths += "<br>" + "<br>".join(f"cause: `{c}`" for c in extra)
                lines.append(f"| {change.logical_id} | {change.resource_type} | {change.action} "
                             f"| {replacement} | {paths} |")
            lines.append("")
        for line in _section_lines(stack, ""):
            lines.append(f"- {_md(line)}")
        lines.append(f"- _{_md(stack.summary())}_")
        lines.append("")
    if preview.pipeline_settings:
        lines.append("#### `pipelines/config.yaml`")
        lines.append("")
        for key, (before, after) in sorted(preview.pipeline_settings.items()):
            lines.append(f"- `{key}`: {_md(_short(before))} → {_md(_short(after))}")
        lines.append("")
    if preview.order:
        lines.append("#### Order")
        lines.append("")
        lines.extend(f"- {_md(line)}" for line in preview.order)
        lines.append("")
    lines.append(f"**{_md(preview.total())}**")
    return "\n".join(lines)


def _causes(path: str, causes: tuple[str, ...]) -> bool:
    """Whether a changed path is, or is inside, one of the properties that replace."""
    return any(path == c or path.startswith(c + ".") or c.startswith(path + ".")
               for c in causes)


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;")
