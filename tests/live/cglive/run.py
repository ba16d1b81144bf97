"""The live run, in the one order the questions allow, and the cleanup that always follows.

Timeline (one deployment, one stack's executions serve several questions):

1. write the throwaway repository; deploy it with ``changegate deploy`` (Q3 codepipeline at creation)
2. a facts build in the sync project (Q4 image facts, Q5 git); then the real sync build (Q4, Q3 codebuild):
   it uploads ``app`` and ``big`` and starts both pipelines (execution A of app carries the longest
   commit variables)
3. as the sync role: GetObject of an absent key under the prefix (Q6)
4. A waits for approval: its resolved approval text and link (Q7, Q8); the big stack plans (Q10)
5. a second commit, synced as the sync role: execution B queues behind A (Q11)
6. approve A: the stack policy (Q2), termination protection by events+ssm (Q3); B plans, is approved (Q11)
7. start app again at B's version: an empty change set (Q1)
8. a pipeline notifying a KMS-encrypted topic (Q12); Q9 is manual
9. report; delete everything in the ledger (also on Ctrl-C, SIGTERM, SIGHUP)
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from cglive import builds, probes, project, watch
from cglive.ledger import CleanupResult, Ledger, cleanup, interruptible, shielded
from cglive.report import Result, write_report
from cglive.settings import LiveSettings
from generator import naming
from sync.git import CommitInfo
from sync.pipelines import start_pipeline
from sync.state import read_manifest

log = logging.getLogger(__name__)
PACKAGE_ROOT = Path(__file__).resolve().parents[3]
ABSENT_PREFIX = f"{naming.DEFAULT_SOURCE_PREFIX}cglive-absent/"


@dataclass
class Timing:
    """How long to wait for AWS; the harness tests shrink these to run against emulators."""
    approval: float = 900.0  # an execution reaches Approve (plan included)
    execution: float = 1200.0  # an approved execution ends (the stack is created)
    protection: float = 600.0  # events -> ssm turns termination protection on
    build: float = 1200.0
    queue_check: float = 60.0  # how long B is watched for planning early
    interval: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def wait(self, timeout: float) -> dict[str, Any]:
        return {"timeout": timeout, "interval": self.interval, "sleep": self.sleep, "clock": self.clock}


@dataclass
class LiveRun:
    """The state of one run. Mutable on purpose: the timeline fills it step by step."""
    settings: LiveSettings
    clients: Callable[[str], Any]
    ledger: Ledger
    timing: Timing = field(default_factory=Timing)
    results: dict[str, Result] = field(default_factory=dict)
    account: str = ""
    partition: str = "aws"
    repo: Path | None = None
    deployed: project.Deployed | None = None
    sync_clients: Callable[[str], Any] | None = None
    # evidence gathered along the way for questions answered later
    q3: dict[str, tuple[bool | None, str]] = field(default_factory=dict)
    synced: bool = False
    q11_planned_early: bool = False
    app_versions: dict[str, str | None] = field(default_factory=dict)

    def record(self, result: Result) -> None:
        self.results[result.id] = result

    def fail_open(self, question: tuple[str, str, str], exc: BaseException | str) -> None:
        """Record 'error' for a question the run could not get to, unless it was already answered."""
        if question[0] not in self.results:
            self.record(probes.error(*question, probes.EXPECTED[question[0]], exc))

    # ---- names ----
    @property
    def project(self) -> str:
        return self.settings.project

    def pipeline(self, folder: str) -> str:
        return naming.pipeline_name(self.project, folder)

    def stack(self, folder: str) -> str:
        return naming.stack_name(self.project, folder)


def execute(run: LiveRun, workdir: Path) -> CleanupResult:
    """Run every question, write the report, clean up. Returns the cleanup's result."""
    started = datetime.now(timezone.utc)
    try:
        with interruptible():
            _timeline(run, workdir)
    finally:
        try:
            for question in probes.ALL:
                run.fail_open(question, "the run stopped before this question")
            write_report(run.results.values(), run.settings.output, project=run.project,
                         region=run.settings.region, started=started)
        finally:  # the cleanup runs even if the report could not be written
            with shielded():
                outcome = cleanup(run.ledger, run.clients, sleep=run.timing.sleep, clock=run.timing.clock,
                                  interval=run.timing.interval)
    return outcome


def _timeline(run: LiveRun, workdir: Path) -> None:
    identity = run.clients("sts").get_caller_identity()
    run.account = identity["Account"]
    run.partition = identity["Arn"].split(":")[1]
    run.repo = workdir / "repository"
    project.write_repository(run.repo, run.project)
    run.deployed = project.deploy(run.settings, run.repo, run.ledger, run.clients)
    run.record(probes.q9_connection_manual(project=run.project, region=run.settings.region))
    project.record_managed_stacks(run.ledger, run.project)
    _guarded(run, (probes.Q4, probes.Q5), step_builds, run, workdir)
    # Not guarded: without the sync role's session and the stacks uploaded no other question can run.
    run.sync_clients = _as_sync_role(run)
    if not run.synced:
        log.warning("the sync build did not succeed; syncing from the harness as the sync role instead")
        project.local_sync(run.repo, run.sync_clients("s3"), run.sync_clients("codepipeline"),
                           run.deployed.source_bucket)
    _guarded(run, (probes.Q6,), step_absent_manifest, run)
    a = _guarded(run, (probes.Q7, probes.Q8), first_execution, run)
    _guarded(run, (probes.Q10,), step_big_template, run)
    if a:
        run.sync_clients = _sync_session(run)
        b = _guarded(run, (probes.Q11,), step_queue_second, run, a)
        _guarded(run, (probes.Q2, probes.Q3), step_approve_first, run, a)
        if b:
            _guarded(run, (probes.Q11,), step_second_executes, run, b)
            run.sync_clients = _sync_session(run)
            _guarded(run, (probes.Q1,), step_empty_change_set, run, b)
    _guarded(run, (probes.Q12,), step_encrypted_topic, run)


# What a step may meet on a real account; anything else (a harness bug) stops the run, cleanup follows.
STEP_ERRORS = (ClientError, watch.WaitTimeout, TimeoutError, RuntimeError, KeyError)


def _guarded(run: LiveRun, questions: tuple[tuple[str, str, str], ...], step: Callable[..., Any],
             *args: Any) -> Any:
    """Run one step; if AWS stops it, its unanswered questions say why and the next step goes on."""
    try:
        return step(*args)
    except STEP_ERRORS as exc:
        log.warning("step %s stopped: %s", step.__name__, exc)
        for question in questions:
            run.fail_open(question, f"{step.__name__}: {type(exc).__name__}: {exc}")
        return None


# ---- step 2: the builds (Q4, Q5, Q3 codebuild) ----

def step_builds(run: LiveRun, workdir: Path) -> None:
    codebuild, logs = run.clients("codebuild"), run.clients("logs")
    sync_role = naming.role_name(run.project, "sync")
    role_arn = f"arn:{run.partition}:iam::{run.account}:role/{sync_role}"
    bucket = builds.probe_bucket(run.clients("s3"), run.ledger, f"{run.project}-probe-{run.account}",
                                 run.settings.region, role_arn)
    key = "source.zip"
    run.clients("s3").put_object(Bucket=bucket, Key=key, Body=builds.source_zip(run.repo, PACKAGE_ROOT))
    project_name = naming.sync_project_name(run.project)
    facts = None
    try:
        done = builds.wait_build(codebuild, builds.start_build(codebuild, project_name, bucket, key,
                                                               buildspec=builds.FACTS_BUILDSPEC),
                                 timeout=run.timing.build, interval=run.timing.interval,
                                 sleep=run.timing.sleep, clock=run.timing.clock)
        facts = builds.parse_facts(builds.log_lines(logs, done))
    except (ClientError, TimeoutError) as exc:
        log.warning("the facts build did not run: %s", exc)
    run.record(probes.q5_git_on_lambda(facts))
    sync_build = builds.wait_build(codebuild, builds.start_build(codebuild, project_name, bucket, key),
                                   timeout=run.timing.build, interval=run.timing.interval,
                                   sleep=run.timing.sleep, clock=run.timing.clock)
    status = sync_build["buildStatus"]
    failure = "; ".join(builds.failed_phases(sync_build))
    run.record(probes.q4_lambda_image(facts=facts, sync_status=status, sync_failure=failure))
    run.q3["codebuild"] = codebuild_evidence(sync_build)
    run.synced = status == "SUCCEEDED"


def codebuild_evidence(build: dict[str, Any]) -> tuple[bool | None, str]:
    """Did CodeBuild assume the sync role? It does so before the first phase that runs commands."""
    phases = {p.get("phaseType") for p in build.get("phases", [])}
    failure = "; ".join(builds.failed_phases(build))
    if "INSTALL" in phases:
        return True, f"the sync build reached its install phase ({build.get('buildStatus')})"
    if "assume" in failure.lower():
        return False, failure
    return None, f"the sync build {build.get('buildStatus')} before its install phase: {failure}"


def _as_sync_role(run: LiveRun) -> Callable[[str], Any]:
    sync_role = naming.role_name(run.project, "sync")
    project.let_harness_assume(run.clients("iam"), sync_role, run.account, run.partition)
    return _sync_session(run)


def _sync_session(run: LiveRun) -> Callable[[str], Any]:
    """Fresh credentials of the sync role. Taken again before each later use: when the harness's own
    credentials are an assumed role (SSO), this is role chaining, and chained sessions last one hour
    at most, less than a slow run."""
    role_arn = f"arn:{run.partition}:iam::{run.account}:role/{naming.role_name(run.project, 'sync')}"
    credentials = project.assume(run.clients("sts"), role_arn, sleep=run.timing.sleep)
    return project.session_factory(run.settings, credentials)


# ---- step 3: Q6 ----

def step_absent_manifest(run: LiveRun) -> None:
    s3 = run.sync_clients("s3")
    bucket = run.deployed.source_bucket
    try:
        s3.get_object(Bucket=bucket, Key=f"{ABSENT_PREFIX}.changegate/state.json")
        raw = "the object exists (unexpected)"
    except ClientError as exc:
        err = exc.response.get("Error", {})
        raw = f"{exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode')} {err.get('Code')}"
    try:
        read_manifest(s3, bucket, ABSENT_PREFIX)
        problem = None
    except ClientError as exc:
        problem = f"{exc.response.get('Error', {}).get('Code')}: {exc}"
    run.record(probes.q6_absent_manifest(raw_code=raw, read_manifest_error=problem))


# ---- step 4: execution A waits for approval (Q7, Q8, Q3) ----

def _latest_execution(run: LiveRun, pipeline: str) -> str:
    summaries = run.clients("codepipeline").list_pipeline_executions(pipelineName=pipeline, maxResults=5)[
        "pipelineExecutionSummaries"]
    started = [s for s in summaries
               if (s.get("trigger") or {}).get("triggerType") == "StartPipelineExecution"]
    return (started or summaries)[0]["pipelineExecutionId"]


def first_execution(run: LiveRun) -> str:
    cp = run.clients("codepipeline")
    pipeline = run.pipeline(project.APP)
    a = _latest_execution(run, pipeline)
    approve, status = watch.wait_for_action_or_end(cp, pipeline, a, naming.APPROVE_ACTION, {"InProgress"},
                                                   **run.timing.wait(run.timing.approval))
    config = watch.resolved_configuration(approve)
    run.record(probes.q7_approval_text(
        approve_status=(approve or {}).get("status"), resolved_custom_data=config.get("CustomData"),
        error_details=_error_of(approve) or ("" if approve else f"execution {status}")))
    change_set = naming.change_set_name_for(run.project, a)
    described = _describe_change_set(run, project.APP, change_set)
    run.record(probes.q8_console_link(
        url=config.get("ExternalEntityLink"), partition=run.partition, stack_name=run.stack(project.APP),
        stack_id=(described or {}).get("StackId", "?"), change_set_name=change_set,
        change_set_id=(described or {}).get("ChangeSetId", "?")))
    run.q3["codepipeline"] = _action_ok(cp, pipeline, a, naming.SOURCE_ACTION_NAME,
                                        "the Source action read S3")
    run.q3["cloudformation"] = _action_ok(cp, pipeline, a, naming.PLAN_ACTION, "CreateChangeSet with RoleArn")
    return a


def _action_ok(cp: Any, pipeline: str, execution: str, action: str, what: str) -> tuple[bool | None, str]:
    run_ = watch.latest_action(cp, pipeline, execution, action)
    if not run_:
        return None, f"{action} did not run"
    status = run_.get("status")
    return (status == "Succeeded" if status in watch.ACTION_DONE else None), f"{what}: {status}"


def _error_of(action: dict[str, Any] | None) -> str:
    details = ((action or {}).get("output") or {}).get("executionResult") or {}
    return str((details.get("errorDetails") or {}).get("message")
               or details.get("externalExecutionSummary") or "")


def _describe_change_set(run: LiveRun, folder: str, name: str) -> dict[str, Any] | None:
    try:
        return run.clients("cloudformation").describe_change_set(StackName=run.stack(folder),
                                                                 ChangeSetName=name)
    except ClientError:
        return None


# ---- Q10 ----

def step_big_template(run: LiveRun) -> None:
    cp = run.clients("codepipeline")
    pipeline = run.pipeline(project.BIG)
    size = len(project.big_template().encode("utf-8"))
    try:
        execution = _latest_execution(run, pipeline)
        plan, _ = watch.wait_for_action_or_end(cp, pipeline, execution, naming.PLAN_ACTION, watch.ACTION_DONE,
                                               **run.timing.wait(run.timing.approval))
    except (ClientError, watch.WaitTimeout) as exc:
        run.record(probes.error(*probes.Q10, probes.Q10_EXPECTED, exc))
        return
    run.record(probes.q10_big_template(template_bytes=size, plan_status=(plan or {}).get("status"),
                                       error_details=_error_of(plan)))


# ---- Q11 ----

def step_queue_second(run: LiveRun, a: str) -> str:
    project.change_app(run.repo, "two", "Live acceptance: second change of app")
    report = project.local_sync(run.repo, run.sync_clients("s3"), run.sync_clients("codepipeline"),
                                run.deployed.source_bucket)
    b = report.started[project.APP]
    cp = run.clients("codepipeline")
    pipeline = run.pipeline(project.APP)
    deadline = run.timing.clock() + run.timing.queue_check
    planned_early = False
    while True:
        planned_early = watch.latest_action(cp, pipeline, b, naming.PLAN_ACTION) is not None
        if planned_early or run.timing.clock() >= deadline:
            break
        run.timing.sleep(run.timing.interval)
    run.q11_planned_early = planned_early
    run.app_versions = {"b": report.uploaded.get(project.APP)}
    return b


# ---- Q2, Q3 events+ssm ----

def step_approve_first(run: LiveRun, a: str) -> None:
    cp, cfn = run.clients("codepipeline"), run.clients("cloudformation")
    pipeline = run.pipeline(project.APP)
    watch.decide(cp, pipeline, a, approve=True, summary="changegate live acceptance: first execution")
    status = watch.wait_for_end(cp, pipeline, a, **run.timing.wait(run.timing.execution))
    run.q3["cloudformation"] = _action_ok(cp, pipeline, a, naming.EXECUTE_ACTION,
                                          "the stack was created with the execution role")
    try:
        body = cfn.get_stack_policy(StackName=run.stack(project.APP)).get("StackPolicyBody")
        policy = json.loads(body) if body else None
    except ClientError as exc:
        run.record(probes.error(*probes.Q2, probes.Q2_EXPECTED, f"execution {status}; {exc}"))
    else:
        run.record(probes.q2_stack_policy(observed_policy=policy, expected_policy=project.APP_STACK_POLICY))
    try:
        watch.wait_until(lambda: cfn.describe_stacks(StackName=run.stack(project.APP))["Stacks"][0].get(
            "EnableTerminationProtection"), "termination protection",
            **run.timing.wait(run.timing.protection))
        run.q3["events+ssm"] = (True, "the protection runbook turned termination protection on")
    except watch.WaitTimeout:
        run.q3["events+ssm"] = (False, "termination protection still off: the rule or the runbook failed")
    except ClientError as exc:
        run.q3["events+ssm"] = (None, str(exc))
    run.record(probes.q3_source_account(run.q3))


def step_second_executes(run: LiveRun, b: str) -> None:
    cp = run.clients("codepipeline")
    pipeline = run.pipeline(project.APP)
    try:
        approve, status = watch.wait_for_action_or_end(cp, pipeline, b, naming.APPROVE_ACTION, {"InProgress"},
                                                       **run.timing.wait(run.timing.approval))
        exists = approve is not None and _describe_change_set(
            run, project.APP, naming.change_set_name_for(run.project, b)) is not None
        if approve is not None and approve.get("status") == "InProgress":
            watch.decide(cp, pipeline, b, approve=True,
                         summary="changegate live acceptance: second execution")
            status = watch.wait_for_end(cp, pipeline, b, **run.timing.wait(run.timing.execution))
    except (ClientError, watch.WaitTimeout) as exc:
        run.record(probes.error(*probes.Q11, probes.Q11_EXPECTED, exc))
        return
    run.record(probes.q11_queued_executions(planned_while_first_waited=run.q11_planned_early,
                                            change_set_at_approval=exists, second_status=status))


# ---- Q1 ----

def step_empty_change_set(run: LiveRun, b: str) -> None:
    cp = run.clients("codepipeline")
    pipeline = run.pipeline(project.APP)
    version = run.app_versions.get("b")
    started = start_pipeline(run.sync_clients("codepipeline"), pipeline, version,
                             CommitInfo(id="0" * 40, author="Live Acceptance", subject="same version again"))
    c = started.execution_id
    approve, status = watch.wait_for_action_or_end(cp, pipeline, c, naming.APPROVE_ACTION, {"InProgress"},
                                                   **run.timing.wait(run.timing.approval))
    waited = approve is not None and approve.get("status") in ("InProgress", "Succeeded", "Failed")
    if approve is not None and approve.get("status") == "InProgress":
        watch.decide(cp, pipeline, c, approve=False, summary="changegate live acceptance: empty change set")
    plan = watch.latest_action(cp, pipeline, c, naming.PLAN_ACTION)
    if status not in watch.EXECUTION_DONE:
        status = watch.wait_for_end(cp, pipeline, c, **run.timing.wait(run.timing.execution))
    run.record(probes.q1_empty_change_set(approval_waited=waited, execution_status=status,
                                          plan_status=(plan or {}).get("status"),
                                          plan_summary=_error_of(plan)))


# ---- Q12 ----

def step_encrypted_topic(run: LiveRun) -> None:
    kms, sns, cp = run.clients("kms"), run.clients("sns"), run.clients("codepipeline")
    pipeline_role = f"arn:{run.partition}:iam::{run.account}:role/{naming.role_name(run.project, 'pipeline')}"
    key_id = kms.create_key(Description=f"changegate live acceptance {run.project}: a foreign topic's key")[
        "KeyMetadata"]["KeyId"]
    run.ledger.will_create("kms_key", key_id)  # the id exists only once created: recorded right after
    name = f"{run.project}-foreign-approvals"
    run.ledger.will_create("sns_topic", f"arn:{run.partition}:sns:{run.settings.region}:{run.account}:{name}")
    topic = sns.create_topic(Name=name, Attributes={"KmsMasterKeyId": key_id})["TopicArn"]
    # As an operator would: the topic lets the pipeline role publish; the key does not let it encrypt.
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Sid": "PipelinesPublish", "Effect": "Allow",
                                                "Principal": {"AWS": pipeline_role}, "Action": "sns:Publish",
                                                "Resource": topic}]}))
    pipeline = f"{run.project}-q12topic"
    run.ledger.will_create("pipeline", pipeline)
    definition = topic_pipeline(pipeline, pipeline_role, run.deployed, topic, key_arn=_artifact_key_arn(run),
                                source_key=naming.source_object_key(project.APP))
    cp.create_pipeline(pipeline=definition)
    try:
        execution = watch.wait_until(lambda: (cp.list_pipeline_executions(pipelineName=pipeline).get(
            "pipelineExecutionSummaries") or [{}])[0].get("pipelineExecutionId"), "the creation run",
            **run.timing.wait(run.timing.approval))
        approve, status = watch.wait_for_action_or_end(cp, pipeline, execution, naming.APPROVE_ACTION,
                                                       {"InProgress", "Failed"},
                                                       **run.timing.wait(run.timing.approval))
    except (ClientError, watch.WaitTimeout) as exc:
        run.record(probes.error(*probes.Q12, probes.Q12_EXPECTED, exc))
        return
    approve_status = (approve or {}).get("status") or f"(execution {status})"
    run.record(probes.q12_encrypted_topic(approve_status=approve_status, error_details=_error_of(approve)))


def _artifact_key_arn(run: LiveRun) -> str:
    alias = naming.artifact_key_alias(run.project)
    key_id = run.clients("kms").describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
    return key_id


def topic_pipeline(name: str, role_arn: str, deployed: project.Deployed, topic_arn: str, *, key_arn: str,
                   source_key: str) -> dict[str, Any]:
    """Source (the app archive already in the source bucket) -> the Change stage's Approve action, with
    the project's own pipeline role, artifact bucket and key: only the topic differs."""
    return {
        "name": name, "roleArn": role_arn, "pipelineType": "V2", "executionMode": "QUEUED",
        "artifactStore": {"type": "S3", "location": deployed.artifact_bucket,
                          "encryptionKey": {"id": key_arn, "type": "KMS"}},
        "stages": [
            {"name": naming.SOURCE_STAGE, "actions": [{
                "name": naming.SOURCE_ACTION_NAME, "runOrder": 1,
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": deployed.source_bucket, "S3ObjectKey": source_key,
                                  "PollForSourceChanges": "false"},
                "outputArtifacts": [{"name": "SourceArtifact"}]}]},
            {"name": naming.CHANGE_STAGE, "actions": [{
                "name": naming.APPROVE_ACTION, "runOrder": 1,
                "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual",
                                 "version": "1"},
                "configuration": {"NotificationArn": topic_arn,
                                  "CustomData": "changegate live acceptance: a KMS-encrypted topic"}}]},
        ],
    }


def run_from_settings(settings: LiveSettings, timing: Timing | None = None) -> tuple[LiveRun, CleanupResult]:
    """The whole live run: what ``tests/live`` calls once per session."""
    clients = project.client_factory(settings)
    settings.output.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(settings.output / f"ledger-{settings.project}.jsonl")
    run = LiveRun(settings, clients, ledger, timing or Timing())
    with tempfile.TemporaryDirectory(prefix=f"{settings.project}-") as workdir:
        outcome = execute(run, Path(workdir))
    return run, outcome
