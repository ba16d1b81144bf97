"""F11: a region that lacks a resource type (cfn-lint's per-region schemas) or CodePipeline's
CodeStarSourceConnection action (the CodePipeline user guide's list) is refused before deploy."""

from __future__ import annotations

import json

import pytest

from changegate.regions import CONNECTION_ACTION_UNAVAILABLE, check_region, region_gaps
from generator.errors import UsageError


def template(*, connection: bool = True, build: bool = True) -> dict:
    resources = {
        "SyncPipeline": {"Type": "AWS::CodePipeline::Pipeline", "Properties": {"Stages": [
            {"Name": "Source", "Actions": [{"Name": "GitHub", "ActionTypeId": {
                "Category": "Source", "Owner": "AWS", "Provider": "CodeStarSourceConnection",
                "Version": "1"}}]},
            {"Name": "Sync", "Actions": [{"Name": "Sync", "ActionTypeId": {
                "Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"}}]}]}},
        "Topic": {"Type": "AWS::SNS::Topic"},
    }
    if connection:
        resources["Connection"] = {"Type": "AWS::CodeConnections::Connection"}
    if build:
        resources["SyncProject"] = {"Type": "AWS::CodeBuild::Project"}
    return {"Resources": resources}


def test_a_region_with_everything_passes():
    assert region_gaps(template(), "us-east-1") == []
    assert region_gaps(template(), "eu-west-1") == []


def test_a_missing_resource_type_is_named_with_the_region_and_the_fix():
    with pytest.raises(UsageError) as caught:
        check_region(json.dumps(template()), "mx-central-1")
    lines = str(caught.value).splitlines()
    assert lines[0] == "the bootstrap stack cannot be deployed to region mx-central-1:"
    assert lines[1] == ("  - resource type AWS::CodeBuild::Project does not exist in mx-central-1; "
                        "fix: deploy to a region that has it (--region)")
    assert lines[2].startswith("  - resource type AWS::CodeConnections::Connection does not exist in "
                               "mx-central-1; fix: set repository.connection_arn in pipelines/config.yaml")
    assert "--no-region-check" in lines[-1]


def test_an_existing_connection_removes_the_connection_gap():
    """With repository.connection_arn the template holds no connection resource."""
    assert [g.what for g in region_gaps(template(connection=False), "ap-southeast-5")] == []
    assert [g.what for g in region_gaps(template(), "ap-southeast-5")] == [
        "resource type AWS::CodeConnections::Connection does not exist in ap-southeast-5"]


def test_the_connection_action_is_refused_where_codepipeline_lacks_it():
    """us-gov-west-1 has the resource types (in cfn-lint's data) but not the action."""
    gaps = region_gaps(template(connection=False), "us-gov-west-1")
    assert [(g.what, g.fix) for g in gaps] == [(
        "CodePipeline's CodeStarSourceConnection action (the sync pipeline's repository source) is not "
        "available in us-gov-west-1", "deploy to a region that has it (--region)")]
    assert len(CONNECTION_ACTION_UNAVAILABLE) == 12  # the twelve Regions the user guide names


def test_a_region_cfn_lint_does_not_know_is_not_judged():
    assert region_gaps(template(), "xx-moon-1") == []
