"""``changegate deploy`` with a sharded bootstrap template: the nested stacks' templates are staged,
content-addressed, before the parent's change set is created (moto S3 and CloudFormation; the order
of the calls is read from botocore's own before-call events)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from changegate import deploy as deploying
from changegate.changesets import ChangeSet, ResourceChange
from changegate.commands.deploy import _committed_shards, _pipelines_moving
from generator.bootstrap.shards import compact, shard_key
from generator.errors import UsageError

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "acme-pipelines"


def _shard(logical_id: str, n: int) -> deploying.ShardTemplate:
    body = compact({"AWSTemplateFormatVersion": "2010-09-09",
                    "Resources": {f"Topic{n}": {"Type": "AWS::SNS::Topic"}}})
    return deploying.ShardTemplate(logical_id, shard_key("acme", body), body)


@pytest.fixture
def clients():
    with mock_aws():
        yield (boto3.client("cloudformation", region_name=REGION),
               boto3.client("s3", region_name=REGION, endpoint_url="http://s3.amazonaws.com"))


def test_shards_are_uploaded_before_the_change_set_and_only_once(clients, make_template) -> None:
    cfn, s3 = clients
    calls: list[str] = []
    s3.meta.events.register("before-parameter-build.s3.PutObject",
                            lambda params, **kw: calls.append(f"PutObject {params['Key']}"))
    cfn.meta.events.register("before-parameter-build.cloudformation.CreateChangeSet",
                             lambda **kw: calls.append("CreateChangeSet"))
    shards = [_shard("Shard01", 1), _shard("Shard07", 7)]
    plan = deploying.prepare(cfn, s3, stack=STACK, body=make_template(), account=ACCOUNT, region=REGION,
                             shards=shards, sleep=lambda s: None)
    assert plan.shards_uploaded == tuple(s.key for s in shards)
    create = calls.index("CreateChangeSet")
    for shard in shards:
        assert calls.index(f"PutObject {shard.key}") < create
        stored = s3.get_object(Bucket=plan.bucket.name, Key=shard.key)
        assert stored["Body"].read().decode() == shard.body
        assert stored["ContentType"] == "application/json"
        assert stored["Metadata"]["sha256"] == hashlib.sha256(shard.body.encode()).hexdigest()
    deploying.discard(cfn, STACK, plan.change_set.name, plan.change_set_type)
    again = deploying.prepare(cfn, s3, stack=STACK, body=make_template(), account=ACCOUNT, region=REGION,
                              shards=shards, sleep=lambda s: None)
    assert again.shards_uploaded == ()  # the same content is already staged under its key


def test_other_content_under_a_shard_key_is_replaced_even_with_the_right_metadata(clients) -> None:
    """CloudFormation reads the nested stacks' templates from their URLs: what sits under the key is
    what deploys, so it is compared byte for byte, not by its (forgeable) metadata."""
    _, s3 = clients
    bucket = deploying.ensure_staging_bucket(s3, ACCOUNT, REGION).name
    shard = _shard("Shard02", 2)
    s3.put_object(Bucket=bucket, Key=shard.key, Body=b'{"Resources": {"Evil": {}}}',
                  Metadata={"sha256": shard.code.sha256})
    assert deploying.upload_shard_template(s3, bucket, ACCOUNT, shard) is True
    assert s3.get_object(Bucket=bucket, Key=shard.key)["Body"].read().decode() == shard.body
    assert deploying.upload_shard_template(s3, bucket, ACCOUNT, shard) is False


def _sharded_files(tmp_path: Path) -> Path:
    shard = _shard("Shard03", 3)
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "03.json").write_text(json.dumps(json.loads(shard.body), indent=2) + "\n")
    parent = {"Metadata": {"Changegate": {"Project": "acme", "Shards": {
        "Shard03": {"Key": shard.key, "Stacks": ["network"], "Template": "shards/03.json"},
        "Shard05": {"Key": "gone", "Stacks": ["alarms"], "Template": "shards/05.json"}}}},
        "Resources": {"Shard03": {"Type": "AWS::CloudFormation::Stack"}}}
    path = tmp_path / "pipelines.json"
    path.write_text(json.dumps(parent))
    return path


def test_a_committed_sharded_template_deploys_its_committed_shards(tmp_path: Path) -> None:
    path = _sharded_files(tmp_path)
    # Shard05 is named in the metadata but no nested stack of the template: no file needed
    (shard,) = _committed_shards(path, json.loads(path.read_text()))
    assert shard == _shard("Shard03", 3)


def test_a_stale_or_missing_shard_file_is_refused(tmp_path: Path) -> None:
    path = _sharded_files(tmp_path)
    (tmp_path / "shards" / "03.json").write_text('{"Resources": {}}')
    with pytest.raises(UsageError, match=r"shards/03.json is not the template .* names for Shard03"):
        _committed_shards(path, json.loads(path.read_text()))
    (tmp_path / "shards" / "03.json").unlink()
    with pytest.raises(UsageError, match=r"Shard03's template .*03.json cannot be read"):
        _committed_shards(path, json.loads(path.read_text()))


def test_pipelines_moving_into_nested_stacks_are_called_out() -> None:
    def change(action: str, stack: str = "") -> ResourceChange:
        return ResourceChange(action=action, logical_id="PipelineNetwork", physical_id="acme-network",
                              resource_type="AWS::CodePipeline::Pipeline", stack=stack)

    moving = ChangeSet(stack=STACK, name="cs", change_set_id="", status="CREATE_COMPLETE",
                       execution_status="AVAILABLE", changes=(change("Remove"), change("Add", "Shard05")))
    assert _pipelines_moving(moving) == ["PipelineNetwork"]
    added = ChangeSet(stack=STACK, name="cs", change_set_id="", status="CREATE_COMPLETE",
                      execution_status="AVAILABLE", changes=(change("Add", "Shard05"),))
    assert _pipelines_moving(added) == []


MOTO_ACCOUNT = "111122223333"  # the account pipelines/config.yaml's ARNs name
CONNECTION = (f"arn:aws:codeconnections:eu-west-1:{MOTO_ACCOUNT}:connection/"
              "00000000-0000-0000-0000-000000000000")


@pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")
def test_the_sharded_example_deploys_with_its_nested_stacks_in_moto(monkeypatch, tmp_path: Path) -> None:
    """End to end in moto: the example repository, sharded by force, staged and deployed. moto reads each
    nested stack's template from the staging bucket through the parent's Fn::Sub TemplateURL, and names
    the nested stacks <parent>-<logical id>-<random> as CloudFormation does (moto ignores the pipelines
    themselves, see tests/generator/test_template_moto.py)."""
    import shutil

    from botocore.awsrequest import AWSResponse

    from generator.bootstrap.functions import function_archive, function_code_key
    from generator.bootstrap.shards import shard_template
    from generator.bootstrap.template import build_template, enabled_stacks, validated_repository

    repo = Path(__file__).resolve().parents[2]
    root = tmp_path / "repo"
    shutil.copytree(repo / "stacks", root / "stacks")
    shutil.copytree(repo / "pipelines", root / "pipelines")
    config = root / "pipelines" / "config.yaml"
    config.write_text(config.read_text().replace("connection_arn: create", f"connection_arn: {CONNECTION}"))
    report = validated_repository(root)
    doc = build_template(report.config, report.stacks).to_dict()
    templates = shard_template(doc, "acme", [s.name for s in enabled_stacks(report.stacks)])
    shards = [deploying.ShardTemplate(s.logical_id, s.key, s.body) for s in templates.shards]
    archive = function_archive()
    function = deploying.FunctionCode(function_code_key(archive), archive.data, archive.sha256)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", MOTO_ACCOUNT)
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        session.client("iam").create_role(RoleName="PlatformApprovers", AssumeRolePolicyDocument="{}")
        cfn = session.client("cloudformation")
        s3 = session.client("s3", endpoint_url="http://s3.amazonaws.com")
        cfn.meta.events.register("before-call.cloudformation.UpdateTerminationProtection",
                                 lambda **kw: (AWSResponse(None, 200, {}, None), {"StackId": "x"}))
        plan = deploying.prepare(cfn, s3, stack=STACK, body=compact(json.loads(templates.text)),
                                 account=MOTO_ACCOUNT, region="eu-west-1", function=function, shards=shards,
                                 sleep=lambda s: None)
        added = {c.logical_id for c in plan.change_set.changes if c.action == "Add"}
        assert {s.logical_id for s in shards} <= added
        outcome = deploying.execute(cfn, plan, sleep=lambda s: None)
        assert outcome.succeeded, outcome.failures
        nested = {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]
                  if s["StackName"] != STACK}
        assert sorted(name.rsplit("-", 1)[0] for name in nested) == sorted(
            f"{STACK}-{s.logical_id}" for s in shards)
        assert set(nested.values()) == {"CREATE_COMPLETE"}
