"""E9101: a CloudFormation action's ActionMode is one CodePipeline knows."""

from __future__ import annotations

from typing import ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.bootstrap.cfnlint_rules._pipelines import CLOUDFORMATION_ACTION_MODES, aws_actions


class ActionMode(CloudFormationLintRule):
    id = "E9101"
    shortdesc = "CloudFormation action ActionMode is valid"
    description = ("ActionMode of a CloudFormation deploy action is one of "
                   f"{', '.join(CLOUDFORMATION_ACTION_MODES)}")
    source_url = "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CloudFormation.html"
    tags: ClassVar[list[str]] = ["resources", "codepipeline", "changegate"]

    def match(self, cfn):
        matches = []
        for ref in aws_actions(cfn):
            if ref.type_id.get("Provider") != "CloudFormation":
                continue
            mode = ref.configuration.get("ActionMode")
            if isinstance(mode, str) and mode not in CLOUDFORMATION_ACTION_MODES:
                matches.append(RuleMatch(
                    [*ref.path, "Configuration", "ActionMode"],
                    f"ActionMode {mode!r} of action {ref.action.get('Name')!r} is not one of "
                    f"{', '.join(CLOUDFORMATION_ACTION_MODES)}"))
        return matches
