"""E9102: an action's configuration holds the keys its provider requires, and no unknown key."""

from __future__ import annotations

from typing import ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.bootstrap.cfnlint_rules._pipelines import (
    CHANGE_SET_NAME_RE,
    CLOUDFORMATION_CAPABILITIES,
    CLOUDFORMATION_REQUIRED_BY_MODE,
    CONFIGURATION,
    MAX_CHANGE_SET_NAME,
    SAMPLE_EXECUTION_ID,
    VARIABLE_RE,
    aws_actions,
)


class ActionConfiguration(CloudFormationLintRule):
    id = "E9102"
    shortdesc = "Pipeline action configuration has the provider's required keys"
    description = ("Required and known configuration keys per action provider (StackName, ChangeSetName, "
                   "TemplatePath, RoleArn, S3Bucket, ProjectName, ...), capabilities and change set names")
    source_url = "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference.html"
    tags: ClassVar[list[str]] = ["resources", "codepipeline", "changegate"]

    def match(self, cfn):
        matches = []
        for ref in aws_actions(cfn):
            type_id = ref.type_id
            spec = CONFIGURATION.get((type_id.get("Category"), type_id.get("Provider")))
            if spec is None:
                continue
            config = ref.configuration
            name = ref.action.get("Name")
            required = set(spec.required)
            if type_id.get("Provider") == "CloudFormation":
                required |= CLOUDFORMATION_REQUIRED_BY_MODE.get(config.get("ActionMode"), frozenset())
            for key in sorted(required - set(config)):
                matches.append(RuleMatch([*ref.path, "Configuration"],
                                         f"action {name!r} ({type_id.get('Provider')}) needs "
                                         f"configuration key {key!r}"))
            for key in sorted(set(config) - spec.known):
                matches.append(RuleMatch([*ref.path, "Configuration", key],
                                         f"action {name!r} ({type_id.get('Provider')}) has unknown "
                                         f"configuration key {key!r}; known keys: "
                                         f"{', '.join(sorted(spec.known))}"))
            matches.extend(self._cloudformation_values(ref, config, name))
        return matches

    @staticmethod
    def _cloudformation_values(ref, config: dict, name) -> list:
        matches = []
        capabilities = config.get("Capabilities")
        if isinstance(capabilities, str):
            for capability in capabilities.split(","):
                if capability.strip() not in CLOUDFORMATION_CAPABILITIES:
                    matches.append(RuleMatch([*ref.path, "Configuration", "Capabilities"],
                                             f"action {name!r}: unknown capability {capability!r}"))
        change_set = config.get("ChangeSetName")
        if isinstance(change_set, str):
            # CodePipeline replaces variables first; the execution id is the only one we can size.
            resolved = change_set.replace("#{codepipeline.PipelineExecutionId}", SAMPLE_EXECUTION_ID)
            resolved = VARIABLE_RE.sub("x", resolved)
            if len(resolved) > MAX_CHANGE_SET_NAME or not CHANGE_SET_NAME_RE.match(resolved):
                matches.append(RuleMatch([*ref.path, "Configuration", "ChangeSetName"],
                                         f"action {name!r}: change set name {change_set!r} would not be a "
                                         f"valid CloudFormation change set name (a letter, then letters, "
                                         f"digits and hyphens, at most {MAX_CHANGE_SET_NAME})"))
        return matches
