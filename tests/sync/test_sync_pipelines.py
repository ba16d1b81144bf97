"""StartPipelineExecution: the real request shape (botocore Stubber validates it against the
service model, which moto does not: it ignores sourceRevisions) and variable values CodePipeline
accepts."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from generator import naming
from sync.git import CommitInfo
from sync.pipelines import (
    MAX_VARIABLE_VALUE,
    PipelineMissing,
    pipeline_variables,
    start_pipeline,
    variable_value,
)


@pytest.fixture
def codepipeline():
    client = boto3.client("codepipeline", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber


def test_start_is_pinned_to_the_version_with_commit_variables(codepipeline):
    client, stubber = codepipeline
    stubber.add_response("start_pipeline_execution", {"pipelineExecutionId": "exec-1"}, {
        "name": "acme-network",
        "sourceRevisions": [{"actionName": "Source", "revisionType": "S3_OBJECT_VERSION_ID",
                             "revisionValue": "v-123"}],
        "variables": [{"name": "CommitId", "value": "abc"},
                      {"name": "CommitAuthor", "value": "Ada <ada@example.com>"},
                      {"name": "CommitSubject", "value": "Grow the VPC"}]})
    started = start_pipeline(client, "acme-network", "v-123",
                             CommitInfo("abc", "Ada <ada@example.com>", "Grow the VPC"))
    assert started.execution_id == "exec-1"
    stubber.assert_no_pending_responses()


def test_missing_pipeline_is_its_own_error(codepipeline):
    client, stubber = codepipeline
    stubber.add_client_error("start_pipeline_execution", "PipelineNotFoundException", "nope")
    with pytest.raises(PipelineMissing):
        start_pipeline(client, "acme-new", "v1", CommitInfo(None))


def test_unknown_commit_fields_become_a_placeholder_not_an_empty_value(codepipeline):
    client, stubber = codepipeline
    stubber.add_response("start_pipeline_execution", {"pipelineExecutionId": "e"}, {
        "name": "acme-a",
        "sourceRevisions": [{"actionName": "Source", "revisionType": "S3_OBJECT_VERSION_ID",
                             "revisionValue": "v"}],
        "variables": [{"name": "CommitId", "value": "-"}, {"name": "CommitAuthor", "value": "-"},
                      {"name": "CommitSubject", "value": "-"}]})
    start_pipeline(client, "acme-a", "v", CommitInfo(None))


@pytest.mark.parametrize("text, expected", [
    (None, "-"), ("", "-"), ("  \n ", "-"),
    ("Fix\r\nthe\u2028thing\x00now", "Fix the thing now"),
    ("tabs\tand  spaces", "tabs and spaces"),
])
def test_variable_values_are_one_line(text, expected):
    assert variable_value(text) == expected


def test_variable_values_fit_the_limit_in_utf16_units():
    value = variable_value("é" * 600 + "😀" * 600)
    assert len(value.encode("utf-16-le")) // 2 <= MAX_VARIABLE_VALUE
    assert value.endswith("…")
    assert variable_value("x" * MAX_VARIABLE_VALUE) == "x" * MAX_VARIABLE_VALUE


def test_each_variable_is_capped_at_its_own_length_readably():
    # F15: the approval text embeds the three values; naming.PIPELINE_VARIABLE_MAX_LENGTHS keeps
    # it within CodePipeline's limit after resolution, whatever the commit's author and subject
    commit = CommitInfo(id="a" * 64, author="Ada " + "L" * 300 + " <ada@example.com>",
                        subject="Fix the thing " + "😀" * 400)
    values = {v["name"]: v["value"] for v in pipeline_variables(commit)}
    for name, cap in naming.PIPELINE_VARIABLE_MAX_LENGTHS.items():
        assert len(values[name].encode("utf-16-le")) // 2 <= cap, name
    assert values["CommitId"] == "a" * 64  # a full SHA-256 id fits whole
    assert values["CommitAuthor"].startswith("Ada LLL") and values["CommitAuthor"].endswith("…")
    assert values["CommitSubject"].startswith("Fix the thing 😀") and values["CommitSubject"].endswith("…")
    short = {v["name"]: v["value"] for v in pipeline_variables(CommitInfo("b" * 40, "Ada", "Fix"))}
    assert short == {"CommitId": "b" * 40, "CommitAuthor": "Ada", "CommitSubject": "Fix"}
