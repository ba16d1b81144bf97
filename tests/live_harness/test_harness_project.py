"""The throwaway project, deployed with the installed `changegate deploy` against moto_server,
synced as the sync role, probed where moto answers, and cleaned up without a trace."""

from __future__ import annotations

import json
import subprocess

import pytest
from cglive import project, run
from cglive.ledger import Ledger, cleanup
from cglive.report import PASS

from generator import naming
from generator.bootstrap.template import render_template
from generator.contract.validate import validate_repository

# moto's CloudFormation has no AWS::CodeConnections::Connection: an existing connection instead of
# "create" (the live run creates one; the template differs only by that resource and its references).
EXISTING_CONNECTION = ("arn:aws:codeconnections:eu-west-1:123456789012:connection/"
                       "0a1b2c3d-0000-4000-8000-000000000000")


@pytest.fixture
def repo(tmp_path, settings):
    root = tmp_path / "repository"
    project.write_repository(root, settings.project, connection_arn=EXISTING_CONNECTION)
    return root


def test_the_repository_is_valid_and_holds_what_the_questions_need(repo, settings):
    report = validate_repository(repo, lint=True)
    assert report.ok, report.errors
    assert sorted(report.stacks) == [project.APP, project.BIG]
    big = (repo / f"stacks/{project.BIG}/template.yaml").read_bytes()
    assert project.INLINE_LIMIT < len(big) < 512_000  # over the inline limit, under the action's (F10)
    assert json.loads((repo / "pipelines/policies/app.json").read_text()) == project.APP_STACK_POLICY
    template = json.loads(render_template(repo))
    assert template["Metadata"]["Changegate"]["Project"] == settings.project
    author = subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%an%n%s"], capture_output=True,
                            text=True, check=True).stdout.splitlines()
    # longer than the sync lets through: Q7 sees the longest resolved approval text
    assert len(author[0]) > naming.PIPELINE_VARIABLE_MAX_LENGTHS["CommitAuthor"]
    assert len(author[1]) > naming.PIPELINE_VARIABLE_MAX_LENGTHS["CommitSubject"]


def test_a_second_commit_modifies_the_app_stack(repo):
    before = (repo / f"stacks/{project.APP}/template.yaml").read_text()
    commit = project.change_app(repo, "two", "second")
    assert len(commit) == 40
    after = (repo / f"stacks/{project.APP}/template.yaml").read_text()
    assert before != after and 'Value: "two"' in after


@pytest.fixture
def deployed(settings, repo, clients, tmp_path):
    ledger = Ledger(tmp_path / "ledger.jsonl")
    result = project.deploy(settings, repo, ledger, clients)
    yield result, ledger
    cleanup(ledger, clients, sleep=lambda s: None, interval=0)


def _project_buckets(clients, settings) -> list[str]:
    return sorted(b["Name"] for b in clients("s3").list_buckets()["Buckets"] if settings.project in b["Name"])


def test_deploy_records_the_stack_and_staging_bucket_then_cleanup_removes_every_trace(
        deployed, settings, clients):
    result, ledger = deployed
    assert result.stack == naming.bootstrap_stack_name(settings.project)
    assert result.source_bucket and result.artifact_bucket
    kinds = {e.kind for e in ledger.pending()}
    assert {"bootstrap_stack", "bucket"} <= kinds
    assert _project_buckets(clients, settings)  # the stack's buckets exist
    q12 = _q12_pipeline(clients, settings, result, ledger)

    outcome = cleanup(ledger, clients, sleep=lambda s: None, interval=0)

    assert outcome.ok, outcome.failed
    assert _project_buckets(clients, settings) == []  # the retained buckets went too
    stacks = clients("cloudformation").list_stacks()["StackSummaries"]
    assert all(s["StackStatus"] == "DELETE_COMPLETE" for s in stacks if s["StackName"] == result.stack)
    keys = clients("kms").list_keys()["Keys"]
    states = {clients("kms").describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] for k in keys}
    assert "Enabled" not in states  # every key of the run is pending deletion
    groups = clients("logs").describe_log_groups(logGroupNamePrefix=f"/aws/codebuild/{settings.project}")
    assert groups["logGroups"] == []
    assert q12 not in [p["name"] for p in clients("codepipeline").list_pipelines()["pipelines"]]


def _q12_pipeline(clients, settings, result, ledger) -> str:
    """Q12's pipeline, with the project's own role, bucket and key: botocore validates the request
    against CreatePipeline's shape, moto stores it, the ledger has it."""
    role = clients("iam").get_role(RoleName=naming.role_name(settings.project, "pipeline"))["Role"]["Arn"]
    definition = run.topic_pipeline(f"{settings.project}-q12topic", role, result,
                                    "arn:aws:sns:eu-west-1:123456789012:t",
                                    key_arn="arn:aws:kms:eu-west-1:123456789012:key/k",
                                    source_key=naming.source_object_key(project.APP))
    assert [s["name"] for s in definition["stages"]] == [naming.SOURCE_STAGE, naming.CHANGE_STAGE]
    ledger.will_create("pipeline", definition["name"])
    clients("codepipeline").create_pipeline(pipeline=definition)
    got = clients("codepipeline").get_pipeline(name=definition["name"])["pipeline"]
    assert got["stages"][1]["actions"][0]["configuration"]["NotificationArn"].endswith(":t")
    return definition["name"]


def _create_stack_pipelines(clients, settings, deployed_):
    """moto's CloudFormation ignores AWS::CodePipeline::Pipeline: create the two by API instead."""
    role = naming.role_name(settings.project, "pipeline")
    arn = clients("iam").get_role(RoleName=role)["Role"]["Arn"]
    key = run.topic_pipeline("x", arn, deployed_, "arn:aws:sns:eu-west-1:123456789012:t", key_arn="k",
                             source_key="k")["artifactStore"]["encryptionKey"]["id"]
    for folder in (project.APP, project.BIG):
        definition = run.topic_pipeline(naming.pipeline_name(settings.project, folder), arn, deployed_,
                                        "arn:aws:sns:eu-west-1:123456789012:t", key_arn=key,
                                        source_key=naming.source_object_key(folder))
        clients("codepipeline").create_pipeline(pipeline=definition)


def test_the_harness_syncs_as_the_sync_role_and_probes_the_absent_manifest(deployed, settings, repo, clients):
    result, ledger = deployed
    account = clients("sts").get_caller_identity()["Account"]
    live = run.LiveRun(settings, clients, ledger, account=account, repo=repo, deployed=result)
    live.sync_clients = run._as_sync_role(live)
    role_arn = live.sync_clients("sts").get_caller_identity()["Arn"]
    assert f"assumed-role/{naming.role_name(settings.project, 'sync')}/" in role_arn
    # CodeBuild's own statement stays as generated; the harness's is one more
    trust = clients("iam").get_role(RoleName=naming.role_name(settings.project, "sync"))["Role"][
        "AssumeRolePolicyDocument"]
    services = [s["Principal"].get("Service") for s in trust["Statement"]]
    assert "codebuild.amazonaws.com" in services and len(trust["Statement"]) == 2

    run.step_absent_manifest(live)
    assert live.results["Q6"].outcome == PASS, live.results["Q6"]
    assert "404 NoSuchKey" in live.results["Q6"].observed

    _create_stack_pipelines(clients, settings, result)
    # moto's CloudFormation ignores the bucket's VersioningConfiguration; AWS applies it
    clients("s3").put_bucket_versioning(Bucket=result.source_bucket,
                                        VersioningConfiguration={"Status": "Enabled"})
    report = project.local_sync(repo, live.sync_clients("s3"), live.sync_clients("codepipeline"),
                                result.source_bucket)
    assert sorted(report.started) == [project.APP, project.BIG]
    executions = clients("codepipeline").list_pipeline_executions(
        pipelineName=naming.pipeline_name(settings.project, project.APP))["pipelineExecutionSummaries"]
    assert report.started[project.APP] in {e["pipelineExecutionId"] for e in executions}
