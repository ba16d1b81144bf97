"""E9106: features that only V2 pipelines have are used only on V2 pipelines."""

from __future__ import annotations

from typing import ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.bootstrap.cfnlint_rules._pipelines import is_v2, pipelines, stages, strings

V2_PROPERTIES = ("Variables", "Triggers")
V2_EXECUTION_MODES = ("QUEUED", "PARALLEL")
V2_STAGE_KEYS = ("BeforeEntry", "OnSuccess")


class V2Features(CloudFormationLintRule):
    id = "E9106"
    shortdesc = "V2-only pipeline features only on V2 pipelines"
    description = ("Variables, Triggers, QUEUED/PARALLEL execution modes, stage conditions and "
                   "#{variables.*} references need PipelineType V2")
    source_url = "https://docs.aws.amazon.com/codepipeline/latest/userguide/pipeline-types.html"
    tags: ClassVar[list[str]] = ["resources", "codepipeline", "changegate"]

    def match(self, cfn):
        matches = []
        for name, properties in pipelines(cfn):
            if is_v2(properties):
                continue
            base = ["Resources", name, "Properties"]
            why = "needs PipelineType V2 (this pipeline is V1)"
            for key in V2_PROPERTIES:
                if key in properties:
                    matches.append(RuleMatch([*base, key], f"{key} {why}"))
            mode = properties.get("ExecutionMode")
            if mode in V2_EXECUTION_MODES:
                matches.append(RuleMatch([*base, "ExecutionMode"], f"ExecutionMode {mode} {why}"))
            for index, stage in stages(properties):
                for key in V2_STAGE_KEYS:
                    if key in stage:
                        matches.append(RuleMatch([*base, "Stages", index, key], f"stage {key} {why}"))
                on_failure = stage.get("OnFailure")
                if isinstance(on_failure, dict) and "Conditions" in on_failure:
                    matches.append(RuleMatch([*base, "Stages", index, "OnFailure", "Conditions"],
                                             f"OnFailure conditions {why}"))
                for path, text in strings(stage.get("Actions"), [*base, "Stages", index, "Actions"]):
                    if "#{variables." in text:
                        matches.append(RuleMatch(path, f"pipeline-level variables (#{{variables.*}}) {why}"))
        return matches
