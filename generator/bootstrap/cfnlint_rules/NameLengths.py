"""E9104: pipeline, stage, action, namespace and variable names fit CodePipeline's limits."""

from __future__ import annotations

from typing import ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.bootstrap.cfnlint_rules._pipelines import (
    MAX_NAME,
    MAX_VARIABLE_NAME,
    NAME_RE,
    NAMESPACE_RE,
    VARIABLE_NAME_RE,
    pipelines,
    stages,
)


def _check(path: list, what: str, value, pattern, limit: int) -> list:
    if not isinstance(value, str):
        return []
    if len(value) > limit:
        return [RuleMatch(path, f"{what} {value!r} is {len(value)} characters; CodePipeline allows {limit}")]
    if not pattern.match(value):
        return [RuleMatch(path, f"{what} {value!r} must match {pattern.pattern}")]
    return []


class NameLengths(CloudFormationLintRule):
    id = "E9104"
    shortdesc = "Pipeline, stage and action names fit CodePipeline's limits"
    description = (f"Pipeline, stage and action names: at most {MAX_NAME} characters of [A-Za-z0-9.@_-]; "
                   "variable and namespace names of [A-Za-z0-9@_-]")
    source_url = "https://docs.aws.amazon.com/codepipeline/latest/userguide/limits.html"
    tags: ClassVar[list[str]] = ["resources", "codepipeline", "changegate"]

    def match(self, cfn):
        matches = []
        for name, properties in pipelines(cfn):
            base = ["Resources", name, "Properties"]
            matches += _check([*base, "Name"], "pipeline name", properties.get("Name"), NAME_RE, MAX_NAME)
            variables = properties.get("Variables")
            for index, variable in enumerate(variables if isinstance(variables, list) else []):
                if isinstance(variable, dict):
                    matches += _check([*base, "Variables", index, "Name"], "variable name",
                                      variable.get("Name"), VARIABLE_NAME_RE, MAX_VARIABLE_NAME)
            for s_index, stage in stages(properties):
                matches += _check([*base, "Stages", s_index, "Name"], "stage name", stage.get("Name"),
                                  NAME_RE, MAX_NAME)
                stage_actions = stage.get("Actions")
                for a_index, action in enumerate(stage_actions if isinstance(stage_actions, list) else []):
                    if not isinstance(action, dict):
                        continue
                    path = [*base, "Stages", s_index, "Actions", a_index]
                    matches += _check([*path, "Name"], "action name", action.get("Name"), NAME_RE, MAX_NAME)
                    matches += _check([*path, "Namespace"], "namespace", action.get("Namespace"),
                                      NAMESPACE_RE, MAX_NAME)
        return matches
