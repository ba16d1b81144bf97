"""E9103: actions and stage condition rules use providers CodePipeline knows."""

from __future__ import annotations

from typing import ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.bootstrap.cfnlint_rules._pipelines import (
    KNOWN_PROVIDERS,
    KNOWN_RULE_PROVIDERS,
    aws_actions,
    pipelines,
    stages,
)

CONDITION_KEYS = ("BeforeEntry", "OnSuccess", "OnFailure")


class KnownProviders(CloudFormationLintRule):
    id = "E9103"
    shortdesc = "Pipeline actions and rules use known providers"
    description = ("AWS-owned action providers exist for their category; stage condition rules use "
                   "known rule types")
    source_url = "https://docs.aws.amazon.com/codepipeline/latest/userguide/actions-valid-providers.html"
    tags: ClassVar[list[str]] = ["resources", "codepipeline", "changegate"]

    def match(self, cfn):
        matches = []
        for ref in aws_actions(cfn):
            type_id = ref.type_id
            category, provider = type_id.get("Category"), type_id.get("Provider")
            if not isinstance(category, str) or not isinstance(provider, str):
                continue
            known = KNOWN_PROVIDERS.get(category)
            if known is None:
                matches.append(RuleMatch([*ref.path, "ActionTypeId", "Category"],
                                         f"unknown action category {category!r}; known: "
                                         f"{', '.join(sorted(KNOWN_PROVIDERS))}"))
            elif provider not in known:
                matches.append(RuleMatch([*ref.path, "ActionTypeId", "Provider"],
                                         f"unknown {category} provider {provider!r}; known: "
                                         f"{', '.join(sorted(known))}"))
        for name, properties in pipelines(cfn):
            for index, stage in stages(properties):
                for key in CONDITION_KEYS:
                    block = stage.get(key)
                    conditions = block.get("Conditions") if isinstance(block, dict) else None
                    for c_index, condition in enumerate(conditions if isinstance(conditions, list) else []):
                        rules = condition.get("Rules") if isinstance(condition, dict) else None
                        for r_index, rule in enumerate(rules if isinstance(rules, list) else []):
                            type_id = rule.get("RuleTypeId") if isinstance(rule, dict) else None
                            provider = type_id.get("Provider") if isinstance(type_id, dict) else None
                            if isinstance(provider, str) and provider not in KNOWN_RULE_PROVIDERS:
                                matches.append(RuleMatch(
                                    ["Resources", name, "Properties", "Stages", index, key, "Conditions",
                                     c_index, "Rules", r_index, "RuleTypeId", "Provider"],
                                    f"unknown rule provider {provider!r}; known: "
                                    f"{', '.join(sorted(KNOWN_RULE_PROVIDERS))}"))
        return matches
