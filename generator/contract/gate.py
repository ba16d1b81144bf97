"""The gate checks of one stack: nothing runs before approval, everything that deploys was reviewed.

DESIGN.md decisions 10 and 11; security review H2, H3 and M7. Each check is its own module:

- ``transforms.py``: transforms (macros) only from the owners' allow-list; no macro definitions;
- ``content_sources.py``: nested templates, includes, code and definitions only from the stack's
  folder, or from an allowed location pinned to a version;
- ``custom_resources.py``: custom resources served only from the deploying account, or allowed;
- ``protected_names.py``: no references to changegate's own resources or approvers; trust of
  other accounts reported;
- ``boundaries.py``: every role or user a stack creates carries changegate's permissions boundary.

They need only the decoded template, its raw bytes and the stack's settings, and cost little on
templates that use none of these features: the raw text is searched before any walk.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from generator.contract.boundaries import boundary_problems
from generator.contract.config import PipelinesConfig, StackSettings
from generator.contract.content_sources import content_problems
from generator.contract.custom_resources import custom_resource_problems
from generator.contract.problems import Problem
from generator.contract.protected_names import protected_name_problems, protected_patterns
from generator.contract.resolve import Resolver
from generator.contract.transforms import transform_problems


def gate_problems(template: Mapping, raw: bytes, relpath: str, stack: str, stack_dir: Path,
                  config: PipelinesConfig, settings: StackSettings,
                  parameters: Mapping[str, str]) -> list[Problem]:
    """Every gate problem of one stack's template (``parameters``: its config's values)."""
    resolver = Resolver(template, parameters)
    may_transform = b"Transform" in raw
    problems = transform_problems(template, relpath, stack, settings.allowed_transforms,
                                  may_transform=may_transform)
    problems.extend(content_problems(template, relpath, stack, stack_dir, config.content_sources,
                                     resolver, may_transform=may_transform))
    if b"Custom" in raw:  # AWS::CloudFormation::CustomResource and Custom::*
        problems.extend(custom_resource_problems(template, relpath, stack, resolver,
                                                 config.deploying_account(),
                                                 config.allowed_service_tokens))
    problems.extend(boundary_problems(template, raw, relpath, stack, config.project))
    problems.extend(protected_name_problems(template, raw, relpath, stack, config, resolver,
                                            protected_patterns(config.project, config.approvers,
                                                               _existing_arns(config))))
    return problems


def _existing_arns(config: PipelinesConfig) -> tuple[str, ...]:
    """The existing approval topic changegate uses instead of creating one (its policy decides
    who may announce approvals). An existing connection is not listed: other pipelines of the
    account may share it by design."""
    return (config.notifications.topic_arn,) if config.notifications.topic_arn else ()
