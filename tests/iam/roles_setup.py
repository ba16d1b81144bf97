"""The two generated templates the IAM tests judge, and the names and helpers they share.

The template is generated from the example repository and from a variant that uses more options
(an adopted stack name, an existing topic, a codestar-connections ARN, termination protection off for
one stack, approvers that are a user, a group and a role with a path). Roles are found by the job the
template gives them (the role a stack pipeline, the sync project or the Lambda function runs as); every
name comes from generator/naming.py, so the tests follow the generator.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from policy_eval import ACCOUNT, REGION, Decision, Principal, Verdict, role
from world import AWS_MANAGED_POLICIES, World

from generator import naming
from generator.bootstrap.recorder import HANDLER as RECORDER_HANDLER
from generator.bootstrap.template import render_template

REPO = Path(__file__).resolve().parents[2]
EXECUTION_ID = str(uuid.UUID(int=0x1234))
OTHER_PROJECT = "other"  # project names hold no hyphen, so "other-*" is never "acme-*"
APPROVER = role("PlatformApprovers")

# The service that runs each job (whose principal the role's trust policy must name, and only it).
JOB_SERVICES = {
    "stack-pipelines": "codepipeline.amazonaws.com",
    "sync-pipeline": "codepipeline.amazonaws.com",
    "sync": "codebuild.amazonaws.com",
    "execution": "cloudformation.amazonaws.com",
    "change-function": "lambda.amazonaws.com",
    "recorder": "lambda.amazonaws.com",
    "protection": "ssm.amazonaws.com",
    "protection-events": "events.amazonaws.com",
}
# Services that document sending aws:SourceAccount when they assume a role (generator/bootstrap/iam.py
# SOURCE_ACCOUNT_SERVICES carries the sources): their roles must refuse another account.
SOURCE_ACCOUNT_SERVICES = {"codebuild.amazonaws.com", "events.amazonaws.com", "ssm.amazonaws.com"}


# ------------------------------------------------------------------ the two templates

@dataclass
class Setup:
    name: str
    world: World
    project: str
    stacks: dict[str, str]     # folder -> stack name
    protected: list[str]       # stack names whose termination protection is on
    jobs: dict[str, str]       # job -> role name
    connection_service: str
    function_name: str | None  # the Lambda function the Change stage invokes, if any

    # names, all derived from generator/naming.py
    def stack_arn(self, stack: str) -> str:
        return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack}/{uuid.UUID(int=7)}"

    def pipeline_arn(self, pipeline: str) -> str:
        return f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:{pipeline}"

    def approval_arn(self, pipeline: str) -> str:
        return f"{self.pipeline_arn(pipeline)}/{naming.CHANGE_STAGE}/{naming.APPROVE_ACTION}"

    def source_object(self, key: str) -> str:
        return f"arn:aws:s3:::{self.world.bucket('SourceBucket')}/{key}"

    def artifact_object(self, key: str) -> str:
        return f"arn:aws:s3:::{self.world.bucket('ArtifactBucket')}/{key}"

    @property
    def source_bucket(self) -> str:
        return f"arn:aws:s3:::{self.world.bucket('SourceBucket')}"

    @property
    def artifact_bucket(self) -> str:
        return f"arn:aws:s3:::{self.world.bucket('ArtifactBucket')}"

    @property
    def key(self) -> str:
        return self.world.arn("ArtifactKey")

    @property
    def bootstrap(self) -> str:
        return naming.bootstrap_stack_name(self.project)

    @property
    def change_set(self) -> str:
        return naming.change_set_name_for(self.project, EXECUTION_ID)

    @property
    def folder(self) -> str:
        return "network"

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def principal(self, job: str) -> Principal:
        return self.world.role(self.jobs[job]).principal

    def topic(self, template: dict) -> str:
        return template["Outputs"]["ApprovalTopicArn"]["Value"]


def _jobs(template: dict, world: World) -> dict[str, str]:
    """job -> the role name the template gives that job."""
    resolve = world.resolver.value
    resources = template["Resources"]
    jobs: dict[str, set[str]] = {}

    def add(job: str, arn_node) -> None:
        jobs.setdefault(job, set()).add(world.role_by_arn(resolve(arn_node)).name)

    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::CodePipeline::Pipeline":
            add("sync-pipeline" if logical_id == "SyncPipeline" else "stack-pipelines", props["RoleArn"])
            for stage in props["Stages"]:
                for action in stage["Actions"]:
                    if "RoleArn" in action.get("Configuration", {}):
                        add("execution", action["Configuration"]["RoleArn"])
        elif kind == "AWS::CodeBuild::Project":
            add("sync", props["ServiceRole"])
        elif kind == "AWS::Lambda::Function":
            # the Change stage's steps function, or the recorder of audit records (review/record.py)
            add("recorder" if props["Handler"] == RECORDER_HANDLER else "change-function", props["Role"])
        elif kind == "AWS::SSM::Document":
            add("protection", props["Content"]["assumeRole"])
        elif kind == "AWS::Events::Rule":
            for target in props["Targets"]:
                if "RoleArn" in target:  # the audit rule's Lambda target has none (a resource policy)
                    add("protection-events", target["RoleArn"])
    for job, names in jobs.items():
        assert len(names) == 1, f"{job} runs as several roles: {sorted(names)}"
    return {job: names.pop() for job, names in jobs.items()}


def build_setup(name: str, root: Path) -> tuple[Setup, dict]:
    template = json.loads(render_template(root))
    meta = template["Metadata"]["Changegate"]
    project = meta["Project"]
    world = World.from_template(template, stack_name=naming.bootstrap_stack_name(project))
    stacks = {folder: s["StackName"] for folder, s in meta["Stacks"].items() if not s["Disabled"]}
    protected = [s["StackName"] for s in meta["Stacks"].values()
                 if not s["Disabled"] and s["TerminationProtection"]]
    connection = template["Outputs"]["ConnectionArn"]["Value"]
    service = "codestar-connections" if ":codestar-connections:" in json.dumps(connection) \
        else "codeconnections"
    functions = [world.resolver.attribute(logical_id, "Ref")
                 for logical_id, resource in template["Resources"].items()
                 if resource["Type"] == "AWS::Lambda::Function"
                 and resource["Properties"]["Handler"] != RECORDER_HANDLER]
    assert len(functions) <= 1, f"several functions: {functions}; say which job each has"
    setup = Setup(name, world, project, stacks, protected, _jobs(template, world), service,
                  functions[0] if functions else None)
    return setup, template


VARIANT_EDITS = (
    ("connection_arn: create",
     f"connection_arn: arn:aws:codestar-connections:{REGION}:{ACCOUNT}:connection/"
     "00000000-0000-0000-0000-000000000000"),
    ("  # topic_arn: arn:aws:sns:eu-west-1:111122223333:existing-topic",
     f"  topic_arn: arn:aws:sns:{REGION}:{ACCOUNT}:existing-topic"),
    ("  - arn:aws:iam::111122223333:role/PlatformApprovers\n",
     "  - arn:aws:iam::111122223333:role/PlatformApprovers\n"
     "  - arn:aws:iam::111122223333:role/teams/Leads\n"
     "  - arn:aws:iam::111122223333:user/alice\n"
     "  - arn:aws:iam::111122223333:group/Platform\n"),
    ("  alarms:\n", "  alarms:\n    stack_name: LegacyAlarms\n"),
    ("  network:\n", "  network:\n    termination_protection: false\n"),
)




def write_variant(root: Path) -> Path:
    """A copy of the example repository whose config uses the options listed in VARIANT_EDITS."""
    shutil.copytree(REPO / "stacks", root / "stacks")
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    config = root / "pipelines" / "config.yaml"
    text = config.read_text("utf-8")
    if "  network:\n" not in text:
        text = text.replace("\nstacks:\n", "\nstacks:\n  network:\n", 1)
    for old, new in VARIANT_EDITS:
        assert old in text, f"the example config changed: {old!r} not found"
        text = text.replace(old, new, 1)
    config.write_text(text, "utf-8")
    return root


def intruder_world(s: Setup) -> tuple[World, Principal]:
    """The template's account plus a PowerUser who is none of changegate's principals."""
    world = s.world.copy()
    intruder = role("intruder")
    world.grant(intruder, *AWS_MANAGED_POLICIES["arn:aws:iam::aws:policy/PowerUserAccess"]["Statement"])
    return world, intruder


def allowed(world: World, principal: Principal, action: str, resource: str, **context) -> Verdict:
    """The verdict, true when allowed; ``s3__prefix="x"`` is the context key ``s3:prefix``.

    A failing ``assert allowed(...)`` or ``assert not allowed(...)`` shows the statements that decided.
    """
    context = {k.replace("__", ":"): v for k, v in context.items()}
    return world.check(principal, action, resource, context)


def verdict(world: World, principal: Principal, action: str, resource: str, context=None) -> Decision:
    return world.check(principal, action, resource, context).decision
