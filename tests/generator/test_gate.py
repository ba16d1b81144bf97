"""The gate checks' parts that the corpus (tests/generator/corpus) does not pin one by one:
S3 URL forms, allow-list prefixes, image digests, CodeBuild sources, offline resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.contract.content_sources import _allowed, _parse_url, content_problems
from generator.contract.custom_resources import custom_resource_problems
from generator.contract.resolve import Resolver, arn_parts
from generator.contract.transforms import transform_problems

VERSION = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"


@pytest.mark.parametrize(("url", "bucket", "key", "version"), [
    ("https://b.s3.amazonaws.com/k/t.yaml", "b", "k/t.yaml", None),
    ("https://b.s3.eu-west-1.amazonaws.com/t.yaml", "b", "t.yaml", None),
    ("https://b.s3-eu-west-1.amazonaws.com/t.yaml", "b", "t.yaml", None),
    ("https://s3.amazonaws.com/b/k/t.yaml", "b", "k/t.yaml", None),
    ("https://s3.eu-west-1.amazonaws.com/b/t.yaml?versionId=" + VERSION, "b", "t.yaml", VERSION),
    ("https://b.s3.cn-north-1.amazonaws.com.cn/t.yaml", "b", "t.yaml", None),
    ("s3://b/k/code.zip?versionId=7", "b", "k/code.zip", "7"),
])
def test_s3_url_forms(url, bucket, key, version):
    location = _parse_url(url)
    assert (location.bucket, location.key, location.version) == (bucket, key, version)


def test_an_https_url_that_is_not_s3_has_no_bucket_and_no_path_is_a_url():
    assert _parse_url("https://b.s3.amazonaws.com.attacker.example/t.yaml").bucket is None
    assert _parse_url("child/template.yaml") is None


@pytest.mark.parametrize(("entry", "location", "allowed"), [
    ("s3://shared", "https://shared.s3.amazonaws.com/any/t.yaml", True),
    ("s3://shared/", "https://shared.s3.amazonaws.com/t.yaml", True),
    ("s3://shared/vpc/", "https://shared.s3.amazonaws.com/vpc/t.yaml", True),
    ("s3://shared/vpc/", "https://shared.s3.amazonaws.com/vpc-evil/t.yaml", False),
    ("s3://shared/vpc/t.yaml", "https://shared.s3.amazonaws.com/vpc/t.yaml", True),
    ("s3://shared/vpc/t.yaml", "https://shared.s3.amazonaws.com/vpc/t.yaml.evil", False),
    ("s3://shared", "https://sharedx.s3.amazonaws.com/t.yaml", False),
])
def test_allow_list_prefixes(entry, location, allowed):
    assert _allowed(_parse_url(location), (entry,)) is allowed


def check(template: dict, tmp_path: Path, allowed=(), parameters=None) -> list[tuple[str, str]]:
    problems = content_problems(template, "stacks/app/template.yaml", "app", tmp_path, allowed,
                                Resolver(template, parameters or {}), may_transform=True)
    return [(p.check, p.key) for p in problems]


ECR = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/base"
DIGEST = "@sha256:" + "a" * 64


@pytest.mark.parametrize(("image", "expected"), [
    (f"{ECR}{DIGEST}", []),
    (f"{ECR}:latest", [("content-not-pinned", "Resources.F.Properties.Code.ImageUri")]),
    (f"{ECR}-evil{DIGEST}", [("content-outside-repository", "Resources.F.Properties.Code.ImageUri")]),
    (f"{ECR}/sub:1{DIGEST}", []),
])
def test_container_images_must_be_allowed_and_pinned_by_digest(tmp_path, image, expected):
    template = {"Resources": {"F": {"Type": "AWS::Lambda::Function",
                                    "Properties": {"Code": {"ImageUri": image}}}}}
    assert check(template, tmp_path, (ECR,)) == expected


def test_inline_lambda_code_is_in_the_template(tmp_path):
    template = {"Resources": {"F": {"Type": "AWS::Lambda::Function",
                                    "Properties": {"Code": {"ZipFile": "def handler(e, c): pass"}}}}}
    assert check(template, tmp_path) == []


def test_codebuild_s3_sources_need_the_allow_list_and_a_source_version(tmp_path):
    template = {"Resources": {"P": {"Type": "AWS::CodeBuild::Project", "Properties": {
        "Source": {"Type": "S3", "Location": "shared/src.zip"},
        "SourceVersion": VERSION,
        "SecondarySources": [{"Type": "S3", "Location": "arn:aws:s3:::shared/other.zip",
                              "SourceIdentifier": "other"},
                             {"Type": "S3", "Location": "attacker/x.zip", "SourceIdentifier": "x"},
                             {"Type": "GITHUB", "Location": "https://github.com/a/b"}],
    }}}}
    assert check(template, tmp_path, ("s3://shared/",)) == [
        ("content-not-pinned", "Resources.P.Properties.SecondarySources[0].Location"),
        ("content-outside-repository", "Resources.P.Properties.SecondarySources[1].Location")]


def test_values_resolve_from_the_stack_config_but_never_from_ssm(tmp_path):
    template = {"Parameters": {"Bucket": {"Type": "String"},
                               "FromSsm": {"Type": "AWS::SSM::Parameter::Value<String>",
                                           "Default": "/shared/bucket"}},
                "Resources": {
                    "A": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                        "DefinitionS3Location": {"Bucket": {"Ref": "Bucket"}, "Key": "sm.json",
                                                 "Version": VERSION}}},
                    "B": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                        "DefinitionS3Location": {"Bucket": {"Ref": "FromSsm"}, "Key": "sm.json",
                                                 "Version": VERSION}}},
                    "C": {"Type": "AWS::ApiGateway::RestApi", "Properties": {
                        "BodyS3Location": {"Bucket": "{{resolve:ssm:/shared/bucket}}",
                                           "Key": "api.yaml", "Version": VERSION}}}}}
    assert check(template, tmp_path, ("s3://shared/",), {"Bucket": "shared"}) == [
        ("content-not-resolvable", "Resources.B.Properties.DefinitionS3Location"),
        ("content-not-resolvable", "Resources.C.Properties.BodyS3Location")]


def test_resolver_sub_and_join():
    template = {"Parameters": {"Env": {"Type": "String", "Default": "prod"}}}
    resolver = Resolver(template, {})
    assert resolver.string({"Fn::Sub": "b-${Env}-${AWS::Region}-${!Literal}"}) == \
        "b-prod-${AWS::Region}-${Literal}"
    assert resolver.string({"Fn::Sub": ["${X}/k", {"X": {"Ref": "Env"}}]}) == "prod/k"
    assert resolver.string({"Fn::Join": ["-", ["a", {"Ref": "Env"}]]}) == "a-prod"
    assert resolver.string({"Fn::Sub": "${Bucket.Arn}"}) is None
    assert resolver.string({"Fn::GetAtt": ["X", "Arn"]}) is None
    assert resolver.string({"Ref": "Missing"}) is None


def test_arn_parts_keep_pseudo_parameters_whole():
    parts = arn_parts("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:f")
    assert parts[2] == "lambda"
    assert parts[4] == "${AWS::AccountId}"
    assert arn_parts("not-an-arn") is None


def test_a_service_token_in_another_partition_account_is_still_another_account():
    template = {"Resources": {"C": {"Type": "Custom::X", "Properties": {
        "ServiceToken": "arn:aws-cn:lambda:cn-north-1:999999999999:function:f"}}}}
    problems = custom_resource_problems(template, "t.yaml", "app", Resolver(template),
                                        "111122223333", ())
    assert [p.check for p in problems] == ["custom-resource-foreign"]


def test_include_is_never_judged_as_a_macro_and_a_nested_transform_is_found():
    template = {"Transform": [{"Name": "AWS::Include", "Parameters": {"Location": "x.yaml"}}],
                "Resources": {"A": {"Type": "AWS::SNS::Topic", "Properties": {
                    "Tags": [{"Key": "k", "Value": {"Fn::Transform": {"Name": "Evil"}}}]}}}}
    problems = transform_problems(template, "t.yaml", "app", (), may_transform=True)
    assert [(p.check, p.key) for p in problems] == [
        ("transform-not-allowed", "Resources.A.Properties.Tags[0].Value.Fn::Transform")]


def test_names_are_matched_regardless_of_case_and_existing_topics_are_protected():
    from generator.contract.config import Notifications, PipelinesConfig, Repository
    from generator.contract.protected_names import protected_name_problems, protected_patterns

    topic = "arn:aws:sns:eu-west-1:111122223333:existing-approvals"
    config = PipelinesConfig(path=Path("pipelines/config.yaml"), project="demo",
                             repository=Repository("acme/infrastructure"),
                             notifications=Notifications(topic_arn=topic),
                             approvers=("arn:aws:iam::111122223333:role/PlatformApprovers",))
    template = {"Resources": {
        "Join": {"Type": "AWS::IAM::Policy", "Properties": {
            "PolicyName": "p", "Roles": ["platformapprovers"]}},
        "Hijack": {"Type": "AWS::SNS::TopicPolicy", "Properties": {"Topics": [topic]}},
        "Fine": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "platformapprovers-old"}}}}
    raw = repr(template).encode()
    problems = protected_name_problems(
        template, raw, "t.yaml", "app", config, Resolver(template),
        protected_patterns("demo", config.approvers, (topic,)))
    assert [(p.check, p.key) for p in problems] == [
        ("touches-changegate", "Resources.Join.Properties.Roles[0]"),
        ("touches-changegate", "Resources.Hijack.Properties.Topics[0]")]


def test_local_paths_files_and_folders(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "child.yaml").write_text("Resources: {}\n")
    template = {"Resources": {
        "Code": {"Type": "AWS::Lambda::Function", "Properties": {"Code": "src"}},
        "Whole": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "."}},
        "Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "child.yaml"}},
        "Dir": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "src"}},
        "Choice": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"Fn::If": [
            "C", {"S3Bucket": "attacker", "S3Key": "x.zip"}, {"ZipFile": "pass"}]}}}}}
    assert check(template, tmp_path) == [
        ("content-file-missing", "Resources.Dir.Properties.TemplateURL"),
        ("content-not-resolvable", "Resources.Choice.Properties.Code")]


def test_a_role_trusting_a_role_of_the_same_template_is_not_reported():
    from generator.contract.protected_names import _trust_problems

    template = {"Resources": {
        "Caller": {"Type": "AWS::IAM::Role", "Properties": {}},
        "Target": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                           "Principal": {"AWS": [{"Fn::GetAtt": ["Caller", "Arn"]},
                                                 {"Fn::GetAtt": ["Elsewhere", "Arn"]}]}}]}}}}}
    problems = _trust_problems(template, template["Resources"], "t.yaml", "app",
                               Resolver(template), "111122223333")
    assert [(p.severity.value, p.key) for p in problems] == [
        ("warning", "Resources.Target.Properties.AssumeRolePolicyDocument.Statement[0].Principal.AWS")]
