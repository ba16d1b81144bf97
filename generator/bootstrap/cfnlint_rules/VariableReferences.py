"""E9105: every ``#{namespace.variable}`` reference is well formed and names something that exists.

``codepipeline`` (the execution id), ``variables`` (pipeline-level variables, declared) or the
namespace of an action that runs earlier in the pipeline.
"""

from __future__ import annotations

import re
from typing import ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.bootstrap.cfnlint_rules._pipelines import VARIABLE_RE, pipelines, stages, strings

REFERENCE_RE = re.compile(r"^([A-Za-z0-9@_-]+)\.([A-Za-z0-9@_.-]+)$")
CODEPIPELINE_VARIABLES = frozenset({"PipelineExecutionId"})


class VariableReferences(CloudFormationLintRule):
    id = "E9105"
    shortdesc = "Pipeline variable references are well formed and resolvable"
    description = ("#{namespace.name} references use codepipeline.PipelineExecutionId, declared pipeline "
                   "variables, or namespaces of earlier actions")
    source_url = "https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-variables.html"
    tags: ClassVar[list[str]] = ["resources", "codepipeline", "changegate"]

    def match(self, cfn):
        matches = []
        for name, properties in pipelines(cfn):
            declared = {v.get("Name") for v in properties.get("Variables") or [] if isinstance(v, dict)}
            earlier: set[str] = set()
            for s_index, stage in stages(properties):
                stage_actions = [a for a in stage.get("Actions") or [] if isinstance(a, dict)]
                for a_index, action in enumerate(stage.get("Actions") or []):
                    if not isinstance(action, dict):
                        continue
                    run_order = action.get("RunOrder", 1)
                    # namespaces of this stage's actions that run strictly before this one
                    before = {a.get("Namespace") for a in stage_actions
                              if isinstance(a.get("RunOrder", 1), int) and isinstance(run_order, int)
                              and a.get("RunOrder", 1) < run_order}
                    path = ["Resources", name, "Properties", "Stages", s_index, "Actions", a_index,
                            "Configuration"]
                    for where, text in strings(action.get("Configuration"), path):
                        matches += self._check(where, text, declared, earlier | before)
                earlier |= {a.get("Namespace") for a in stage_actions if isinstance(a.get("Namespace"), str)}
        return matches

    @staticmethod
    def _check(path: list, text: str, declared: set, namespaces: set) -> list:
        found = []
        if text.count("#{") != len(VARIABLE_RE.findall(text)):
            found.append(RuleMatch(path, f"unclosed variable reference in {text!r}: "
                                         "write #{namespace.name}"))
        for reference in VARIABLE_RE.findall(text):
            parsed = REFERENCE_RE.match(reference)
            if not parsed:
                found.append(RuleMatch(path, f"#{{{reference}}} is not a #{{namespace.name}} reference"))
                continue
            namespace, variable = parsed.groups()
            if namespace == "codepipeline":
                if variable not in CODEPIPELINE_VARIABLES:
                    found.append(RuleMatch(path, f"#{{{reference}}}: codepipeline has only "
                                                 f"{', '.join(sorted(CODEPIPELINE_VARIABLES))}"))
            elif namespace == "variables":
                if variable not in declared:
                    found.append(RuleMatch(path, f"#{{{reference}}}: no pipeline variable {variable!r} is "
                                                 "declared under Variables"))
            elif namespace not in namespaces:
                found.append(RuleMatch(path, f"#{{{reference}}}: no earlier action has "
                                             f"Namespace {namespace!r}"))
        return found
