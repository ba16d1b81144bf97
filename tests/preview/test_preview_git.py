"""``changegate preview`` on real Git histories: the issue's "Done when" cases, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import generator.contract.stacks
import preview.sides
from changegate.cli import main
from generator.errors import UsageError
from preview.engine import run_preview
from tests.preview.git_fixtures import app_template, commit, data_template, init, write


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "repo"
    base = init(root, {"stacks/data/template.json": data_template(),
                       "stacks/app/template.json": app_template()})
    return root, base


def _cli(root: Path, *args: str, capsys) -> tuple[int, str]:
    code = main(["preview", "--root", str(root), *args])
    return code, capsys.readouterr().out


def test_replaced_modified_added_and_removed_resources_in_the_issue_shape(repo, capsys):
    root, _ = repo
    base = commit(root, {"stacks/app/template.json": app_template(imports=())})
    template = data_template()
    template["Resources"]["Bucket"]["Properties"]["BucketName"] = "acme-data-v2"  # replaced
    template["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = 60  # modified
    template["Resources"]["Topic"] = {"Type": "AWS::SNS::Topic"}  # added
    del template["Resources"]["Logs"]  # removed
    head = commit(root, {"stacks/data/template.json": template})
    code, out = _cli(root, "--base", base, "--head", head, "--format", "json", capsys=capsys)
    report = json.loads(out)
    data = report["stacks"]["data"]
    assert data["status"] == "changed"
    resources = data["resources"]
    assert resources["Bucket"] == {"action": "Modify", "type": "AWS::S3::Bucket",
                                   "replacement": "True", "paths": ["Properties.BucketName"],
                                   "causes": ["Properties.BucketName"]}
    assert resources["Queue"]["replacement"] == "False"
    assert resources["Queue"]["paths"] == ["Properties.VisibilityTimeout"]
    assert resources["Queue"]["causes"] == []
    assert resources["Topic"]["action"] == "Add" and resources["Topic"]["replacement"] is None
    assert resources["Logs"]["action"] == "Remove" and resources["Logs"]["replacement"] is None
    assert set(resources) == {"Bucket", "Queue", "Topic", "Logs"}
    # the bucket is stateful and has no UpdateReplacePolicy; the log group is deleted
    assert any(line.startswith("Bucket (AWS::S3::Bucket) is replaced") and "deleted" in line
               for line in data["data_at_risk"])
    assert any(line.startswith("Logs (AWS::Logs::LogGroup) is removed") for line in
               data["data_at_risk"])
    assert "app" not in report["stacks"]  # untouched stacks are not previewed
    assert code == 3 and report["exit_code"] == 3


def test_the_replaced_bucket_changes_an_imported_export_value(repo):
    root, base = repo
    template = data_template()
    template["Resources"]["Bucket"]["Properties"]["BucketName"] = "acme-data-v2"
    head = commit(root, {"stacks/data/template.json": template})
    result = run_preview(root, base, head)
    # the export is Ref Bucket; a new bucket is a new value, which CloudFormation refuses
    assert any("acme-data-BucketName" in e and "acme-app (app)" in e and "acme-data (data)" in e
               for e in result.errors)


def test_removing_an_imported_export_is_an_error_naming_both_stacks(repo, capsys):
    root, base = repo
    head = commit(root, {"stacks/data/template.json": data_template(Outputs={})})
    code, out = _cli(root, "--base", base, "--head", head, capsys=capsys)
    assert code == 1
    assert "export acme-data-BucketName of stack acme-data (data) is removed or renamed, " \
           "but stack acme-app (app) imports it" in out


def test_removing_an_export_nobody_imports_is_fine(repo):
    root, base = repo
    commit(root, {"stacks/app/template.json": app_template(imports=())})
    base = commit(root, {})
    head = commit(root, {"stacks/data/template.json": data_template(Outputs={})})
    result = run_preview(root, base, head)
    assert result.errors == [] and result.exit_code == 0


def test_a_new_export_imported_in_the_same_change_gives_an_order(repo):
    root, base = repo
    template = data_template()
    template["Outputs"]["QueueUrl"] = {"Value": {"Ref": "Queue"},
                                       "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-Queue"}}}
    head = commit(root, {"stacks/data/template.json": template,
                         "stacks/app/template.json": app_template(
                             imports=("acme-data-BucketName", "acme-data-Queue"))})
    result = run_preview(root, base, head)
    assert any(line.startswith("data before app: app imports acme-data-Queue")
               for line in result.order)
    assert result.errors == []


def test_a_removed_stack_folder_keeps_its_stack_and_says_how_to_delete_it(repo, capsys):
    root, base = repo
    head = commit(root, {"stacks/app/template.json": None})
    code, out = _cli(root, "--base", base, "--head", head, "--format", "json", capsys=capsys)
    report = json.loads(out)
    app = report["stacks"]["app"]
    assert app["status"] == "removed" and app["resources"] == {}
    assert "stays in AWS" in app["notes"][0]
    assert "delete-stack --stack-name acme-app" in app["notes"][0]
    assert code == 3


def test_an_added_stack_adds_every_resource(repo):
    root, base = repo
    head = commit(root, {"stacks/extra/template.json": data_template(Outputs={})})
    result = run_preview(root, base, head)
    extra = result.stacks["extra"]
    assert extra.status == "added"
    assert {c.action for c in extra.resources.values()} == {"Add"}
    assert len(extra.resources) == 3


def test_the_working_tree_is_the_default_head(repo):
    root, base = repo
    template = data_template()
    template["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = 45
    write(root, {"stacks/data/template.json": template})
    result = run_preview(root, base)
    assert result.head == "working tree"
    assert result.stacks["data"].resources["Queue"].replacement == "False"
    assert result.exit_code == 0


def test_untracked_stack_in_the_working_tree_is_seen(repo):
    root, base = repo
    write(root, {"stacks/new/template.json": data_template(Outputs={})})
    assert run_preview(root, base).stacks["new"].status == "added"


def test_parameters_tags_and_settings_changes(repo):
    root, _base = repo
    template = data_template(Parameters={"Timeout": {"Type": "Number", "Default": 30}})
    template["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = {"Ref": "Timeout"}
    middle = commit(root, {"stacks/data/template.json": template})
    head = commit(root, {
        "stacks/data/config.json": {"Parameters": {"Timeout": 90}, "Tags": {"team": "data"}},
        "pipelines/config.yaml": "project: acme\nrepository:\n  name: acme/infrastructure\n"
                                 "stacks:\n  app:\n    capabilities: [CAPABILITY_NAMED_IAM]\n"})
    result = run_preview(root, middle, head)
    data = result.stacks["data"]
    assert data.parameters == {"Timeout": ("30", "90")}
    assert data.tags == {"team": (None, "data")}
    assert data.resources["Queue"].paths == ("Properties.VisibilityTimeout",)
    # app's folder did not change, its pipeline settings did
    assert result.stacks["app"].settings == {
        "capabilities": (["CAPABILITY_IAM"], ["CAPABILITY_NAMED_IAM"])}
    assert result.pipeline_settings == {
        "stacks.app.capabilities": (["CAPABILITY_IAM"], ["CAPABILITY_NAMED_IAM"])}


def test_permission_broadening_is_risky(repo):
    root, base = repo
    template = app_template()
    template["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    head = commit(root, {"stacks/app/template.json": template})
    result = run_preview(root, base, head)
    app = result.stacks["app"]
    assert app.resources["Role"].replacement == "False"
    assert len(app.permission_broadening) == 1
    assert '"Action": ["s3:*"]' in app.permission_broadening[0]
    assert result.exit_code == 3


def test_an_unresolvable_create_only_value_is_unknown_never_false(repo):
    root, base = repo
    template = data_template(Conditions={
        "InUsEast1": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}})
    template["Resources"]["Bucket"]["Properties"]["BucketName"] = {
        "Fn::If": ["InUsEast1", "acme-data", "acme-data-eu"]}
    head = commit(root, {"stacks/data/template.json": template})
    change = run_preview(root, base, head).stacks["data"].resources["Bucket"]
    assert change.replacement == "Unknown"
    assert change.causes == ("Properties.BucketName",)


def test_only_changed_stacks_are_loaded(repo, monkeypatch):
    root, base = repo
    files = {f"stacks/s{i:02d}/template.json": data_template(Outputs={}) for i in range(20)}
    base = commit(root, files)
    template = data_template(Outputs={})
    template["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = 5
    head = commit(root, {"stacks/s07/template.json": template})
    loaded = []
    real = generator.contract.stacks.load_stack

    def counting(source, *args, **kwargs):
        loaded.append(source.name)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(preview.sides, "load_stack", counting)
    result = run_preview(root, base, head)
    assert list(result.stacks) == ["s07"]
    assert loaded == ["s07", "s07"]  # base and head, nothing else


def test_a_ref_that_names_no_commit_is_a_usage_error(repo):
    root, _ = repo
    with pytest.raises(UsageError, match="names no commit"):
        run_preview(root, "--output=/tmp/x")


def test_markdown_carries_the_comment_marker(repo, capsys):
    root, base = repo
    head = commit(root, {"stacks/data/template.json": data_template(Outputs={})})
    code, out = _cli(root, "--base", base, "--head", head, "--format", "markdown",
                     capsys=capsys)
    assert out.startswith("<!-- changegate-preview -->")
    assert "| Logs |" not in out  # nothing but the export changed
    assert "export acme-data-BucketName" in out and code == 1


def test_an_invalid_head_template_is_an_error(repo, capsys):
    root, base = repo
    write(root, {"stacks/data/template.json": "{not json"})
    code, out = _cli(root, "--base", base, capsys=capsys)
    assert code == 1
    assert "stacks/data/template.json" in out


def test_custom_resources_are_conditional_and_unknown_types_unknown():
    from preview.engine import compare_templates

    def pair(resource_type: str):
        old = {"Resources": {"R": {"Type": resource_type, "Properties": {"Size": 1}}}}
        new = {"Resources": {"R": {"Type": resource_type, "Properties": {"Size": 2}}}}
        return compare_templates(old, new)["R"]

    # the provider decides whether an update replaces (it returns a new physical id or not)
    assert pair("Custom::Seed").replacement == "Conditional"
    # no schema, no documentation: never a silent False
    assert pair("Acme::Thing::Widget").replacement == "Unknown"
    assert pair("Acme::Thing::Widget").causes == ("Properties.Size",)


def test_an_undecidable_parameter_value_is_unknown_on_a_create_only_property():
    from preview.engine import compare_templates

    old = {"Parameters": {"Name": {"Type": "String"}},
           "Resources": {"Q": {"Type": "AWS::SQS::Queue",
                               "Properties": {"QueueName": {"Ref": "Name"},
                                              "VisibilityTimeout": 30}}}}
    new = {**old, "Resources": {"Q": {"Type": "AWS::SQS::Queue",
                                      "Properties": {"QueueName": {"Ref": "Name"},
                                                     "VisibilityTimeout": 60}}}}
    change = compare_templates(old, new)["Q"]  # Name has no value and no Default
    assert change.replacement == "Unknown"
    assert change.causes == ("Properties.QueueName",)


def test_an_importer_naming_the_export_through_its_config_is_found(repo, monkeypatch):
    root, _ = repo
    importer = {"AWSTemplateFormatVersion": "2010-09-09",
                "Parameters": {"Source": {"Type": "String"}},
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {
                    "DisplayName": {"Fn::ImportValue": {"Fn::Sub": "${Source}-BucketName"}}}}}}
    files = {f"stacks/other{i}/template.json": app_template(imports=()) for i in range(5)}
    base = commit(root, {"stacks/app/template.json": app_template(imports=()),
                         "stacks/reader/template.json": importer,
                         "stacks/reader/config.json": {"Parameters": {"Source": "acme-data"}},
                         **files})
    head = commit(root, {"stacks/data/template.json": data_template(Outputs={})})
    loaded = []
    real = generator.contract.stacks.load_stack
    monkeypatch.setattr(preview.sides, "load_stack",
                        lambda source, *a, **k: loaded.append(source.name) or real(source, *a, **k))
    result = run_preview(root, base, head)
    assert len(result.errors) == 1
    assert "stack acme-reader (reader) imports it" in result.errors[0]
    # only the changed stack (both sides) and the one folder holding every word of the name
    assert sorted(loaded) == ["data", "data", "reader"]


def test_a_removed_resource_kept_by_its_deletion_policy_keeps_its_data(repo):
    root, _ = repo
    template = data_template()
    template["Resources"]["Logs"]["DeletionPolicy"] = "Retain"
    base = commit(root, {"stacks/data/template.json": template})
    del template["Resources"]["Logs"]
    head = commit(root, {"stacks/data/template.json": template})
    stack = run_preview(root, base, head).stacks["data"]
    assert stack.data_at_risk == ["Logs (AWS::Logs::LogGroup) is removed; DeletionPolicy "
                                  "Retain: its data is kept"]


def test_a_changed_stack_policy_file_shows_on_the_stack_that_uses_it(repo):
    root, _ = repo
    config = ("project: acme\nrepository:\n  name: acme/infrastructure\n"
              "stacks:\n  data:\n    stack_policy: policies/data.json\n")
    deny = {"Statement": [{"Effect": "Deny", "Action": "Update:Replace", "Principal": "*",
                           "Resource": "*"}]}
    base = commit(root, {"pipelines/config.yaml": config, "pipelines/policies/data.json": deny})
    allow = {"Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*",
                            "Resource": "*"}]}
    head = commit(root, {"pipelines/policies/data.json": allow})
    result = run_preview(root, base, head)
    before, after = result.stacks["data"].settings["stack_policy"]
    assert '"Deny"' in before and '"Allow"' in after
    assert result.stacks["data"].resources == {}
