"""Helpers shared by the rules: walk pipelines, stages and actions of a template, and what AWS accepts.

The tables follow the CodePipeline action structure reference. Only actions owned by ``AWS``
are checked; ``ThirdParty`` and ``Custom`` actions are the owners' business.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

PIPELINE_TYPE = "AWS::CodePipeline::Pipeline"

# category -> providers owned by AWS
KNOWN_PROVIDERS: dict[str, frozenset[str]] = {
    "Source": frozenset({"S3", "CodeCommit", "ECR", "CodeStarSourceConnection"}),
    "Build": frozenset({"CodeBuild", "ECRBuildAndPublish", "Commands"}),
    "Test": frozenset({"CodeBuild", "DeviceFarm"}),
    "Deploy": frozenset({"AppConfig", "CloudFormation", "CloudFormationStackInstances",
                         "CloudFormationStackSet", "CodeDeploy", "CodeDeployToECS", "EC2", "ECS", "EKS",
                         "ElasticBeanstalk", "Lambda", "OpsWorks", "S3", "ServiceCatalog",
                         "AlexaSkillsKit"}),
    "Approval": frozenset({"Manual"}),
    "Invoke": frozenset({"Lambda", "StepFunctions", "InspectorScan", "Snyk"}),
    "Compute": frozenset({"Commands"}),
}
# Rules of stage conditions (V2): category Rule, owner AWS.
KNOWN_RULE_PROVIDERS = frozenset({"CloudWatchAlarm", "Commands", "DeploymentWindow", "LambdaInvoke",
                                  "VariableCheck"})

# Which results each stage condition allows: Entry "Fail or Skip", On Failure "Rollback" (Retry through
# FailureConditions), On Success "Rollback or Fail" (CodePipeline user guide, stage-conditions).
CONDITION_RESULTS: dict[str, frozenset[str]] = {
    "BeforeEntry": frozenset({"FAIL", "SKIP"}),
    "OnFailure": frozenset({"ROLLBACK", "RETRY"}),
    "OnSuccess": frozenset({"ROLLBACK", "FAIL"}),
}
# "For Entry conditions that use the Skip result ... only the LambdaInvoke and VariableCheck rules
# are supported" (same page).
SKIP_RULE_PROVIDERS = frozenset({"LambdaInvoke", "VariableCheck"})
# VariableCheck's configuration: Variable, Value, Operator (EQ, CONTAINS, MATCHES, NE)
# (CodePipeline user guide, rule-reference-VariableCheck).
VARIABLE_CHECK_KEYS = frozenset({"Variable", "Value", "Operator"})
VARIABLE_CHECK_OPERATORS = frozenset({"EQ", "CONTAINS", "MATCHES", "NE"})

CLOUDFORMATION_ACTION_MODES = ("CHANGE_SET_EXECUTE", "CHANGE_SET_REPLACE", "CREATE_UPDATE", "DELETE_ONLY",
                               "REPLACE_ON_FAILURE")
CLOUDFORMATION_CAPABILITIES = frozenset({"CAPABILITY_AUTO_EXPAND", "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"})


@dataclass(frozen=True)
class ConfigurationSpec:
    required: frozenset[str]
    optional: frozenset[str]

    @property
    def known(self) -> frozenset[str]:
        return self.required | self.optional


def _spec(required: set[str], optional: set[str]) -> ConfigurationSpec:
    return ConfigurationSpec(frozenset(required), frozenset(optional))


# (category, provider) -> configuration keys. CloudFormation's required keys depend on the mode.
CONFIGURATION: dict[tuple[str, str], ConfigurationSpec] = {
    ("Source", "S3"): _spec({"S3Bucket", "S3ObjectKey"},
                            {"PollForSourceChanges", "AllowOverrideForS3ObjectKey"}),
    ("Source", "CodeStarSourceConnection"): _spec(
        {"ConnectionArn", "FullRepositoryId", "BranchName"}, {"OutputArtifactFormat", "DetectChanges"}),
    ("Source", "CodeCommit"): _spec({"RepositoryName", "BranchName"},
                                    {"PollForSourceChanges", "OutputArtifactFormat"}),
    ("Source", "ECR"): _spec({"RepositoryName"}, {"ImageTag"}),
    ("Build", "CodeBuild"): _spec({"ProjectName"}, {"PrimarySource", "BatchEnabled", "CombineArtifacts",
                                                    "EnvironmentVariables"}),
    ("Test", "CodeBuild"): _spec({"ProjectName"}, {"PrimarySource", "BatchEnabled", "CombineArtifacts",
                                                   "EnvironmentVariables"}),
    ("Approval", "Manual"): _spec(set(), {"NotificationArn", "CustomData", "ExternalEntityLink"}),
    # The Lambda invoke action: "FunctionName" (required), "UserParameters" (optional)
    # (CodePipeline user guide, action-reference-Lambda).
    ("Invoke", "Lambda"): _spec({"FunctionName"}, {"UserParameters"}),
    ("Deploy", "CloudFormation"): _spec(
        {"ActionMode", "StackName"},
        {"Capabilities", "ChangeSetName", "OutputFileName", "ParameterOverrides", "RoleArn", "TemplatePath",
         "TemplateConfiguration"}),
}
CLOUDFORMATION_REQUIRED_BY_MODE: dict[str, frozenset[str]] = {
    "CHANGE_SET_REPLACE": frozenset({"ChangeSetName", "TemplatePath", "RoleArn"}),
    "CHANGE_SET_EXECUTE": frozenset({"ChangeSetName"}),
    "CREATE_UPDATE": frozenset({"TemplatePath", "RoleArn"}),
    "REPLACE_ON_FAILURE": frozenset({"TemplatePath", "RoleArn"}),
    "DELETE_ONLY": frozenset({"RoleArn"}),
}

NAME_RE = re.compile(r"^[A-Za-z0-9.@_-]+$")
MAX_NAME = 100
VARIABLE_NAME_RE = re.compile(r"^[A-Za-z0-9@_-]+$")
MAX_VARIABLE_NAME = 128
NAMESPACE_RE = re.compile(r"^[A-Za-z0-9@_-]+$")
# A change set name once CodePipeline has replaced its variables (a UUID for the execution id).
CHANGE_SET_NAME_RE = re.compile(r"^[a-zA-Z][-a-zA-Z0-9]*$")
MAX_CHANGE_SET_NAME = 128
SAMPLE_EXECUTION_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
VARIABLE_RE = re.compile(r"#\{([^}]*)\}")


@dataclass(frozen=True)
class ActionRef:
    pipeline: str  # logical id
    stage_index: int
    stage: dict
    action_index: int
    action: dict

    @property
    def path(self) -> list:
        return ["Resources", self.pipeline, "Properties", "Stages", self.stage_index, "Actions",
                self.action_index]

    @property
    def type_id(self) -> dict:
        value = self.action.get("ActionTypeId")
        return value if isinstance(value, dict) else {}

    @property
    def configuration(self) -> dict:
        value = self.action.get("Configuration")
        return value if isinstance(value, dict) else {}


def pipelines(cfn: Any) -> Iterator[tuple[str, dict]]:
    """(logical id, Properties) of every pipeline, in template order."""
    for name, resource in cfn.get_resources([PIPELINE_TYPE]).items():
        properties = resource.get("Properties")
        if isinstance(properties, dict):
            yield name, properties


def stages(properties: dict) -> Iterator[tuple[int, dict]]:
    value = properties.get("Stages")
    if isinstance(value, list):
        for index, stage in enumerate(value):
            if isinstance(stage, dict):
                yield index, stage


def actions(cfn: Any) -> Iterator[ActionRef]:
    for name, properties in pipelines(cfn):
        for stage_index, stage in stages(properties):
            value = stage.get("Actions")
            if not isinstance(value, list):
                continue
            for action_index, action in enumerate(value):
                if isinstance(action, dict):
                    yield ActionRef(name, stage_index, stage, action_index, action)


def aws_actions(cfn: Any) -> Iterator[ActionRef]:
    """The actions of AWS-owned types: the only ones whose providers and configuration are known."""
    return (ref for ref in actions(cfn) if ref.type_id.get("Owner") == "AWS")


def is_v2(properties: dict) -> bool:
    return properties.get("PipelineType") == "V2"


def strings(value: Any, path: list) -> Iterator[tuple[list, str]]:
    """Every string inside ``value`` (including ``Fn::Sub`` templates), with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, [*path, index])


@dataclass(frozen=True)
class ConditionRef:
    path: list  # to the condition
    key: str  # BeforeEntry, OnSuccess or OnFailure
    condition: dict


def conditions(properties: dict, base: list) -> Iterator[ConditionRef]:
    """Every stage condition of a pipeline's ``properties`` (``base`` is the path to them)."""
    for index, stage in stages(properties):
        for key in CONDITION_RESULTS:
            block = stage.get(key)
            listed = block.get("Conditions") if isinstance(block, dict) else None
            for c_index, condition in enumerate(listed if isinstance(listed, list) else []):
                if isinstance(condition, dict):
                    yield ConditionRef([*base, "Stages", index, key, "Conditions", c_index], key, condition)
