"""Nothing runs before approval: transforms (macros) only from the owners' allow-list.

A transform is a macro, and CloudFormation runs macros when the Plan action creates the change
set, before anyone approves: "After all macros in the template have been invoked, CloudFormation
generates a change set" (CloudFormation User Guide, "Overview of CloudFormation macros"). A custom
macro is a Lambda function of the account: it receives the template fragment and parameters and
runs with its own role. ``CAPABILITY_AUTO_EXPAND`` is no gate there: it "doesn't apply to creating
change sets, and specifying it when creating change sets has no effect" (CreateChangeSet API
reference). So ``validate`` (and the sync, and CI) refuses every ``Transform`` and
``Fn::Transform`` whose name is not on the allow-list in ``pipelines/config.yaml``
(``transforms.allowed``, per stack ``stacks.<name>.transforms.allowed``; the default and why is
``generator.contract.config.DEFAULT_ALLOWED_TRANSFORMS``).

``AWS::Include`` is the exception: a transform hosted by CloudFormation that inserts a snippet
from S3. What it runs is AWS's; what it inserts is content from outside the repository, which
``content_sources.py`` judges by its ``Location``.

A stack that defines a macro (``AWS::CloudFormation::Macro``) is refused too: once deployed, its
function would run at the Plan of any stack that names it, before that stack's approval.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator.contract.config import CONFIG_RELPATH
from generator.contract.problems import Problem, error
from generator.contract.resolve import line_at, path_text

INCLUDE = "AWS::Include"
MACRO_TYPE = "AWS::CloudFormation::Macro"


def transform_nodes(template: Mapping) -> Iterator[tuple[tuple, Any]]:
    """Every transform the template names: (key path, the transform's value).

    The top-level ``Transform`` (a name, a list of names, or a ``{Name, Parameters}`` mapping
    such as ``AWS::Include``) yields one entry per item; each ``Fn::Transform`` anywhere yields
    its ``{Name, Parameters}`` value. The walk covers every node, so callers run it only when the
    file's text holds "Transform".
    """
    top = template.get("Transform")
    if isinstance(top, list):
        for index, item in enumerate(top):
            yield ("Transform", index), item
    elif top is not None:
        yield ("Transform",), top
    yield from _inline(template, ())


def _inline(node: Any, path: tuple) -> Iterator[tuple[tuple, Any]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "Fn::Transform":
                yield (*path, key), value
            if path or key != "Transform":  # the top-level section was yielded already
                yield from _inline(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _inline(item, (*path, index))


def transform_name(value: Any) -> str | None:
    """The name a transform entry gives, or None when it is not a literal string."""
    if isinstance(value, Mapping):
        value = value.get("Name")
    return str(value) if isinstance(value, str) else None


def transform_problems(template: Mapping, relpath: str, stack: str, allowed: tuple[str, ...],
                       *, may_transform: bool) -> list[Problem]:
    """Each transform not on ``allowed``, and each macro the stack defines."""
    problems = []
    setting = (f"stacks.{stack}.transforms.allowed or transforms.allowed in {CONFIG_RELPATH}")
    for path, value in transform_nodes(template) if may_transform else ():
        name = transform_name(value)
        where = path_text(path)
        if name == INCLUDE:
            continue  # AWS-hosted; its Location is content_sources.py's
        if name is None:
            problems.append(error(
                relpath, "transform-not-literal",
                "the transform's name is not a literal string; CloudFormation "
                "would run whatever macro it names when the change set is created, before "
                "approval",
                key=where, line=line_at(template, path), stack=stack,
                hint="write the transform's name literally (and only a name on the allow-list)"))
            continue
        if name in allowed:
            continue
        problems.append(error(
            relpath, "transform-not-allowed",
            f"the transform {name!r} is not on the allow-list "
            f"({', '.join(allowed) or 'none'}); a transform is a macro, which CloudFormation runs "
            "when the Plan action creates the change set, before anyone approves",
            key=where, line=line_at(template, path), stack=stack,
            hint=f"remove it, or ask an owner to review the macro's code and add {name!r} to "
                 f"{setting}"))
    resources = template.get("Resources")
    for logical_id, resource in resources.items() if isinstance(resources, Mapping) else ():
        if isinstance(resource, Mapping) and resource.get("Type") == MACRO_TYPE:
            path = ("Resources", logical_id, "Type")
            problems.append(error(
                relpath, "macro-defined",
                f"Resources.{logical_id} defines a CloudFormation macro ({MACRO_TYPE}); once "
                "deployed, any stack naming it runs its function at Plan, before its own "
                "approval",
                key=f"Resources.{logical_id}", line=line_at(template, path), stack=stack,
                hint="define macros outside the stacks changegate manages (an owner deploys and "
                     "reviews them), then add the macro's name to transforms.allowed in "
                     f"{CONFIG_RELPATH}"))
    return problems
