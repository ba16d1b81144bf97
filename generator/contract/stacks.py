"""Load one stack (template and config) and run every check that needs no network.

cfn-lint is slow and runs separately (``lint.py``), so the sync can lint only the stacks
that changed while still checking every stack here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import naming
from generator.contract.capabilities import missing_capabilities, required_capabilities
from generator.contract.config import PipelinesConfig, StackSettings
from generator.contract.discovery import StackSource
from generator.contract.documents import (
    MAX_TEMPLATE_BYTES,
    TEMPLATE_LIMIT_NOTE,
    key_line,
    line_of,
    read_document,
)
from generator.contract.gate import gate_problems
from generator.contract.literals import literal_problems
from generator.contract.parameters import check_parameters
from generator.contract.problems import Problem, error
from generator.contract.stack_config import TemplateConfiguration, normalize_configuration

MAX_RESOURCES = 500


@dataclass(frozen=True)
class LoadedStack:
    """A stack that loaded: its files' bytes, decoded template and normalized config."""

    source: StackSource
    settings: StackSettings
    stack_name: str
    pipeline_name: str
    template_relpath: str
    template_bytes: bytes
    template: Any
    configuration: TemplateConfiguration

    @property
    def name(self) -> str:
        return self.source.name


def load_stack(source: StackSource, root: Path,
               config: PipelinesConfig) -> tuple[LoadedStack | None, list[Problem]]:
    """Read and check one stack; the stack is None when its template cannot be used.

    Most stacks are clean, and the sync checks every stack on every merge: the first pass
    decodes at C speed without line numbers; a stack with any problem is read again with the
    line-tracking decoder so that each problem it reports names its line.
    """
    stack, problems = _load_stack(source, root, config, precise=False)
    if problems:
        return _load_stack(source, root, config, precise=True)
    return stack, problems


def _load_stack(source: StackSource, root: Path, config: PipelinesConfig,
                precise: bool) -> tuple[LoadedStack | None, list[Problem]]:
    settings = config.settings_for(source.name)
    stack_name = naming.stack_name(config.project, source.name, settings.stack_name)
    pipeline_name = naming.pipeline_name(config.project, source.name)
    folder_relpath = f"stacks/{source.name}"
    problems = _name_problems(source.name, folder_relpath, stack_name, pipeline_name)

    template_doc = read_document(source.template_path, root, stack=source.name, precise=precise,
                                 max_bytes=MAX_TEMPLATE_BYTES, limit_note=TEMPLATE_LIMIT_NOTE)
    problems.extend(template_doc.problems)
    template = template_doc.data
    if template is not None and not isinstance(template, Mapping):
        problems.append(error(template_doc.relpath, "template-type",
                              "the template must be a mapping (AWSTemplateFormatVersion:, "
                              "Resources:, ...), not a list or a scalar",
                              line=line_of(template) or 1, stack=source.name))
        template = None
    if template is not None:
        problems.extend(_template_problems(template, template_doc.relpath, source.name))
        if not settings.disabled:  # no pipeline, no Plan to fail
            problems.extend(_capability_problems(template, template_doc.relpath, source.name,
                                                 settings.capabilities,
                                                 b"Transform" in template_doc.raw))

    configuration, config_relpath = TemplateConfiguration(), None
    config_loaded, retyped = True, set()
    if source.config_path is not None:
        config_doc = read_document(source.config_path, root, stack=source.name, precise=precise)
        config_relpath = config_doc.relpath
        problems.extend(config_doc.problems)
        config_loaded = config_doc.data is not None
        if config_doc.data is not None:
            configuration, config_problems = normalize_configuration(
                config_doc.data, config_relpath, source.name)
            problems.extend(config_problems)
            literal = literal_problems(config_doc.raw.decode("utf-8"), source.config_path.suffix,
                                       config_relpath, source.name)
            problems.extend(literal)
            retyped = {p.key.split("[")[0] for p in literal if p.key}
    if template is None:
        return None, problems
    if config_loaded:
        # a config that did not decode has no values: "no value here" would only add noise
        problems.extend(
            p for p in check_parameters(template, template_doc.relpath, configuration,
                                        config_relpath, source.name)
            # a retyped value is reported as written; its retyped form's problems would mislead
            if not (p.check == "parameter-value" and p.key in retyped))
        if not settings.disabled:  # no pipeline deploys it
            problems.extend(gate_problems(template, template_doc.raw, template_doc.relpath,
                                          source.name, source.directory, config, settings,
                                          configuration.parameters))
    return LoadedStack(source=source, settings=settings, stack_name=stack_name,
                       pipeline_name=pipeline_name, template_relpath=template_doc.relpath,
                       template_bytes=template_doc.raw, template=template,
                       configuration=configuration), problems


def folder_name_problems(folder: str) -> list[Problem]:
    """What is wrong with a folder's name on its own, without pipelines/config.yaml."""
    relpath = f"stacks/{folder}"
    problems = []
    if folder in naming.RESERVED_FOLDERS:
        problems.append(error(relpath, "stack-name-reserved",
                              f"the stack name {folder!r} is reserved by changegate",
                              hint="rename the folder", stack=folder))
    if not naming.STACK_FOLDER_RE.match(folder):
        problems.append(error(relpath, "stack-name-invalid",
                              f"{folder!r} is not a valid stack name",
                              hint="use letters, digits and hyphens, starting with a letter",
                              stack=folder))
    return problems


def _name_problems(folder: str, relpath: str, stack_name: str, pipeline_name: str) -> list[Problem]:
    problems = folder_name_problems(folder)
    if len(stack_name) > naming.MAX_STACK_NAME:
        problems.append(error(relpath, "stack-name-too-long",
                              f"the stack name {stack_name!r} is {len(stack_name)} characters; "
                              f"CloudFormation allows {naming.MAX_STACK_NAME}",
                              hint="shorten the folder name", stack=folder))
    if len(pipeline_name) > naming.MAX_PIPELINE_NAME:
        problems.append(error(relpath, "pipeline-name-too-long",
                              f"the pipeline name {pipeline_name!r} is {len(pipeline_name)} "
                              f"characters; CodePipeline allows {naming.MAX_PIPELINE_NAME}",
                              hint="shorten the folder name", stack=folder))
    return problems


def _template_problems(template: Mapping, relpath: str, stack: str) -> list[Problem]:
    resources = template.get("Resources")
    if not isinstance(resources, Mapping) or not resources:
        return [error(relpath, "template-no-resources",
                      "the template has no Resources section (CloudFormation requires one)",
                      key="Resources", line=line_of(template) or 1, stack=stack)]
    if len(resources) > MAX_RESOURCES:
        return [error(relpath, "template-too-many-resources",
                      f"{len(resources)} resources; CloudFormation allows {MAX_RESOURCES} per stack",
                      key="Resources", line=line_of(resources), stack=stack,
                      hint="split the stack, for example into nested stacks")]
    return []


def _capability_problems(template: Mapping, relpath: str, stack: str, granted: tuple[str, ...],
                         may_transform: bool) -> list[Problem]:
    """Each capability the template needs and the stack's pipeline does not acknowledge."""
    problems = []
    setting = f"stacks.{stack}.capabilities"
    needs = required_capabilities(template, inline_transforms=may_transform)
    for need in missing_capabilities(needs, granted):
        others = f" (and {need.count - 1} more)" if need.count > 1 else ""
        problems.append(error(
            relpath, "capability-missing",
            f"{need.where} ({need.why}){others} needs {need.capability}, which the stack's pipeline "
            f"does not acknowledge ({setting} in pipelines/config.yaml: "
            f"{', '.join(granted) or 'none'}); the change set would fail at Plan with "
            "InsufficientCapabilities",
            key=need.where, line=_line_of_path(template, need.where), stack=stack,
            hint=f"an owner adds {need.capability} to {setting} in pipelines/config.yaml "
                 "(or to defaults.capabilities for every stack)"))
    return problems


def _line_of_path(template: Mapping, where: str) -> int | None:
    node: Any = template
    line = line_of(template)
    for part in where.split("."):
        if isinstance(node, Mapping) and part in node:
            line = key_line(node, part) or line
            node = node[part]
        else:
            break
    return line
