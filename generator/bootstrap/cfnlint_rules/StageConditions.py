"""E9107: stage conditions use results their kind allows, Skip only with rules that support it.

cfn-lint checks a condition's shape, not these rules of the CodePipeline user guide
(stage-conditions): an Entry condition may Fail or Skip, On Failure Rollback or Retry, On Success
Rollback or Fail; a Skip works only with ``LambdaInvoke`` and ``VariableCheck`` rules. A
``VariableCheck`` rule needs ``Variable``, ``Value`` and ``Operator`` (EQ, CONTAINS, MATCHES, NE),
and a pipeline variable it checks must be declared.
"""

from __future__ import annotations

from typing import ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.bootstrap.cfnlint_rules._pipelines import (
    CONDITION_RESULTS,
    SKIP_RULE_PROVIDERS,
    VARIABLE_CHECK_KEYS,
    VARIABLE_CHECK_OPERATORS,
    VARIABLE_RE,
    conditions,
    pipelines,
)


class StageConditions(CloudFormationLintRule):
    id = "E9107"
    shortdesc = "Stage conditions use allowed results and rules"
    description = ("Entry conditions Fail or Skip (Skip only with LambdaInvoke or VariableCheck rules), "
                   "On Failure Rollback or Retry, On Success Rollback or Fail; complete VariableCheck rules")
    source_url = "https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-conditions.html"
    tags: ClassVar[list[str]] = ["resources", "codepipeline", "changegate"]

    def match(self, cfn):
        matches = []
        for name, properties in pipelines(cfn):
            declared = {v.get("Name") for v in properties.get("Variables") or [] if isinstance(v, dict)}
            for ref in conditions(properties, ["Resources", name, "Properties"]):
                result = ref.condition.get("Result")
                allowed = CONDITION_RESULTS[ref.key]
                if isinstance(result, str) and result not in allowed:
                    matches.append(RuleMatch([*ref.path, "Result"],
                                             f"{ref.key} condition result {result!r} is not one of "
                                             f"{', '.join(sorted(allowed))}"))
                rules = ref.condition.get("Rules")
                for r_index, rule in enumerate(rules if isinstance(rules, list) else []):
                    if isinstance(rule, dict):
                        matches += self._rule([*ref.path, "Rules", r_index], rule, result, declared)
        return matches

    @staticmethod
    def _rule(path: list, rule: dict, result, declared: set) -> list:
        found = []
        type_id = rule.get("RuleTypeId") if isinstance(rule.get("RuleTypeId"), dict) else {}
        provider = type_id.get("Provider")
        if result == "SKIP" and isinstance(provider, str) and provider not in SKIP_RULE_PROVIDERS:
            found.append(RuleMatch([*path, "RuleTypeId", "Provider"],
                                   f"a SKIP condition supports only {', '.join(sorted(SKIP_RULE_PROVIDERS))} "
                                   f"rules, not {provider!r}"))
        if provider != "VariableCheck":
            return found
        configuration = rule.get("Configuration") if isinstance(rule.get("Configuration"), dict) else {}
        for key in sorted(VARIABLE_CHECK_KEYS - set(configuration)):
            found.append(RuleMatch([*path, "Configuration"], f"VariableCheck rule needs {key!r}"))
        operator = configuration.get("Operator")
        if isinstance(operator, str) and operator not in VARIABLE_CHECK_OPERATORS:
            found.append(RuleMatch([*path, "Configuration", "Operator"],
                                   f"VariableCheck operator {operator!r} is not one of "
                                   f"{', '.join(sorted(VARIABLE_CHECK_OPERATORS))}"))
        variable = configuration.get("Variable")
        if isinstance(variable, str):
            for reference in VARIABLE_RE.findall(variable):
                namespace, _, name = reference.partition(".")
                if namespace == "variables" and name not in declared:
                    found.append(RuleMatch([*path, "Configuration", "Variable"],
                                           f"#{{{reference}}}: no pipeline variable {name!r} is declared"))
        return found
