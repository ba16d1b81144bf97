"""A generated stack pipeline, end to end: the sync's archive, the change set, the review, the approvals,
the window, the stale guard, the execution, and ``changegate audit`` afterwards (issue 11, item 8).

A throwaway git repository holds one stack, ``database`` (an ``AWS::RDS::DBInstance`` and a tagged
``AWS::SNS::Topic``), whose ``pipelines/config.yaml`` settings give it risk-based approvals, a
deployment window (09:00-16:59 Dublin time, weekdays) and a stack policy. The bootstrap template is
generated from it (``generator.bootstrap.template.render_template``) and the stack pipeline's stages
and actions are taken from that template: every Lambda action's UserParameters and every
CloudFormation action's configuration, resolved as CodePipeline resolves them
(``#{codepipeline.PipelineExecutionId}``, ``#{variables.X}`` from the variables the sync started the
execution with, ``#{Review.X}`` from the Review action's output variables), run in RunOrder, with the
Change stage's entry condition evaluated (tests/review/pipeline_driver.py).

What is real:

- the sync: ``sync.run.run_sync`` on the repository, against a versioned moto S3 bucket (the archive
  and its metadata land there as in production); the Source action reads exactly the object version
  the sync pinned in ``sourceRevisions``;
- the steps function: every Lambda action calls ``review.steps.run``, what the function's handler
  (``review.steps.handler``) calls with real clients;
- moto is S3 and CloudFormation: the stack, its change sets (CreateChangeSet from the action's
  configuration: StackName, ChangeSetName, TemplatePath, TemplateConfiguration, Capabilities,
  RoleArn, with the archive's template and config.json), DeleteChangeSet, ExecuteChangeSet,
  DescribeStacks, Get/SetStackPolicy, and the direct UpdateStack that makes a change set stale.

What is stood in for, and why:

- CodePipeline: moto 5.2 has no job APIs (PutJobSuccessResult/FailureResult), no approvals
  (GetPipelineState, PutApprovalResult), no StopPipelineExecution and no ListActionExecutions, and
  its executions "succeed" at once. A fake answers them from the run it records, each client behind
  botocore's Stubber: every request is checked against botocore's input shape and every answer
  against the output shape (GetPipelineExecution, ListActionExecutions and ListPipelineExecutions
  included: ``changegate audit`` reads those afterwards). A call the fake does not serve fails.
- DescribeChangeSet's CONTENT: moto's change sets cannot say what a change does (measured on moto
  5.2: the tag edit and the database rename below both come back as a bare ``Modify``, without
  Replacement, Scope, Details or PolicyAction), so what the review reads is CloudFormation's recorded
  answer in botocore's real shape (tests/review/changesets.py builders), injected for
  DescribeChangeSet only: a botocore ``after-call`` handler on the moto client replaces ``Changes``
  (an empty change set gets CloudFormation's FAILED "didn't contain changes" answer) and checks the
  result against botocore's output shape. moto still answers the rest (the change set must exist
  there), and its own diff must agree with the recording (the same "no changes" verdict, the same
  resources and actions). Stack state, change set existence, ExecuteChangeSet, DescribeStacks and
  Get/SetStackPolicy go to moto.
- DescribeStacks' LastUpdatedTime: moto never sets it (measured: None after ExecuteChangeSet and
  UpdateStack); CloudFormation does, and the stale guard compares it: the moto client adds it.
- The clock: CodePipeline's timestamps and the ``now`` every steps.run call is given are the test's
  clock, so the window can be closed and then open.
- moto has no drift detection (NotImplementedError): if the review asks, it gets a completed
  detection with every resource IN_SYNC, in botocore's shapes.
"""

from __future__ import annotations

import io
import json
import subprocess
import textwrap
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from changesets import change, detail
from click.testing import CliRunner
from moto import mock_aws
from pipeline_driver import (
    ACCOUNT,
    ARTIFACT_BUCKET,
    FUNCTION_ARN,
    FUNCTION_ROLE,
    NO_CHANGES,
    PROJECT,
    REGION,
    SOURCE_BUCKET,
    SYNC_ARN,
    Clock,
    FakeCodePipeline,
    Plan,
    RecordedCloudFormation,
    StackPipeline,
    stack_pipeline_definition,
)

from changegate.aws import Aws
from changegate.cli import cli
from generator import naming
from generator.bootstrap.function import HANDLER
from generator.bootstrap.pipeline import MAX_CUSTOM_DATA
from generator.bootstrap.template import render_template
from generator.errors import ChangegateError
from review import record
from sync.run import SyncOptions, run_sync

FOLDER = "database"
STACK, PIPELINE = naming.stack_name(PROJECT, FOLDER), naming.pipeline_name(PROJECT, FOLDER)
ADA = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Approvers_0123456789abcdef/ada@example.com"
BOB = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Approvers_0123456789abcdef/bob@example.com"
AUDITOR = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Auditors_0123456789abcdef/eve@example.com"
AUTHOR = ("Carol Shaw", "carol@example.com")
# Europe/Dublin is UTC in December: the window (09:00-16:59 on weekdays) is open at 10:00 UTC on a
# Tuesday, closed at 17:30, open again at 09:00 on Wednesday.
TUESDAY_MORNING = datetime(2026, 12, 8, 10, 0, tzinfo=timezone.utc)
TUESDAY_EVENING = datetime(2026, 12, 8, 17, 30, tzinfo=timezone.utc)
WEDNESDAY_MORNING = datetime(2026, 12, 9, 9, 5, tzinfo=timezone.utc)
WINDOW = "* * 9-16 ? * MON-FRI"
APPROVE, SECOND = naming.APPROVE_ACTION, naming.SECOND_APPROVAL_ACTION

CONFIG = f"""\
project: {PROJECT}
repository:
  name: acme-corp/infrastructure
  branch: main
approvers:
  - arn:aws:iam::{ACCOUNT}:role/PlatformApprovers
defaults:
  approvals: risk
stacks:
  {FOLDER}:
    stack_policy: policies/{FOLDER}.json
    approvals: risk
    deployment_window:
      cron: "{WINDOW}"
      time_zone: Europe/Dublin
"""
# The owners' policy: the database may be replaced (with a snapshot), never removed by an update.
POLICY = {"Statement": [
    {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
    {"Effect": "Deny", "Action": "Update:Delete", "Principal": "*",
     "Resource": "LogicalResourceId/Database"}]}
TEMPLATE = textwrap.dedent("""\
    AWSTemplateFormatVersion: "2010-09-09"
    Description: The service's database and its event topic.
    Parameters:
      InstanceClass:
        Type: String
        Default: db.t4g.micro
    Resources:
      Events:
        Type: AWS::SNS::Topic
        Properties:
          Tags:
            - Key: team
              Value: platform
      Database:
        Type: AWS::RDS::DBInstance
        DeletionPolicy: Snapshot
        UpdateReplacePolicy: Snapshot
        Properties:
          DBInstanceIdentifier: acme-app
          Engine: postgres
          DBInstanceClass: !Ref InstanceClass
          AllocatedStorage: "20"
          StorageEncrypted: true
          MasterUsername: app_admin
          ManageMasterUserPassword: true
          DeletionProtection: true
          PubliclyAccessible: false
    Outputs:
      DatabaseId:
        Value: !Ref Database
""")
STACK_CONFIG = {"Parameters": {"InstanceClass": "db.t4g.small"}, "Tags": {"team": "platform"}}

# CloudFormation's answers for the two edits (DescribeChangeSet with IncludePropertyValues).
TAG_ONLY = [change("Events", "AWS::SNS::Topic", "Modify", replacement="False",
                   details=[detail("Tags", attribute="Tags", before="platform", after="data")])]
DATABASE_REPLACED = [change("Database", "AWS::RDS::DBInstance", "Modify", replacement="True",
                            policy_action="ReplaceAndSnapshot",
                            details=[detail("DBInstanceIdentifier", recreation="Always", before="acme-app",
                                            after="acme-app-v2")])]


# ---- the repository, the sync, the world ----

def git(root: Path, *args: str, author: tuple[str, str] = AUTHOR) -> str:
    env = {"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1], "GIT_COMMITTER_NAME": AUTHOR[0],
           "GIT_COMMITTER_EMAIL": AUTHOR[1], "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_CONFIG_SYSTEM": "/dev/null", "PATH": "/usr/bin:/bin:/usr/local/bin"}
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


@dataclass
class World:
    """The repository, moto's S3 and CloudFormation, the fake CodePipeline, and the stack pipeline."""

    root: Path
    s3: Any
    clock: Clock
    codepipeline: FakeCodePipeline
    cfn: RecordedCloudFormation
    pipeline: StackPipeline

    def commit(self, message: str, template: str | None = None, author: tuple[str, str] = AUTHOR) -> str:
        if template is not None:
            (self.root / "stacks" / FOLDER / "template.yaml").write_text(template)
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message, author=author)
        return git(self.root, "rev-parse", "HEAD")

    def sync(self) -> tuple[str, str]:
        """Run the sync; (the execution it started, the object version it pinned)."""
        before = len(self.codepipeline.calls_of("StartPipelineExecution"))
        report = run_sync(self.root, self.s3, self.codepipeline.client(SYNC_ARN),
                          SyncOptions(bucket=SOURCE_BUCKET, workers=2, jobs=1))
        assert report.ok, (report.failures, report.validation and report.validation.errors)
        [(who, request)] = self.codepipeline.calls_of("StartPipelineExecution")[before:]
        assert who == SYNC_ARN and request["name"] == PIPELINE
        [revision] = request["sourceRevisions"]
        assert revision["revisionValue"] == report.uploaded[FOLDER]
        return report.started[FOLDER], revision["revisionValue"]

    def run(self, execution: str, plan: Plan | None = None):
        return self.pipeline.run(execution, plan)

    def archive(self, version: str) -> dict[str, bytes]:
        body = self.s3.get_object(Bucket=SOURCE_BUCKET, Key=naming.source_object_key(FOLDER),
                                  VersionId=version)["Body"].read()
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}

    def actions(self, execution: str) -> list[str]:
        return [r.action for r in self.codepipeline.runs(execution)]

    def run_of(self, execution: str, action: str):
        return self.codepipeline.run_of(execution, action)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "CODEBUILD_RESOLVED_SOURCE_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    root = tmp_path / "repo"
    (root / "pipelines" / "policies").mkdir(parents=True)
    (root / "stacks" / FOLDER).mkdir(parents=True)
    (root / "pipelines" / "config.yaml").write_text(CONFIG)
    (root / "pipelines" / "policies" / f"{FOLDER}.json").write_text(json.dumps(POLICY, indent=2))
    (root / "stacks" / FOLDER / "config.json").write_text(json.dumps(STACK_CONFIG, indent=2))
    (root / "stacks" / FOLDER / "template.yaml").write_text(TEMPLATE)
    git(root, "init", "-q", "-b", "main")
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (SOURCE_BUCKET, ARTIFACT_BUCKET):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        clock = Clock(TUESDAY_MORNING)
        template = json.loads(render_template(root))
        definition = stack_pipeline_definition(template, PIPELINE)
        codepipeline = FakeCodePipeline(clock, {PIPELINE: definition})
        cfn = RecordedCloudFormation(clock)
        pipeline = StackPipeline(PIPELINE, definition, codepipeline=codepipeline, cloudformation=cfn, s3=s3,
                                 clock=clock)
        # every Lambda action invokes the steps function, whose handler calls steps.run with real clients
        assert HANDLER == "review.steps.handler"
        made = World(root, s3, clock, codepipeline, cfn, pipeline)
        made.commit("The database and its topic")
        yield made


def first_run(world: World) -> tuple[str, str]:
    """Sync the first commit to a stack that already holds it, and run that execution (nothing changes).

    A first sync into a new bucket uploads every stack and starts every pipeline, also for stacks that
    were deployed from this content before: their change sets are empty.
    """
    execution, version = world.sync()
    archive = world.archive(version)
    settings = json.loads(archive[naming.ARCHIVE_CONFIG])
    world.cfn.moto.create_stack(
        StackName=STACK, TemplateBody=archive[naming.ARCHIVE_TEMPLATE].decode(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in settings["Parameters"].items()],
        Tags=[{"Key": k, "Value": v} for k, v in settings["Tags"].items()])
    world.cfn.will_describe(NO_CHANGES)
    world.run(execution)
    return execution, version


def stack_template(world: World) -> str:
    return world.cfn.moto.get_template(StackName=STACK)["TemplateBody"]


# ---- the scenarios ----

def test_an_empty_change_set_ends_with_no_approval_requested(world: World) -> None:
    execution, version = first_run(world)
    ran = world.codepipeline.executions[execution]
    assert ran.status == "Stopped"
    assert ran.stop_reason.startswith(f"No changes: stack {STACK} already matches this source")
    # the Source action read exactly the version the sync pinned, and nothing after Review started
    assert world.run_of(execution, "Source").variables["VersionId"] == version
    assert world.actions(execution) == ["Source", naming.PLAN_ACTION, naming.REVIEW_ACTION]
    assert world.run_of(execution, naming.REVIEW_ACTION).variables["HasChanges"] == "false"
    assert world.codepipeline.calls_of("PutApprovalResult") == []
    # the function stopped its own execution and waited for its action to finish (abandon=False)
    [(who, stop)] = world.codepipeline.calls_of("StopPipelineExecution")
    assert who == FUNCTION_ARN and stop["pipelineExecutionId"] == execution and stop["abandon"] is False
    # the empty change set is deleted in moto, and nothing was executed
    assert world.cfn.moto.list_change_sets(StackName=STACK)["Summaries"] == []
    assert "ExecuteChangeSet" not in world.cfn.calls


def test_a_tag_only_change_asks_one_approver(world: World) -> None:
    first_run(world)
    commit = world.commit("The events topic belongs to the data team",
                          TEMPLATE.replace("Value: platform", "Value: data"))
    execution, version = world.sync()
    world.cfn.will_describe(TAG_ONLY)
    ran = world.run(execution, Plan(approvals={APPROVE: ADA}))  # one person: nobody for SecondApproval
    assert ran.status == "Succeeded", world.actions(execution)
    review = world.run_of(execution, naming.REVIEW_ACTION).variables
    assert review["RiskTier"] == "low" and review["HasChanges"] == "true"
    # the approval request is the review's line and the commit (as the template's CustomData builds it)
    approve = world.run_of(execution, APPROVE)
    assert approve.resolved["CustomData"].startswith(f"{review['Summary']} | Stack {STACK}, commit {commit} "
                                                     f"by {AUTHOR[0]} <{AUTHOR[1]}>")
    assert approve.resolved["ExternalEntityLink"] == review["ReviewLink"] and "#{" not in review["ReviewLink"]
    assert (approve.status, approve.updated_by) == ("Succeeded", ADA)
    # the second approval was waived by the function, not asked of anyone
    second = world.run_of(execution, SECOND)
    assert (second.status, second.updated_by) == ("Succeeded", FUNCTION_ARN)
    assert second.result["externalExecutionSummary"].startswith("Not required: risk low")
    assert [who for who, _ in world.codepipeline.calls_of("PutApprovalResult")] == [FUNCTION_ARN, ADA]
    # executed in moto: exactly the reviewed change set, under the owners' stack policy
    executed = world.cfn.moto.describe_change_set(StackName=STACK, ChangeSetName=f"{PROJECT}-{execution}")
    assert executed["ChangeSetId"] == review["ChangeSetId"]
    assert executed["ExecutionStatus"] == "EXECUTE_COMPLETE"
    stack = world.cfn.moto.describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE" and "Value: data" in stack_template(world)
    assert json.loads(world.cfn.moto.get_stack_policy(StackName=STACK)["StackPolicyBody"]) == POLICY
    assert world.run_of(execution, "Source").variables["VersionId"] == version


def replace_database(world: World, plan: Plan, author: tuple[str, str] = AUTHOR) -> tuple[str, str, str]:
    """Commit a rename of the database instance (CloudFormation replaces it), sync, run; (execution,
    object version, commit)."""
    first_run(world)
    commit = world.commit("Rename the database instance", TEMPLATE.replace("acme-app\n", "acme-app-v2\n"),
                          author=author)
    execution, version = world.sync()
    world.cfn.will_describe(DATABASE_REPLACED)
    world.run(execution, plan)
    return execution, version, commit


def test_a_database_replacement_refuses_the_same_identity_twice(world: World) -> None:
    execution, _, _ = replace_database(world, Plan(approvals={APPROVE: ADA, SECOND: ADA}))
    review = world.run_of(execution, naming.REVIEW_ACTION).variables
    assert review["RiskTier"] == "high" and "Database" in review["Summary"]
    # high risk: the waiver leaves SecondApproval to a person; here the same person approved both
    assert world.run_of(execution, naming.WAIVE_ACTION).status == "Succeeded"
    assert [who for who, _ in world.codepipeline.calls_of("PutApprovalResult")] == [ADA, ADA]
    check = world.run_of(execution, naming.CHECK_ACTION)
    assert check.status == "Failed"
    message = check.result["errorDetails"]["message"]
    assert message.startswith("refused: risk high: two approvals by different people are needed")
    assert f"both approvals come from the same identity {ADA}" in message
    # refused before execution: ExecuteChangeSet never called, the stack and its change set untouched
    assert world.codepipeline.executions[execution].status == "Failed"
    assert naming.EXECUTE_ACTION not in world.actions(execution)
    assert "ExecuteChangeSet" not in world.cfn.calls
    assert "acme-app-v2" not in stack_template(world)
    change_set = world.cfn.moto.describe_change_set(StackName=STACK, ChangeSetName=f"{PROJECT}-{execution}")
    assert change_set["ExecutionStatus"] == "AVAILABLE"


def test_the_commits_author_does_not_count_as_one_of_the_two(world: World) -> None:
    # the author as git has it reaches CheckChangeSet: the sync's variables, #{variables.CommitAuthor}
    execution, _, _ = replace_database(world, Plan(approvals={APPROVE: ADA, SECOND: BOB}),
                                       author=("Ada Lovelace", "ada@example.com"))
    check = world.run_of(execution, naming.CHECK_ACTION)
    assert check.status == "Failed" and "Ada Lovelace <ada@example.com>" in check.resolved["UserParameters"]
    message = check.result["errorDetails"]["message"]
    assert f"{APPROVE} was approved by {ADA}, the commit's author (Ada Lovelace <ada@example.com>)" in message
    assert "ExecuteChangeSet" not in world.cfn.calls


def test_a_database_replacement_needs_two_people_and_executes_only_inside_its_window(world: World) -> None:
    waits: list[tuple[int, datetime]] = []

    def waiting(action: str, attempt: int) -> None:
        # each time WaitForWindow asked to be called again: nothing executed yet, the stack unchanged
        if action != naming.WINDOW_ACTION:
            return
        assert world.run_of(execution_of(world), naming.EXECUTE_ACTION) is None
        assert "acme-app-v2" not in stack_template(world)
        waits.append((attempt, world.clock.now))
        world.clock.set(TUESDAY_EVENING.replace(hour=21) if attempt == 1 else WEDNESDAY_MORNING)

    world.clock.set(TUESDAY_EVENING)
    execution, _, _ = replace_database(world, Plan(approvals={APPROVE: ADA, SECOND: BOB}, waiting=waiting))
    ran = world.codepipeline.executions[execution]
    assert ran.status == "Succeeded", world.actions(execution)
    review = world.run_of(execution, naming.REVIEW_ACTION)
    assert review.variables["RiskTier"] == "high"
    # the drift of the resource the change touches was detected before anyone was asked
    assert [r.get("LogicalResourceIds") for r in world.cfn.drift_requests] == [["Database"]]
    assert review.updated <= world.run_of(execution, APPROVE).started
    # two people, each on their own approval, both asked with the review's line; the waiver approved nothing
    for action in (APPROVE, SECOND):
        custom_data = world.run_of(execution, action).resolved["CustomData"]
        assert review.variables["Summary"] in custom_data and len(custom_data) <= MAX_CUSTOM_DATA
    assert [(r.action, r.updated_by) for r in world.codepipeline.runs(execution)
            if r.type_id["Category"] == "Approval"] == [(APPROVE, ADA), (SECOND, BOB)]
    assert [who for who, _ in world.codepipeline.calls_of("PutApprovalResult")] == [ADA, BOB]
    assert world.run_of(execution, naming.CHECK_ACTION).status == "Succeeded"
    # approved on Tuesday evening, outside the window: WaitForWindow asked to be called again (twice),
    # and succeeded on Wednesday morning; only then did the change set execute
    window = world.run_of(execution, naming.WINDOW_ACTION)
    assert [attempt for attempt, _ in waits] == [1, 2] and window.invocations == 3
    assert window.status == "Succeeded" and window.updated >= WEDNESDAY_MORNING
    assert world.run_of(execution, naming.EXECUTE_ACTION).started >= WEDNESDAY_MORNING
    stack = world.cfn.moto.describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE" and "acme-app-v2" in stack_template(world)
    assert world.run_of(execution, naming.VERIFY_POLICY_ACTION).status == "Succeeded"


def execution_of(world: World) -> str:
    return max(world.codepipeline.executions.values(), key=lambda e: e.started).id


def test_a_change_set_made_stale_by_a_change_to_the_stack_is_refused_before_execution(world: World) -> None:
    def someone_updates_the_stack() -> None:
        # between the review and the check, the stack changes outside the pipeline
        world.cfn.client.update_stack(
            StackName=STACK, UsePreviousTemplate=True,
            Parameters=[{"ParameterKey": "InstanceClass", "ParameterValue": "db.t4g.medium"}])

    first_run(world)
    world.commit("The events topic belongs to the data team",
                 TEMPLATE.replace("Value: platform", "Value: data"))
    execution, _ = world.sync()
    world.cfn.will_describe(TAG_ONLY)
    world.run(execution, Plan(approvals={APPROVE: ADA},
                              before={naming.CHECK_ACTION: someone_updates_the_stack}))
    reviewed = world.run_of(execution, naming.REVIEW_ACTION).variables
    check = world.run_of(execution, naming.CHECK_ACTION)
    assert check.status == "Failed"
    message = check.result["errorDetails"]["message"]
    assert message.startswith(f"stale: {STACK} change set {PROJECT}-{execution} is not what was reviewed")
    assert f"at the review {reviewed['StackUpdated']}" in message
    assert world.codepipeline.executions[execution].status == "Failed"
    assert "ExecuteChangeSet" not in world.cfn.calls and naming.EXECUTE_ACTION not in world.actions(execution)
    assert "Value: data" not in stack_template(world)


def test_a_run_the_sync_did_not_start_skips_the_change_stage(world: World) -> None:
    # someone starts the pipeline by hand ("Release change"): no commit variables, so CommitId keeps
    # its declared default and the Change stage's entry condition (StartedBySync) skips the stage
    first_run(world)
    started = world.codepipeline.client(ADA).start_pipeline_execution(name=PIPELINE)
    execution = started["pipelineExecutionId"]
    assert world.run(execution).status == "Succeeded"
    assert world.actions(execution) == ["Source"]
    assert world.cfn.moto.list_change_sets(StackName=STACK)["Summaries"] == []


# ---- changegate audit, for the change that went through ----

def audit(world: World, *args: str) -> Any:
    """``changegate audit database`` as an auditor runs it (CliRunner, as tests/changegate do)."""
    aws = Aws(None, clients={"codepipeline": world.codepipeline.client(AUDITOR), "s3": world.s3,
                             "cloudformation": world.cfn.client}, account=ACCOUNT, arn=AUDITOR)
    result = CliRunner().invoke(cli, ["audit", FOLDER, "--root", str(world.root), *args],
                                obj={"aws": aws, "now": lambda: world.clock.now, "workers": 1},
                                standalone_mode=False)
    if isinstance(result.exception, ChangegateError) or (
            result.exception is not None and not isinstance(result.exception, SystemExit)):
        raise result.exception
    return result


def four_answers(entry: dict) -> tuple:
    """Which commit, which object version, which change set, who approved it and when."""
    decisions = [(d["action"], d["verdict"], d["by"], datetime.fromisoformat(d["at"]))
                 for d in entry["decisions"]]
    return (entry["commit"], entry["object"]["version"], entry["change_set"]["stack"],
            entry["change_set"]["name"], decisions)


def audit_json(world: World) -> dict[str, dict]:
    result = audit(world, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["bucket"] == SOURCE_BUCKET and report["unreadable_records"] == []
    return {e["execution_id"]: e for e in report["executions"]}


def test_changegate_audit_answers_which_commit_object_version_change_set_and_who_approved_when(
        world: World) -> None:
    execution, version, commit = replace_database(world, Plan(approvals={APPROVE: ADA, SECOND: BOB}))
    assert world.codepipeline.executions[execution].status == "Succeeded"
    approved = {r.action: r.updated for r in world.codepipeline.runs(execution)
                if r.action in (APPROVE, SECOND)}
    expected = (commit, version, STACK, f"{PROJECT}-{execution}",
                [(APPROVE, "approved", ADA, approved[APPROVE]), (SECOND, "approved", BOB, approved[SECOND])])

    # before any audit record: from CodePipeline's history (what the run left in the fake)
    entries = audit_json(world)
    assert len(entries) == 2 and entries[execution]["source"] == "pipeline history, no audit record"
    assert four_answers(entries[execution]) == expected

    # the recorder's work for every finished execution (the empty first one and this one)
    recorder = world.codepipeline.client(f"arn:aws:sts::{ACCOUNT}:assumed-role/acme-changegate-recorder/x")
    keys = [record.write_record(world.s3, bucket=SOURCE_BUCKET, record=record.build_record(
                recorder, pipeline=PIPELINE, execution_id=e, steps_role=FUNCTION_ROLE, now=world.clock.now))
            for e in world.codepipeline.executions]
    assert all(k.startswith(f"audit/{PIPELINE}/") for k in keys)
    written = json.loads(world.s3.get_object(Bucket=SOURCE_BUCKET, Key=keys[-1])["Body"].read())
    change_set_id = world.run_of(execution, naming.REVIEW_ACTION).variables["ChangeSetId"]
    assert written["execution_id"] == execution and written["commit"]["id"] == commit
    assert written["source"] == {"bucket": SOURCE_BUCKET, "key": naming.source_object_key(FOLDER),
                                 "version": version}
    assert written["change_set"] == {"stack": STACK, "name": f"{PROJECT}-{execution}", "id": change_set_id}

    # from the records: the same four answers; the commit is the one the sync wrote on the object
    # version (trusted: the sync started the run on a version it wrote)
    entries = audit_json(world)
    entry = entries[execution]
    assert entry["source"] == "audit record" and entry["record_key"] == keys[-1]
    assert four_answers(entry) == expected
    assert entry["trusted"] is True and entry["outcome"] == "executed"
    assert entry["change_set"]["id"] == change_set_id
    first = next(e for e in entries.values() if e["execution_id"] != execution)
    assert first["outcome"] == "no changes" and first["decisions"] == []

    # the text format names the same four answers
    text = audit(world).stdout
    block = text.split(f"Execution {execution}", 1)[1].split("\nExecution ", 1)[0]
    assert commit in block and version in block and f"{PROJECT}-{execution}" in block
    for action, person in ((APPROVE, ADA), (SECOND, BOB)):
        assert f"approved by {person} at {approved[action]:%Y-%m-%d %H:%M}Z" in block
