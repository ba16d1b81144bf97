"""The sharding transformation on small hand-written templates: each reference form, DependsOn across
the split, and the references it must refuse (generator/bootstrap/shards.py, intrinsics.py)."""

from __future__ import annotations

import json

import pytest

from generator.bootstrap import intrinsics
from generator.bootstrap.intrinsics import Reference
from generator.bootstrap.shards import shard_slot, shard_template
from generator.contract.shard_names import is_shard_name, shard_name_problems
from generator.errors import GenerateError

DENY = {"Sid": "NeverTouchTheBootstrapStack", "Effect": "Deny", "Action": ["cloudformation:*"],
        "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:"
                                 "stack/demo-pipelines/*"}]}


def _doc(pipeline: dict, **extra) -> dict:
    resources = {
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Key": {"Type": "AWS::KMS::Key"},
        "Logs": {"Type": "AWS::Logs::LogGroup"},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [
            {"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [DENY]}}]}},
        "PipelineApp": {"Type": "AWS::CodePipeline::Pipeline", **pipeline},
        **extra,
    }
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


def _one(doc: dict) -> tuple[dict, dict]:
    templates = shard_template(doc, "demo", ["app"])
    (shard,) = templates.shards
    parent = json.loads(templates.text)
    return parent, json.loads(shard.text)


def test_each_reference_form_becomes_a_parameter_the_parent_passes() -> None:
    pipeline = {"Properties": {
        "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
        "Bucket": {"Ref": "Bucket"},
        "KeyDotted": {"Fn::GetAtt": "Key.Arn"},
        "Text": {"Fn::Sub": "${Bucket}/${Key.Arn}/${AWS::Region}/${!Literal}/${AWS::StackName}"},
        "Local": {"Fn::Sub": ["${Bucket}-${Mine}", {"Mine": {"Ref": "Logs"}}]},
    }}
    parent, child = _one(_doc(pipeline))
    assert "PipelineApp" not in parent["Resources"]
    nested = parent["Resources"][f"Shard{shard_slot('app'):02d}"]
    assert nested["Properties"]["Parameters"] == {
        "Bucket": {"Ref": "Bucket"}, "KeyArn": {"Fn::GetAtt": ["Key", "Arn"]}, "Logs": {"Ref": "Logs"},
        "ParentStackName": {"Ref": "AWS::StackName"}, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}}
    assert set(child["Parameters"]) == set(nested["Properties"]["Parameters"])
    assert child["Resources"]["PipelineApp"]["Properties"] == {
        "RoleArn": {"Ref": "RoleArn"},
        "Bucket": {"Ref": "Bucket"},
        "KeyDotted": {"Ref": "KeyArn"},
        "Text": {"Fn::Sub": "${Bucket}/${KeyArn}/${AWS::Region}/${!Literal}/${ParentStackName}"},
        "Local": {"Fn::Sub": ["${Bucket}-${Mine}", {"Mine": {"Ref": "Logs"}}]},
    }
    # no DependsOn: every parent resource the child needs is ordered by a parameter
    assert "DependsOn" not in nested


def test_depends_on_across_the_split_moves_to_the_nested_stack_unless_a_parameter_orders_it() -> None:
    pipeline = {"DependsOn": ["Logs", "Bucket"], "Properties": {"Bucket": {"Ref": "Bucket"}}}
    parent, child = _one(_doc(pipeline))
    nested = parent["Resources"][f"Shard{shard_slot('app'):02d}"]
    assert nested["DependsOn"] == ["Logs"]  # Bucket is passed as a parameter: already ordered
    assert "DependsOn" not in child["Resources"]["PipelineApp"]


def test_the_parent_denies_extend_to_the_shards() -> None:
    parent, _ = _one(_doc({"Properties": {}}))
    statement = parent["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    assert statement["Resource"][1] == {"Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:"
                                                   "${AWS::AccountId}:stack/demo-pipelines-*/*"}


@pytest.mark.parametrize("holder", [
    {"Other": {"Type": "AWS::SNS::Topic", "Properties": {"Name": {"Ref": "PipelineApp"}}}},
    {"Other": {"Type": "AWS::SNS::Topic", "Properties": {"Name": {"Fn::Sub": "${PipelineApp.Version}"}}}},
    {"Other": {"Type": "AWS::SNS::Topic", "DependsOn": "PipelineApp"}},
])
def test_a_parent_resource_naming_a_moved_one_is_refused(holder: dict) -> None:
    with pytest.raises(GenerateError, match=r"resource Other refers to PipelineApp, which moves into a "
                                            r"nested stack"):
        shard_template(_doc({"Properties": {}}, **holder), "demo", ["app"])


def test_an_output_naming_a_moved_resource_is_refused() -> None:
    doc = _doc({"Properties": {}})
    doc["Outputs"] = {"Name": {"Value": {"Ref": "PipelineApp"}}}
    with pytest.raises(GenerateError, match=r"output Name refers to PipelineApp"):
        shard_template(doc, "demo", ["app"])


def test_a_reference_to_nothing_and_a_condition_are_refused() -> None:
    with pytest.raises(GenerateError, match=r"refers to 'Missing', which it does not define"):
        shard_template(_doc({"Properties": {"X": {"Ref": "Missing"}}}), "demo", ["app"])
    with pytest.raises(GenerateError, match=r"PipelineApp uses Condition"):
        shard_template(_doc({"Condition": "IsProd", "Properties": {}}), "demo", ["app"])


def test_references_finds_every_form_once() -> None:
    node = {"A": {"Ref": "X"}, "B": {"Fn::GetAtt": "Y.Arn"},
            "C": {"Fn::Sub": "${Z.Name.Deep}${!No}${AWS::Region}"},
            "D": {"Fn::Sub": ["${V}", {"V": {"Ref": "W"}}]}}
    assert intrinsics.references(node) == {Reference("X"), Reference("Y", "Arn"), Reference("Z", "Name.Deep"),
                                           Reference("AWS::Region"), Reference("W")}


def test_folders_and_overrides_named_like_shards_are_validation_errors() -> None:
    from shard_repos import REPO

    from generator.contract.config import load_config

    config = load_config(REPO)
    problems = shard_name_problems(config, ["network", "pipelines-old", "pipelines2"])
    assert [(p.file, p.check, p.stack) for p in problems] == [
        ("stacks/pipelines-old", "stack-name-shard", "pipelines-old")]
    assert "acme-pipelines-" in problems[0].message
    assert is_shard_name("acme", "acme-pipelines-Shard01-1A2B3C")
    assert not is_shard_name("acme", "acme-pipelines")
    assert not is_shard_name("acme", "acme-pipelines2")


def test_a_parent_over_its_own_limits_is_refused() -> None:
    many = {f"Queue{i:03d}": {"Type": "AWS::SQS::Queue"} for i in range(496)}  # 501 shared with _doc's 5
    with pytest.raises(GenerateError, match=r"the sharded bootstrap template \(the parent\) would have 501 "
                                            r"resources, over CloudFormation's limit of 500"):
        shard_template(_doc({"Properties": {}}, **many), "demo", ["app"])


def test_a_shard_over_its_limits_is_refused() -> None:
    big = {"Properties": {"Padding": "x" * 1_000_001}}
    over = r"cannot be sharded: shard \d\d \(1 stacks\) would have \d+ bytes without whitespace, over "
    with pytest.raises(GenerateError, match=over + r"CloudFormation's limit of 1000000"):
        shard_template(_doc(big), "demo", ["app"])
