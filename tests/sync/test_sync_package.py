"""Packaging against moto: local nested templates, snippets and code uploaded once, pinned by version."""

from __future__ import annotations

import io
import json
import shutil
import textwrap
import zipfile
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from botocore.exceptions import ClientError
from cfnlint.api import ManualArgs, lint
from sync_fixtures import BUCKET, C1, C2, TEMPLATE, commit_all, fail_on, git

from generator import naming
from generator.contract.validate import validate_repository
from generator.errors import SyncError, UsageError
from sync.package import PackagedStack, local_archive

REGION = "us-east-1"
ASSETS = "stacks/.assets/"

PARENT = textwrap.dedent("""\
    AWSTemplateFormatVersion: "2010-09-09"
    Parameters:
      TopicName:
        Type: String
    Resources:
      Topic:
        Type: AWS::SNS::Topic
        Properties:
          TopicName: !Ref TopicName
      Child:
        Type: AWS::CloudFormation::Stack
        Properties:
          TemplateURL: nested/child.yaml
          Parameters:
            TopicArn: !Ref Topic
      Queue:
        Fn::Transform:
          Name: AWS::Include
          Parameters:
            Location: queue.yaml
    Outputs:
      FunctionArn:
        Value: !GetAtt Child.Outputs.FunctionArn
""")
# the nested template names its own local code: packaged recursively, relative to its folder
CHILD = textwrap.dedent("""\
    AWSTemplateFormatVersion: "2010-09-09"
    Parameters:
      TopicArn:
        Type: String
    Resources:
      Role:
        Type: AWS::IAM::Role
        Properties:
          PermissionsBoundary: arn:aws:iam::123456789012:policy/acme-changegate-boundary
          AssumeRolePolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {Service: lambda.amazonaws.com}
                Action: sts:AssumeRole
      Function:
        Type: AWS::Lambda::Function
        Properties:
          Runtime: python3.12
          Handler: app.handler
          Role: !GetAtt Role.Arn
          Code: code
          Environment:
            Variables:
              TOPIC_ARN: !Ref TopicArn
    Outputs:
      FunctionArn:
        Value: !GetAtt Function.Arn
""")
QUEUE = textwrap.dedent("""\
    Type: AWS::SQS::Queue
    Properties:
      SqsManagedSseEnabled: true
""")
FUNCTION = textwrap.dedent("""\
    AWSTemplateFormatVersion: "2010-09-09"
    Parameters:
      TopicName:
        Type: String
    Resources:
      Role:
        Type: AWS::IAM::Role
        Properties:
          PermissionsBoundary: arn:aws:iam::123456789012:policy/acme-changegate-boundary
          AssumeRolePolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {Service: lambda.amazonaws.com}
                Action: sts:AssumeRole
      Function:
        Type: AWS::Lambda::Function
        Properties:
          Runtime: python3.12
          Handler: index.handler
          Role: !GetAtt Role.Arn
          Code: src
          Description: !Ref TopicName
""")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def packaged_repo(repo, aws):
    """'nested': a nested template (with its own code) and an include; 'fn': local Lambda code."""
    repo.put("nested", template=PARENT)
    write(repo.root / "stacks/nested/nested/child.yaml", CHILD)
    write(repo.root / "stacks/nested/nested/code/app.py", "def handler(event, context):\n    return 1\n")
    write(repo.root / "stacks/nested/queue.yaml", QUEUE)
    repo.put("fn", template=FUNCTION)
    write(repo.root / "stacks/fn/src/index.py", "def handler(event, context):\n    return 'v1'\n")
    write(repo.root / "stacks/fn/src/lib/util.py", "X = 1\n")
    repo.put("plain")
    repo.write_config("stacks:\n  nested: {capabilities: [CAPABILITY_IAM, CAPABILITY_AUTO_EXPAND]}\n"
                      "  fn: {capabilities: [CAPABILITY_IAM]}\n")
    for name in ("nested", "fn", "plain"):
        aws.create_pipeline(name)


def archive_template(aws, folder: str, version: str | None = None) -> dict:
    return json.loads(aws.current_entries(folder, version)[naming.ARCHIVE_TEMPLATE])


def get(aws, key: str, version: str) -> bytes:
    response = aws.s3.get_object(Bucket=BUCKET, Key=key, VersionId=version)
    assert response["VersionId"] == version
    return response["Body"].read()


def zip_entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def asset_keys(aws) -> set[str]:
    listing = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=ASSETS)
    return {o["Key"] for o in listing.get("Contents", [])}


def assert_code_pin(aws, code: dict, folder: str) -> dict[str, bytes]:
    assert set(code) == {"S3Bucket", "S3Key", "S3ObjectVersion"}
    assert code["S3Bucket"] == BUCKET
    assert code["S3Key"].startswith(f"{ASSETS}{folder}/") and code["S3Key"].endswith(".zip")
    return zip_entries(get(aws, code["S3Key"], code["S3ObjectVersion"]))


def test_nested_template_include_and_code_are_uploaded_and_pinned_to_their_versions(repo, aws):
    packaged_repo(repo, aws)
    report = aws.sync(repo, commit=C1)
    assert report.ok, report.failures
    assert sorted(report.uploaded) == ["fn", "nested", "plain"]

    # the parent's TemplateURL names the uploaded child, pinned to its version
    parent = archive_template(aws, "nested")
    url = urlsplit(parent["Resources"]["Child"]["Properties"]["TemplateURL"])
    assert url.scheme == "https" and url.netloc == f"{BUCKET}.s3.{REGION}.amazonaws.com"
    child_key = unquote(url.path.lstrip("/"))
    assert child_key.startswith(f"{ASSETS}nested/") and child_key.endswith(".yaml")
    (child_version,) = parse_qs(url.query)["versionId"]
    child = json.loads(get(aws, child_key, child_version))
    # ... whose own code is pinned too (recursive packaging), zipped from nested/code/
    code = assert_code_pin(aws, child["Resources"]["Function"]["Properties"]["Code"], "nested")
    assert code == {"app.py": b"def handler(event, context):\n    return 1\n"}
    # the include is inlined: no snippet in S3 can change after review
    assert parent["Resources"]["Queue"] == {"Type": "AWS::SQS::Queue",
                                            "Properties": {"SqsManagedSseEnabled": True}}
    assert "Fn::Transform" not in json.dumps(parent)
    # the rest of the template is as written (short forms in their long form)
    assert parent["Resources"]["Topic"]["Properties"] == {"TopicName": {"Ref": "TopicName"}}

    fn = archive_template(aws, "fn")
    code = assert_code_pin(aws, fn["Resources"]["Function"]["Properties"]["Code"], "fn")
    assert sorted(code) == ["index.py", "lib/util.py"]
    # the stacks' report names what was written; a stack without local content ships its bytes
    assert sorted(report.assets) == ["fn", "nested"] and len(report.assets["nested"]) == 2
    assert aws.current_entries("plain")[naming.ARCHIVE_TEMPLATE] == TEMPLATE.encode()
    # the asset keys are not stacks: nothing of them in the state
    assert sorted(aws.manifest()) == ["fn", "nested", "plain"]


def test_a_second_sync_without_change_uploads_nothing_and_makes_no_extra_request(repo, aws):
    packaged_repo(repo, aws)
    assert aws.sync(repo, commit=C1).ok
    assets = asset_keys(aws)
    report = aws.sync(repo, commit=C1)
    assert report.ok and report.unchanged == ["fn", "nested", "plain"]
    assert aws.calls == ["ListObjectsV2", "GetObject"]  # the listing and the manifest, as before
    assert asset_keys(aws) == assets


def test_changing_only_the_code_changes_the_archive_and_uploads_one_new_asset(repo, aws):
    packaged_repo(repo, aws)
    assert aws.sync(repo, commit=C1).ok
    hash_before = aws.manifest()["fn"].sha256
    before = archive_template(aws, "fn")["Resources"]["Function"]["Properties"]["Code"]
    assets = asset_keys(aws)
    write(repo.root / "stacks/fn/src/index.py", "def handler(event, context):\n    return 'v2'\n")
    report = aws.sync(repo, commit=C2)
    assert report.ok and report.changed == ["fn"] and report.unchanged == ["nested", "plain"]
    (new,) = asset_keys(aws) - assets
    assert report.assets == {"fn": [new]}
    # one HEAD (absent), one PUT of the new code, the archive, the manifest twice (upload, start)
    assert aws.calls.count("PutObject") == 4
    after = archive_template(aws, "fn")["Resources"]["Function"]["Properties"]["Code"]
    assert after["S3Key"] == new != before["S3Key"]
    assert assert_code_pin(aws, after, "fn")["index.py"].endswith(b"'v2'\n")
    # the old version's archive still pins the old code, which is still there
    assert assert_code_pin(aws, before, "fn")["index.py"].endswith(b"'v1'\n")
    assert aws.manifest()["fn"].sha256 != hash_before


def test_identical_content_gives_an_identical_archive_hash_and_code_changes_change_it(repo, tmp_path):
    repo.put("fn", template=FUNCTION)
    write(repo.root / "stacks/fn/src/index.py", "print(1)\n")

    def hashed() -> str:
        stack = validate_repository(repo.root, lint=False).stacks["fn"]
        archive = local_archive(stack, repo.root)
        assert isinstance(archive, PackagedStack)
        return archive.sha256

    first = hashed()
    assert hashed() == first  # offline, before any request: no version id goes into it
    write(repo.root / "stacks/fn/src/index.py", "print(2)\n")
    assert hashed() != first


def test_removing_a_stack_leaves_its_assets_for_the_versions_that_pin_them(repo, aws):
    packaged_repo(repo, aws)
    assert aws.sync(repo, commit=C1).ok
    assets = asset_keys(aws)
    for path in sorted((repo.root / "stacks/fn").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (repo.root / "stacks/fn").rmdir()
    repo.write_config("stacks:\n  nested: {capabilities: [CAPABILITY_IAM, CAPABILITY_AUTO_EXPAND]}\n")
    report = aws.sync(repo, commit=C2)
    assert report.ok and report.removed == ["fn"] and report.deleted == ["fn"]
    assert asset_keys(aws) == assets


def test_the_packaged_templates_pass_cfn_lint(repo, aws, tmp_path):
    packaged_repo(repo, aws)
    assert aws.sync(repo, commit=C1).ok
    parent = archive_template(aws, "nested")
    url = urlsplit(parent["Resources"]["Child"]["Properties"]["TemplateURL"])
    child = get(aws, unquote(url.path.lstrip("/")), parse_qs(url.query)["versionId"][0])
    documents = {"nested": json.dumps(parent), "fn": json.dumps(archive_template(aws, "fn")),
                 "child": child.decode()}
    for name, text in documents.items():
        matches = lint(text, config=ManualArgs(regions=[REGION]))
        # no W3002 ("may only work with 'package'") either: nothing local is left
        assert [str(m) for m in matches] == [], name


def test_the_examples_package_their_nested_stack_and_code_and_a_second_sync_costs_two_requests(
        example_root, aws, tmp_path):
    root = tmp_path / "example"
    for folder in ("stacks", "pipelines"):
        shutil.copytree(example_root / folder, root / folder)
    example = SimpleNamespace(root=root)
    report = aws.sync(example, commit=C1, start=False)
    assert report.ok, report.failures
    network = archive_template(aws, "network")["Resources"]["FlowLogs"]["Properties"]
    url = urlsplit(network["TemplateURL"])
    child = json.loads(get(aws, unquote(url.path.lstrip("/")), parse_qs(url.query)["versionId"][0]))
    assert child["Resources"]["FlowLog"]["Type"] == "AWS::EC2::FlowLog"
    service = archive_template(aws, "service")["Resources"]["SmokeTestFunction"]["Properties"]
    code = assert_code_pin(aws, service["Code"], "service")
    assert code == {"index.py": (example_root / "stacks/service/smoke-test/index.py").read_bytes()}
    assert sorted(report.assets) == ["network", "service"]

    again = aws.sync(example, commit=C1, start=False)
    assert again.ok and again.unchanged == ["alarms", "database", "network", "service"]
    assert aws.calls == ["ListObjectsV2", "GetObject"]


def test_an_uncommitted_code_file_is_refused_like_an_uncommitted_template(repo, aws):
    packaged_repo(repo, aws)
    git(repo.root, "init", "-q", "-b", "main")
    commit_all(repo.root, "stacks")
    write(repo.root / "stacks/fn/src/index.py", "def handler(event, context):\n    return 'dirty'\n")
    with pytest.raises(UsageError, match=r"stacks/fn/src/index.py \(modified\)"):
        aws.sync(repo)
    assert aws.calls == []


FORMS = textwrap.dedent("""\
    AWSTemplateFormatVersion: "2010-09-09"
    Transform: AWS::Serverless-2016-10-31
    Parameters:
      TopicName:
        Type: String
    Resources:
      Api:
        Type: AWS::Serverless::Function
        Properties:
          PermissionsBoundary: arn:aws:iam::123456789012:policy/acme-changegate-boundary
          Runtime: python3.12
          Handler: handler.main
          CodeUri: handler.py
          Description: !Ref TopicName
      MachineRole:
        Type: AWS::IAM::Role
        Properties:
          PermissionsBoundary: arn:aws:iam::123456789012:policy/acme-changegate-boundary
          AssumeRolePolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {Service: states.amazonaws.com}
                Action: sts:AssumeRole
      Machine:
        Type: AWS::StepFunctions::StateMachine
        Properties:
          RoleArn: !GetAtt MachineRole.Arn
          DefinitionS3Location: machine.json
""")


def test_each_reference_takes_the_pinned_form_its_property_documents(repo, aws):
    repo.put("forms", template=FORMS)
    write(repo.root / "stacks/forms/handler.py", "def main(event, context):\n    return 0\n")
    write(repo.root / "stacks/forms/machine.json",
          '{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}\n')
    repo.write_config("stacks:\n  forms: {capabilities: [CAPABILITY_IAM, CAPABILITY_AUTO_EXPAND]}\n")
    aws.create_pipeline("forms")
    report = aws.sync(repo, commit=C1)
    assert report.ok, (report.failures, [str(p) for p in report.validation.problems])
    resources = archive_template(aws, "forms")["Resources"]
    # SAM: {Bucket, Key, Version} (AWS::Serverless::Function CodeUri, S3 location object)
    code_uri = resources["Api"]["Properties"]["CodeUri"]
    assert set(code_uri) == {"Bucket", "Key", "Version"} and code_uri["Bucket"] == BUCKET
    # a single code file is zipped on its own, as the AWS CLI does
    assert zip_entries(get(aws, code_uri["Key"], code_uri["Version"])) == {
        "handler.py": b"def main(event, context):\n    return 0\n"}
    # Step Functions: DefinitionS3Location {Bucket, Key, Version}; a definition is uploaded as it is
    location = resources["Machine"]["Properties"]["DefinitionS3Location"]
    assert set(location) == {"Bucket", "Key", "Version"} and location["Key"].endswith(".json")
    assert get(aws, location["Key"], location["Version"]) == (
        repo.root / "stacks/forms/machine.json").read_bytes()
    # the SAM transform stays: CloudFormation expands it from the pinned locations
    assert archive_template(aws, "forms")["Transform"] == "AWS::Serverless-2016-10-31"


def test_a_nested_template_naming_unreviewed_content_is_refused_before_any_request(repo, aws):
    packaged_repo(repo, aws)
    write(repo.root / "stacks/nested/nested/child.yaml",
          CHILD.replace("Code: code", "Code: {S3Bucket: elsewhere, S3Key: code.zip}"))
    with pytest.raises(SyncError, match=r"(?s)stacks/nested/nested/child.yaml \(packaged into "
                                        r"stacks/nested, with its includes\).*s3://elsewhere/code.zip"):
        aws.sync(repo, commit=C1)
    assert aws.calls == []


def test_a_nested_template_may_name_its_siblings_but_not_leave_the_stack_folder(repo, aws):
    packaged_repo(repo, aws)
    write(repo.root / "stacks/nested/nested/child.yaml", CHILD.replace("Code: code", "Code: ../../fn/src"))
    with pytest.raises(SyncError, match=r"stacks/nested/nested/child.yaml at Resources.Function"
                                        r".Properties.Code: '../../fn/src' leaves the stack's folder"):
        aws.sync(repo, commit=C1)
    assert aws.calls == []
    # relative to the nested template's folder, inside the stack's: packaged
    write(repo.root / "stacks/nested/shared/app.py", "def handler(event, context):\n    return 2\n")
    write(repo.root / "stacks/nested/nested/child.yaml", CHILD.replace("Code: code", "Code: ../shared"))
    assert aws.sync(repo, commit=C1).ok


def test_a_nested_template_that_nests_itself_is_refused(repo, aws):
    packaged_repo(repo, aws)
    again = "  Again:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: child.yaml\n"
    write(repo.root / "stacks/nested/nested/child.yaml", CHILD.replace("Outputs:\n", again + "Outputs:\n"))
    with pytest.raises(SyncError, match=r"nested/child.yaml includes itself"):
        aws.sync(repo, commit=C1)
    assert aws.calls == []


def test_a_missing_asset_answered_with_403_is_uploaded_once_a_listing_shows_it_absent(repo, aws):
    """Without s3:ListBucket on the key, S3 answers HEAD of a missing key with 403 (state.py, F19)."""
    packaged_repo(repo, aws)
    denied = {"Error": {"Code": "403", "Message": "Forbidden"},
              "ResponseMetadata": {"HTTPStatusCode": 403}}
    fail_on(aws.s3, "HeadObject", nth=tuple(range(1, 20)), error=lambda: ClientError(denied, "HeadObject"),
            when=lambda params: params["Key"].startswith(ASSETS))
    report = aws.sync(repo, commit=C1)
    assert report.ok, report.failures
    assert aws.calls.count("ListObjectsV2") == 1 + 3  # the state listing, one per asset key
    assert len(asset_keys(aws)) == 3  # the child template, its code, fn's code


def test_an_empty_code_folder_is_refused(repo, aws):
    packaged_repo(repo, aws)
    for path in sorted((repo.root / "stacks/fn/src").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    with pytest.raises(SyncError, match=r"stacks/fn/template.yaml at Resources.Function.Properties"
                                        r".Code: 'src' is an empty folder"):
        aws.sync(repo, commit=C1)


def test_a_top_level_include_joins_the_template_and_leaves_the_other_transforms(repo):
    template = TEMPLATE.replace(
        'AWSTemplateFormatVersion: "2010-09-09"\n',
        'AWSTemplateFormatVersion: "2010-09-09"\nTransform:\n  - AWS::LanguageExtensions\n'
        '  - Name: AWS::Include\n    Parameters:\n      Location: common.yaml\n')
    repo.put("top", template=template)
    write(repo.root / "stacks/top/common.yaml",
          "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\nOutputs:\n  QueueUrl:\n    Value: !Ref Queue\n")
    repo.write_config("stacks:\n  top: {capabilities: [CAPABILITY_AUTO_EXPAND]}\n")
    stack = validate_repository(repo.root, lint=False).stacks["top"]
    archive = local_archive(stack, repo.root)
    assert isinstance(archive, PackagedStack) and archive.references == ()
    assert archive.template["Transform"] == ["AWS::LanguageExtensions"]
    assert sorted(archive.template["Resources"]) == ["Queue", "Topic"]
    assert archive.template["Outputs"] == {"QueueUrl": {"Value": {"Ref": "Queue"}}}
    assert archive.files == {"stacks/top/common.yaml"}
    before = archive.sha256
    write(repo.root / "stacks/top/common.yaml", "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n")
    assert local_archive(validate_repository(repo.root, lint=False).stacks["top"], repo.root).sha256 != before


def test_an_included_snippet_naming_unreviewed_content_is_refused(repo, aws):
    packaged_repo(repo, aws)
    write(repo.root / "stacks/nested/queue.yaml",
          "Type: AWS::Lambda::Function\nProperties:\n  Code: {S3Bucket: elsewhere, S3Key: f.zip}\n")
    with pytest.raises(SyncError, match=r"(?s)stacks/nested/template.yaml \(packaged into stacks/nested"
                                        r".*Resources.Queue.Properties.Code: s3://elsewhere/f.zip"):
        aws.sync(repo, commit=C1)
    assert aws.calls == []
