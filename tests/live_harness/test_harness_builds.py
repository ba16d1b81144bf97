"""The CodeBuild side of Q4/Q5: the source zip, the facts script, reading a build's answer.

StartBuild/BatchGetBuilds/GetLogEvents on stubs in the real shapes (moto's CodeBuild runs no
build and writes no log); the facts script runs for real, here, in a git repository.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
from botocore.stub import Stubber
from cglive import builds, facts, project
from cglive.run import PACKAGE_ROOT


def test_the_source_zip_holds_the_repository_with_its_git_and_an_installable_changegate(tmp_path):
    repo = tmp_path / "repository"
    project.write_repository(repo, "cgliveabc")
    names = set(zipfile.ZipFile(io.BytesIO(builds.source_zip(repo, PACKAGE_ROOT))).namelist())
    assert {
        "pipelines/config.yaml",
        "stacks/app/template.yaml",
        ".git/HEAD",
        "setup.cfg",
        "pyproject.toml",
        "buildspecs/sync.yml",
        "changegate/cli.py",
        "sync/run.py",
        builds.FACTS_SCRIPT,
    } <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # the throwaway repository's stacks, not the example ones of the project root
    assert "stacks/database/template.yaml" not in names


def test_the_facts_script_reports_the_image_as_one_json_line(tmp_path):
    repo = tmp_path / "src"
    project.write_repository(repo, "cgliveabc")
    env = {**os.environ, "CODEBUILD_SRC_DIR": str(repo)}
    out = subprocess.run(
        [sys.executable, facts.__file__], capture_output=True, text=True, env=env, check=True, timeout=120
    ).stdout
    found = builds.parse_facts(
        ["[Container] 2026/12/02 05:00:00 Running command python3 cglive_facts.py", *out.splitlines()]
    )
    assert found["git_inside_work_tree"] == {"rc": 0, "out": "true", "err": ""}
    assert found["git_shallow"]["out"] == "false"
    assert found["uid"] == os.getuid() == found["src_dir_uid"]
    assert found["multiprocessing_lock"] == "ok"
    assert set(found) >= {"etc_pip_conf", "dev_shm", "nproc", "cpu_count", "git_version"}


def test_facts_in_a_log_are_found_by_their_marker_not_by_the_echoed_command():
    line = builds.facts.MARKER + json.dumps({"dev_shm": False})
    assert builds.parse_facts(["    print(MARKER + json.dumps(gather()))", f"[Container] {line}"]) == {
        "dev_shm": False
    }
    assert builds.parse_facts(["nothing here"]) is None


def _codebuild():
    return boto3.client(
        "codebuild", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_a_build_overrides_only_the_source_and_artifacts_of_the_generated_project():
    cb = _codebuild()
    with Stubber(cb) as stub:
        stub.add_response(
            "start_build",
            {"build": {"id": "p-sync:1", "buildStatus": "IN_PROGRESS"}},
            {
                "projectName": "p-sync",
                "sourceTypeOverride": "S3",
                "sourceLocationOverride": "b/source.zip",
                "artifactsOverride": {"type": "NO_ARTIFACTS"},
            },
        )
        stub.add_response(
            "start_build",
            {"build": {"id": "p-sync:2"}},
            {
                "projectName": "p-sync",
                "sourceTypeOverride": "S3",
                "sourceLocationOverride": "b/source.zip",
                "artifactsOverride": {"type": "NO_ARTIFACTS"},
                "buildspecOverride": builds.FACTS_BUILDSPEC,
            },
        )
        assert builds.start_build(cb, "p-sync", "b", "source.zip") == "p-sync:1"
        assert (
            builds.start_build(cb, "p-sync", "b", "source.zip", buildspec=builds.FACTS_BUILDSPEC)
            == "p-sync:2"
        )


def test_waiting_for_a_build_and_reading_why_it_failed():
    cb = _codebuild()
    failed = {
        "id": "p-sync:1",
        "buildStatus": "FAILED",
        "phases": [
            {"phaseType": "INSTALL", "phaseStatus": "SUCCEEDED"},
            {
                "phaseType": "BUILD",
                "phaseStatus": "FAILED",
                "contexts": [
                    {"statusCode": "COMMAND_EXECUTION_ERROR", "message": "Error while executing command"}
                ],
            },
        ],
        "logs": {"groupName": "/aws/codebuild/p-sync", "streamName": "s1"},
    }
    with Stubber(cb) as stub:
        stub.add_response(
            "batch_get_builds",
            {"builds": [{"id": "p-sync:1", "buildStatus": "IN_PROGRESS"}]},
            {"ids": ["p-sync:1"]},
        )
        stub.add_response("batch_get_builds", {"builds": [failed]}, {"ids": ["p-sync:1"]})
        slept = []
        build = builds.wait_build(cb, "p-sync:1", timeout=60, interval=3, sleep=slept.append, clock=lambda: 0)
    assert slept == [3]
    assert builds.failed_phases(build) == ["BUILD: FAILED Error while executing command"]


def test_log_lines_read_every_page_until_the_token_repeats():
    logs = boto3.client("logs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    build = {"logs": {"groupName": "/aws/codebuild/p-sync", "streamName": "s1"}}
    first = {"logGroupName": "/aws/codebuild/p-sync", "logStreamName": "s1", "startFromHead": True}
    with Stubber(logs) as stub:
        stub.add_response(
            "get_log_events",
            {
                "events": [{"timestamp": 1, "message": "one\n", "ingestionTime": 1}],
                "nextForwardToken": "f/1",
                "nextBackwardToken": "b/0",
            },
            first,
        )
        stub.add_response(
            "get_log_events",
            {
                "events": [{"timestamp": 2, "message": "two", "ingestionTime": 2}],
                "nextForwardToken": "f/2",
                "nextBackwardToken": "b/1",
            },
            {**first, "nextToken": "f/1"},
        )
        stub.add_response(
            "get_log_events",
            {"events": [], "nextForwardToken": "f/2", "nextBackwardToken": "b/2"},
            {**first, "nextToken": "f/2"},
        )
        assert builds.log_lines(logs, build) == ["one", "two"]
    assert builds.log_lines(logs, {}) == []


def test_the_facts_script_needs_nothing_but_the_standard_library():
    source = Path(facts.__file__).read_text()
    imports = {
        line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))
    }
    assert imports <= set(sys.stdlib_module_names)


def test_codebuild_assumed_the_sync_role_when_the_build_reached_its_install_phase():
    from cglive.run import codebuild_evidence

    reached = {"buildStatus": "FAILED", "phases": [{"phaseType": "PROVISIONING", "phaseStatus": "SUCCEEDED"},
                                                   {"phaseType": "INSTALL", "phaseStatus": "FAILED"}]}
    refused = {"buildStatus": "FAILED", "phases": [{"phaseType": "PROVISIONING", "phaseStatus": "FAILED",
               "contexts": [{"message": "CodeBuild is not authorized to perform: sts:AssumeRole on role"}]}]}
    other = {"buildStatus": "FAULT", "phases": [{"phaseType": "SUBMITTED", "phaseStatus": "FAULT"}]}
    assert codebuild_evidence(reached)[0] is True
    assert codebuild_evidence(refused)[0] is False
    assert codebuild_evidence(other)[0] is None
