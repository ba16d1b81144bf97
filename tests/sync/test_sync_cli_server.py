"""End to end: the installed ``changegate sync`` against a ``moto_server`` on 127.0.0.1, reached
through ``AWS_ENDPOINT_URL`` like any S3-compatible endpoint."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request

import boto3
import pytest
from sync_fixtures import BUCKET, PROJECT, Aws, Repo


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path, console_script):
    port = free_port()
    log = open(tmp_path / "moto.log", "wb")  # noqa: SIM115
    # this interpreter's moto_server, never another one first on PATH
    process = subprocess.Popen([console_script("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.time() + 30
    while True:
        try:
            opener.open(endpoint + "/moto-api/", timeout=2).read()
            break
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.2)
    try:
        yield endpoint
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def test_cli_against_moto_server(server, tmp_path, console_script):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in (
        "CODEBUILD_RESOLVED_SOURCE_VERSION", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}
    env.update({"AWS_ENDPOINT_URL": server, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": str(tmp_path / "none"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                "NO_PROXY": "127.0.0.1", "CHANGEGATE_SOURCE_BUCKET": BUCKET})
    clients = {name: boto3.client(name, endpoint_url=server, region_name="us-east-1",
                                  aws_access_key_id="testing", aws_secret_access_key="testing")
               for name in ("s3", "codepipeline", "iam")}
    s3 = clients["s3"]
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    repo = Repo(tmp_path / "repo")
    repo.put("alpha")
    repo.put("beta")
    helper = Aws(s3=s3, codepipeline=clients["codepipeline"], role_arn=clients["iam"].create_role(
        RoleName="p", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"])
    helper.create_pipeline("alpha")  # beta's pipeline does not exist yet

    changegate = console_script("changegate")

    def run(*args):
        return subprocess.run([changegate, "sync", "--root", str(repo.root), *args], env=env,
                              capture_output=True, text=True, timeout=120)

    # a full commit id: without a git repository the sync accepts nothing shorter
    first = run("--commit", "c1" * 20, "--format", "json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["added"] == ["alpha", "beta"] and list(report["started"]) == ["alpha"]
    assert any("beta" in w and "redeploy" in w for w in report["warnings"])
    executions = clients["codepipeline"].list_pipeline_executions(pipelineName=f"{PROJECT}-alpha")
    assert [e["pipelineExecutionId"] for e in executions["pipelineExecutionSummaries"]] == [
        report["started"]["alpha"]]
    versions = {k: s3.head_object(Bucket=BUCKET, Key=f"stacks/{k}.zip")["VersionId"]
                for k in ("alpha", "beta")}
    assert report["uploaded"] == versions

    second = run()
    assert second.returncode == 0, second.stderr
    assert "0 added, 0 changed, 0 removed, 2 unchanged" in second.stdout

    (repo.root / "stacks" / "beta" / "config.json").write_text('{"Parameters": {"Unknown": "x"}}')
    invalid = run()
    assert invalid.returncode == 1 and "nothing uploaded" in invalid.stdout
    assert s3.head_object(Bucket=BUCKET, Key="stacks/beta.zip")["VersionId"] == versions["beta"]
